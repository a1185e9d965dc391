"""The installed package must hold every subpackage: a folder without __init__.py is left out of
a wheel by setuptools' find_packages, and then `import searchlib` fails after `pip install .`."""
from conftest import REPO


def test_every_source_folder_is_a_package():
    folders = {p.parent for p in (REPO / "searchlib").rglob("*.py")}
    missing = sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"folders without __init__.py (left out of the installed package): {missing}"


def test_find_packages_includes_every_subpackage():
    from setuptools import find_packages

    found = set(find_packages(str(REPO), include=["searchlib", "searchlib.*"]))
    assert {"searchlib", "searchlib.analysis", "searchlib.query", "searchlib.storage", "searchlib.compat"} <= found
