"""Two guarantees of committed deletions and of opening a searcher:

- A deleted document disappears from results, counts and document listings as soon as the delete is
  committed, but the scoring statistics (document frequencies, field lengths) keep counting it until
  its segment is merged, as in Lucene: the other documents' BM25 scores do not move until then.
- Searcher.open retries on the newer commit when a file of the commit it read vanishes while it is
  opening it (a writer retired that commit's files in between), and only then.
"""
from __future__ import annotations

import pytest

import searchlib.search.searcher as search_module
from searchlib import ID, TEXT, Index, IndexCorruptError, Schema
from searchlib.search import Searcher
from searchlib.storage.files import missing

from conftest import ids

DOCS = [
    ("a", "the fox runs"), ("b", "a fox and a dog"), ("c", "fox fox fox in the den"), ("d", "the dog sleeps"),
    ("e", "a cat and a fox and a very long tail of other words"), ("f", "nothing to see"),
]
QUERY = "fox dog"


def make_index(path) -> Index:
    """Two segments (a, b, c | d, e, f)."""
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard", stored=True)))
    for batch in (DOCS[:3], DOCS[3:]):
        with ix.writer() as w:
            for key, body in batch:
                w.add({"id": key, "body": body})
    return ix


def scores(s: Searcher, query: str = QUERY) -> dict[str, float]:
    return {h.id: h.score for h in s.search(query, limit=50, highlight=False)}


def segment_names(ix: Index) -> list[str]:
    with ix.searcher() as s:
        return [e.name for e in s.manifest.segments]


def test_deleted_document_leaves_results_at_once_but_statistics_only_at_merge(tmp_path):
    ix = make_index(tmp_path / "ix")
    segments = segment_names(ix)
    assert len(segments) == 2
    with ix.searcher() as s:
        before = scores(s)
        assert set(before) == {"a", "b", "c", "d", "e"}
        assert s.search(QUERY).total == 5

    w = ix.writer()
    try:
        assert w.delete("c") == 1  # c holds "fox" three times: it weighs on fox's statistics
        w.commit(merge=False)
    finally:
        w.close()
    assert segment_names(ix) == segments  # no merge happened: c is only marked deleted

    with ix.searcher() as s:
        # gone from everything that lists or counts documents, at once
        res = s.search(QUERY, limit=50, highlight=False)
        assert res.total == 4 and ids(res) == {"a", "b", "d", "e"}
        assert s.search("fox", limit=0).total == 3
        assert s.search("*:*").total == len(DOCS) - 1
        assert sorted(d["id"] for d in s.documents()) == ["a", "b", "d", "e", "f"]
        assert s.doc_count() == len(DOCS) - 1
        assert ix.doc_count() == len(DOCS) - 1
        # ... while the statistics still count it: every other score is exactly what it was
        after_delete = scores(s)
    assert after_delete == {k: v for k, v in before.items() if k != "c"}

    ix.optimize()  # the merge drops c, and with it c's share of the statistics
    assert len(segment_names(ix)) == 1
    with ix.searcher() as s:
        after_merge = scores(s)
        assert sorted(d["id"] for d in s.documents()) == ["a", "b", "d", "e", "f"]
        assert s.doc_count() == ix.doc_count() == len(DOCS) - 1
    assert set(after_merge) == set(after_delete)
    for key in after_merge:  # fewer documents hold "fox" and the average length changed: new scores
        assert after_merge[key] != pytest.approx(after_delete[key], rel=1e-9), key


# -- Searcher.open and vanishing files ----------------------------------------------------------------

def add_and_commit(ix: Index, key: str, **commit) -> int:
    w = ix.writer()
    try:
        w.add({"id": key, "body": f"{key} fox"})
        return w.commit(**commit)
    finally:
        w.close()


