"""The BM25 variants (scoring.py) against independent implementations: bm25s for all four, rank_bm25
for BM25+ (each skipped without its package). rank_bm25's BM25L is left out: it multiplies Lv and
Zhai's tf factor by tf once more, so it is a different function, not a check.

bm25s and rank_bm25 both give a word absent from a document BM25L's and BM25+'s delta term
(idf * f(tf = 0), the same for every document, so rankings do not change); searchlib scores only
the documents holding a word, so the tests take that constant off their scores first."""
from __future__ import annotations

import numpy as np
import pytest

from searchlib import ID, TEXT, Index, Schema

K1, B = 1.2, 0.75


@pytest.fixture(scope="module")
def corpus():
    """Random documents of lowercase words of varied lengths (Zipf-like word choice), none empty."""
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(60)]
    p = 1.0 / np.arange(1, 61)
    p /= p.sum()
    return [[vocab[i] for i in rng.choice(60, size=int(rng.integers(3, 80)), p=p)] for _ in range(150)]


@pytest.fixture(scope="module")
def searcher(corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("variants")
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="whitespace")))
    with ix.writer() as w:
        for i, words in enumerate(corpus):
            w.add({"id": str(i), "body": " ".join(words)})
    with ix.searcher() as s:
        yield s


QUERIES = [["w0"], ["w3", "w17"], ["w1", "w25", "w40", "w59"], ["w2", "w9"]]


def without_absent_words(theirs, corpus, query, scoring, idf, delta) -> np.ndarray:
    """`theirs` less idf * f(0) for every query word a document lacks (BM25L and BM25+ only)."""
    zero = {"bm25+": delta, "bm25l": (K1 + 1) * delta / (K1 + delta)}.get(scoring, 0.0)
    for word in query:
        theirs[np.array([word not in d for d in corpus])] -= idf(word) * zero
    theirs[np.abs(theirs) < 1e-9] = 0.0
    return theirs


def ours(searcher, query, scoring, delta=None) -> np.ndarray:
    scores = np.zeros(150)
    for h in searcher.search(" ".join(query), limit=150, highlight=False, scoring=scoring, delta=delta,
                             proximity=0):
        scores[int(h.id)] = h.score
    return scores


@pytest.mark.parametrize("scoring,method,factor", [
    ("bm25", "lucene", K1 + 1),          # bm25s leaves out Lucene's constant (k1 + 1) factor
    ("robertson", "robertson", K1 + 1),
    ("bm25l", "bm25l", 1.0),
    ("bm25+", "bm25+", 1.0),
])
def test_variants_agree_with_bm25s(corpus, searcher, scoring, method, factor):
    bm25s = pytest.importorskip("bm25s", reason="bm25s is a bench dependency")
    delta = {"bm25l": 0.5, "bm25+": 1.0}.get(scoring, 0.5)
    model = bm25s.BM25(k1=K1, b=B, delta=delta, method=method)
    model.index(corpus, show_progress=False)
    for query in QUERIES:
        theirs = np.asarray(model.get_scores(query), dtype=np.float64) * factor
        df = lambda word: sum(word in d for d in corpus)  # noqa: E731
        idf = (lambda word: np.log(151 / (df(word) + 0.5))) if scoring == "bm25l" else (lambda word: np.log(151 / df(word)))
        theirs = without_absent_words(theirs, corpus, query, scoring, idf, delta)
        np.testing.assert_allclose(ours(searcher, query, scoring, delta), theirs, rtol=2e-5, atol=1e-5,
                                   err_msg=f"{scoring} {query}")


@pytest.mark.parametrize("delta", [1.0, 0.6])
def test_bm25plus_agrees_with_rank_bm25(corpus, searcher, delta):
    rank_bm25 = pytest.importorskip("rank_bm25", reason="rank_bm25 is a dev dependency")
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=delta)
    for query in QUERIES:
        theirs = without_absent_words(np.asarray(model.get_scores(query), dtype=np.float64), corpus, query, "bm25+",
                                      model.idf.get, delta)
        np.testing.assert_allclose(ours(searcher, query, "bm25+", delta), theirs, rtol=2e-5, atol=1e-5,
                                   err_msg=f"bm25+ {query}")
