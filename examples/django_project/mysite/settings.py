"""Settings of the example site. The one line that makes searchlib haystack's engine is ENGINE below."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["django.contrib.contenttypes", "haystack", "notes"]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

HAYSTACK_CONNECTIONS = {
    "default": {
        "ENGINE": "searchlib.integrations.haystack.SearchlibEngine",   # was haystack.backends.whoosh_backend.WhooshEngine
        "PATH": BASE_DIR / "search_index",
    },
}
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.RealtimeSignalProcessor"  # index every save and delete
