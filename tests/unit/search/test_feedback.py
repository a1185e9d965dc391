"""Pseudo-relevance feedback (search/feedback.py): term vectors from postings, RM3 and Bo1 weights,
and search(expand=...)."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from searchlib import ID, TEXT, Index, Schema
from searchlib.analysis import get_analyzer
from searchlib.config import Settings
from searchlib.errors import ConfigError, InvalidArgumentError
from searchlib.config import config_from_dict
from searchlib.query.compile import BoolNode, TermLeaf
from searchlib.search.feedback import (FeedbackModel, bo1_weights, expanded_node, original_words, rm3_weights,
                                      term_vectors)
from searchlib.search.proximity import with_pairs

TEXTS = [
    "Solar panels convert sunlight into electricity for homes.",
    "Wind turbines and solar farms produce renewable electricity.",
    "The cat sleeps in the sun all afternoon.",
    "Batteries store electricity from solar panels at night.",
    "Renewable energy grids balance wind and solar power.\n\nStorage smooths the supply.",
    "A dog chased the cat around the garden.",
    "Hydro power and geothermal energy are renewable too.",
    "Gardeners plant seeds in spring sunshine.",
] + [f"Note {i} on recipes: pasta{i} with tomato{i} sauce." for i in range(40)]
# 48 documents: the energy words are in fewer than 10% of them (RM3's df cut), the filler ones not


@pytest.fixture(scope="module", params=["one", "split"])
def ix(request, tmp_path_factory):
    passages = "paragraph" if request.param == "split" else None
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", stored=True, passages=passages))
    ix = Index.create(tmp_path_factory.mktemp("fb"), schema)
    with ix.writer() as w:
        for i, text in enumerate(TEXTS[:24]):
            w.add({"id": str(i), "body": text})
    with ix.writer() as w:  # a second segment
        for i, text in enumerate(TEXTS[24:], 24):
            w.add({"id": str(i), "body": text})
    return ix


def _locate(s, key):
    for seg, r in enumerate(s.readers):
        found = r.fields["id"].term_id(key)
        if found >= 0:
            return seg, int(r.fields["id"].postings(found)[0][0])
    raise KeyError(key)


def test_term_vectors_are_the_analysed_text(ix):
    analyzer = get_analyzer("english")
    with ix.searcher() as s:
        keys = ["3", "0", "30", "4"]
        picked = [_locate(s, k) for k in keys]
        words, tf, df = term_vectors(s.readers, "body", picked)
        for row, key in enumerate(keys):
            expected = Counter(analyzer.index_terms(TEXTS[int(key)])[0])
            got = {w: tf[row, i] for i, w in enumerate(words) if tf[row, i]}
            assert got == expected, key
        if ix.schema.fields["body"].passages is None:  # (with passages df counts passages)
            assert df.tolist() == [s.stats.doc_freq("body", w) for w in words]


def test_rm3_weights_follow_anserini():
    words = ["alpha", "beta", "gamma", "the1", "x", "2024"]
    tf = np.array([[3, 1, 0, 5, 9, 4], [0, 2, 2, 1, 1, 1]], dtype=float)
    scores = np.array([2.0, 1.0])
    df = np.array([1, 1, 1, 100, 1, 1])  # "the1" in too many documents; "x" too short; "2024" digits
    got = rm3_weights(words, tf, scores, df, n_docs=100, n_terms=2)
    # by hand: each document keeps its 2 most frequent allowed words, normalised by their sum
    d1 = {"alpha": 3 / 4, "beta": 1 / 4}
    d2 = {"beta": 2 / 4, "gamma": 2 / 4}
    p = {w: 2.0 * d1.get(w, 0) + 1.0 * d2.get(w, 0) for w in ("alpha", "beta", "gamma")}
    best = sorted(p, key=lambda w: -p[w])[:2]
    total = sum(p[w] for w in best)
    assert got == pytest.approx({w: p[w] / total for w in best})


def test_bo1_weights_follow_terrier():
    words = ["rare", "common", "mid"]
    tf = np.array([[2, 3, 1], [1, 3, 0]], dtype=float)
    cf = np.array([3, 900, 40])
    got = bo1_weights(words, tf, cf, n_docs=1000, n_terms=3)
    w = {}
    for word, tfx, f in zip(words, tf.sum(axis=0), cf):
        pn = f / 1000
        w[word] = tfx * math.log2((1 + pn) / pn) + math.log2(1 + pn)
    top = max(w.values())
    assert got == pytest.approx({k: v / top for k, v in w.items()})


def test_search_expand(ix):
    with ix.searcher() as s:
        plain = s.search("solar", limit=30, highlight=False)
        assert plain.expanded_query is None
        rm3 = s.search("solar", limit=30, highlight=False, expand="rm3")
        assert rm3.expanded_query and abs(sum(rm3.expanded_query.values()) - 1) < 1e-9
        assert "electr" in rm3.expanded_query or "panel" in rm3.expanded_query
        assert len(rm3) > len(plain)  # documents without "solar" found through the feedback words
        assert "solar" in rm3.expanded_query
        assert rm3.to_dict()["expanded_query"] == rm3.expanded_query and "expanded_query" not in plain.to_dict()
        for h in rm3:
            assert s.explain("solar", h.id, expand="rm3").value == pytest.approx(h.score, rel=1e-5)
        bo1 = s.search("solar", limit=30, highlight=False, expand=FeedbackModel("bo1", docs=2, terms=3))
        assert len(bo1.expanded_query) == 3 and max(bo1.expanded_query.values()) == pytest.approx(1.0)
        filtered = s.search("solar", highlight=False, expand="rm3", filter={"id": ["0", "1"]})
        assert {h.id for h in filtered} <= {"0", "1"}
        assert s.search("zzzz", expand="rm3").expanded_query == {}  # nothing matched: nothing added
        with pytest.raises(InvalidArgumentError, match="unknown expansion"):
            s.search("solar", expand="rm4")
        with pytest.raises(InvalidArgumentError, match="docs"):
            FeedbackModel("rm3", docs=0)


def test_expansion_setting(tmp_path):
    ix = Index.create(tmp_path / "x", Schema(id=ID(unique=True), body=TEXT()), Settings(expansion="rm3"))
    with ix.writer() as w:
        for i, text in enumerate(TEXTS):
            w.add({"id": str(i), "body": text})
    with ix.searcher() as s:
        assert s.search("solar").expanded_query
        assert s.search("solar", expand="none").expanded_query is None
    assert config_from_dict({"schema": {"body": "text"}, "search": {"expansion": "bo1"}}).settings.expansion == "bo1"
    with pytest.raises(ConfigError, match="search.expansion"):
        config_from_dict({"schema": {"body": "text"}, "search": {"expansion": "rocchio"}})


def test_rm3_divides_the_original_weight_among_the_words_not_the_proximity_pairs(ix):
    words = [TermLeaf("body", "solar"), TermLeaf("body", "panel")]
    plain = BoolNode(should=list(words))
    paired = with_pairs(plain, 0.2, ix.schema)
    assert len(paired.should) == 3  # the two words and their pair
    model = FeedbackModel("rm3")
    out = expanded_node(paired, {"electr": 1.0}, model, {"body": 1.0}, words=original_words(plain))
    assert out.should[0].boost == pytest.approx(0.5 / 2) and out.should[0].should == [paired]
    assert out.should[1] == TermLeaf("body", "electr", 0.5)
    with ix.searcher() as s:  # search and explain agree with the pairs on
        res = s.search("solar panel", limit=10, highlight=False, expand="rm3", proximity=0.2)
        assert res.expanded_query
        for h in res:
            assert s.explain("solar panel", h.id, expand="rm3", proximity=0.2).value == pytest.approx(h.score, rel=1e-5)
