"""Models of the haystack test project: notes with every kind of field, and books (another model)."""
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.CharField(max_length=100)
    pub_date = models.DateTimeField()
    day = models.DateField()
    rating = models.IntegerField()
    price = models.FloatField()
    published = models.BooleanField(default=True)
    tags = models.CharField(max_length=200, blank=True)  # space-separated, indexed as a MultiValueField

    class Meta:
        app_label = "haystack_app"


class Book(models.Model):
    title = models.CharField(max_length=200)
    summary = models.TextField()

    class Meta:
        app_label = "haystack_app"
