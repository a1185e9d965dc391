"""Crash safety of sharded commits: the SIGKILL harness of test_crash.py on a sharded index.

A process writes test_crash's deterministic batches through a ShardedWriter (3 shards, so most
batches touch every shard) and is killed at a random moment, often right after one of its shards
committed and before the top-level manifest named the new generations. After every kill the
sharded index must hold exactly the documents of the last logged batch or of the next one -- a
batch is visible in every shard or in none -- and a new sharded writer must roll the orphaned
shard commits back and commit, after which every shard's newest commit is the one the
top-level manifest names. SEARCHLIB_CRASH_ITERATIONS (default 25) sets half the kill count here.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from conftest import TESTS
from searchlib import Index
from searchlib.cluster.layout import TopManifest, read_top, shard_dir_name, write_top
from searchlib.storage.manifest import generations

from test_crash import ITERATIONS, SEED, Model, crash_schema, kill_writer, logged_batches

HERE = Path(__file__).resolve().parent
SHARDS = 3
PHASES = ["any", "shard-commit", "shard-commit", "top", "rollback"]

WRITER_SCRIPT = """
import os, sys
sys.path[:0] = {paths!r}
from test_crash import WRITER_OPTIONS, apply_to_writer, batch_plan
from searchlib.indexing.writer import IndexWriter
import searchlib.cluster.writer as sharded_writer
from searchlib.cluster import ShardedIndex

def mark(phase):
    os.write(1, (phase + "\\n").encode())

def announced(phase, original):
    def call(*args, **kwargs):
        mark(phase)
        return original(*args, **kwargs)
    return call

IndexWriter.commit = announced("shard-commit", IndexWriter.commit)
sharded_writer.write_top = announced("top", sharded_writer.write_top)
sharded_writer.roll_back_orphans = announced("rollback", sharded_writer.roll_back_orphans)

path, log = sys.argv[1], sys.argv[2]
mark("ready")
ix = ShardedIndex(path)
n = ix.metadata.get("batch", 0)
while True:
    n += 1
    ops, mode = batch_plan(n)
    writer = ix.writer(**WRITER_OPTIONS)
    apply_to_writer(writer, ops)
    writer.commit(metadata={{"batch": n}}, optimize=mode == "optimize")
    writer.close()
    with open(log, "a") as fh:
        fh.write(f"{{n}}\\n")
        fh.flush()
        os.fsync(fh.fileno())
    mark("logged")
"""


def sharded_contents(path: Path) -> tuple[dict[str, dict], int]:
    ix = Index.open(path)
    with ix.searcher() as s:
        docs = list(s.documents())
        contents = {d["id"]: d for d in docs}
        assert len(contents) == len(docs), "two live documents with the same key"
        for tag in ("t0", "t5", "t11"):  # the postings agree with the stored fields, over shards
            hits = s.search(f"tag:{tag}", limit=100_000, highlight=False)
            assert sorted(h.id for h in hits) == sorted(k for k, d in contents.items() if d["tag"] == tag)
    return contents, ix.metadata.get("batch", 0)


def no_orphans(path: Path) -> bool:
    top = read_top(path)
    return all(generations(p)[-1] == g for p, g in zip(top.shard_paths(path), top.shard_generations))


@pytest.mark.slow
def test_sharded_writer_killed_at_random_moments_shows_whole_batches_only(tmp_path):
    path = tmp_path / "sharded"
    path.mkdir()
    dirs = [shard_dir_name(1, i) for i in range(SHARDS)]
    write_top(path, TopManifest(1, 1, dirs, [Index.create(path / d, crash_schema()).generation for d in dirs]))
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT.format(paths=[str(HERE), str(TESTS)]))
    log = tmp_path / "commits.log"
    rng = random.Random(SEED)
    model = Model()
    orphans_seen = 0
    for iteration in range(max(ITERATIONS // 2, len(PHASES))):
        target = PHASES[iteration % len(PHASES)]
        kill_writer(script, path, log, target, rng)

        logged = logged_batches(log)
        last = logged[-1] if logged else 0
        contents, committed = sharded_contents(path)
        expected = {n: model.after(n) for n in (last, last + 1)}
        matching = [n for n, state in expected.items() if state == contents]
        assert matching, f"iteration {iteration}: the sharded index holds neither batch {last} nor {last + 1}"
        assert committed in matching
        orphans_seen += not no_orphans(path)

        with Index.open(path).writer():  # rolls orphaned shard commits back, then commits
            pass
        assert no_orphans(path)
        assert sharded_contents(path)[0] == contents
        if committed == last + 1:
            with open(log, "a") as fh:
                fh.write(f"{committed}\n")
        model.states = {n: s for n, s in model.states.items() if n >= committed - 1}
    assert logged_batches(log), "no batch was ever committed"
    assert orphans_seen, "no kill fell between a shard's commit and the top-level manifest"
