"""searchlib.evaluation: metrics checked against values computed by hand (against pytrec_eval:
comparison/test_pytrec_eval.py), and BEIR collections loaded."""
import json
import math

import pytest

from searchlib.evaluation import BeirData, clean_run, evaluate, load_beir, ndcg_at_k, recall_at_k


def test_perfect_ranking_scores_one():
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}}
    run = {"q1": ["a", "b", "x"], "q2": ["c"]}
    assert ndcg_at_k(run, qrels, 10) == pytest.approx(1.0)
    assert recall_at_k(run, qrels, 100) == pytest.approx(1.0)


def test_two_documents_by_hand():
    # Relevant: a (gain 2), b (gain 1). Ranking puts b first, an unjudged doc second, a third.
    # DCG  = 1/log2(2) + 0/log2(3) + 2/log2(4) = 1 + 0 + 1 = 2
    # IDCG = 2/log2(2) + 1/log2(3)              = 2 + 0.6309297...
    qrels = {"q": {"a": 2, "b": 1}}
    run = {"q": ["b", "x", "a"]}
    # nDCG = 2 / 2.6309298 = 0.7601875 (by hand: 2.6309298 * 0.76 = 1.9995066, 0.0004934 / 2.6309298 = 0.0001875)
    got = ndcg_at_k(run, qrels, 10)
    assert got == pytest.approx(0.7601875, abs=1e-7)
    assert got == pytest.approx(2.0 / (2.0 + 1.0 / math.log2(3)))
    # Cut at 2: only b counts. DCG = 1, IDCG@2 unchanged: 1 / 2.6309298 = 0.3800938.
    got = ndcg_at_k(run, qrels, 2)
    assert got == pytest.approx(0.3800938, abs=1e-7)
    assert got == pytest.approx(1.0 / (2.0 + 1.0 / math.log2(3)))


def test_gain_is_linear_not_exponential():
    # Linear gain (trec_eval's ndcg_cut): DCG = 1 + 3/log2(3) = 2.8927893, IDCG = 3 + 1/log2(3) = 3.6309298
    #   -> 0.7967076 (by hand: 3.6309298 * 0.8 = 2.9047438, 0.8 - 0.0119545 / 3.6309298 = 0.7967076).
    # Exponential gain (2^rel - 1) would give (1 + 7/log2(3)) / (7 + 1/log2(3))        -> 0.7098.
    qrels = {"q": {"a": 3, "b": 1}}
    run = {"q": ["b", "a"]}
    got = ndcg_at_k(run, qrels, 10)
    assert got == pytest.approx(0.7967076, abs=1e-7)
    assert got == pytest.approx((1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3)))


def test_ideal_uses_all_judged_documents_beyond_the_run():
    # Three relevant docs, only one retrieved, at rank 1: DCG = 1; IDCG = 1 + 1/log2(3) + 1/2.
    qrels = {"q": {"a": 1, "b": 1, "c": 1, "z": 0}}
    run = {"q": ["a"]}
    assert ndcg_at_k(run, qrels, 10) == pytest.approx(1 / (1 + 1 / math.log2(3) + 0.5))


def test_recall_by_hand():
    qrels = {"q1": {"a": 1, "b": 1, "c": 1, "d": 0}, "q2": {"e": 1}}
    run = {"q1": ["a", "d", "x", "c"], "q2": ["y", "z"]}
    # q1: 2 of 3 relevant found (d has score 0: not relevant); q2: 0 of 1.
    assert recall_at_k(run, qrels, 100) == pytest.approx((2 / 3 + 0) / 2)
    # At k=2 only a is inside the cut for q1.
    assert recall_at_k(run, qrels, 2) == pytest.approx((1 / 3) / 2)


def test_query_without_results_scores_zero_and_counts():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": ["a"]}  # q2 missing entirely
    assert ndcg_at_k(run, qrels) == pytest.approx(0.5)
    assert recall_at_k(run, {"q1": {"a": 1}, "q2": {"b": 1}}) == pytest.approx(0.5)
    assert ndcg_at_k({"q1": ["a"], "q2": []}, qrels) == pytest.approx(0.5)


