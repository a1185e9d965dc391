"""Analysis on several cores must build exactly the index one core builds.

Forked workers are used only from a single-threaded process, so the comparison runs in a fresh
subprocess (a test session may have threads running).
"""
import json
import sys

import pytest

from conftest import run_python, subprocess_env

SCRIPT = r'''
import json, os, random, sys
from searchlib import ID, TEXT, Index, Schema
from searchlib.indexing import analyze

analyze.Analysis.MIN_PARALLEL_CHARS = 0  # take the parallel path on small data
forks = []
original = analyze.Analysis._get_pool
def counting_pool(self):
    forks.append(1)
    return original(self)
analyze.Analysis._get_pool = counting_pool
sources = []  # the process id of every analysed batch's numbering
original_record = analyze.Analysis._record
def recording(self, field, batches):
    sources.extend(batch.source[0] for batch in batches)
    return original_record(self, field, batches)
analyze.Analysis._record = recording

words = ("pregnancy storyline filming television family scenes counsellor awareness running runs ran "
         "miscarriage soap actress children grief charity hospital midwife baby weeks born").split()
rng = random.Random(7)
docs = []
for i in range(400):
    paras = [" ".join(rng.choice(words) + rng.choice(["", "s", "ing"]) for _ in range(rng.randint(3, 40)))
             for _ in range(rng.randint(1, 4))]
    docs.append({"id": f"d{i}", "title": " ".join(rng.sample(words, 3)), "body": "\n\n".join(paras)})

def build(path, workers):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True, passages="paragraph"))
    ix = Index.create(path, schema)
    with ix.writer(workers=workers) as w:
        for d in docs:
            w.add(d)
    return ix

out = {}
for workers in (1, 2):
    before, seen = len(forks), len(sources)
    ix = build(f"{sys.argv[1]}/w{workers}", workers)
    pids = set(sources[seen:])
    with ix.searcher() as s:
        out[workers] = {"forked": len(forks) > before, "pids": len(pids), "here": os.getpid() in pids, "results": {
            q: [[h.id, round(h.score, 5), [[p.start, p.end] for p in h.passages]] for h in s.search(q, limit=50)]
            for q in ["pregnancy", "running storyline", '"family scenes"', "+miscarriage -soap", "title:grief body:baby"]}}
print(json.dumps(out))
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked analysis workers are used on Linux only")
def test_forked_workers_build_the_same_index(tmp_path):
    proc = run_python("-c", SCRIPT, tmp_path, env=subprocess_env(inherit=False, PATH="/usr/bin:/bin"))  # minimal
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    one, two = out["1"], out["2"]
    assert not one["forked"]
    assert two["forked"], "the parallel path was not taken"
    assert one["pids"] == 1 and one["here"]  # one core: every batch analysed in the writer's process
    # two workers: batches really came from the writer's process and from a forked worker
    assert two["pids"] >= 2 and two["here"], "no batch was analysed by a worker process"
    for query, hits in one["results"].items():
        assert hits, query
        assert two["results"][query] == hits, query
