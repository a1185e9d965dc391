from django.shortcuts import render
from haystack.query import SearchQuerySet

from .models import Note


def search(request):
    """`?q=` user text (quotes for phrases, -word to exclude), `?author=` an exact author, newest first with
    `?sort=new`; the matches per author are listed beside the results (a facet)."""
    q = request.GET.get("q", "").strip()
    results, authors = [], []
    if q:
        sqs = SearchQuerySet().models(Note).auto_query(q).highlight().facet("author")
        if request.GET.get("author"):
            sqs = sqs.filter(author_exact=request.GET["author"])
        if request.GET.get("sort") == "new":
            sqs = sqs.order_by("-published")
        results = sqs[:20]
        authors = sqs.facet_counts().get("fields", {}).get("author", [])  # [(author, matches), ...]
    return render(request, "notes/search.html", {"q": q, "results": results, "authors": authors})
