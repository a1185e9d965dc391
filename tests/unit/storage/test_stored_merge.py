"""A merge copies the stored blocks of a segment that lost no document, byte for byte (format
searchlib-7 records each block's first document, so blocks may hold fewer than BLOCK_DOCS), and
encodes the live documents of the others; every document reads back as it was added."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings, strategies as st

from searchlib import ID, TEXT, Index, Schema
from searchlib.errors import IndexCorruptError
from searchlib.storage import manifest as manifest_module
from searchlib.storage import segment as segment_module
from searchlib.storage import stored
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.files import write_array, write_bytes
from searchlib.storage.manifest import read_manifest

from conftest import rewrite


def _schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True))


def _doc(key: str) -> dict:
    return {"id": key, "body": f"river stone {key} " * (1 + len(key) % 5)}


def _build(path, sizes: list[int]) -> Index:
    """An index of one segment per size (no merges), documents numbered in order."""
    ix = Index.create(path, _schema())
    n = 0
    for size in sizes:
        with ix.writer(workers=1, merge_factor=1000) as w:
            for _ in range(size):
                w.add(_doc(f"d{n}"))
                n += 1
    return ix


def _segment_dirs(ix: Index) -> list:
    return [ix.path / SEGMENTS_DIR / s.name for s in read_manifest(ix.path).segments]


def _stored_docs(ix: Index) -> list[dict]:
    with ix.searcher() as s:
        return [r.stored.get(d) for r in s.readers for d in range(r.doc_count) if r.live is None or r.live[d]]


def test_merge_copies_the_blocks_of_whole_segments(tmp_path):
    ix = _build(tmp_path / "ix", [37, 5, 40])
    sources = [(d / stored.DATA).read_bytes() for d in _segment_dirs(ix)]
    before = _stored_docs(ix)
    ix.optimize()
    [merged] = _segment_dirs(ix)
    data = (merged / stored.DATA).read_bytes()
    assert data == b"".join(sources)  # nothing decoded and compressed again
    firsts = np.load(merged / stored.FIRSTS)
    assert firsts.tolist() == [0, 16, 32, 37, 42, 58, 74, 82]  # each segment's short last block kept
    assert _stored_docs(ix) == before == [_doc(f"d{i}") for i in range(82)]


def test_merge_encodes_the_live_documents_of_a_segment_that_lost_some(tmp_path):
    ix = _build(tmp_path / "ix", [20, 30])
    first = (_segment_dirs(ix)[0] / stored.DATA).read_bytes()
    with ix.writer(workers=1, merge_factor=1000) as w:
        w.delete("d25")
    ix.optimize()
    [merged] = _segment_dirs(ix)
    assert (merged / stored.DATA).read_bytes().startswith(first)  # the whole segment, copied
    assert _stored_docs(ix) == [_doc(f"d{i}") for i in range(50) if i != 25]
    firsts = np.load(merged / stored.FIRSTS)
    assert firsts.tolist() == [0, 16, 20, 36, 49]
    with ix.searcher() as s:
        assert [h.id for h in s.search("d26")] == ["d26"]
    assert ix.check().ok


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 40), min_size=2, max_size=4), deleted=st.sets(st.integers(0, 159), max_size=12),
       rounds=st.integers(1, 2))
def test_merged_documents_read_back_as_added(tmp_path_factory, sizes, deleted, rounds):
    ix = _build(tmp_path_factory.mktemp("m") / "ix", sizes)
    total = sum(sizes)
    gone = {i for i in deleted if i < total}
    for r in range(rounds):  # a second round copies blocks that a first merge left short
        with ix.writer(workers=1, merge_factor=1000) as w:
            for i in sorted(gone):
                if i % rounds == r:
                    w.delete(f"d{i}")
        ix.optimize()
    assert _stored_docs(ix) == [_doc(f"d{i}") for i in range(total) if i not in gone]
    assert ix.check().ok


def test_segments_of_format_6_are_read_and_merged(tmp_path, monkeypatch):
    """A segment written before format 7 has no stored.docs.npy: its blocks hold BLOCK_DOCS
    documents, found by division, and a merge copies them with their first documents derived."""
    real = segment_module.write_stored

    def format_6(directory, docs):
        files = real(directory, docs)
        del files[stored.FIRSTS]
        (directory / stored.FIRSTS).unlink()
        return files

    monkeypatch.setattr(segment_module, "write_stored", format_6)
    monkeypatch.setattr(manifest_module, "FORMAT", "searchlib-6")
    ix = _build(tmp_path / "ix", [21, 18])
    monkeypatch.undo()
    assert all(not (d / stored.FIRSTS).exists() for d in _segment_dirs(ix))
    assert _stored_docs(ix) == [_doc(f"d{i}") for i in range(39)]
    with ix.writer(workers=1, merge_factor=1000) as w:
        w.add(_doc("d39"))
    ix.optimize()
    [merged] = _segment_dirs(ix)
    assert np.load(merged / stored.FIRSTS).tolist() == [0, 16, 21, 37, 39, 40]
    assert _stored_docs(ix) == [_doc(f"d{i}") for i in range(40)]
    assert ix.check().ok


def test_zlib_segments_of_format_6_are_compressed_again_when_merged(tmp_path, monkeypatch):
    """One stored.bin has one codec: a merge copies the blocks of a zstd segment, and decodes and
    compresses again the documents of a zlib one (format 6 and earlier), however whole it is."""
    real = segment_module.write_stored

    def format_6(directory, docs):  # zlib blocks of BLOCK_DOCS documents, no codec named, no first documents
        files = real(directory, docs)
        offsets = np.load(directory / stored.POINTERS).tolist()
        data = (directory / stored.DATA).read_bytes()
        blocks = [zlib.compress(zstandard.ZstdDecompressor().decompress(data[a:b]), 1)
                  for a, b in zip(offsets[:-1], offsets[1:])]
        for name in (stored.DATA, stored.POINTERS, stored.FIRSTS):
            (directory / name).unlink()
            del files[name]
        files[stored.DATA] = write_bytes(directory / stored.DATA, b"".join(blocks))
        ends = np.cumsum([0] + [len(b) for b in blocks]).astype(np.int64)
        files[stored.POINTERS] = write_array(directory / stored.POINTERS, ends)
        return files

    monkeypatch.setattr(segment_module, "write_stored", format_6)
    monkeypatch.setattr(manifest_module, "FORMAT", "searchlib-6")
    ix = _build(tmp_path / "ix", [21, 18])
    monkeypatch.undo()
    assert all("codec" not in s.files[stored.DATA] for s in read_manifest(ix.path).segments)
    assert _stored_docs(ix) == [_doc(f"d{i}") for i in range(39)]
    with ix.writer(workers=1, merge_factor=1000) as w:
        w.add(_doc("d39"))
    zstd_segment = (_segment_dirs(ix)[-1] / stored.DATA).read_bytes()
    ix.optimize()
    [merged] = _segment_dirs(ix)
    assert read_manifest(ix.path).segments[0].files[stored.DATA]["codec"] == "zstd"
    data = (merged / stored.DATA).read_bytes()
    assert data.endswith(zstd_segment)  # copied as it was
    ends = np.load(merged / stored.POINTERS).tolist()
    assert all(zstandard.frame_content_size(data[a:b]) > 0 for a, b in zip(ends[:-1], ends[1:]))  # every block zstd
    assert np.load(merged / stored.FIRSTS).tolist() == [0, 16, 32, 39, 40]
    assert _stored_docs(ix) == [_doc(f"d{i}") for i in range(40)]
    assert ix.check().ok


def test_a_damaged_block_is_not_copied_under_a_new_checksum(tmp_path):
    ix = _build(tmp_path / "ix", [20, 20])
    path = _segment_dirs(ix)[1] / stored.DATA
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    path.write_bytes(bytes(data))
    generation = read_manifest(ix.path).generation
    with pytest.raises(IndexCorruptError, match="checksum"):
        ix.optimize()
    assert read_manifest(ix.path).generation == generation  # nothing committed
    assert len(_segment_dirs(ix)) == 2


@pytest.mark.parametrize("firsts, problem", [
    ([0, 17, 20], "more than"),      # a block of 17 documents could decode past the block limit
    ([0, 0, 20], "no document"),
    ([0, 10, 19], "do not cover"),   # ends before the segment's count
])
def test_forged_block_documents_are_refused(tmp_path, firsts, problem):
    ix = _build(tmp_path / "ix", [10, 10])
    ix.optimize()
    [merged] = _segment_dirs(ix)
    assert np.load(merged / stored.FIRSTS).tolist() == [0, 10, 20]
    rewrite(ix, 0, stored.FIRSTS, np.asarray(firsts, dtype=np.int64))
    with pytest.raises(IndexCorruptError, match=f"stored.docs.npy.*{problem}"):
        ix.searcher()
    assert any("stored.docs.npy" in str(p.path) and problem in p.message for p in ix.check().problems)


def test_block_firsts_problems():
    assert stored.firsts_problem(np.array([0, 16, 20], np.int64), 20) is None
    assert stored.firsts_problem(np.array([0], np.int64), 0) is None
    assert "more than" in stored.firsts_problem(np.array([0, 17, 20], np.int64), 20)
    assert "no document" in stored.firsts_problem(np.array([0, 0, 20], np.int64), 20)
    assert "do not cover" in stored.firsts_problem(np.array([0, 16, 20], np.int32), 20)
    assert "do not cover" in stored.firsts_problem(np.array([0, 16], np.int64), 20)
    assert "do not cover" in stored.firsts_problem(np.zeros((2, 2), np.int64), 20)
    assert "do not cover" in stored.offsets_problem(np.array([0, 30], np.int64), 20, 30, blocks=2)
