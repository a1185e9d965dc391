"""Concurrency: one writer process committing continuously while reader processes search.

Every reader must see commit generations that never go backwards and, in every snapshot, exactly
the batches committed up to that generation (a batch is all or nothing). The run lasts
SEARCHLIB_CONCURRENCY_SECONDS (default 5). Also: the writer lock (a second writer fails at once or
waits up to its timeout; a killed writer, even one whose forked child lives on, never blocks the
index) and old files (a searcher keeps working after a writer removed its segments' files).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import start_python
from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, IndexLockedError, Schema
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.lock import MAX_RETRY_DELAY, WriteLock

SECONDS = float(os.environ.get("SEARCHLIB_CONCURRENCY_SECONDS", "5"))
READERS = 4


def concurrency_schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), batch=NUMERIC(), size=NUMERIC(), tag=KEYWORD(stored=True),
                  body=TEXT(analyzer="standard", stored=True, passages="paragraph"))


WRITER = """
import json, random, sys, time
from searchlib import Index
path, log, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
words = "amber birch cedar dune ember fjord grove heath inlet juniper knoll larch marsh".split()
rng = random.Random(7)
ix = Index.open(path)
deadline = time.monotonic() + seconds
batch = 0
with open(log, "w") as out:
    while time.monotonic() < deadline:
        batch += 1
        size = rng.randint(1, 12)
        deleted = []
        w = ix.writer(timeout=10, merge_factor=3, buffer_chars=2000)
        for i in range(size):
            body = "\\n\\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 20)))
                                 for _ in range(rng.randint(1, 3)))
            w.add({"id": f"b{batch}-{i}", "batch": batch, "size": size, "tag": "all", "body": body})
        if batch % 4 == 0:  # retire an older batch, all of it, in the same commit
            deleted.append(batch - 3)
            assert w.delete_by_query(f"batch:{batch - 3}") > 0
        generation = w.commit(optimize=batch % 25 == 0)
        w.close()
        out.write(json.dumps({"generation": generation, "batch": batch, "size": size, "deleted": deleted}) + "\\n")
        out.flush()
"""

READER = """
import collections, json, random, sys, time, traceback
from searchlib import Index
path, out_path, seconds, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
ix = Index.open(path)
deadline = time.monotonic() + seconds
last_generation = 0
searcher = None
with open(out_path, "w") as out:
    def record(**item):
        out.write(json.dumps(item) + "\\n")
    while time.monotonic() < deadline:
        try:
            if searcher is None or rng.random() < 0.5:
                if searcher is not None:
                    searcher.close()
                searcher = ix.searcher()
            else:
                fresh = searcher.refresh()
                if fresh is not searcher:
                    searcher.close()
                    searcher = fresh
            g = searcher.generation
            if g < last_generation:
                record(error=f"generation went backwards: {last_generation} -> {g}")
            last_generation = g
            batches = collections.Counter(int(d["id"][1:].split("-")[0]) for d in searcher.documents())
            record(generation=g, batches={str(b): n for b, n in batches.items()}, doc_count=searcher.doc_count())
            res = searcher.search("tag:all", limit=5)
            if res.total != sum(batches.values()):
                record(error=f"generation {g}: tag:all matches {res.total}, documents() has {sum(batches.values())}")
            if batches:
                b = rng.choice(sorted(batches))
                hits = searcher.search(f"batch:{b}", limit=100)
                wanted = sorted(f"b{b}-{i}" for i in range(batches[b]))
                if hits.total != batches[b] or sorted(h.id for h in hits) != wanted:
                    record(error=f"generation {g}: batch:{b} finds {hits.total}, documents() has {batches[b]}")
            for hit in searcher.search(rng.choice("amber birch cedar dune ember".split()), limit=3):
                if hit.fields["tag"] != "all" or not hit.snippet:
                    record(error=f"generation {g}: hit {hit.id} without its stored fields or snippet")
        except Exception:
            record(error=traceback.format_exc())
            searcher = None
    if searcher is not None:
        searcher.close()