def test_queries_without_qrels_are_ignored():
    qrels = {"q1": {"a": 1}}
    run = {"q1": ["a"], "unjudged": ["nothing", "relevant"]}
    result = evaluate(run, qrels)
    assert result["ndcg@10"] == pytest.approx(1.0)
    assert result["recall@100"] == pytest.approx(1.0)
    assert result["queries"] == 1


def test_hit_equal_to_query_id_is_dropped():
    run = {"7": ["7", "a", "b"], "8": ["a", "8"]}
    assert clean_run(run) == {"7": ["a", "b"], "8": ["a"]}
    assert run["7"] == ["7", "a", "b"], "clean_run must not change its argument"
    qrels = {"7": {"a": 1}}
    # Without cleaning, a sits at rank 2: 1/log2(3); with cleaning it is rank 1.
    assert ndcg_at_k(run, qrels) == pytest.approx(1 / math.log2(3))
    assert evaluate(run, qrels)["ndcg@10"] == pytest.approx(1.0)
    assert evaluate(run, qrels, ignore_identical_ids=False)["ndcg@10"] == pytest.approx(1 / math.log2(3))


def test_cleaning_happens_before_the_cut():
    # The query id occupies rank 1; after dropping it, the relevant doc at rank 3 moves inside top 2.
    run = {"q": ["q", "x", "a"]}
    qrels = {"q": {"a": 1}}
    assert evaluate(run, qrels, k_ndcg=2, k_recall=2)["recall@2"] == pytest.approx(1.0)


def test_duplicate_ids_count_once():
    qrels = {"q": {"a": 1, "b": 1}}
    assert ndcg_at_k({"q": ["a", "a", "b"]}, qrels) == pytest.approx(1.0)
    assert recall_at_k({"q": ["a", "a"]}, qrels, 2) == pytest.approx(0.5)


def test_empty_qrels_and_bad_k():
    assert ndcg_at_k({"q": ["a"]}, {}) == 0.0
    assert recall_at_k({"q": ["a"]}, {}) == 0.0
    with pytest.raises(ValueError):
        ndcg_at_k({}, {"q": {"a": 1}}, k=0)


def _write_beir(folder, split="test"):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        json.dumps({"_id": "d1", "title": "T", "text": "one"}) + "\n"
        + json.dumps({"_id": "d2", "text": "two"}) + "\n\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "1", "text": "first"}) + "\n" + json.dumps({"_id": "2", "text": "second"}) + "\n",
        encoding="utf-8")
    (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t2\n",
                                                   encoding="utf-8")


def test_load_beir(tmp_path):
    _write_beir(tmp_path)
    data = load_beir(tmp_path)
    assert isinstance(data, BeirData)
    assert data.corpus == [{"_id": "d1", "title": "T", "text": "one"}, {"_id": "d2", "title": "", "text": "two"}]
    assert data.queries == {"1": "first", "2": "second"}
    assert data.qrels == {"1": {"d1": 1, "d2": 2}}
    assert data.judged_queries == {"1": "first"}


def test_load_beir_drops_a_byte_order_mark(tmp_path):
    _write_beir(tmp_path)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as some Windows tools save UTF-8
    data = load_beir(tmp_path)
    assert data.corpus == [{"_id": "d1", "title": "T", "text": "one"}, {"_id": "d2", "title": "", "text": "two"}]
    assert data.queries == {"1": "first", "2": "second"}
    assert data.qrels == {"1": {"d1": 1, "d2": 2}}


def test_load_beir_keeps_ids_as_strings(tmp_path):
    _write_beir(tmp_path)
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"_id": 7, "text": "seven", "title": None}) + "\n",
                                           encoding="utf-8")
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": 1, "text": "first"}) + "\n", encoding="utf-8")
    data = load_beir(tmp_path)
    assert data.corpus == [{"_id": "7", "title": "", "text": "seven"}]
    assert data.queries == {"1": "first"}


def test_load_beir_split_and_missing_file(tmp_path):
    _write_beir(tmp_path, split="train")
    assert load_beir(tmp_path, split="train").qrels == {"1": {"d1": 1, "d2": 2}}
    with pytest.raises(FileNotFoundError, match=r"qrels.test\.tsv"):
        load_beir(tmp_path)
    with pytest.raises(FileNotFoundError, match="corpus.jsonl"):
        load_beir(tmp_path / "nowhere")
