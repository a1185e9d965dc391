"""SearchIndexes of the test project, as a haystack user writes them."""
from haystack import indexes

from .models import Book, Note


class NoteIndex(indexes.SearchIndex, indexes.Indexable):
    text = indexes.CharField(document=True)
    title = indexes.CharField(model_attr="title", boost=2.0)
    author = indexes.CharField(model_attr="author", faceted=True)
    pub_date = indexes.DateTimeField(model_attr="pub_date")
    day = indexes.DateField(model_attr="day")
    rating = indexes.IntegerField(model_attr="rating")
    price = indexes.FloatField(model_attr="price")
    published = indexes.BooleanField(model_attr="published")
    tags = indexes.MultiValueField()
    title_auto = indexes.EdgeNgramField(model_attr="title")
    author_ngram = indexes.NgramField(model_attr="author")

    def get_model(self):
        return Note

    def prepare_text(self, obj):
        return f"{obj.title}\n\n{obj.body}"

    def prepare_tags(self, obj):
        return obj.tags.split()


class BookIndex(indexes.SearchIndex, indexes.Indexable):
    text = indexes.CharField(document=True)
    title = indexes.CharField(model_attr="title", boost=2.0)  # one "title" field in the schema: same options

    def get_model(self):
        return Book

    def prepare_text(self, obj):
        return f"{obj.title}\n\n{obj.summary}"
