"""Crash safety and durability of commits.

A writer process adds, updates and deletes random batches (with flushes, merges and optimizes
forced by tiny buffers and a small merge factor) and is killed with SIGKILL at a random moment,
over and over. After every kill the index must hold exactly the documents of the last commit the
writer logged as returned, or of the one after it (that batch may have committed just before the
kill, before its log line was written) -- never anything else. A new writer must then open,
clean up the leftovers, and commit, leaving no unreferenced file behind.

The kill count is SEARCHLIB_CRASH_ITERATIONS (default 25, about half a minute on 2 cores; the
full run uses SEARCHLIB_CRASH_ITERATIONS=200). SEARCHLIB_CRASH_SEED changes the kill timings.
"""
from __future__ import annotations

import os
import queue
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import TESTS, start_python
from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, Schema
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import KEEP_MANIFESTS, generations, read_manifest

HERE = Path(__file__).resolve().parent
ITERATIONS = int(os.environ.get("SEARCHLIB_CRASH_ITERATIONS", "25"))
SEED = int(os.environ.get("SEARCHLIB_CRASH_SEED", "20240611"))

# Tiny buffers and merge factor: a batch flushes several segments and most commits merge.
WRITER_OPTIONS = {"buffer_chars": 1500, "merge_factor": 3, "workers": 1}
VOCABULARY = [f"{a}{b}" for a in ("bra", "cor", "dun", "fel", "gim", "hol", "jat", "kev", "lom", "mur")
              for b in ("ak", "el", "is", "on", "ur", "yx")]
# Where the writer script announces it is (its hooks print these); the test kills shortly after one.
PHASES = ["any", "open", "flush", "merge", "deletes", "manifest", "optimize", "cleanup"]


# -- the deterministic workload (imported by the writer script too) ---------------------------------

def crash_schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), tag=KEYWORD(stored=True), batch=NUMERIC(),
                  body=TEXT(analyzer="standard", stored=True, passages="paragraph"))


def batch_plan(n: int) -> tuple[list[tuple[str, Any]], str]:
    """The operations of batch `n` and how it ends ("commit" or "optimize"): a function of n only."""
    rng = random.Random(f"crash-batch-{n}")
    ops: list[tuple[str, Any]] = []
    if n % 41 == 0:
        ops.append(("delete_all", None))
    for i in range(rng.randint(3, 25)):
        r = rng.random()
        key = f"k{rng.randrange(30 + 3 * n)}"
        if r < 0.6:
            ops.append(("update", _document(rng, key, n)))
        elif r < 0.7:
            ops.append(("add", _document(rng, f"a{n}-{i}", n)))  # a key never used before
        elif r < 0.95:
            ops.append(("delete", key))
        else:
            ops.append(("delete_by_query", f"tag:t{rng.randrange(12)}"))
    return ops, "optimize" if n % 6 == 0 else "commit"


def _document(rng: random.Random, key: str, n: int) -> dict:
    paragraphs = [" ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(3, 30)))
                  for _ in range(rng.randint(1, 3))]
    return {"id": key, "tag": f"t{rng.randrange(12)}", "batch": n, "body": "\n\n".join(paragraphs)}


def apply_to_writer(writer, ops: list[tuple[str, Any]]) -> None:
    for op, arg in ops:
        if op == "delete_all":
            writer.delete_all()
        else:
            getattr(writer, op)(arg)


def apply_to_model(state: dict[str, dict], ops: list[tuple[str, Any]]) -> None:
    """What the operations do, in plain Python: id -> stored fields."""
    for op, arg in ops:
        if op == "delete_all":
            state.clear()
        elif op in ("update", "add"):
            state[arg["id"]] = dict(arg)
        elif op == "delete":
            state.pop(arg, None)
        elif op == "delete_by_query":
            tag = arg.split(":", 1)[1]
            for key in [k for k, d in state.items() if d["tag"] == tag]:
                del state[key]


class Model:
    """The expected contents after each batch, replayed on demand (and remembered)."""

    def __init__(self):
        self.states: dict[int, dict[str, dict]] = {0: {}}

    def after(self, n: int) -> dict[str, dict]:
        last = max(k for k in self.states if k <= n)
        state = dict(self.states[last])
        for b in range(last + 1, n + 1):
            apply_to_model(state, batch_plan(b)[0])
            self.states[b] = dict(state)
        return self.states[n]


