from haystack import indexes

from .models import Note


class NoteIndex(indexes.SearchIndex, indexes.Indexable):
    text = indexes.CharField(document=True)            # searched by default
    title = indexes.CharField(model_attr="title", boost=2.0)
    author = indexes.CharField(model_attr="author", faceted=True)
    published = indexes.DateTimeField(model_attr="published")
    title_auto = indexes.EdgeNgramField(model_attr="title")   # for autocomplete

    def get_model(self):
        return Note

    def prepare_text(self, obj):
        return f"{obj.title}\n\n{obj.body}"
