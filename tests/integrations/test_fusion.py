"""searchlib.fusion: reciprocal-rank and score-normalised fusion, and filters applied to both sides."""
import pytest

from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, InvalidArgumentError, Schema
from searchlib.fusion import filter_ids, hybrid_search, normalized, rrf


@pytest.fixture
def ix(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", stored=True),
                    lang=KEYWORD(stored=True), year=NUMERIC())
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        w.add({"id": "a", "body": "the fox jumps over the dog", "lang": "en", "year": 2001})
        w.add({"id": "b", "body": "a fox and a fox and a hound", "lang": "en", "year": 2015})
        w.add({"id": "c", "body": "le renard (fox) saute", "lang": "fr", "year": 2019})
        w.add({"id": "d", "body": "nothing to see here", "lang": "en", "year": 2020})
    return ix


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([("a", 9.0), ("b", 5.0), ("c", 1.0)], [("c", 0.9), ("a", 0.8)], k=60)
    by_id = {f.id: f for f in fused}
    assert by_id["a"].score == pytest.approx(1 / 61 + 1 / 62)
    assert by_id["c"].score == pytest.approx(1 / 63 + 1 / 61)
    assert by_id["b"].score == pytest.approx(1 / 62)
    assert [f.id for f in fused] == ["a", "c", "b"]
    assert by_id["c"].ranks == {0: 3, 1: 1} and by_id["c"].scores == {0: 1.0, 1: 0.9}


def test_rrf_weights_and_limit():
    fused = rrf([("a", 1.0), ("b", 0.5)], [("b", 1.0), ("a", 0.5)], weights=[1.0, 3.0], limit=1)
    assert [f.id for f in fused] == ["b"]


def test_normalized_scales_each_list_to_unit_range():
    fused = normalized([("a", 10.0), ("b", 6.0), ("c", 2.0)], [("c", 0.9), ("b", 0.5)], weights=[0.5, 0.5])
    by_id = {f.id: f.score for f in fused}
    assert by_id["a"] == pytest.approx(0.5 * 1.0)
    assert by_id["b"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.0)
    assert by_id["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    assert normalized([("x", 3.0), ("y", 3.0)])[0].score == 1.0  # all equal: each worth 1


def test_payload_and_duplicate_ids():
    fused = rrf([("a", 2.0, "doc-a"), ("a", 1.0, "again"), ("b", 1.0)])
    assert [(f.id, f.payload) for f in fused] == [("a", "doc-a"), ("b", None)]
    assert fused[1].ranks == {0: 2}  # the duplicate did not take a rank


@pytest.mark.parametrize("bad", [dict(k=-1), dict(weights=[1.0]), dict(weights=[1, -1]), dict(limit=-2)])
def test_bad_arguments_are_named(bad):
    with pytest.raises(InvalidArgumentError):
        rrf([("a", 1.0)], [("b", 1.0)], **bad)
    with pytest.raises(InvalidArgumentError, match="tuples"):
        rrf(["a", "b"])
    with pytest.raises(InvalidArgumentError, match="score"):
        rrf([("a", "high")])


def test_results_are_a_ranking(ix):
    with ix.searcher() as s:
        res = s.search("fox", limit=10)
        fused = rrf(res, [("d", 0.9)])
        assert {f.id for f in fused} == {"a", "b", "c", "d"}
        assert all(f.hit is not None for f in fused if f.id != "d")
        assert next(f for f in fused if f.id == "d").hit is None


def test_filter_ids_keeps_live_documents_passing_the_filter(ix):
    with ix.writer() as w:
        w.delete("a")
    with ix.searcher() as s:
        assert filter_ids(s, ["a", "b", "c", "d", "zzz"], None) == {"b", "c", "d"}
        assert filter_ids(s, ["a", "b", "c", "d"], {"lang": "en"}) == {"b", "d"}
        assert filter_ids(s, ["b", "c", "d"], "year:>=2016") == {"c", "d"}


def test_hybrid_search_applies_the_filter_to_both_sides(ix):
    vector = [("c", 0.95), ("d", 0.9), ("a", 0.2), ("ghost", 0.99)]
    with ix.searcher() as s:
        plain = hybrid_search(s, "fox", [vector], limit=10)
        assert {f.id for f in plain} == {"a", "b", "c", "d", "ghost"}  # no filter: the vector side as given
        fused = hybrid_search(s, "fox", [vector], limit=10, filter={"lang": "en"})
        assert {f.id for f in fused} == {"a", "b", "d"}  # c is French, ghost unknown to the index
        norm = hybrid_search(s, "fox", [vector], limit=2, method="normalized", filter={"year": (2010, None)})
        assert len(norm) == 2 and {f.id for f in norm} <= {"b", "c", "d"}
        with pytest.raises(InvalidArgumentError, match="method"):
            hybrid_search(s, "fox", [vector], method="borda")