class ReaderSpy:
    """Stands in for SegmentReader in searchlib.search.searcher: runs `before(attempt, segment)` before each
    real open (an attempt ends when an open fails) and records the readers opened and closed."""

    def __init__(self, monkeypatch, before):
        self.real = search_module.SegmentReader
        self.before = before
        self.opened: list = []
        self.closed: list = []
        self.failures = 0  # opens that raised IndexCorruptError: each ends an attempt of Searcher.open
        self.segment = 0  # the next segment of the current attempt
        monkeypatch.setattr(search_module, "SegmentReader", self)

    def __call__(self, *args, **kwargs):
        attempt, segment = self.failures, self.segment
        self.segment += 1
        try:
            self.before(attempt, segment)
            reader = self.real(*args, **kwargs)
        except IndexCorruptError:
            self.failures += 1
            self.segment = 0
            raise
        real_close = reader.close

        def close():
            self.closed.append(reader)
            real_close()

        reader.close = close
        self.opened.append(reader)
        return reader


def test_open_retries_on_the_newer_commit_when_files_vanish(tmp_path, monkeypatch):
    ix = make_index(tmp_path / "ix")
    old_generation = ix.generation
    newest = []

    def before(attempt, segment):
        # while the first attempt is between its two segments, a writer merges everything and commits
        # twice more: the commit the searcher read is no longer among the kept ones, its files are gone
        if attempt == 0 and segment == 1:
            add_and_commit(ix, "g", optimize=True)
            newest.append(add_and_commit(ix, "h"))

    spy = ReaderSpy(monkeypatch, before)
    with Searcher.open(ix.path) as s:
        assert spy.failures == 1  # the second segment's files were gone: one failed attempt, then a retry
        assert s.generation == newest[0] > old_generation
        assert sorted(d["id"] for d in s.documents()) == sorted([k for k, _ in DOCS] + ["g", "h"])
        assert ids(s.search("fox", limit=50)) == {"a", "b", "c", "e", "g", "h"}
        assert len(spy.opened) == 1 + len(s.readers)
        assert spy.closed == spy.opened[:1]  # the failed attempt's reader was closed, not leaked


def test_open_retries_a_missing_file_error_when_a_newer_commit_exists(tmp_path, monkeypatch):
    ix = make_index(tmp_path / "ix")
    newest = []

    def before(attempt, segment):
        if attempt == 0 and segment == 0:
            newest.append(add_and_commit(ix, "g"))
            raise missing(tmp_path / "ix" / "vanished")

    ReaderSpy(monkeypatch, before)
    with Searcher.open(ix.path) as s:
        assert s.generation == newest[0]
        assert "g" in {d["id"] for d in s.documents()}


def test_open_does_not_retry_a_missing_file_without_a_newer_commit(tmp_path, monkeypatch):
    ix = make_index(tmp_path / "ix")
    calls = []

    def before(attempt, segment):
        calls.append((attempt, segment))
        raise missing(tmp_path / "ix" / "vanished")

    ReaderSpy(monkeypatch, before)
    with pytest.raises(IndexCorruptError, match="missing"):
        Searcher.open(ix.path)
    assert calls == [(0, 0)]  # nothing newer to open: the error is real


def test_open_does_not_retry_other_corruption(tmp_path, monkeypatch):
    ix = make_index(tmp_path / "ix")
    calls = []

    def before(attempt, segment):
        calls.append((attempt, segment))
        add_and_commit(ix, f"new{len(calls)}")  # a newer commit exists ...
        raise IndexCorruptError(str(tmp_path / "ix" / "meta.json"), "checksum mismatch")  # ... but not "missing"

    ReaderSpy(monkeypatch, before)
    with pytest.raises(IndexCorruptError, match="checksum"):
        Searcher.open(ix.path)
    assert calls == [(0, 0)]


def test_open_gives_up_after_its_attempts(tmp_path, monkeypatch):
    ix = make_index(tmp_path / "ix")
    calls = []

    def before(attempt, segment):  # every attempt finds a newer commit and a missing file
        calls.append((attempt, segment))
        add_and_commit(ix, f"new{len(calls)}")
        raise missing(tmp_path / "ix" / "vanished")

    ReaderSpy(monkeypatch, before)
    with pytest.raises(IndexCorruptError, match="missing"):
        Searcher.open(ix.path, attempts=3)
    assert calls == [(0, 0), (1, 0), (2, 0)]
