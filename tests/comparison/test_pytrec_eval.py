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


def _random_case(seed: int, n_queries: int = 40, n_docs: int = 300):
    """Graded qrels and runs of random length (some empty, some past 100) over a shared pool."""
    import numpy as np

    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(n_docs)]
    qrels, run = {}, {}
    for q in range(n_queries):
        judged = rng.choice(n_docs, size=int(rng.integers(1, 30)), replace=False)
        qrels[f"q{q}"] = {docs[d]: int(rng.integers(0, 4)) for d in judged}
        if q % 7 != 3:  # a few judged queries have no run at all
            ranked = rng.permutation(n_docs)[: int(rng.integers(0, 150))]
            run[f"q{q}"] = [docs[d] for d in ranked]
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_measure_per_query_agrees_with_pytrec_eval(seed):
    pytrec_eval = pytest.importorskip("pytrec_eval", reason="pytrec-eval-terrier is a dev dependency")
    from searchlib.evaluation import MEASURES, per_query

    qrels, run = _random_case(seed)
    trec = lambda r: {q: {d: float(len(ds) - i) for i, d in enumerate(ds)} for q, ds in r.items()}  # noqa: E731
    ours = per_query(run, qrels, MEASURES, ignore_identical_ids=False)
    res = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "map_cut_100", "recall_100", "P_10"}).evaluate(trec(run))
    top10 = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(trec({q: ds[:10] for q, ds in run.items()}))
    names = {"ndcg@10": ("ndcg_cut_10", res), "map@100": ("map_cut_100", res), "recall@100": ("recall_100", res),
             "p@10": ("P_10", res), "mrr@10": ("recip_rank", top10)}
    checked = 0
    for measure, (trec_name, table) in names.items():
        for q in qrels:
            expected = table[q][trec_name] if q in table else 0.0  # pytrec_eval leaves out queries without a run
            assert ours[measure][q] == pytest.approx(expected, abs=1e-9), (measure, q)
            checked += 1
    assert checked == len(MEASURES) * len(qrels)


def test_randomisation_test_separates_a_real_difference_from_noise():
    import numpy as np

    from searchlib.evaluation import randomisation_test

    rng = np.random.default_rng(5)
    base = rng.random(200)
    assert randomisation_test(base + 0.05, base) < 0.001          # every query better
    noise = base + rng.normal(0, 0.05, 200)
    noise -= noise.mean() - base.mean()                            # same mean, different queries
    assert randomisation_test(noise, base) > 0.5
    assert randomisation_test(base, base) == 1.0
    assert randomisation_test(noise, base, seed=1) == randomisation_test(noise, base, seed=1)
    with pytest.raises(ValueError):
        randomisation_test([1.0, 2.0], [1.0])
