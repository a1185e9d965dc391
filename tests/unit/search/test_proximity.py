"""Proximity (search/proximity.py): adjacent query words as optional sloppy phrases."""
from __future__ import annotations

import pytest

from searchlib import ID, TEXT, Index, Schema
from searchlib.config import config_from_dict
from searchlib.errors import ConfigError, InvalidArgumentError
from searchlib.query.compile import BoolNode, PhraseLeaf, TermLeaf
from searchlib.search.proximity import PAIR_SLOP, with_pairs

DOCS = {"near": "the time sharing systems for small computers",
        "apart": "time is spent on every one of our big systems whenever we are sharing a few computers",
        "one": "sharing of time"}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("p"), Schema(id=ID(unique=True, stored=True), body=TEXT()))
    with ix.writer() as w:
        for key, text in DOCS.items():
            w.add({"id": key, "body": text})
    return ix


def test_pairs_are_added_as_optional_sloppy_phrases(ix):
    node = BoolNode(should=[TermLeaf("body", "time", 1.0), TermLeaf("body", "sharing", 2.0), TermLeaf("body", "system")])
    out = with_pairs(node, 0.1, ix.schema)
    pairs = [c for c in out.should if isinstance(c, PhraseLeaf)]
    assert [(p.terms, p.slop) for p in pairs] == [([(0, "time"), (1, "sharing")], PAIR_SLOP),
                                                 ([(0, "sharing"), (1, "system")], PAIR_SLOP)]
    assert [p.boost for p in pairs] == pytest.approx([0.1, 0.1])
    assert with_pairs(node, 0.0, ix.schema) is node
    assert with_pairs(TermLeaf("body", "time"), 0.1, ix.schema) == TermLeaf("body", "time")


def test_proximity_reorders_without_changing_matches(ix):
    with ix.searcher() as s:
        plain = s.search("time sharing systems", proximity=0, highlight=False)
        near = s.search("time sharing systems", proximity=0.5, highlight=False)
        assert {h.id for h in plain} == {h.id for h in near} == set(DOCS)
        assert near[0].id == "near"
        gain = {h.id: h.score for h in near}
        base = {h.id: h.score for h in plain}
        assert gain["near"] > base["near"] and gain["apart"] == pytest.approx(base["apart"])
        for h in near:
            assert s.explain("time sharing systems", h.id, proximity=0.5).value == pytest.approx(h.score, rel=1e-6)
        with pytest.raises(InvalidArgumentError, match="proximity"):
            s.search("time", proximity=-1)


def test_proximity_setting(ix):
    config = config_from_dict({"schema": {"body": "text"}, "search": {"proximity": 0.2}})
    assert config.settings.proximity == 0.2
    # the default (README "Relevance": +0.5 point for 1.5-3x the query time is the user's choice): off
    assert config_from_dict({"schema": {"body": "text"}}).settings.proximity == 0.0
    with ix.searcher() as s:
        default = [(h.id, h.score) for h in s.search("time sharing systems", highlight=False)]
        assert default == [(h.id, h.score) for h in s.search("time sharing systems", proximity=0, highlight=False)]
        assert default != [(h.id, h.score) for h in s.search("time sharing systems", proximity=0.1, highlight=False)]
    with pytest.raises(ConfigError, match="search.proximity"):
        config_from_dict({"schema": {"body": "text"}, "search": {"proximity": "high"}})


def test_supplied_statistics_cover_the_pairs_of_several_fields(tmp_path):
    """A shard scores with a coordinator's statistics (query_stats summed): the pairs of words
    searched over two fields are phrases per field, whose words' statistics must be gathered too."""
    from searchlib.search.stats import SuppliedStats, sum_stats

    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True, boost=2.0), body=TEXT(stored=True))
    ix = Index.create(tmp_path / "two", schema)
    with ix.writer() as w:
        for key, text in DOCS.items():
            w.add({"id": key, "title": text.split()[-1], "body": text})
    with ix.searcher() as s:
        for q in ("time sharing systems", "sharing computers"):
            totals = sum_stats([s.query_stats(q, proximity=0.2)])  # the search's options, as a coordinator passes them
            supplied = s.search(q, proximity=0.2, stats=SuppliedStats(s.readers, totals), highlight=False)
            local = s.search(q, proximity=0.2, highlight=False)
            assert [(h.id, pytest.approx(h.score)) for h in supplied] == [(h.id, h.score) for h in local]
