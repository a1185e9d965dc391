from django.shortcuts import render
from haystack.query import SearchQuerySet

from .models import Note


def search(request):
    """`?q=` user text (quotes for phrases, -word to exclude), `?author=` an exact author, newest first with `?sort=new`."""
    q = request.GET.get("q", "").strip()
    results = []
    if q:
        sqs = SearchQuerySet().models(Note).auto_query(q).highlight()
        if request.GET.get("author"):
            sqs = sqs.filter(author_exact=request.GET["author"])
        if request.GET.get("sort") == "new":
            sqs = sqs.order_by("-published")
        results = sqs[:20]
    return render(request, "notes/search.html", {"q": q, "results": results})
