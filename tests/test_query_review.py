"""Review fixes of the query package: memory of per-parameter norms, the shared term lookup,
the parser's error paths."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from searchlib import ID, KEYWORD, TEXT, Index, Schema
from searchlib.search import leaves as leaves_module


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True),
                    tags=KEYWORD())
    ix = Index.create(tmp_path_factory.mktemp("review") / "ix", schema)
    words = "apple banana cherry date elder fig grape honey".split()
    with ix.writer() as w:
        for i in range(60):
            w.add({"id": f"d{i}", "title": " ".join(words[i % 3:i % 3 + 2]),
                   "body": " ".join(words[(i * j) % len(words)] for j in range(1 + i % 7)),
                   "tags": words[i % 4]})
    return ix


@pytest.fixture
def live_norms(monkeypatch):
    """Weak references to every norm array the evaluators compute: `count()` says how many are
    still alive (held by a cache)."""
    made: list[weakref.ref] = []
    real = leaves_module.length_norm

    def recording(*args, **kwargs):
        out = real(*args, **kwargs)
        made.append(weakref.ref(out))
        return out

    monkeypatch.setattr(leaves_module, "length_norm", recording)

    class Counter:
        @staticmethod
        def made() -> int:
            return len(made)

        @staticmethod
        def alive() -> int:
            gc.collect()
            return sum(r() is not None for r in made)

    return Counter


def test_norms_stay_bounded_over_many_bm25_parameters(ix, live_norms):
    with ix.searcher() as s:
        assert len(s.readers) == 1
        for i in range(300):
            s.search("apple OR banana", b=i / 300, k1=1.0 + i / 1000, highlight=False)
        # one array per field the query scores, for at most the 64 cached evaluators of the segment
        assert live_norms.made() >= 300
        assert live_norms.alive() <= 64 * 2


def test_norms_are_computed_only_for_fields_a_query_scores(ix, live_norms):
    with ix.searcher() as s:
        s.search("title:apple", highlight=False)
        assert live_norms.made() == 1
        s.search("title:banana tags:apple", highlight=False)  # KEYWORD has no lengths; title is cached
        assert live_norms.made() == 1
        s.search("apple", highlight=False)  # default fields: title and body
        assert live_norms.made() == 2


def test_delete_by_query_computes_no_norms(ix, tmp_path, live_norms):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT())
    other = Index.create(tmp_path / "del", schema)
    with other.writer() as w:
        for i in range(10):
            w.add({"id": str(i), "body": "apple pie" if i % 2 else "banana split"})
    with other.writer() as w:
        assert w.delete_by_query("apple OR body:pie") == 5
    assert live_norms.made() == 0


def test_explain_uses_each_searchs_own_b_on_shared_evaluators(ix):
    with ix.searcher() as s:
        for b in (0.0, 0.4, 0.9, 0.4):
            for k1 in (0.5, 1.5):
                hit = s.search("apple cherry", b=b, k1=k1, limit=1, highlight=False)[0]
                e = s.explain("apple cherry", hit.id, b=b, k1=k1)
                assert e.value == hit.score
                assert f"k1={k1:g} b={b:g}" in e.description


def test_excluded_clauses_are_matched_without_scores(ix, monkeypatch):
    from searchlib.query.compile import BoolNode, Compiler, TermRangeLeaf
    from searchlib.scoring import BM25
    from searchlib.search import Weight
    from searchlib.search.dense import DenseScorer

    evaluated = []
    real = DenseScorer.evaluate
    monkeypatch.setattr(DenseScorer, "evaluate", lambda self, w: evaluated.append(w) or real(self, w))
    with ix.searcher() as s:
        node = Compiler(s.schema, s.settings.fields_for(s.schema)).compile(s.parse("apple -id:[d1 TO d3]"))
        assert isinstance(node, BoolNode) and isinstance(node.must_not[0], TermRangeLeaf)
        weight = Weight(node, s.stats, BM25(), s.scorers)
        m = weight.scorers.get(0, BM25(), dense=True).evaluate(weight.root)
        assert not any(isinstance(getattr(w, "leaf", None), TermRangeLeaf) for w in evaluated)  # no score array for the range
        excluded = {f"d{i}" for i in range(60) if "d1" <= f"d{i}" <= "d3"}  # compared as text
        hits = {h.id for h in s.search("apple", limit=100, highlight=False)}
        found = {h.id for h in s.search("apple -id:[d1 TO d3]", limit=100, highlight=False)}
        assert found == hits - excluded and int(m.docs.sum()) == len(found)


def test_term_postings(ix):
    from searchlib.search.postings import posting_slots, term_postings

    with ix.searcher() as s:
        reader = s.readers[0]
        assert term_postings(reader, "title", "zzz") is None
        assert term_postings(reader, "no_such_field", "apple") is None
        units, tf = term_postings(reader, "title", "apple")
        fr = reader.fields["title"]
        assert list(units) == list(fr.postings(fr.term_id("apple"))[0]) and len(units) == len(tf) > 0
        tids = np.array([fr.term_id("apple"), fr.term_id("cherry")])
        idx, counts = posting_slots(fr, tids)
        assert list(counts) == [fr.doc_freq("apple"), fr.doc_freq("cherry")]
        assert list(np.asarray(fr.unit)[idx]) == list(units) + list(term_postings(reader, "title", "cherry")[0])


def test_primary_falls_through_to_one_error_on_tokens_its_callers_stop_at():
    from searchlib.errors import QuerySyntaxError
    from searchlib.query.parser import _Lexer, _Parser

    for text in (")", "AND", "OR"):  # never reach primary() through the grammar; called directly
        parser = _Parser(text, _Lexer(text).run(), None, False)
        with pytest.raises(QuerySyntaxError, match="expected a word, a phrase or a group") as err:
            parser.primary(None)
        assert err.value.column == 1
