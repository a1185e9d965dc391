"""Fast paths against the general code they stand in for, on generated input: both combiners give
identical scores (sorted document lists, search/sparse.py, against arrays over every document,
search/dense.py) on a multi-segment index with deletions, per segment and as whole searches;
phrases keyed whole against phrases keyed in common units only; intersections by binary search and
by index arrays; plain words compiled straight from the text against their parsed query."""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from searchlib import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Index, Schema
from searchlib.query.ast import Boolean, Every, Fuzzy, Phrase, Prefix, Range, Term, Wildcard
from searchlib.query.compile import Compiler
from searchlib.scoring import BM25
from searchlib.search import Weight
from searchlib.search.collectors import top_k
from searchlib.search.phrases import phrase_units
from searchlib.search import stacked as stacked_module
from searchlib.search.postings import intersect
from searchlib.search.sparse import sum_by_doc
from searchlib.search.weight import Scorers

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey", "kiwi", "lemon", "mango",
         "nut", "olive", "pear", "quince", "the", "of"]
TAGS = ["red", "green", "blue"]


def _text(rng: random.Random, n: int) -> str:
    # a skewed vocabulary: early words are common (long posting lists), late ones rare
    return " ".join(WORDS[min(int(rng.expovariate(0.25)), len(WORDS) - 1)] for _ in range(n))


def _searcher(path, seed: int, n: int, body_words: int, commit_at: tuple, delete_every: int, passages=None,
              dates: bool = True):
    """A searcher over `n` generated documents written in len(commit_at) + 1 commits, every
    `delete_every`-th deleted; the body split into `passages` when given."""
    rng = random.Random(seed)
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True, boost=2.0),
                    body=TEXT(analyzer="english", stored=True, passages=passages), tags=KEYWORD(lowercase=True),
                    year=NUMERIC(), when=DATETIME())
    ix = Index.create(path, schema)
    with ix.writer() as w:
        for i in range(n):
            doc = {"id": f"d{i}", "title": _text(rng, rng.randint(1, 4)), "body": _text(rng, rng.randint(0, body_words)),
                   "tags": " ".join(rng.sample(TAGS, rng.randint(0, 2))), "year": 1990 + i % 30}
            if dates and i % 3:
                doc["when"] = f"20{10 + i % 10}-0{1 + i % 9}-1{i % 10}"
            w.add(doc)
            if i in commit_at:
                w.commit()
        for i in range(0, n, delete_every):
            w.delete(f"d{i}")
    s = ix.searcher()
    assert len(s.readers) == len(commit_at) + 1 and any(r.live is not None for r in s.readers)
    return s


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    s = _searcher(tmp_path_factory.mktemp("sparse") / "ix", 7, 400, 40, (150, 300), 17)
    yield s
    s.close()


FIELDS = st.sampled_from([None, "title", "body"])
WORD = st.sampled_from(WORDS + ["zzz"])


def _queries():
    leaves = st.one_of(
        st.builds(Term, FIELDS, WORD),
        st.builds(Term, st.just("tags"), st.sampled_from(TAGS)),
        st.builds(lambda f, ws, slop: Phrase(f, ws, slop=slop), FIELDS, st.lists(WORD, min_size=2, max_size=4),
                  st.sampled_from([0, 0, 1, 3])),
        st.builds(Prefix, FIELDS, st.sampled_from(["a", "ch", "gr", "pe", "q"])),
        st.builds(Wildcard, st.just("body"), st.sampled_from(["?ig", "m*o", "*e"])),
        st.builds(Fuzzy, st.just("body"), st.sampled_from(["apl", "lemmon", "kiwi"])),
        st.builds(lambda lo: Range("year", str(lo), str(lo + 7)), st.integers(1985, 2020)),
        st.builds(lambda lo: Range("when", f"20{lo}-01-01", None), st.integers(10, 19)),
        st.just(Every()),
    )
    boosted = st.one_of(leaves, st.builds(lambda q, b: q.boosted(b), leaves, st.sampled_from([0.0, 0.5, 2.0, 3.0])))
    return st.recursive(boosted, lambda children: st.builds(
        lambda must, should, must_not, boost: Boolean(must=tuple(must), should=tuple(should),
                                                      must_not=tuple(must_not), boost=boost),
        st.lists(children, max_size=3), st.lists(children, max_size=3), st.lists(children, max_size=2),
        st.sampled_from([1.0, 1.0, 2.0])), max_leaves=8)


