"""Work a search does once, not per hit: the query's highlight terms and the snippet field."""
from __future__ import annotations

import searchlib.search as search_module
from searchlib import ID, TEXT, Index, Schema


def test_highlight_terms_are_worked_out_once_per_search(tmp_path, monkeypatch):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        for i in range(12):
            w.add({"id": str(i), "title": f"apple {i}", "body": f"an apple a day, number {i}"})
    calls = []
    original = search_module._highlight_terms
    monkeypatch.setattr(search_module, "_highlight_terms", lambda *a: calls.append(1) or original(*a))
    with ix.searcher() as s:
        res = s.search("apple", limit=10)
        assert len(res) == 10 and all("<mark>" in h.snippet for h in res)
    assert len(calls) == 1
