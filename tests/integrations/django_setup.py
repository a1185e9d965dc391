"""Django settings for the haystack backend tests, configured once per process (a module rather
than a conftest.py: the tests folder's own conftest is imported by name elsewhere).

Two haystack connections over the same SearchIndexes: "default" is searchlib, "whoosh" is
haystack's bundled Whoosh backend, the reference the results are compared with. SQLite in memory.
"""
import tempfile

import django
from django.conf import settings

ROOT = tempfile.mkdtemp(prefix="searchlib-haystack-")

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only",
        USE_TZ=False,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        INSTALLED_APPS=["django.contrib.contenttypes", "haystack", "haystack_app"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        HAYSTACK_CONNECTIONS={
            "default": {"ENGINE": "searchlib.integrations.haystack.SearchlibEngine", "PATH": f"{ROOT}/searchlib",
                        "SILENTLY_FAIL": False, "INCLUDE_SPELLING": True},
            "whoosh": {"ENGINE": "haystack.backends.whoosh_backend.WhooshEngine", "PATH": f"{ROOT}/whoosh"},
        },
        HAYSTACK_SIGNAL_PROCESSOR="haystack.signals.RealtimeSignalProcessor",
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    )
    django.setup()
    from django.core.management import call_command
    call_command("migrate", run_syncdb=True, verbosity=0)