def _weight(searcher, q) -> "Weight | None":
    """The query's Weight with the searcher's default fields, operator and BM25 parameters."""
    schema, settings = searcher.schema, searcher.settings
    node = Compiler(schema, settings.fields_for(schema), default_and=settings.operator == "AND").compile(q)
    return None if node is None else Weight(node, searcher.stats, BM25(settings.k1, settings.b), searcher.scorers)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=_queries())
def test_both_combiners_give_identical_scores_per_segment(searcher, q):
    weight = _weight(searcher, q)
    if weight is None:
        return
    for seg in range(len(searcher.readers)):
        dense, sparse = weight.scorers.get(seg, weight.bm25, dense=True), weight.scorer(seg)
        assert type(dense).__name__ == "DenseScorer" and type(sparse).__name__ == "SparseScorer"
        m = dense.evaluate(weight.root)
        docs, scores = sparse.evaluate(weight.root)
        assert docs.tolist() == np.flatnonzero(m.docs).tolist(), str(q)
        expected = m.doc_score[docs] if m.doc_score is not None else np.zeros(len(docs), np.float32)
        assert scores.dtype == np.float32
        np.testing.assert_array_equal(scores, expected, err_msg=str(q))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.tuples(FIELDS, WORD), min_size=2, max_size=4),
       should=st.lists(st.tuples(FIELDS, WORD), max_size=2))
def test_required_words_are_intersected_then_scored_as_alone(searcher, words, should):
    """Required words, each over the default fields (BM25F) or one field: the sparse combiner
    intersects their documents before scoring (sparse._all_words); every common document must get
    the dense combiner's score, bit for bit."""
    q = Boolean(must=tuple(Term(f, w) for f, w in words), should=tuple(Term(f, w) for f, w in should))
    weight = _weight(searcher, q)
    if weight is None:
        return
    for seg in range(len(searcher.readers)):
        m = weight.scorers.get(seg, weight.bm25, dense=True).evaluate(weight.root)
        docs, scores = weight.scorer(seg).evaluate(weight.root)
        assert docs.tolist() == np.flatnonzero(m.docs).tolist(), str(q)
        expected = m.doc_score[docs] if m.doc_score is not None else np.zeros(len(docs), np.float32)
        np.testing.assert_array_equal(scores, expected, err_msg=str(q))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=_queries(), offset=st.sampled_from([0, 0, 3, 40]), limit=st.sampled_from([1, 5, 20]),
       filter=st.sampled_from([None, "year:[1995 TO 2010]", "tags:red", {"tags": ["green", "blue"]}]),
       sort_by=st.sampled_from([None, None, "year", "id"]))
def test_both_combiners_give_identical_searches(searcher, monkeypatch, q, offset, limit, filter, sort_by):
    def page(s):
        res = s.search(q, limit=limit, offset=offset, filter=filter, sort_by=sort_by, highlight=False)
        return res.total, [(h.id, h.score, h.rank) for h in res]

    sparse = page(searcher)
    with monkeypatch.context() as mp:
        mp.setattr(searcher, "scorers", Scorers(searcher.stats, sparse=False))
        assert page(searcher) == sparse


def _stackable_queries():
    """Words (one field or the default fields), phrases and their boolean combinations."""
    words = st.one_of(st.builds(Term, FIELDS, WORD),
                      st.builds(lambda f, ws, slop: Phrase(f, ws, slop=slop), FIELDS,
                                st.lists(WORD, min_size=2, max_size=3), st.sampled_from([0, 0, 2])))
    boosted = st.one_of(words, st.builds(lambda q, b: q.boosted(b), words, st.sampled_from([0.0, 0.5, 3.0])))
    return st.recursive(boosted, lambda children: st.builds(
        lambda must, should, must_not: Boolean(must=tuple(must), should=tuple(should), must_not=tuple(must_not)),
        st.lists(children, max_size=3), st.lists(children, max_size=4), st.lists(children, max_size=1)), max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.one_of(_stackable_queries(), _queries()), offset=st.sampled_from([0, 0, 3, 40]),
       limit=st.sampled_from([0, 1, 5, 20]), group=st.booleans(), scoring=st.sampled_from([None, None, "bm25l", "bm25+"]),
       k1=st.sampled_from([None, 0.0, 2.0]))
