"""The on-disk index: segments, commits, merges (whose dictionaries keep only live terms), deletions (and
their files, written only where a mask changed), locking, snapshots, integrity and safety."""
from __future__ import annotations

import datetime as dt
import json
import random
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import (REPO, assert_searcher_refuses, build_in_commits, edit_manifest, flip_byte, mixed_schema, ranked,
                      segment_file, truncate, unique_docs)
from searchlib import (DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, DocumentError, Index, IndexCorruptError,
                       IndexLockedError, IndexNotFoundError, Schema, SearchlibError)
from searchlib.indexing import writer as writer_module
from searchlib.indexing.merge import plan_merges
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest
from searchlib.storage.segment import SegmentReader

WORDS = ("apple banana cherry delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu river stone cloud forest").split()


def make_docs(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        paras = ["\n".join([" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 15)))])
                 for _ in range(rng.randint(1, 3))]
        docs.append({"id": f"d{i:03d}", "title": title, "body": "\n\n".join(paras), "n": i})
    return docs


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                  body=TEXT(analyzer="english", stored=True, passages="paragraph"), n=NUMERIC())


def build(path: Path, docs: list[dict], commits: int = 1, **writer_options) -> Index:
    return build_in_commits(path, schema(), docs, commits, **writer_options)


def segment_dirs(ix: Index) -> set[str]:
    root = ix.path / SEGMENTS_DIR
    return {p.name for p in root.iterdir()} if root.exists() else set()


# -- basics -----------------------------------------------------------------------------------

def test_add_commit_reopen(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    assert ix.doc_count() == 0 and ix.generation == 1
    with ix.writer() as w:
        w.add({"id": "a", "title": "Red fox", "body": "The quick red fox jumps.", "n": 1})
        w.add({"id": "b", "title": "Lazy dog", "body": "A lazy dog sleeps.", "n": 2})
        assert ix.doc_count() == 0  # nothing visible before the commit
    assert ix.generation == 2
    again = Index.open(tmp_path / "ix")
    assert again.doc_count() == 2
    assert again.schema == schema()
    with again.searcher() as s:
        res = s.search("fox")
        assert ranked(res) == ["a"]
        assert res[0].fields == {"id": "a", "title": "Red fox", "body": "The quick red fox jumps.", "n": 1}


def test_open_missing_index(tmp_path):
    with pytest.raises(IndexNotFoundError):
        Index.open(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError):
        Index.open(tmp_path / "empty")
    assert not Index.exists(tmp_path / "nope")


def test_create_refuses_existing(tmp_path):
    ix = build(tmp_path / "ix", make_docs(3))
    with pytest.raises(SearchlibError):
        Index.create(ix.path, schema())
    assert Index.open(ix.path).doc_count() == 3
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("keep me")
    with pytest.raises(SearchlibError):
        Index.create(tmp_path / "other", schema(), overwrite=True)
    assert (tmp_path / "other" / "precious.txt").read_text() == "keep me"
    fresh = Index.create(ix.path, schema(), overwrite=True)
    assert fresh.doc_count() == 0


def test_several_commits_are_several_segments_searched_together(tmp_path):
    docs = make_docs(30)
    ix = build(tmp_path / "ix", docs, commits=3)
    manifest = read_manifest(ix.path)
    assert len(manifest.segments) == 3
    assert [s.doc_count for s in manifest.segments] == [10, 10, 10]
    with ix.searcher() as s:
        assert len(s.readers) == 3
        assert s.doc_count() == 30
        res = s.search("*:*", limit=100)
        assert res.total == 30
        assert sorted(ranked(res)) == sorted(d["id"] for d in docs)
        for word in ("apple", "zulu", "river"):
            expected = sorted(d["id"] for d in docs if re.search(rf"\b{word}\b", d["title"] + " " + d["body"]))
            assert sorted(ranked(s.search(word, limit=100))) == expected


QUERIES = ["apple", "river stone", '"cloud forest"', "title:tango", "+delta -echo", "kilo AND lima",
           "body:(papa OR quebec)", "zulu^3 yankee", "forest river cloud stone apple", "mike NOT november"]


def scores(ix: Index, **options) -> dict[str, list[tuple[str, float]]]:
    out = {}
    with ix.searcher() as s:
        for q in QUERIES:
            out[q] = sorted((h.id, h.score) for h in s.search(q, limit=200, highlight=False, **options))
    return out


@pytest.mark.parametrize("commits", [5, 20])
def test_same_scores_however_documents_are_split_into_segments(tmp_path, commits):
    docs = make_docs(60)
    one = build(tmp_path / "one", docs, commits=1)
    many = build(tmp_path / "many", docs, commits=commits, merge_factor=100)
    assert len(read_manifest(many.path).segments) == commits
    for options in ({}, {"k1": 2.0, "b": 0.3}, {"group": False}):
        a, b = scores(one, **options), scores(many, **options)
        for q in QUERIES:
            assert [i for i, _ in a[q]] == [i for i, _ in b[q]], q
            assert [s for _, s in a[q]] == pytest.approx([s for _, s in b[q]], rel=1e-5), q
        assert sum(len(v) for v in a.values()) > 20  # the queries do match


# -- merging ----------------------------------------------------------------------------------

def test_plan_merges():
    assert plan_merges([1] * 9, 10) == []
    assert plan_merges([1] * 10, 10) == [list(range(10))]
    assert plan_merges([5] * 3, 3) == [[0, 1, 2]]
    # segments are bucketed by order of magnitude of their live documents
    assert plan_merges([100, 1, 1, 20], 3) == []
    counts = [1, 2, 1, 30, 40, 9, 27, 28]
    groups = plan_merges(counts, 3)
    assert groups == [[0, 1, 2], [3, 4, 6]]  # at most `factor` segments per merge, oldest first
    assert plan_merges([0, 0, 0], 3) == [[0, 1, 2]]  # empty segments sit in the lowest bucket
    with pytest.raises(ValueError):
        plan_merges([1, 1], 1)  # a factor of 1 would never stop merging


@pytest.mark.parametrize("factor", [2, 3, 10])
def test_plan_merges_exact_powers(factor):
    # a segment of exactly factor**k documents belongs to level k (no floating point off-by-one)
    for k in range(1, 7):
        size = factor ** k
        uncapped = factor ** 8  # this test is about levels, not the merged-size cap
        assert plan_merges([size] * factor, factor, uncapped) == [list(range(factor))]
        assert plan_merges([size] * (factor - 1) + [size - 1], factor, uncapped) == []
        assert plan_merges([size - 1] * factor, factor, uncapped) == [list(range(factor))]


@pytest.mark.slow
def test_many_small_commits_keep_segment_count_logarithmic(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    docs = make_docs(81)
    factor = 3
    for i, doc in enumerate(docs, 1):
        with ix.writer(merge_factor=factor) as w:
            w.add(doc)
        segments = read_manifest(ix.path).segments
        # at most factor-1 segments per order of magnitude
        levels = 1
        while factor ** levels <= i:
            levels += 1
        assert len(segments) <= (factor - 1) * levels, (i, [s.doc_count for s in segments])
        assert sum(s.live_count for s in segments) == i
    assert len(read_manifest(ix.path).segments) == 1  # 81 = 3**4 single-document commits merge into one
    with ix.searcher() as s:
        assert sorted(ranked(s.search("*:*", limit=100))) == [d["id"] for d in docs]


def test_optimize_merges_into_one_segment_and_keeps_scores(tmp_path):
    docs = make_docs(40)
    ix = build(tmp_path / "ix", docs, commits=4, merge_factor=100)
    before = scores(ix)
    ix.optimize()
    manifest = read_manifest(ix.path)
    assert len(manifest.segments) == 1 and manifest.segments[0].doc_count == 40
    after = scores(ix)
    for q in QUERIES:
        assert [i for i, _ in before[q]] == [i for i, _ in after[q]]
        assert [s for _, s in before[q]] == pytest.approx([s for _, s in after[q]], rel=1e-5)
    with ix.searcher() as s:
        # phrase positions and passage spans survive the merge
        hit = s.search("forest", limit=1)[0]
        body = hit.fields["body"]
        for p in hit.passages:
            assert body[p.start:p.end] == p.text


def body_terms(ix: Index) -> list[int]:
    return ix.stats()["fields"]["body"]["terms_per_segment"]


# -- merged dictionaries keep only terms with live postings -----------------------------------

def test_optimize_drops_terms_whose_documents_were_all_deleted(tmp_path):
    docs = unique_docs(100)
    ix = Index.create(tmp_path / "ix", mixed_schema())
    for start in (0, 50):
        with ix.writer(merge_factor=100) as w:
            for doc in docs[start:start + 50]:
                w.add(doc)
    assert sum(body_terms(ix)) == 102  # two segments, each with "common" and its 50 unique words
    with ix.writer() as w:
        for i in range(90):
            w.delete(f"d{i}")
    ix.optimize()
    assert body_terms(ix) == [11]  # "common" and the 10 surviving unique words, nothing else
    assert ix.stats()["fields"]["tag"]["terms_per_segment"] == [10]
    manifest = read_manifest(ix.path)
    (entry,) = manifest.segments
    reader = SegmentReader(ix.path / SEGMENTS_DIR / entry.name, entry.files, entry.deletes)
    try:
        for name, fr in reader.fields.items():
            assert np.all(np.diff(np.asarray(fr.ptr)) > 0), f"{name} keeps a term without postings"
        assert reader.fields["body"].dictionary.terms() == sorted(["common"] + [f"uniq{i}" for i in range(90, 100)])
        assert reader.fields["body"].doc_freq("uniq5") == 0
    finally:
        reader.close()
    # the merged segment is the one a fresh index of the survivors would have
    fresh = Index.create(tmp_path / "fresh", mixed_schema())
    with fresh.writer() as w:
        for doc in docs[90:]:
            w.add(doc)
    for field in ("body", "notes", "tag", "id"):
        assert (ix.stats()["fields"][field]["terms_per_segment"]
                == fresh.stats()["fields"][field]["terms_per_segment"])
    for q in ("common", "uniq95", "uniq5", '"shared words"', "note93", "note3"):
        assert [(h.id, h.score) for h in ix.search(q, limit=20)] == \
               [(s.id, pytest.approx(s.score, rel=1e-6)) for s in fresh.search(q, limit=20)]
    assert ix.check().ok


def test_merge_keeps_a_term_deleted_in_one_input_but_live_in_another(tmp_path):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    for c in range(2):
        with ix.writer(merge_factor=100) as w:
            for i in range(5):
                w.add({"id": f"c{c}-{i}", "body": f"shared only{c}x{i}", "notes": "alpha beta"})
    with ix.writer() as w:
        for i in range(5):
            w.delete(f"c0-{i}")  # every "only0x" word goes; "shared" lives on in the second segment
        w.add({"id": "late", "body": "shared late"})
    ix.optimize()
    assert body_terms(ix) == [7]  # shared, late, only1x0..only1x4
    assert {h.id for h in ix.search("shared", limit=20)} == {f"c1-{i}" for i in range(5)} | {"late"}
    assert {h.id for h in ix.search('notes:"alpha beta"', limit=20)} == {f"c1-{i}" for i in range(5)}
    assert ix.check().ok


# -- updates and deletions --------------------------------------------------------------------

def test_update_and_delete_by_key(tmp_path):
    ix = build(tmp_path / "ix", make_docs(10), commits=2)
    with ix.writer() as w:
        w.update({"id": "d003", "title": "Replaced title", "body": "completely new words: saxophone", "n": 3})
        assert w.delete("d005") == 1
        assert w.delete("nope") == 0
        w.update({"id": "new1", "title": "Brand new", "body": "saxophone solo"})  # no such key: an add
    assert ix.doc_count() == 10
    with ix.searcher() as s:
        assert sorted(ranked(s.search("saxophone"))) == ["d003", "new1"]
        assert ranked(s.search("id:d005")) == []
        assert ranked(s.search("id:d003")) == ["d003"]
        assert s.search("id:d003")[0].fields["title"] == "Replaced title"
        assert "d005" not in [d["id"] for d in s.documents()]


def test_update_twice_in_one_writer_keeps_the_last(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        w.add({"id": "k", "title": "first"})
        w.update({"id": "k", "title": "second"})
        w.update({"id": "k", "title": "third"})
    with ix.searcher() as s:
        assert [d["title"] for d in s.documents()] == ["third"]
        assert s.search("first OR second").total == 0
    with ix.writer() as w:
        w.update({"id": "k", "title": "fourth"})
        w.update({"id": "k", "title": "fifth"})
    assert ix.doc_count() == 1
    with ix.searcher() as s:
        assert [d["title"] for d in s.documents()] == ["fifth"]


def test_delete_counts_and_delete_all(tmp_path):
    ix = build(tmp_path / "ix", make_docs(12), commits=3)
    with ix.writer() as w:
        assert w.delete("d001") == 1
        assert w.delete("d001") == 0  # already deleted
        w.add({"id": "late", "title": "late"})
        assert w.delete("late") == 1  # buffered documents can be deleted too
    assert ix.doc_count() == 11
    with ix.writer() as w:
        w.delete_all()
        w.add({"id": "survivor", "title": "only one"})
    assert ix.doc_count() == 1
    with ix.searcher() as s:
        assert [d["id"] for d in s.documents()] == ["survivor"]
        assert s.search("*:*").total == 1


def test_update_without_unique_field(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(body=TEXT()))
    with ix.writer() as w:
        with pytest.raises(SearchlibError):
            w.delete("x")
        with pytest.raises(SearchlibError):
            w.update({"body": "x"})


def test_deletes_are_dropped_on_merge(tmp_path):
    docs = make_docs(30)
    ix = build(tmp_path / "ix", docs, commits=3, merge_factor=100)
    gone = {"d000", "d011", "d012", "d029"}
    with ix.writer() as w:
        for key in gone:
            w.delete(key)
    manifest = read_manifest(ix.path)
    assert sum(s.deleted for s in manifest.segments) == 4
    assert sum(s.doc_count for s in manifest.segments) == 30
    ix.optimize()
    manifest = read_manifest(ix.path)
    assert len(manifest.segments) == 1
    assert manifest.segments[0].doc_count == 26 and manifest.segments[0].deleted == 0
    assert manifest.segments[0].deletes is None
    assert ix.stats()["deleted"] == 0
    # after the merge, statistics match an index built from the surviving documents alone
    fresh = build(tmp_path / "fresh", [d for d in docs if d["id"] not in gone])
    a, b = scores(ix), scores(fresh)
    for q in QUERIES:
        assert [i for i, _ in a[q]] == [i for i, _ in b[q]]
        assert [s for _, s in a[q]] == pytest.approx([s for _, s in b[q]], rel=1e-5)


def test_segment_fully_deleted_disappears(tmp_path):
    ix = build(tmp_path / "ix", make_docs(4), commits=2, merge_factor=100)
    with ix.writer() as w:
        w.delete("d000")
        w.delete("d001")
    segments = read_manifest(ix.path).segments
    assert len(segments) == 1 and segments[0].doc_count == 2


# -- deletions files only for segments whose mask changed and that survive the commit ---------

def test_updating_a_key_twice_writes_no_deletions_file_for_an_untouched_segment(tmp_path):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    with ix.writer(merge_factor=100) as w:
        for doc in unique_docs(5):
            w.add(doc)
    first = read_manifest(ix.path).segments[0].name
    with ix.writer(merge_factor=100) as w:
        w.update({"id": "d1", "body": "second version"})
        w.add({"id": "x1", "body": "keeps the second segment alive"})
    manifest = read_manifest(ix.path)
    deletes = {s.name: s.deletes for s in manifest.segments}
    assert deletes[first] is not None
    with ix.writer(merge_factor=100) as w:
        w.update({"id": "d1", "body": "third version"})  # finds d1 of the first segment already deleted
    after = read_manifest(ix.path)
    entry = next(s for s in after.segments if s.name == first)
    assert entry.deletes == deletes[first] and entry.deleted == 1
    assert sorted(p.name for p in (ix.path / SEGMENTS_DIR / first).glob("del-*")) == [deletes[first]]
    second = next(s for s in after.segments if s.name not in (first,) and s.doc_count == 2)
    assert second.deleted == 1 and second.deletes is not None  # the second version's segment did get one
    assert [h.id for h in ix.search("third")] == ["d1"] and [h.id for h in ix.search("second")] == ["x1"]
    assert ix.doc_count() == 6
    assert ix.check().ok


def test_no_deletions_file_for_a_segment_the_commit_merges_away(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    for start in (0, 5):
        with ix.writer(merge_factor=100) as w:
            for doc in unique_docs(10)[start:start + 5]:
                w.add(doc)
    written = []
    real = writer_module.write_deletes

    def recording(directory, name, deleted):
        written.append(Path(directory).name)
        return real(directory, name, deleted)

    monkeypatch.setattr(writer_module, "write_deletes", recording)
    with ix.writer(merge_factor=2) as w:  # the two segments are merged by this very commit
        w.delete("d2")
        w.delete("d7")
    assert written == []
    manifest = read_manifest(ix.path)
    assert [(s.doc_count, s.deleted, s.deletes) for s in manifest.segments] == [(8, 0, None)]
    with ix.writer(merge_factor=100) as w:  # a surviving segment still gets its file
        w.delete("d3")
    assert len(written) == 1
    assert read_manifest(ix.path).segments[0].deleted == 1
    assert ix.doc_count() == 7 and ix.check().ok


# -- transactions -----------------------------------------------------------------------------

def test_writer_block_that_raises_is_rolled_back(tmp_path):
    ix = build(tmp_path / "ix", make_docs(5))
    gen, count, dirs = ix.generation, ix.doc_count(), segment_dirs(ix)
    with pytest.raises(RuntimeError, match="boom"):
        with ix.writer() as w:
            w.add({"id": "x1", "title": "phantom"})
            w.delete("d000")
            w.flush()  # even a flushed segment is discarded
            w.add({"id": "x2", "title": "phantom"})
            raise RuntimeError("boom")
    assert ix.generation == gen and ix.doc_count() == count
    assert segment_dirs(ix) == dirs
    with ix.searcher() as s:
        assert s.search("phantom").total == 0
        assert ranked(s.search("id:d000")) == ["d000"]
    with ix.writer() as w:  # the lock was released
        w.add({"id": "x3", "title": "real"})
    assert ix.doc_count() == count + 1


def test_cancel_discards_and_closed_writer_refuses(tmp_path):
    ix = build(tmp_path / "ix", make_docs(3))
    w = ix.writer()
    w.add({"id": "gone", "title": "never"})
    w.cancel()
    assert ix.doc_count() == 3
    with pytest.raises(SearchlibError, match="closed"):
        w.add({"id": "again"})


def test_commit_inside_block_then_more(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        w.add({"id": "a", "title": "one"})
        g = w.commit()
        assert ix.generation == g and ix.doc_count() == 1
        w.add({"id": "b", "title": "two"})
    assert ix.doc_count() == 2


# -- locking ----------------------------------------------------------------------------------

def test_second_writer_is_locked_out(tmp_path):
    ix = build(tmp_path / "ix", make_docs(2))
    first = ix.writer()
    try:
        with pytest.raises(IndexLockedError):
            ix.writer(timeout=0)
        with pytest.raises(IndexLockedError, match="after waiting"):
            ix.writer(timeout=0.05)
    finally:
        first.close()
    second = ix.writer()  # free again
    second.close()


def test_waiting_writer_gets_the_lock_when_the_first_closes(tmp_path):
    ix = build(tmp_path / "ix", make_docs(2))
    first = ix.writer()
    first.add({"id": "from-first", "title": "first"})
    released = threading.Event()

    def finish():
        released.wait(5)
        first.commit()
        first.close()

    thread = threading.Thread(target=finish)
    thread.start()
    released.set()
    second = ix.writer(timeout=30)
    try:
        second.add({"id": "from-second", "title": "second"})
        second.commit()
    finally:
        second.close()
        thread.join()
    assert ix.doc_count() == 4
    with ix.searcher() as s:
        assert sorted(d["id"] for d in s.documents()) == ["d000", "d001", "from-first", "from-second"]


def test_searchers_need_no_lock(tmp_path):
    ix = build(tmp_path / "ix", make_docs(3))
    with ix.writer() as w:
        with ix.searcher() as s:
            assert s.doc_count() == 3
        w.add({"id": "z", "title": "zed"})


# -- snapshots --------------------------------------------------------------------------------

def test_searcher_keeps_its_snapshot_and_refresh_sees_the_new_one(tmp_path):
    ix = build(tmp_path / "ix", make_docs(6))
    s = ix.searcher()
    try:
        assert s.up_to_date() and s.refresh() is s
        with ix.writer() as w:
            w.delete("d000")
            w.add({"id": "new", "title": "saxophone"})
        with ix.writer() as w:  # a second commit: the first commit's files may now be cleaned up
            w.add({"id": "new2", "title": "saxophone"})
        ix.optimize()
        assert not s.up_to_date()
        assert s.doc_count() == 6
        assert s.search("saxophone").total == 0
        assert ranked(s.search("id:d000")) == ["d000"]
        assert s.search("id:d000")[0].fields["id"] == "d000"
        assert sorted(d["id"] for d in s.documents()) == [f"d00{i}" for i in range(6)]
        fresh = s.refresh()
        try:
            assert fresh is not s and fresh.generation > s.generation
            assert fresh.doc_count() == 7
            assert sorted(ranked(fresh.search("saxophone"))) == ["new", "new2"]
            assert fresh.search("id:d000").total == 0
        finally:
            fresh.close()
    finally:
        s.close()


def test_searcher_documents(tmp_path):
    docs = make_docs(20)
    ix = build(tmp_path / "ix", docs, commits=2)
    with ix.writer() as w:
        w.delete("d004")
    with ix.searcher() as s:
        got = list(s.documents())
    expected = [d for d in docs if d["id"] != "d004"]
    assert sorted(got, key=lambda d: d["id"]) == expected


# -- safety and integrity ---------------------------------------------------------------------

def test_every_array_loads_without_pickle(tmp_path):
    ix = build(tmp_path / "ix", make_docs(20), commits=2)
    with ix.writer() as w:
        w.delete("d001")
    arrays = list(ix.path.rglob("*.npy"))
    assert len(arrays) > 10
    assert any(p.name.startswith("del-") for p in arrays)
    for path in arrays:
        arr = np.load(path, allow_pickle=False)
        assert arr.dtype != object
    for path in ix.path.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_no_pickle_marshal_or_eval_in_the_code_base():
    patterns = [r"^\s*(import|from)\s+(pickle|cPickle|_pickle|marshal|shelve|dill|joblib)\b",
                r"\b(pickle|marshal|shelve|dill)\.(loads?|dumps?|open|Unpickler)\b",
                r"allow_pickle\s*=\s*True", r"(?<![\w.])eval\s*\(", r"(?<![\w.])exec\s*\(",
                r"yaml\.(load|unsafe_load|full_load)\s*\(", r"__import__\s*\("]
    offenders = []
    files = list((REPO / "searchlib").rglob("*.py"))
    assert len(files) > 15
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(re.search(p, line) for p in patterns):
                offenders.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("suffix", ["meta.json", "stored.bin", "stored.ptr.npy", "body.lexkey.npy", "body.pos.npy",
                                    "title.tf.npy", "id.unit.npy", "n.col.npy"])
def test_flipped_byte_is_detected(tmp_path, suffix):
    ix = build(tmp_path / "ix", make_docs(20))
    path = segment_file(ix, suffix)
    flip_byte(path)  # a rewritten file has a newer mtime
    assert_searcher_refuses(ix.path, path)


@pytest.mark.parametrize("suffix", ["stored.bin", "body.unit.npy", "title.lex.txt"])
def test_truncated_file_is_detected(tmp_path, suffix):
    ix = build(tmp_path / "ix", make_docs(20))
    path = segment_file(ix, suffix)
    truncate(path, 3)
    assert_searcher_refuses(ix.path, path, match="truncated")


def test_missing_file_is_detected(tmp_path):
    ix = build(tmp_path / "ix", make_docs(5))
    path = segment_file(ix, "body.ptr.npy")
    path.unlink()
    assert_searcher_refuses(ix.path, path, match="missing")


@pytest.mark.parametrize("bad_name", ["../../etc", "..", "/etc", "a/b", ""])
def test_manifest_with_unsafe_segment_name(tmp_path, bad_name):
    ix = build(tmp_path / "ix", make_docs(3))
    edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[0], "name", bad_name))
    with pytest.raises(IndexCorruptError, match="unsafe"):
        Index.open(ix.path).searcher()


def test_manifest_with_unsafe_file_name(tmp_path):
    ix = build(tmp_path / "ix", make_docs(3))

    def escape(manifest):
        seg = manifest.segments[0]
        seg.files["../../../tmp/x.npy"] = seg.files.pop("meta.json")

    edit_manifest(ix.path, escape)
    with pytest.raises(IndexCorruptError):
        Index.open(ix.path).searcher()


def test_damaged_manifest(tmp_path):
    ix = build(tmp_path / "ix", make_docs(3))
    path = sorted(ix.path.glob("manifest-*.json"))[-1]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"doc_count', '"doc_kount', 1), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as info:
        Index.open(ix.path)
    assert info.value.path == str(path)
    path.write_bytes(b"\x00\xff garbage")
    with pytest.raises(IndexCorruptError):
        Index.open(ix.path)


def test_commit_metadata_round_trip(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    assert ix.metadata == {}
    meta = {"source": "unit test", "count": 3, "nested": {"ok": True, "list": [1, 2.5, None]}, "ünï": "ç"}
    with ix.writer() as w:
        w.add({"id": "a"})
        w.commit(metadata=meta)
    assert ix.metadata == meta
    assert Index.open(ix.path).metadata == meta
    with ix.writer() as w:  # a later commit without metadata keeps the last one
        w.add({"id": "b"})
    assert ix.metadata == meta
    with ix.writer() as w:
        w.commit(metadata={"v": 2})
    assert ix.metadata == {"v": 2}


# -- documents --------------------------------------------------------------------------------

@pytest.mark.parametrize("doc, match", [
    ({"id": "x", "colour": "red"}, "unknown field"),
    ({"id": "x", "title": 42}, "expected text"),
    ({"id": "x", "title": ["a", "b"]}, "expected text"),
    ({"id": "x", "title": b"caf\xe9"}, "UTF-8"),
    ({"id": "x", "title": "lone \ud800 surrogate"}, "Unicode"),
    ({"id": "x", "body": "ok", "title": "\udfff"}, "Unicode"),
    ({"id": 1.5, "title": "x"}, "ID"),
    ({"id": True, "title": "x"}, "ID"),
    ({"id": "   ", "title": "x"}, "empty"),
    ({"id": "x", "n": "many"}, "field 'n'"),
    ({"id": "x", "n": True}, "number"),
    ({"id": "x", "n": float("nan")}, "NaN"),
    ("not a mapping", "mapping"),
])
def test_document_errors_change_nothing(tmp_path, doc, match):
    ix = build(tmp_path / "ix", make_docs(3))
    with ix.writer() as w:
        with pytest.raises(DocumentError, match=match):
            w.add(doc)
        with pytest.raises(DocumentError):
            w.update(doc if isinstance(doc, dict) and doc.get("id") == "x" else {"id": "d000", "title": 5})
        w.add({"id": "good", "title": "fine"})
    assert ix.doc_count() == 4
    with ix.searcher() as s:
        assert sorted(d["id"] for d in s.documents()) == ["d000", "d001", "d002", "good"]
        assert s.search("lone OR surrogate OR ok OR x").total == 0


def test_document_error_escaping_the_block_rolls_back(tmp_path):
    ix = build(tmp_path / "ix", make_docs(3))
    with pytest.raises(DocumentError):
        with ix.writer() as w:
            w.add({"id": "ok", "title": "fine"})
            w.add({"id": "bad", "title": b"\xff\xfe"})
    assert ix.doc_count() == 3


def test_bytes_text_is_decoded(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        w.add({"id": b"k1".decode(), "title": "Café crème".encode("utf-8")})
    with ix.searcher() as s:
        hit = s.search("crème")[0]
        assert hit.fields["title"] == "Café crème"


def test_typed_fields_are_stored_and_returned(tmp_path):
    sch = Schema(id=ID(unique=True), tags=KEYWORD(stored=True, lowercase=True), cats=KEYWORD(stored=True, commas=True),
                 price=NUMERIC(), count=NUMERIC(), when=DATETIME(), day=DATETIME(), extra=STORED(),
                 hidden=NUMERIC(stored=False), text=TEXT())
    ix = Index.create(tmp_path / "ix", sch)
    extra = {"nested": [1, "two", {"three": 3.0}], "flag": False, "none": None}
    with ix.writer() as w:
        w.add({"id": "a", "tags": "Python Search BM25", "cats": "big data, small data", "price": 9.5, "count": 3,
               "when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
               "day": dt.date(2020, 2, 29), "extra": extra, "hidden": 7, "text": "alpha"})
        w.add({"id": "b", "tags": ["rust", "Search"], "price": "12", "when": "2023-01-02T03:04:05Z",
               "text": "beta"})
        with pytest.raises(DocumentError, match="JSON"):
            w.add({"id": "c", "extra": {1, 2}})
        with pytest.raises(DocumentError, match="ISO 8601"):
            w.add({"id": "c", "when": "yesterday"})
    with ix.searcher() as s:
        a = s.search("id:a")[0].fields
        assert a["tags"] == "Python Search BM25"
        assert a["cats"] == "big data, small data"
        assert a["price"] == 9.5 and a["count"] == 3
        assert a["when"] == dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone.utc)  # normalised to UTC
        assert a["day"] == dt.datetime(2020, 2, 29, tzinfo=dt.timezone.utc)
        assert a["extra"] == extra
        assert "hidden" not in a and "text" not in a
        b = s.search("id:b")[0].fields
        assert b["tags"] == ["rust", "Search"] and b["price"] == 12  # a number, as the field's type says
        assert b["when"] == dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        assert "count" not in b and "extra" not in b
        # the typed fields are searchable the way their type says
        assert sorted(ranked(s.search("tags:search"))) == ["a", "b"]  # lowercased keywords
        assert ranked(s.search("tags:python")) == ["a"]
        assert ranked(s.search('cats:"big data"')) == ["a"]
        assert ranked(s.search("price:12")) == ["b"]
        assert ranked(s.search("price:9.5")) == ["a"]
        assert ranked(s.search("hidden:7")) == ["a"]
        assert ranked(s.search('when:"2023-01-02T03:04:05Z"')) == ["b"]
    # columns come back through a merge too
    with ix.writer() as w:
        w.add({"id": "c", "price": 1})
    ix.optimize()
    with ix.searcher() as s:
        assert ranked(s.search("price:9.5")) == ["a"] and ranked(s.search("price:1")) == ["c"]
        assert s.search("id:a")[0].fields["extra"] == extra


def test_stats(tmp_path):
    ix = build(tmp_path / "ix", make_docs(10), commits=2, merge_factor=100)
    st = ix.stats()
    assert st["documents"] == 10 and st["segments"] == 2 and st["generation"] == 3
    assert st["fields"]["title"]["units"] == 10
    assert st["size_bytes"] > 0
