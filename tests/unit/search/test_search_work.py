"""Work a search does once, not per hit: the query's highlight terms and the snippet field."""
from __future__ import annotations

import searchlib.search as search_module
from searchlib import ID, TEXT, Index, Schema


def test_highlight_terms_and_snippet_field_are_worked_out_once_per_search(tmp_path, monkeypatch):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        for i in range(12):
            w.add({"id": str(i), "title": f"apple {i}", "body": f"an apple a day, number {i}"})
    calls, chosen = [], []
    original = search_module._highlight_terms
    monkeypatch.setattr(search_module, "_highlight_terms", lambda *a: calls.append(1) or original(*a))
    choose = search_module.Searcher._snippet_field
    monkeypatch.setattr(search_module.Searcher, "_snippet_field",
                        lambda self, *a: chosen.append(choose(self, *a)) or chosen[-1])
    with ix.searcher() as s:
        res = s.search("apple", limit=10)
        assert len(res) == 10 and all("<mark>" in h.snippet for h in res)
        # no field is split into passages: every snippet comes from the chosen field, the longer body
        assert all(h.snippet.startswith("an <mark>apple</mark> a day") for h in res)
        assert len(calls) == 1
        assert chosen == ["body"]  # chosen once for the ten hits
        res = s.search("apple", limit=10)
        assert all(h.snippet for h in res)
    assert len(calls) == 2 and chosen == ["body", "body"]  # and again for the next search
