from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.CharField(max_length=100)
    published = models.DateTimeField()

    def __str__(self) -> str:
        return self.title
