"""The durable write queue (searchlib/writequeue.py): enqueue without the lock, applied in order,
exactly once, by the next writer; malformed entries reported and skipped."""
import datetime as dt
import threading
import time

import pytest

from searchlib import (DATETIME, ID, TEXT, DocumentError, Index, InvalidArgumentError, QueueEntryWarning, Schema,
                       SchemaError)
from searchlib import writequeue
from searchlib.storage.manifest import read_manifest


def schema():
    return Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True), when=DATETIME(stored=True))


def docs(ix):
    with ix.searcher() as s:
        return sorted((d["id"], d["body"]) for d in s.documents())


def queue_file(ix, number=1):
    return ix.path / writequeue.QUEUE_DIR / writequeue.file_name(number)


def test_enqueue_never_waits_for_the_lock_and_the_next_writer_applies_in_order(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as held:  # another writer holds the lock the whole time
        held.add({"id": "direct", "body": "held"})
        ix.enqueue(add={"id": "a", "body": "one"})
        ix.enqueue(update={"id": "a", "body": "two"})
        ix.enqueue(add={"id": "b", "body": "three", "when": dt.datetime(2024, 5, 1, 12, 0)})
        ix.enqueue(delete="b")
        ix.enqueue(add={"id": "c", "body": "four"})
        assert ix.pending() == 5
    assert ix.pending() == 5  # the holder opened before the entries: they wait
    with ix.writer() as w:
        w.add({"id": "later", "body": "after the queue"})
    assert ix.pending() == 0
    assert docs(ix) == [("a", "two"), ("c", "four"), ("direct", "held"), ("later", "after the queue")]


def test_apply_queue_is_exactly_once_across_a_rolled_back_writer(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    ix.enqueue(add={"body": "no key, so a second application would show"})
    with pytest.raises(RuntimeError):
        with ix.writer():  # applies the entry, then the batch is rolled back: the entry waits again
            raise RuntimeError("boom")
    assert ix.pending() == 1
    assert ix.apply_queue().applied == 1
    assert ix.apply_queue().applied == 0
    with ix.writer():
        pass
    assert ix.doc_count() == 1 and ix.pending() == 0


def test_malformed_and_refused_entries_are_reported_and_skipped(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    ix.enqueue(add={"id": "a", "body": "first"})
    with open(queue_file(ix), "ab") as f:
        f.write(b"00000000 {\"op\": \"add\"}\n")  # wrong checksum
        f.write(b'{"op": "add", "doc": {"id": "x"}}\n')  # no checksum
        f.write(b"half of a line cut by a kill")  # no newline: the next append ends it
    ix.enqueue(add={"id": "b", "when": "not a date"})  # refused by the writer: DocumentError
    ix.enqueue(add={"id": "c", "body": "last"})
    with pytest.warns(QueueEntryWarning) as caught:
        report = ix.apply_queue()
    assert report.applied == 2 and len(report.skipped) == 4
    reasons = [why for _, why in report.skipped]
    assert "checksum mismatch" in reasons[0] and "no checksum" in reasons[1] and "no checksum" in reasons[2]
    assert "add refused" in reasons[3] and "when" in reasons[3]
    assert all("queue/0000000001.log at byte" in where for where, _ in report.skipped)
    assert len(caught) == 4
    assert docs(ix) == [("a", "first"), ("c", "last")] and ix.pending() == 0


def test_enqueue_refuses_what_can_never_apply(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        ix.enqueue(add={"id": "a"}, delete="a")
    with pytest.raises(DocumentError, match="unknown field"):
        ix.enqueue(add={"id": "a", "nope": 1})
    with pytest.raises(DocumentError, match="unique key field 'id'"):
        ix.enqueue(update={"body": "no key"})
    with pytest.raises(DocumentError, match="JSON-serialisable"):
        ix.enqueue(add={"id": "a", "body": object()})
    keyless = Index.create(tmp_path / "keyless", Schema(body=TEXT()))
    with pytest.raises(SchemaError):
        keyless.enqueue(delete="a")
    assert ix.pending() == 0


def test_the_position_is_saved_with_the_commit_and_applied_files_are_retired(tmp_path, monkeypatch):
    monkeypatch.setattr(writequeue, "ROTATE_BYTES", 200)
    ix = Index.create(tmp_path / "ix", schema())
    for i in range(5):
        ix.enqueue(add={"id": f"d{i}", "body": "x" * 30})
    ix.apply_queue()
    position = read_manifest(ix.path).queue
    assert position == {"file": 1, "offset": queue_file(ix).stat().st_size}
    ix.apply_queue()  # nothing waits: the applied file is over the limit, so a new one is started
    ix.enqueue(add={"id": "d5", "body": "y"})
    assert queue_file(ix, 2).stat().st_size > 0
    ix.apply_queue()
    ix.apply_queue()
    assert not queue_file(ix, 1).exists() and read_manifest(ix.path).queue["file"] == 2
    assert ix.doc_count() == 6 and ix.pending() == 0


def test_threads_enqueue_concurrently_without_losing_or_mixing_entries(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())

    def work(t):
        for i in range(25):
            ix.enqueue(add={"id": f"t{t}-{i}", "body": "word " * (i + 1)})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ix.pending() == 200
    report = ix.apply_queue()
    assert report.applied == 200 and report.skipped == [] and ix.doc_count() == 200


def test_background_applier_applies_waiting_entries(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.start_applier(delay=0.05) as applier:
        ix.enqueue(add={"id": "a", "body": "one"})
        deadline = time.monotonic() + 20
        while ix.doc_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert ix.doc_count() == 1 and ix.pending() == 0 and applier.errors == []