"""


def spawn(script: Path, *args) -> subprocess.Popen:
    return start_python(script, *args)


def finish(proc: subprocess.Popen, timeout: float) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"process {proc.args} did not finish in time:\n{err.decode(errors='replace')}")
    assert proc.returncode == 0, err.decode(errors="replace")


@pytest.mark.slow
def test_one_writer_and_four_readers_see_only_whole_committed_batches(tmp_path):
    path = tmp_path / "ix"
    Index.create(path, concurrency_schema())
    (tmp_path / "writer.py").write_text(WRITER)
    (tmp_path / "reader.py").write_text(READER)
    log = tmp_path / "commits.jsonl"
    writer = spawn(tmp_path / "writer.py", path, log, SECONDS)
    readers = [spawn(tmp_path / "reader.py", path, tmp_path / f"reader{i}.jsonl", SECONDS, i) for i in range(READERS)]
    for proc in [writer, *readers]:
        finish(proc, SECONDS + 120)

    commits = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(commits) >= 5, "the writer committed too little to test anything"
    # The exact live batches (and their sizes) of every generation the writer produced.
    expected: dict[int, dict[int, int]] = {1: {}}
    live: dict[int, int] = {}
    for c in commits:
        live[c["batch"]] = c["size"]
        for b in c["deleted"]:
            del live[b]
        expected[c["generation"]] = dict(live)

    errors, snapshots, generations_seen = [], 0, set()
    for i in range(READERS):
        last = 0
        for line in (tmp_path / f"reader{i}.jsonl").read_text().splitlines():
            item = json.loads(line)
            if "error" in item:
                errors.append(f"reader {i}: {item['error']}")
                continue
            g = item["generation"]
            assert g >= last, f"reader {i}: generation went backwards ({last} -> {g})"
            last = g
            seen = {int(b): n for b, n in item["batches"].items()}
            assert g in expected, f"reader {i} saw generation {g}, which the writer never reported"
            assert seen == expected[g], (f"reader {i}, generation {g}: saw batches {seen}, "
                                         f"committed were {expected[g]}")
            assert item["doc_count"] == sum(seen.values())
            snapshots += 1
            generations_seen.add(g)
    assert errors == []
    assert snapshots >= 4 * READERS
    assert len(generations_seen) >= 3, "the readers never saw the index change"
    print(f"\n{len(commits)} commits, {snapshots} snapshots checked by {READERS} readers, "
          f"{len(generations_seen)} distinct generations seen")


# -- the writer lock ------------------------------------------------------------------------------

HOLDER = """
import os, sys, time
from searchlib import Index
path, hold, fork = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "fork"
w = Index.open(path).writer()
w.add({"id": "from-holder", "tag": "x"})
if fork:
    ready, running = os.pipe()
    child = os.fork()
    if child == 0:  # a child that outlives its parent (like an analysis worker or a user's fork)
        os.write(running, b"x")  # past the fork handlers (they run before fork() returns)
        time.sleep(60)
        os._exit(0)
    os.read(ready, 1)
    print(f"child {child}", flush=True)
print("locked", flush=True)
time.sleep(hold)
w.commit()
w.close()
print("released", flush=True)
time.sleep(hold)
"""


def holder(tmp_path: Path, path: Path, hold: float, fork: bool = False) -> tuple[subprocess.Popen, int | None]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = start_python(script, path, hold, "fork" if fork else "-")
    child = None
    while True:
        line = proc.stdout.readline().decode().strip()
        assert line, proc.stderr.read().decode(errors="replace")
        if line.startswith("child"):
            child = int(line.split()[1])
        if line == "locked":
            return proc, child


class FakeClock:
    """A clock for WriteLock.acquire in place of the `time` module: monotonic() reads a virtual
    clock that only sleep() advances, and every sleep is recorded. No real time passes."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.slow
