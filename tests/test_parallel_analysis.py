"""Analysis on several cores must build exactly the index one core builds."""
import random

import pytest

from searchlib import ID, TEXT, Index, Schema
from searchlib.storage import analyze

WORDS = ("pregnancy storyline filming television family scenes counsellor awareness running runs ran "
         "miscarriage soap actress children grief charity hospital midwife baby weeks born").split()


def _docs(n=400, seed=7):
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        paras = ["\n".join(" ".join(rng.choice(WORDS) + rng.choice(["", "s", "ing"]) for _ in range(rng.randint(3, 40)))
                           for _ in range(1))
                 for _ in range(rng.randint(1, 4))]
        docs.append({"id": f"d{i}", "title": " ".join(rng.sample(WORDS, 3)), "body": "\n\n".join(paras)})
    return docs


def _build(path, docs, workers):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True, passages="paragraph"))
    ix = Index.create(path, schema)
    with ix.writer(workers=workers) as w:
        for d in docs:
            w.add(d)
    return ix


@pytest.mark.skipif(not analyze.Analysis(Schema(t=TEXT()), workers=2)._can_fork(),
                    reason="forked analysis workers need Linux, fork and a single-threaded process")
def test_forked_workers_build_the_same_index(tmp_path, monkeypatch):
    monkeypatch.setattr(analyze.Analysis, "MIN_PARALLEL_CHARS", 0)  # force the parallel path on small data
    calls = []
    original = analyze.Analysis._get_pool

    def counting_pool(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(analyze.Analysis, "_get_pool", counting_pool)
    docs = _docs()
    one = _build(tmp_path / "one", docs, workers=1)
    assert not calls
    two = _build(tmp_path / "two", docs, workers=2)
    assert calls, "the parallel path was not taken"
    queries = ["pregnancy", "running storyline", '"family scenes"', "+miscarriage -soap", "title:grief body:baby"]
    with one.searcher() as s1, two.searcher() as s2:
        for q in queries:
            r1, r2 = s1.search(q, limit=50), s2.search(q, limit=50)
            assert r1.total == r2.total > 0
            assert [(h.id, round(h.score, 5)) for h in r1] == [(h.id, round(h.score, 5)) for h in r2]
            assert [[(p.start, p.end) for p in h.passages] for h in r1] == \
                   [[(p.start, p.end) for p in h.passages] for h in r2]