def test_stacked_segments_search_as_segment_by_segment(searcher, monkeypatch, q, offset, limit, group, scoring, k1):
    """Every segment scored at once (search/stacked.py) gives the hits, scores, ranks and totals
    of scoring the segments one by one."""
    def page():
        res = searcher.search(q, limit=limit, offset=offset, group=group, scoring=scoring, k1=k1, highlight=False)
        return res.total, [(h.id, h.score, h.rank) for h in res]

    stacked = page()
    with monkeypatch.context() as mp:
        mp.setattr(Weight, "stacked", lambda self: None)
        assert page() == stacked, str(q)


def test_stacked_scoring_is_used_for_words_and_phrases_only(searcher, monkeypatch):
    def stacked(q):
        return _weight(searcher, q).stacked() is not None

    mixed = Boolean(must=(Term(None, "apple"),), should=(Term("title", "pear"), Term("body", "fig"), Term("body", "kiwi")),
                    must_not=(Term(None, "fig"),))
    assert stacked(Term(None, "apple")) and stacked(Phrase("body", ["apple", "pear"])) and stacked(mixed)
    assert not stacked(Prefix("body", "ap")) and not stacked(Boolean(should=(Term(None, "apple"), Every())))
    # on a large index, only queries whose words hold few documents (stacked.STACK_POSTINGS)
    monkeypatch.setattr(stacked_module, "STACK_DOCS", 0)
    words = searcher.stats.fields_doc_freq(_weight(searcher, Term(None, "apple")).root.leaf.terms)
    monkeypatch.setattr(stacked_module, "STACK_POSTINGS", words)
    assert stacked(Term(None, "apple")) and not stacked(mixed) and stacked(Phrase("body", ["apple", "pear"]))
    monkeypatch.setattr(stacked_module, "STACK_POSTINGS", words - 1)
    assert not stacked(Term(None, "apple")) and not stacked(Prefix("body", "ap"))


@pytest.fixture(scope="module")
def passage_searcher(tmp_path_factory):
    """Like `searcher`, with the body split into windows of a few words (dense segments)."""
    s = _searcher(tmp_path_factory.mktemp("dense") / "ix", 9, 200, 30, (120,), 13,
                  passages={"mode": "window", "size": 6, "overlap": 2}, dates=False)
    yield s
    s.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=_queries(), passages=st.booleans(), k1=st.sampled_from([None, 0.0, 0.9, 2.0]),
       b=st.sampled_from([None, 0.0, 0.4, 1.0]))
def test_explain_value_is_the_hit_score_exactly(searcher, passage_searcher, q, passages, k1, b):
    s = passage_searcher if passages else searcher
    for hit in s.search(q, limit=8, highlight=False, k1=k1, b=b):
        assert s.explain(q, hit.id, k1=k1, b=b).value == hit.score, (str(q), hit.id)


@pytest.mark.parametrize("query", ["year:[1990 TO 2030]", "tags:red OR year:[1990 TO 2000] OR tags:blue^2"])
@pytest.mark.parametrize("size", [1, 7, 30])
def test_tied_scores_page_without_overlap(searcher, query, size):
    """Matches of ranges and keywords score alike: consecutive pages cover the ranking exactly once."""
    everything = [h.id for h in searcher.search(query, limit=1000, highlight=False)]
    pages = [h.id for p in range(0, len(everything), size)
             for h in searcher.search(query, limit=size, offset=p, highlight=False)]
    assert pages == everything and len(set(everything)) == len(everything)


def test_top_k_keeps_the_earliest_of_tied_scores():
    rng = np.random.default_rng(5)
    for _ in range(200):
        scores = rng.integers(0, 4, rng.integers(1, 60)).astype(np.float32)
        k = int(rng.integers(1, 70))
        expected = np.argsort(-scores, kind="stable")[:k]
        assert sorted(top_k(scores, k).tolist()) == sorted(expected.tolist())


def test_sum_by_doc_sorts_or_counts_alike():
    rng = np.random.default_rng(3)
    for n_docs, n in ((10_000, 50), (100, 500)):  # the sorting branch, then the counting branch
        docs = rng.integers(0, n_docs, n).astype(np.uint32)
        scores = rng.random(n).astype(np.float32)
        got = sum_by_doc(docs, scores, n_docs)
        expected = np.bincount(docs, weights=scores, minlength=n_docs)
        assert got.docs.tolist() == np.unique(docs).tolist()
        np.testing.assert_array_equal(got.scores, expected[got.docs].astype(np.float32))


