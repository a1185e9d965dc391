"""Work a search does once, not per hit: the query's highlight terms and the snippet field."""
from __future__ import annotations

from searchlib import ID, TEXT, Index, Schema
from searchlib.search import Weight
from searchlib.search.results import HitSource


def test_highlight_terms_and_snippet_field_are_worked_out_once_per_search(tmp_path, monkeypatch):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        for i in range(12):
            w.add({"id": str(i), "title": f"apple {i}", "body": f"an apple a day, number {i}"})
    calls, sources = [], []
    terms = Weight.terms
    monkeypatch.setattr(Weight, "terms", lambda self: calls.append(1) or terms(self))
    choose = HitSource.snippet_field
    monkeypatch.setattr(HitSource, "snippet_field", lambda self: sources.append(self) or choose(self))
    with ix.searcher() as s:
        res = s.search("apple", limit=10)
        assert len(res) == 10 and all("<mark>" in h.snippet for h in res)
        # no field is split into passages: every snippet comes from the chosen field, the longer body
        assert all(h.snippet.startswith("an <mark>apple</mark> a day") for h in res)
        assert len(calls) == 1
        assert len(set(map(id, sources))) == 1 and sources[0].snippet_field() == "body"  # one choice for ten hits
        res = s.search("apple", limit=10)
        assert all(h.snippet for h in res)
    assert len(calls) == 2 and len(set(map(id, sources))) == 2  # and again for the next search
