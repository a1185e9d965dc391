"""Storage review fixes: what opening a segment validates (the same validators `check` uses), vanished
files told apart from other damage by their type, stored fields written as a stream, and stored
documents returned as copies."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import searchlib.search as search_module
from searchlib import ID, KEYWORD, NUMERIC, STORED, TEXT, Index, IndexCorruptError, IndexFileMissingError, Schema
from searchlib.search import Searcher
from searchlib.storage.manifest import read_manifest
from searchlib.storage.writer import SEGMENTS_DIR


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), tag=KEYWORD(stored=True), n=NUMERIC(),
                  body=TEXT(analyzer="standard", stored=True, index_phrases=True))


def build(path: Path, segments: int = 2, per_segment: int = 20) -> Index:
    ix = Index.create(path, schema())
    for part in range(segments):
        with ix.writer(merge_factor=100) as w:
            for i in range(per_segment):
                w.add({"id": f"p{part}-{i}", "tag": f"t{i % 3}", "n": i, "body": f"walnut hazel {i} acorn"})
    return ix


def segment_file(ix: Index, fname: str, segment: int = 0) -> Path:
    return ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[segment].name / fname


# -- a vanished file is an IndexFileMissingError; only that is retried on a newer commit ---------

def test_damage_under_a_path_containing_missing_is_not_retried(tmp_path, monkeypatch):
    ix = build(tmp_path / "missing" / "ix-missing")
    damaged = segment_file(ix, "stored.bin")
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x20
    damaged.write_bytes(bytes(data))
    real = search_module.SegmentReader
    calls = []

    def opening(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:  # a newer commit appears while the searcher opens the one it read
            with ix.writer(merge_factor=100) as w:
                w.add({"id": "new", "body": "walnut"})
        return real(*args, **kwargs)

    monkeypatch.setattr(search_module, "SegmentReader", opening)
    with pytest.raises(IndexCorruptError) as info:
        Searcher.open(ix.path)
    assert not isinstance(info.value, IndexFileMissingError)
    assert info.value.path == str(damaged) and "checksum mismatch" in str(info.value)
    assert len(calls) == 1  # not retried, although a newer commit exists and the path says "missing"


def test_a_vanished_file_is_an_index_file_missing_error(tmp_path):
    ix = build(tmp_path / "ix")
    gone = segment_file(ix, "body.pos.npy", 1)
    gone.unlink()
    with pytest.raises(IndexFileMissingError) as info:
        Searcher.open(ix.path)
    assert info.value.path == str(gone) and isinstance(info.value, IndexCorruptError)


# -- stored documents are returned as copies ---------------------------------------------------------

def test_changing_a_hits_fields_changes_nothing_stored(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True),
                                                 extra=STORED()))
    with ix.writer() as w:
        w.add({"id": "a", "body": "walnut", "extra": {"tags": ["x", "y"], "n": 1}})
        w.add({"id": "b", "body": "hazel", "extra": [1, 2]})
    with ix.searcher() as s:
        hit = s.search("walnut")[0]
        hit.fields["body"] = "changed"
        hit.fields["extra"]["tags"].append("z")
        hit.fields["new"] = 1
        again = s.search("walnut")[0]
        assert again.fields == {"id": "a", "body": "walnut", "extra": {"tags": ["x", "y"], "n": 1}}
        docs = list(s.documents())
        docs[1]["extra"].append(3)
        assert list(s.documents()) == [{"id": "a", "body": "walnut", "extra": {"tags": ["x", "y"], "n": 1}},
                                       {"id": "b", "body": "hazel", "extra": [1, 2]}]


# -- stored fields are written as a stream ----------------------------------------------------------

def test_write_stored_streams_its_blocks(tmp_path):
    import base64
    import tracemalloc

    from searchlib.storage import files
    from searchlib.storage.stored import DATA, POINTERS, StoredReader, write_stored

    small = [{"id": str(i), "body": f"text {i}", "list": [i, {"k": i}]} for i in range(37)]
    entries = write_stored(tmp_path, iter(small))
    for fname in (DATA, POINTERS):
        files.verify(tmp_path / fname, entries[fname])
    reader = StoredReader(tmp_path, entries)
    try:
        assert [reader.get(i) for i in range(37)] == small
    finally:
        reader.close()

    rng = np.random.default_rng(1)
    n, text_bytes = 2000, 12_000

    def docs():  # each document made on demand: only what write_stored keeps stays in memory
        for i in range(n):
            yield {"id": str(i), "body": base64.b64encode(rng.bytes(text_bytes)).decode()}

    big = tmp_path / "big"
    big.mkdir()
    tracemalloc.start()
    try:
        entries = write_stored(big, docs())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = (big / DATA).stat().st_size
    assert size > 20_000_000  # random text barely compresses
    assert peak < size / 10, f"writing held {peak / size:.2f}x the stored file"
    assert entries[DATA] == {"size": size, "crc32": files.crc32_file(big / DATA)}
    files.verify(big / POINTERS, entries[POINTERS])


# -- check judges files with the same pieces a searcher uses --------------------------------------

def test_a_pickled_array_is_refused_by_check_and_by_searchers_alike(tmp_path):
    from searchlib.storage import files
    from searchlib.storage.check import check_index
    from searchlib.storage.manifest import write_manifest

    ix = build(tmp_path / "ix")
    manifest = read_manifest(ix.path)
    entry = manifest.segments[0]
    path = ix.path / SEGMENTS_DIR / entry.name / "n.col.npy"
    path.unlink()
    np.save(path, np.array([1.0, "x"] * 10, dtype=object), allow_pickle=True)
    entry.files["n.col.npy"] = {"size": path.stat().st_size, "crc32": files.crc32_file(path)}
    manifest.generation += 1
    write_manifest(ix.path, manifest)
    report = check_index(ix.path)
    assert report.damaged_files == [str(path)]  # the older kept commit also names it, with its old size
    assert any(p.message.startswith("not a valid array file") for p in report.problems), report.format()
    with pytest.raises(IndexCorruptError) as info:
        Searcher.open(ix.path)
    assert info.value.path == str(path) and "not a valid array file" in info.value.message
