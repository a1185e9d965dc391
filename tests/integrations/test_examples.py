"""The example Django project (examples/django_project) works as its manage.py docstring says:
migrate, seed, rebuild_index, then the search view answers with highlighted results."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("django") is None or importlib.util.find_spec("haystack") is None,
    reason="Django and django-haystack are not installed (pip install \"searchlib[django]\")")

CHECK = """
from django.test import Client
import re
page = Client().get("/", {"q": "tomatoes -cooking"}).content.decode()
print(re.findall("<h3>(.*?)</h3>", page), "<em>Tomatoes</em>" in page, "Grace (1)" in page)
"""


@pytest.mark.slow
def test_example_django_project(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(REPO / "examples" / "django_project", site)
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=site, env=env, capture_output=True,
                              text=True, timeout=300, check=True).stdout
    manage("migrate", "--run-syncdb", "-v0")
    assert "4 notes" in manage("seed_notes")
    manage("rebuild_index", "--noinput")
    assert manage("shell", "-c", CHECK).strip().splitlines()[-1] == "['Gardening basics'] True True"