WRITER_SCRIPT = """
import os, sys
sys.path[:0] = {paths!r}
from test_crash import WRITER_OPTIONS, apply_to_writer, batch_plan
from searchlib import Index
import searchlib.indexing.writer as writer_module
from searchlib.indexing.writer import IndexWriter

def mark(phase):
    os.write(1, (phase + "\\n").encode())

def hook(name, phase):
    original = getattr(IndexWriter, name)
    def announced(*args, **kwargs):
        mark(phase)
        return original(*args, **kwargs)
    setattr(IndexWriter, name, announced)

for name, phase in [("__init__", "open"), ("flush", "flush"), ("_merge", "merge"),
                    ("_prepare_commit", "deletes"), ("_remove_unreferenced", "cleanup")]:
    hook(name, phase)
write_manifest = writer_module.write_manifest
def announced_manifest(*args):
    mark("manifest")
    return write_manifest(*args)
writer_module.write_manifest = announced_manifest

path, log = sys.argv[1], sys.argv[2]
mark("ready")
ix = Index.open(path)
n = ix.metadata.get("batch", 0)
while True:
    n += 1
    ops, mode = batch_plan(n)
    writer = ix.writer(**WRITER_OPTIONS)
    apply_to_writer(writer, ops)
    if mode == "optimize":
        mark("optimize")
    writer.commit(metadata={{"batch": n}}, optimize=mode == "optimize")
    writer.close()
    with open(log, "a") as fh:  # durably logged before the next batch starts
        fh.write(f"{{n}}\\n")
        fh.flush()
        os.fsync(fh.fileno())
    mark("logged")
"""


# -- the harness --------------------------------------------------------------------------------------

