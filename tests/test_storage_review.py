"""Storage fixes from review: merged dictionaries shrink with deletions, deletions files only when a
mask changed, streamed array writes, numberings forgotten with their last batch, the query-aware
writer's settings and matching, check's once-per-segment structure checks, the bounded
verification cache."""
from __future__ import annotations

import io
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, Schema
from searchlib.index import Writer
from searchlib.query import evaluate as evaluate_module
from searchlib.query.evaluate import SegmentEvaluator
from searchlib.indexing import analyze, writer as writer_module
from searchlib.storage import check, files
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest
from searchlib.storage.segment import SegmentReader


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), tag=KEYWORD(stored=True), n=NUMERIC(),
                  body=TEXT(analyzer="standard", stored=True),
                  notes=TEXT(analyzer="standard", passages="paragraph"))


def unique_docs(n: int) -> list[dict]:
    return [{"id": f"d{i}", "tag": f"t{i}", "n": i, "body": f"common uniq{i}",
             "notes": f"shared words\n\nnote{i} here"} for i in range(n)]


def body_terms(ix: Index) -> list[int]:
    return ix.stats()["fields"]["body"]["terms_per_segment"]


# -- 1. merged dictionaries keep only terms with live postings ------------------------------------

def test_optimize_drops_terms_whose_documents_were_all_deleted(tmp_path):
    docs = unique_docs(100)
    ix = Index.create(tmp_path / "ix", schema())
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
        assert sorted(reader.fields["body"].trie.keys()) == sorted(["common"] + [f"uniq{i}" for i in range(90, 100)])
        assert reader.fields["body"].doc_freq("uniq5") == 0
    finally:
        reader.close()
    # the merged segment is the one a fresh index of the survivors would have
    fresh = Index.create(tmp_path / "fresh", schema())
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
    ix = Index.create(tmp_path / "ix", schema())
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


# -- 2. deletions files only for segments whose mask changed and that survive the commit ---------