def test_segments_with_passages_stay_dense(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True, passages="sentences"))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        w.add({"id": "a", "body": "One apple here. Two pears there."})
    with ix.searcher() as s:
        assert type(s.scorers.get(0, BM25())).__name__ == "DenseScorer"
        assert [h.id for h in s.search("apple")] == ["a"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(WORD, min_size=2, max_size=4), field=st.sampled_from(["title", "body"]),
       slop=st.sampled_from([0, 0, 1, 2, 3, 10, 1 << 40]))
def test_phrases_keyed_whole_equal_the_common_unit_join(searcher, words, field, slop):
    """Exact phrases and sloppy pairs of words keyed whole give the units and frequencies of the
    general path (posting lists intersected first, positions joined in the common units)."""
    weight = _weight(searcher, Phrase(field, words, slop=slop))
    if weight is None or not hasattr(weight.root, "dfs"):
        return
    dfs = [searcher.stats.doc_freq(field, t) for _, t in weight.root.leaf.terms]
    for reader in searcher.readers:
        whole = phrase_units(reader.fields.get(field), weight.root.leaf, dfs, whole_keys=1 << 40)
        general = phrase_units(reader.fields.get(field), weight.root.leaf, dfs, whole_keys=-1)
        assert whole[0].tolist() == general[0].tolist()
        assert whole[1].tolist() == general[1].tolist()


def test_intersect_by_search_or_by_index_array():
    rng = np.random.default_rng(11)
    for unit_count in (50, 100_000, None):  # index arrays, then binary searches
        lists = [np.sort(rng.choice(50, size, replace=False)).astype(np.uint32) for size in (5, 40, 45)]
        units, picks = intersect(lists, unit_count)
        expected = set(lists[0].tolist()).intersection(*(set(u.tolist()) for u in lists[1:]))
        assert units.tolist() == sorted(expected)
        for plist, pick in zip(lists, picks):
            assert plist[pick].tolist() == units.tolist()


# -- plain words compiled straight from the text ------------------------------------------------
from searchlib.query.parser import QueryParser, plain_phrase, plain_words  # noqa: E402

_PLAIN_VOCAB = ["apple", "the", "and", "AND", "OR", "NOT", "TO", "Running", "x²", "naïve", "42", "3d", "ab12cd",
                "東京", "of", "zzz"]
_PUNCTUATED = ["properties.", "40mg/day", "5%", "c++", ".", "don't"]  # plain words too, not in a plain phrase


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(_PLAIN_VOCAB + _PUNCTUATED), min_size=1, max_size=6),
       joiner=st.sampled_from([" ", "  ", "\t", " AND ", " OR ", " AND  "]), op=st.sampled_from(["OR", "AND"]),
       fields=st.sampled_from([None, ["body"], {"title": 2.0, "body": 1.0}, ["tags", "body"]]))
def test_plain_words_compile_like_their_parsed_query(searcher, words, joiner, op, fields):
    """compile_words(plain_words(text)) is exactly compile(parse(text)), for bare words and
    uniform AND/OR chains, whatever the default fields and operator. (Words joined by spaces or
    by one operator: in 4,000 random draws of this shape, 27% are bare words, 14% chains, the
    rest mixed operators or operator words that the grammar must read.)"""
    text = joiner.join(words)
    plain = plain_words(text)
    if plain is None:
        return
    compiler = searcher._compiler(fields, op, False, None)
    expected = compiler.compile(QueryParser(None, op).parse(text))
    assert compiler.compile_words(plain[0], (plain[1] or op) == "AND") == expected


def test_plain_query_results_carry_their_query(searcher):
    res = searcher.search("apple AND banana", operator="OR")
    assert str(res.query) == "+apple +banana" and res.to_dict()["query"] == "+apple +banana"
    assert str(searcher.search("apple banana", operator="AND").query) == "+apple +banana"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(_PLAIN_VOCAB), min_size=1, max_size=4), slop=st.sampled_from(["", "~0", "~2"]),
       fields=st.sampled_from([None, ["body"], {"title": 2.0, "body": 1.0}, ["tags", "body"]]))
def test_plain_phrase_compiles_like_its_parsed_query(searcher, words, slop, fields):
    text = '"' + " ".join(words) + '"' + slop
    plain = plain_phrase(text)
    assert plain is not None
    compiler = searcher._compiler(fields, "OR", False, None)
    assert compiler.compile_phrase(*plain) == compiler.compile(QueryParser(None, "OR").parse(text))