class Lines:
    """The lines a child prints, collected by a thread so that waiting for one can time out."""

    def __init__(self, stream):
        self.queue: "queue.Queue[str | None]" = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.queue.put(line.decode().strip())
        self.queue.put(None)

    def wait_for(self, wanted: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.queue.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                return False
            self.seen.append(line)
            if line == wanted:
                return True
        return False

    def drain(self) -> list[str]:
        self.thread.join(timeout=5)
        while True:
            try:
                line = self.queue.get_nowait()
            except queue.Empty:
                return self.seen
            if line is not None:
                self.seen.append(line)


def kill_writer(script: Path, path: Path, log: Path, target: str, rng: random.Random) -> tuple[list[str], bool]:
    """Run the writer script and SIGKILL it at a random moment ("any") or right after it announced
    phase `target` for the 1st to 4th time; (the lines it printed, whether `target` was reached)."""
    proc = start_python(script, path, log)
    lines = Lines(proc.stdout)
    hit = False
    try:
        assert lines.wait_for("ready", 60), "the writer script did not start"
        if target == "any":
            time.sleep(rng.uniform(0.0, 0.6))
        elif all(lines.wait_for(target, 15) for _ in range(rng.randint(1, 4))):
            hit = True
            time.sleep(rng.choice([0.0, rng.uniform(0.0, 0.004), rng.uniform(0.0, 0.03)]))
    finally:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"the writer died by itself:\n{stderr}"
    return lines.drain(), hit


def logged_batches(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [int(line) for line in log.read_text().splitlines() if line.strip()]


def index_contents(path: Path) -> tuple[dict[str, dict], int, Index]:
    ix = Index.open(path)
    with ix.searcher() as s:
        docs = list(s.documents())
        contents = {d["id"]: d for d in docs}
        assert len(contents) == len(docs), "two live documents with the same key"
        for tag in ("t0", "t5", "t11"):  # the postings agree with the stored fields
            hits = s.search(f"tag:{tag}", limit=100_000, highlight=False)
            assert sorted(h.id for h in hits) == sorted(k for k, d in contents.items() if d["tag"] == tag)
    assert ix.doc_count() == len(contents)
    return contents, ix.metadata.get("batch", 0), ix


def referenced_files(path: Path) -> set[str]:
    names = set()
    for gen in generations(path)[-KEEP_MANIFESTS:]:
        for seg in read_manifest(path, gen).segments:
            names.update(f"{SEGMENTS_DIR}/{seg.name}/{f}" for f in seg.files)
    return names


def files_on_disk(path: Path) -> set[str]:
    root = path / SEGMENTS_DIR
    if not root.exists():
        return set()
    return {str(p.relative_to(path)) for p in root.rglob("*") if p.is_file()}


def assert_clean(path: Path) -> None:
    """Only the kept commits' files exist: no leftover segment, deletion file, temporary or manifest."""
    assert files_on_disk(path) == referenced_files(path)
    seg_root = path / SEGMENTS_DIR
    if seg_root.exists():
        on_disk_segments = {p.name for p in seg_root.iterdir()}
        assert on_disk_segments == {f.split("/")[1] for f in referenced_files(path)}
    assert not list(path.glob("*.tmp"))
    assert len(generations(path)) <= KEEP_MANIFESTS


def test_workload_model_is_deterministic():
    a, b = Model(), Model()
    assert a.after(30) == b.after(30)
    assert any(op == "delete_by_query" for n in range(1, 30) for op, _ in batch_plan(n)[0])
    assert {batch_plan(n)[1] for n in range(1, 13)} == {"commit", "optimize"}


@pytest.mark.slow
def test_writer_killed_at_random_moments_loses_and_invents_nothing(tmp_path):
    path = tmp_path / "ix"
    Index.create(path, crash_schema())
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT.format(paths=[str(HERE), str(TESTS)]))
    log = tmp_path / "commits.log"
    rng = random.Random(SEED)
    model = Model()
    killed_in: Counter = Counter()
    reached: Counter = Counter()  # targeted phase -> iterations whose kill came right after it
    in_flight_committed = 0
    for iteration in range(ITERATIONS):
        target = PHASES[iteration % len(PHASES)]
        seen, hit = kill_writer(script, path, log, target, rng)
        reached[target] += hit
        killed_in[seen[-1] if seen else "start"] += 1

        logged = logged_batches(log)
        last = logged[-1] if logged else 0
        contents, committed, ix = index_contents(path)
        expected = {n: model.after(n) for n in (last, last + 1)}
        matching = [n for n, state in expected.items() if state == contents]
        assert matching, (f"iteration {iteration}: the index holds neither batch {last} nor {last + 1}: "
                          f"{_difference(contents, expected[last])}")
        assert committed in matching, f"commit metadata says batch {committed}, contents match {matching}"
        in_flight_committed += committed == last + 1

        report = check_index(path)
        assert report.ok, report.format()
        # A new writer opens (removing the leftovers of the killed one) and commits.
        with ix.writer() as w:
            w.commit()
        assert_clean(path)
        assert index_contents(path)[0] == contents
        if committed == last + 1:
            with open(log, "a") as fh:
                fh.write(f"{committed}\n")
        model.states = {n: s for n, s in model.states.items() if n >= committed - 1}

    assert logged_batches(log), "no batch was ever committed"
    # Every phase the loop aimed at was hit at least once (CI's 25 iterations aim at each 3 times).
    targeted = {PHASES[i % len(PHASES)] for i in range(ITERATIONS)} - {"any"}
    missed = sorted(targeted - set(reached))
    assert not missed, f"phases never reached before a kill: {missed} (reached: {dict(reached)})"
    print(f"\n{ITERATIONS} kills after {logged_batches(log)[-1]} batches; last phase announced before each kill: "
          f"{dict(killed_in)}; targeted phases reached: {dict(reached)}; "
          f"batches committed but not yet logged at the kill: {in_flight_committed}")


def _difference(got: dict, want: dict) -> str:
    missing = sorted(set(want) - set(got))[:5]
    phantom = sorted(set(got) - set(want))[:5]
    changed = sorted(k for k in set(got) & set(want) if got[k] != want[k])[:5]
    return f"missing {missing}, phantom {phantom}, changed {changed}"


# -- durability -----------------------------------------------------------------------------------

def test_data_files_and_directories_are_fsynced_before_the_manifest_is_renamed(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", crash_schema())
    with ix.writer() as w:
        for i in range(20):
            w.add({"id": f"k{i}", "tag": "t1", "body": "alpha beta gamma", "batch": 1})
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def recording_fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def recording_replace(src, dst, *args, **kwargs):
        events.append(("rename", os.path.realpath(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    with ix.writer(buffer_chars=100, merge_factor=100) as w:  # several new segments
        for i in range(20, 40):
            w.add({"id": f"k{i}", "tag": "t2", "body": "delta epsilon zeta eta", "batch": 2})
        w.delete("k3")  # a deletions file in an older segment directory
    monkeypatch.undo()

    root = os.path.realpath(ix.path)
    manifest = read_manifest(ix.path)
    new_manifest = os.path.join(root, f"manifest-{manifest.generation:010d}.json")
    renames = [i for i, (kind, p) in enumerate(events) if kind == "rename" and p == new_manifest]
    assert len(renames) == 1
    before = {p for kind, p in events[:renames[0]] if kind == "fsync"}
    after = {p for kind, p in events[renames[0]:] if kind == "fsync"}
    assert len(manifest.segments) >= 3
    new_files = []
    for seg in manifest.segments:
        seg_dir = os.path.join(root, SEGMENTS_DIR, seg.name)
        for fname in seg.files:
            if seg.name != manifest.segments[0].name or fname == seg.deletes:
                new_files.append(os.path.join(seg_dir, fname))
    assert any(os.path.basename(f).startswith("del-") for f in new_files)
    for f in new_files:
        assert f in before, f"{f} was not fsynced before the manifest rename"
        assert os.path.dirname(f) in before, f"directory of {f} was not fsynced before the manifest rename"
    assert os.path.join(root, SEGMENTS_DIR) in before
    assert root in before  # the index directory (it gained segments/ on the first commit)
    assert new_manifest + ".tmp" in before  # the manifest's own bytes, under its temporary name
    assert root in after  # the rename itself is made durable


def test_failed_flush_rolls_the_whole_batch_back(tmp_path, monkeypatch):
    """A flush that fails (disk full, say) must not let a later commit publish the rest of the batch."""
    ix = Index.create(tmp_path / "ix", crash_schema())
    with ix.writer() as w:
        w.add({"id": "old", "tag": "t0", "body": "kept"})
    w = ix.writer(buffer_chars=20)
    w.add({"id": "first", "tag": "t1", "body": "one two three four five six"})  # flushed fine
    import searchlib.indexing.buffer as buffer_module

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(buffer_module.SegmentBuffer, "write", full_disk)
    with pytest.raises(OSError):
        w.add({"id": "second", "tag": "t1", "body": "seven eight nine ten eleven twelve"})
    monkeypatch.undo()
    with pytest.raises(Exception, match="rolled back"):
        w.add({"id": "third", "tag": "t1", "body": "more"})
    with pytest.raises(Exception, match="rolled back"):
        w.commit()
    w.close()
    assert [d["id"] for d in ix.searcher().documents()] == ["old"]
    with ix.writer() as w2:  # the lock was released and the partial files are gone
        w2.add({"id": "new", "tag": "t2", "body": "fine"})
    assert_clean(ix.path)
    assert ix.doc_count() == 2


def test_failed_commit_rolls_the_whole_batch_back(tmp_path, monkeypatch):
    """A commit that fails while writing the manifest (disk full, say) must discard the whole
    batch: the writer refuses to commit again, and the index keeps its previous commit."""
    import searchlib.indexing.writer as writer_module

    ix = Index.create(tmp_path / "ix", crash_schema())
    with ix.writer() as w:
        w.add({"id": "old", "tag": "t0", "body": "kept"})
    w = ix.writer()
    w.add({"id": "new", "tag": "t1", "body": "one two three"})
    assert w.delete("old") == 1

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_module, "write_manifest", full_disk)
    with pytest.raises(OSError):
        w.commit()
    monkeypatch.undo()
    with pytest.raises(Exception, match="rolled back"):
        w.commit()
    w.close()
    assert [d["id"] for d in ix.searcher().documents()] == ["old"]
    with ix.writer() as w2:  # the lock was released and the batch's files are gone
        w2.add({"id": "later", "tag": "t2", "body": "fine"})
    assert_clean(ix.path)
    assert sorted(d["id"] for d in ix.searcher().documents()) == ["later", "old"]


def test_failed_merge_during_commit_rolls_the_whole_batch_back(tmp_path, monkeypatch):
    """A merge that fails inside commit() discards the whole batch too: the segments the batch had
    already flushed are never published, and the rollback removes the merge's output."""
    import searchlib.indexing.writer as writer_module

    ix = Index.create(tmp_path / "ix", crash_schema())
    with ix.writer() as w:
        w.add({"id": "old", "tag": "t0", "body": "kept"})
    w = ix.writer(buffer_chars=20)
    for i in range(3):  # several flushed segments for the merge to combine
        w.add({"id": f"new{i}", "tag": "t1", "body": "one two three four five six"})
    assert w.delete("old") == 1
    real_merge = writer_module.merge_segments
    merges = []

    def failing_merge(readers, path):
        merges.append(path)
        real_merge(readers, path)  # leaves a complete merged segment behind, then fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_module, "merge_segments", failing_merge)
    with pytest.raises(OSError):
        w.commit(optimize=True)
    monkeypatch.undo()
    assert merges, "the merge step was not reached"
    with pytest.raises(Exception, match="rolled back"):
        w.commit()
    w.close()
    assert not any(p.exists() for p in merges)  # rolled back with the batch, like a flushed segment
    assert [d["id"] for d in ix.searcher().documents()] == ["old"]
    with ix.writer() as w2:
        w2.add({"id": "later", "tag": "t2", "body": "fine"})
    assert_clean(ix.path)
    assert not any(p.exists() for p in merges)
    assert sorted(d["id"] for d in ix.searcher().documents()) == ["later", "old"]