def test_updating_a_key_twice_writes_no_deletions_file_for_an_untouched_segment(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
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
    ix = Index.create(tmp_path / "ix", schema())
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


# -- 3. arrays are streamed to their files ---------------------------------------------------------

def test_write_array_streams_without_a_whole_copy(tmp_path):
    for i, arr in enumerate([np.arange(10), np.zeros(0, np.uint32), np.arange(12).reshape(6, 2),
                             np.arange(20, dtype=np.int64).reshape(10, 2)[:, :1]]):
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
        expected = buf.getvalue()
        entry = files.write_array(tmp_path / f"{i}.npy", arr)
        assert entry == {"size": len(expected), "crc32": zlib.crc32(expected)}
        assert (tmp_path / f"{i}.npy").read_bytes() == expected
    big = np.arange(8_000_000, dtype=np.float64)  # 64 MB
    tracemalloc.start()
    try:
        entry = files.write_array(tmp_path / "big.npy", big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < big.nbytes / 2, f"writing held {peak / big.nbytes:.2f}x the array"
    assert entry["size"] == (tmp_path / "big.npy").stat().st_size
    assert entry["crc32"] == files.crc32_file(tmp_path / "big.npy")
    files.verify(tmp_path / "big.npy", entry)


# -- 4. a numbering is forgotten with its last batch, even when the limit is lowered ---------------

def test_lowered_word_limit_ends_the_numbering_with_a_last_batch(monkeypatch):
    fa = analyze.FieldAnalysis(schema().fields["body"])
    first = fa.run(["alpha beta gamma", "delta"])
    assert not first.last
    monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 3)
    second = fa.run(["epsilon"])  # same numbering, and the batch that ends it
    assert second.source == first.source and second.last
    assert second.first_term == 4 and second.new_terms == ["epsilon"]
    third = fa.run(["zeta"])
    assert third.source[1] == first.source[1] + 1 and third.first_term == 0


def test_writer_forgets_numberings_when_the_limit_is_lowered_mid_batch(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", schema())
    w = ix.writer(workers=1)
    try:
        w.add({"id": "a", "body": "one two three four", "notes": "five six"})
        w._buffer.drain()
        monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 2)
        for i in range(6):
            w.add({"id": f"b{i}", "body": f"word{i} other{i}", "notes": f"note{i}"})
            w._buffer.drain()
            assert len(w._analysis._terms) <= 2  # at most the live numbering of each field
            assert all(len(fb._remaps) <= 1 for fb in w._buffer.fields.values())
        w.commit()
    finally:
        w.close()
    assert {h.id for h in ix.search("word3 OR one")} == {"a", "b3"}


def test_flushing_empties_the_field_buffers():
    from searchlib.indexing.buffer import SegmentBuffer
    buf = SegmentBuffer(schema(), analyze.Analysis(schema(), workers=1))
    buf.add({"id": "a", "tag": "k", "body": "x y", "notes": "p q\n\nr s"})
    buf.drain()
    for name, fb in buf.fields.items():
        fa = fb.take_arrays()
        assert len(fa.unit) > 0
        assert not fb.tokens and not fb.vocab and not fb.unit_tokens, name
        assert fb.unit_doc is None or (not fb.unit_doc and not fb.spans), name


# -- 5. the query-aware writer ---------------------------------------------------------------------

def test_writer_takes_its_settings_from_the_index(tmp_path):
    ix = Index.create(tmp_path / "ix", schema(), settings={"operator": "AND"})
    w = Writer(ix.path)
    try:
        assert w.settings == ix.settings and w.settings.operator == "AND"
    finally:
        w.close()
    with ix.writer() as w:
        assert w.settings == ix.settings
        w.add({"id": "a", "body": "red fish"})
        w.add({"id": "b", "body": "red bird"})
    with ix.writer() as w:
        assert w.delete_by_query("red fish") == 1  # AND: only the document with both words
    assert [h.id for h in ix.search("red")] == ["b"]


def test_delete_by_query_matches_without_scoring(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        for doc in unique_docs(10):
            w.add(doc)
    calls, scoring = [], []
    real = SegmentEvaluator.matching

    def recording(self, node):
        calls.append((type(node).__name__, self.bm25))
        return real(self, node)

    def spy(name, original):
        def recorded(*args, **kwargs):
            scoring.append(name)
            return original(*args, **kwargs)
        return recorded

    monkeypatch.setattr(SegmentEvaluator, "matching", recording)
    for name in ("evaluate", "_constant"):  # the scoring evaluation, and a range's score array
        monkeypatch.setattr(SegmentEvaluator, name, spy(name, getattr(SegmentEvaluator, name)))
    monkeypatch.setattr(evaluate_module, "length_norm", spy("length_norm", evaluate_module.length_norm))
    with ix.writer() as w:
        assert w.delete_by_query("n:[2 TO 4]") == 3
        assert scoring == []  # the range is matched directly: no evaluate(), no score array
        assert w.delete_by_query("uniq7 OR tag:t8") == 2
        assert "_constant" not in scoring and "length_norm" not in scoring  # no BM25 length norms
    assert [name for name, _ in calls] == ["ColumnLeaf", "BoolNode"]  # one segment, one call per query
    assert all(bm25 is None for _, bm25 in calls)  # evaluators that only match
    assert ix.doc_count() == 5


# -- 6. check verifies a segment's structure once across kept commits ------------------------------

def test_check_verifies_structure_once_and_each_deletions_file(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        for doc in unique_docs(10):
            w.add(doc)
    with ix.writer() as w:
        w.delete("d1")
    with ix.writer() as w:
        w.delete("d2")  # the two kept commits differ only by the segment's deletions file
    manifests = [read_manifest(ix.path, g) for g in (ix.generation - 1, ix.generation)]
    assert [m.segments[0].name for m in manifests] == [manifests[0].segments[0].name] * 2
    assert manifests[0].segments[0].deletes != manifests[1].segments[0].deletes
    fields, stored, deletes = [], [], []
    cls = check._SegmentStructure
    real_field, real_stored, real_deletes = cls.field, cls.stored, cls.deletes
    monkeypatch.setattr(cls, "field", lambda self, name, *a: (fields.append(name), real_field(self, name, *a))[1])
    monkeypatch.setattr(cls, "stored", lambda self, *a: (stored.append(1), real_stored(self, *a))[1])
    monkeypatch.setattr(cls, "deletes", lambda self, *a: (deletes.append(self.entry.deletes),
                                                          real_deletes(self, *a))[1])
    report = check.check_index(ix.path)
    assert report.ok, report.format()
    assert sorted(fields) == sorted(["id", "tag", "body", "notes"])  # once per field, not per commit
    assert len(stored) == 1
    assert sorted(deletes) == sorted(m.segments[0].deletes for m in manifests)


# -- 7. the verification cache is bounded ---------------------------------------------------------

def test_verified_file_cache_is_bounded(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        for doc in unique_docs(20):
            w.add(doc)
    monkeypatch.setattr(files, "_VERIFIED_LIMIT", 5)
    files._verified.clear()
    with ix.searcher() as s:
        assert s.doc_count() == 20
    assert 0 < len(files._verified) <= 5
    with ix.searcher() as s:  # still verifies (and finds) every file
        assert [h.id for h in s.search("uniq3")] == ["d3"]
