"""BM25 variants chosen per index (settings, YAML) and per query; explain() gives each one's score."""
from __future__ import annotations

import pytest

from searchlib import ID, TEXT, Index, Schema
from searchlib.config import Settings, config_from_dict
from searchlib.errors import ConfigError, InvalidArgumentError
from searchlib.scoring import BM25, VARIANTS

DOCS = [
    {"id": "a", "title": "Cats and dogs", "body": "The cat sat on the mat.\n\nA dog barked at the cat."},
    {"id": "b", "title": "Dogs", "body": "Dogs bark. Dogs run. Dogs sleep all day long in the sun."},
    {"id": "c", "title": "Birds", "body": "A bird sings.\n\nNo cat here, only a small dog and many birds."},
    {"id": "d", "title": "Weather", "body": "Rain today, sun tomorrow."},
]


@pytest.fixture(scope="module", params=[None, "paragraph"], ids=["documents", "passages"])
def index(request, tmp_path_factory):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", boost=2.0),
                    body=TEXT(analyzer="english", passages=request.param))
    ix = Index.create(tmp_path_factory.mktemp("v"), schema)
    with ix.writer() as w:
        for d in DOCS:
            w.add(d)
    return ix


@pytest.mark.parametrize("scoring", VARIANTS)
@pytest.mark.parametrize("query", ["cat dog", "body:dog title:dogs", '"the cat"', "dog*"])
def test_explain_gives_the_score_search_gives(index, scoring, query):
    with index.searcher() as s:
        hits = s.search(query, limit=10, highlight=False, scoring=scoring)
        assert len(hits)
        for h in hits:
            expl = s.explain(query, h.id, scoring=scoring)
            assert expl.value == pytest.approx(h.score, rel=1e-6), (scoring, query, h.id, str(expl))
            if scoring != "bm25":
                assert scoring in str(expl)


def test_variants_differ_and_setting_is_the_default(index, tmp_path):
    with index.searcher() as s:
        scores = {v: [round(h.score, 5) for h in s.search("cat dog", highlight=False, scoring=v)] for v in VARIANTS}
        assert len({tuple(v) for v in scores.values()}) == len(VARIANTS)
        more = [h.score for h in s.search("cat dog", highlight=False, scoring="bm25+", delta=2.0)]
        assert more != scores["bm25+"]
        with pytest.raises(InvalidArgumentError, match="unknown scoring 'bm26'"):
            s.search("cat", scoring="bm26")
    ix = Index.create(tmp_path / "plus", index.schema, Settings(scoring="bm25+"))
    with ix.writer() as w:
        for d in DOCS:
            w.add(d)
    with ix.searcher() as s, index.searcher() as base:
        assert [h.score for h in s.search("cat dog", highlight=False)] == pytest.approx(
            [h.score for h in base.search("cat dog", highlight=False, scoring="bm25+")])
        assert [h.score for h in s.search("cat dog", highlight=False, scoring="bm25")] == pytest.approx(
            [h.score for h in base.search("cat dog", highlight=False)])


def test_yaml_and_validation():
    config = config_from_dict({"schema": {"body": "text"}, "search": {"bm25": {"scoring": "bm25l", "delta": 0.3}}})
    assert (config.settings.scoring, config.settings.delta) == ("bm25l", 0.3)
    with pytest.raises(ConfigError, match="search.bm25.scoring"):
        config_from_dict({"schema": {"body": "text"}, "search": {"bm25": {"scoring": "tfidf"}}})
    with pytest.raises(ConfigError, match="search.bm25.delta"):
        config_from_dict({"schema": {"body": "text"}, "search": {"bm25": {"delta": -1}}})
    assert BM25(variant="bm25l").d == 0.5 and BM25(variant="bm25+").d == 1.0 and BM25(delta=3).d == 0.0
