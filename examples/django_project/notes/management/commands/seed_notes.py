"""Create a few example notes (each save is indexed by haystack's signal processor)."""
import datetime as dt

from django.core.management.base import BaseCommand

from notes.models import Note

NOTES = [
    ("Cooking with tomatoes", "Tomatoes grow in the sun; cook them slowly with garlic.", "Brian"),
    ("Gardening basics", "Water the garden every morning. Tomatoes need sun and patience.", "Grace"),
    ("Running a marathon", "She runs every morning; running builds endurance.", "Edsger"),
    ("Python search engines", "Whoosh was a pure Python search library; searchlib ranks passages with BM25.", "Ada"),
]


class Command(BaseCommand):
    help = "Create example notes"

    def handle(self, *args, **options):
        start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        for i, (title, body, author) in enumerate(NOTES):
            Note.objects.get_or_create(title=title, defaults={"body": body, "author": author,
                                                              "published": start + dt.timedelta(days=30 * i)})
        self.stdout.write(f"{Note.objects.count()} notes")
