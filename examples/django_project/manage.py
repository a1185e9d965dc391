#!/usr/bin/env python
"""A tiny Django site searched through django-haystack with searchlib as the engine.

    pip install "searchlib[django]"
    cd examples/django_project
    python manage.py migrate --run-syncdb      # SQLite database
    python manage.py seed_notes                # a few notes; the signal processor indexes each save
    python manage.py rebuild_index --noinput   # (re)build the whole search index from the database
    python manage.py runserver                 # then open http://127.0.0.1:8000/?q=tomatoes
"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
