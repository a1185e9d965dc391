"""BM25 scores against rank_bm25's BM25Okapi on the hand-made corpus (skipped without rank_bm25)."""
from __future__ import annotations

import math

import pytest

from conftest import HAND_MADE_DOCS
from searchlib import ID, TEXT, Index, Schema
from searchlib.analysis import get_analyzer

ANALYZER = get_analyzer("english")
BODIES = {key: body for key, _, body in HAND_MADE_DOCS}


def test_bm25_agrees_with_rank_bm25_up_to_idf(tmp_path):
    rank_bm25 = pytest.importorskip("rank_bm25")
    # rank_bm25's BM25Okapi has the same tf saturation and length normalisation, but a different
    # idf: log((N - df + 0.5) / (df + 0.5)) (negative for common terms, floored by epsilon) instead
    # of Lucene's log(1 + ...). So scores are not comparable across terms, but for a single-term
    # query every document's score is that term's idf times the same tf factor: our scores must be
    # proportional to BM25Okapi's, with the ratio of the two idfs, hence rank documents identically.
    # (BM25Plus/BM25L change the tf factor itself, so they are not comparable at all.)
    bodies = {k: v for k, v in BODIES.items() if ANALYZER.index_terms(v)[0]}
    keys = sorted(bodies)
    tokenized = [ANALYZER.index_terms(bodies[k])[0] for k in keys]
    k1, b = 1.2, 0.75
    okapi = rank_bm25.BM25Okapi(tokenized, k1=k1, b=b)
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT(analyzer="english")))
    with ix.writer() as w:
        for k in keys:
            w.add({"id": k, "body": bodies[k]})
    with ix.searcher() as s:
        checked = 0
        for word in ("fox", "dog", "cat", "black", "end", "profits", "bears", "brown"):
            (term,) = ANALYZER.index_terms(word)[0]
            theirs = dict(zip(keys, okapi.get_scores([term])))
            df = sum(term in t for t in tokenized)
            if df * 2 >= len(keys):
                continue  # Okapi's idf is floored there; the comparison would not be meaningful
            ours = {h.id: h.score for h in s.search(word, limit=100, highlight=False)}
            assert set(ours) == {k for k, v in theirs.items() if v > 0}, word
            n = len(keys)
            ratio = math.log(1 + (n - df + 0.5) / (df + 0.5)) / math.log((n - df + 0.5) / (df + 0.5))
            for k, score in ours.items():
                assert score == pytest.approx(theirs[k] * ratio, rel=1e-4), (word, k)
            assert sorted(ours, key=lambda k: -ours[k]) == sorted(ours, key=lambda k: -theirs[k])
            checked += 1
        assert checked >= 6