def test_second_writer_in_another_process_fails_at_once_or_waits(tmp_path):
    path = tmp_path / "ix"
    ix = Index.create(path, concurrency_schema())
    proc, _ = holder(tmp_path, path, hold=1.5)
    try:
        # a writer asks its lock to wait as long as its timeout: with 0 not at all
        with pytest.raises(IndexLockedError) as info:
            ix.writer(timeout=0)
        assert "after waiting" not in str(info.value)
        with pytest.raises(IndexLockedError, match="after waiting 0.2 s"):
            ix.writer(timeout=0.2)
        # and the lock waits that long, in short pauses, on a clock of our own
        clock = FakeClock()
        with pytest.raises(IndexLockedError):
            WriteLock(path).acquire(clock=clock)
        assert clock.sleeps == []  # at once, by default: not a single retry
        for timeout in (0.3, 1.0):
            clock = FakeClock()
            with pytest.raises(IndexLockedError, match="after waiting"):
                WriteLock(path).acquire(timeout, clock=clock)
            waited = sum(clock.sleeps)
            assert len(clock.sleeps) >= 2 and max(clock.sleeps) <= MAX_RETRY_DELAY
            assert timeout <= waited < timeout + MAX_RETRY_DELAY  # the whole timeout, and no more
        w = ix.writer(timeout=30)  # in real time: the holder releases the lock after 1.5 s
        try:
            assert Index.open(path).doc_count() == 1  # the holder's commit is visible to the new writer
        finally:
            w.close()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("fork", [False, True], ids=["plain", "with-forked-child"])
def test_lock_of_a_killed_writer_does_not_block_the_index(tmp_path, fork):
    path = tmp_path / "ix"
    ix = Index.create(path, concurrency_schema())
    proc, child = holder(tmp_path, path, hold=60, fork=fork)
    try:
        with pytest.raises(IndexLockedError):
            ix.writer(timeout=0)
        proc.kill()
        proc.wait()
        with ix.writer(timeout=0) as w:  # no waiting: the kernel released the lock with the process
            w.add({"id": "after", "tag": "y"})
        assert ix.doc_count() == 1  # the killed writer's batch never committed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if child is not None:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass


# -- old files and open searchers -----------------------------------------------------------------

CHURN = """
import sys
from searchlib import Index
ix = Index.open(sys.argv[1])
for b in range(6):  # commits that merge away, delete and finally optimize the old segments
    with ix.writer(merge_factor=2) as w:
        for i in range(5):
            w.add({"id": f"new{b}-{i}", "batch": 100 + b, "tag": "new", "body": "amber birch replacement text"})
        w.delete_by_query("batch:0")
ix.optimize()
"""


def test_searcher_outlives_the_removal_of_its_files(tmp_path):
    path = tmp_path / "ix"
    ix = Index.create(path, concurrency_schema())
    for b in range(3):
        with ix.writer(merge_factor=100) as w:
            for i in range(6):
                w.add({"id": f"b{b}-{i}", "batch": b, "size": 6, "tag": "all",
                       "body": f"amber birch cedar paragraph {b} {i}\n\ndune ember fjord {i}"})
    queries = ["amber", "birch cedar", '"dune ember"', "batch:0", "tag:all"]
    searcher = ix.searcher()
    try:
        old_segments = [e.name for e in searcher.manifest.segments]
        before = {q: [(h.id, h.score, h.fields, h.snippet) for h in searcher.search(q, limit=50)] for q in queries}
        documents = list(searcher.documents())
        # Another process commits, merges, deletes and optimizes: the snapshot's files are removed.
        (tmp_path / "churn.py").write_text(CHURN)
        finish(spawn(tmp_path / "churn.py", path), 120)
        assert not any((path / SEGMENTS_DIR / name).exists() for name in old_segments)
        assert ix.doc_count() == 42
        after = {q: [(h.id, h.score, h.fields, h.snippet) for h in searcher.search(q, limit=50)] for q in queries}
        assert after == before
        assert list(searcher.documents()) == documents
        assert len(documents) == 18
        with searcher.refresh() as fresh:
            assert fresh.doc_count() == 42
            assert fresh.search("batch:0").total == 0
    finally:
        searcher.close()
