"""nDCG@k and recall@k of searchlib.evaluation against pytrec_eval's (skipped without pytrec_eval)."""
import pytest

from searchlib.evaluation import ndcg_at_k, recall_at_k


def test_agrees_with_pytrec_eval_when_installed():
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels = {"q1": {"a": 2, "b": 1, "c": 0}, "q2": {"d": 1, "e": 3}, "q3": {"f": 1}}
    run = {"q1": ["x", "b", "c", "a"], "q2": ["e", "y", "z", "d"], "q3": []}
    trec_run = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in run.items()}
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recall_100"})
    res = ev.evaluate(trec_run)
    per_q = [res.get(q, {}).get("ndcg_cut_10", 0.0) for q in qrels]
    assert ndcg_at_k(run, qrels, 10) == pytest.approx(sum(per_q) / len(qrels))
    per_q = [res.get(q, {}).get("recall_100", 0.0) for q in qrels]
    assert recall_at_k(run, qrels, 100) == pytest.approx(sum(per_q) / len(qrels))
