"""How a searcher maps and reads ahead its files (storage/files.py): .npy headers read without
numpy's literal parser give what numpy's gives, arrays are mapped read-only without keeping a
descriptor each, and asking for files ahead is advice only."""
from __future__ import annotations

import gc
import io
import os
import sys

import numpy as np
import pytest

from conftest import build_in_commits
from searchlib import ID, TEXT, Schema
from searchlib.storage import files
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest

ARRAYS = [np.arange(5, dtype=np.uint32), np.zeros((3, 2), np.int64), np.zeros((2, 3, 4), np.int8), np.array(3.0),
          np.zeros(0, np.uint8), np.ones(4, bool), np.zeros((2, 3), np.float32, order="F"), np.arange(6, dtype=">i2"),
          np.arange(300, dtype=np.uint16)]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_plain_headers_read_as_numpy_reads_them(tmp_path, array):
    path = tmp_path / "a.npy"
    np.save(path, array)
    head = path.read_bytes()[:200]
    length = int.from_bytes(head[8:10], "little")
    assert files._PLAIN_HEADER.match(head, 10, 10 + length)  # the fast path is the one taken
    fh = io.BytesIO(head)
    fh.seek(8)
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert files._npy_layout(fd, path, path.stat().st_size) == (shape, fortran, dtype, fh.tell())
    finally:
        os.close(fd)
    loaded = files.read_array(path, path.stat().st_size, below=0)
    assert loaded.dtype == array.dtype and np.array_equal(loaded, array)


def test_a_header_written_otherwise_is_read_by_numpy_s_parser(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(7, dtype=np.int32))
    data = bytearray(path.read_bytes())
    text = data[10:128].decode("latin1")
    reordered = "{'shape': (7,), 'fortran_order': False, 'descr': '<i4'}"
    data[10:128] = (reordered + " " * (117 - len(reordered)) + "\n").encode("latin1")
    assert len(text) == 118
    path.write_bytes(bytes(data))
    assert not files._PLAIN_HEADER.match(bytes(data), 10, 128)
    assert np.array_equal(files.read_array(path, len(data), below=0), np.arange(7))
    for bad in (b"(7)", b"(-7,)"):  # not a tuple; a negative count: refused as numpy refuses them
        forged = bytes(data).replace(b"(7,)", bad.ljust(4))
        path.write_bytes(forged)
        with pytest.raises(files.IndexCorruptError, match="not a valid array file"):
            files.read_array(path, len(forged), below=0)


def _index(path):
    """Three segments of 300 documents of 60 words."""
    docs = [{"id": str(i), "body": " ".join(f"w{(i * j) % 89}" for j in range(60))} for i in range(900)]
    return build_in_commits(path, Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)), docs, commits=3,
                            merge_factor=100)


@pytest.mark.skipif(files._LIBC is None or not os.path.isdir("/proc/self/fd"),
                    reason="maps arrays by libc's mmap and counts descriptors in /proc/self/fd (Linux)")
def test_arrays_are_mapped_read_only_without_a_descriptor_each(tmp_path):
    ix = _index(tmp_path / "ix")
    before = len(os.listdir("/proc/self/fd"))
    s = ix.searcher()
    held = len(os.listdir("/proc/self/fd")) - before
    segments = len(read_manifest(ix.path).segments)
    arrays = sum(name.endswith(".npy") for e in read_manifest(ix.path).segments for name in e.files)
    assert segments == 3 and arrays > 30
    # a descriptor per segment's stored fields and per term text map (before Python 3.13), none per array
    assert held <= segments * (1 + (2 if sys.version_info < (3, 13) else 0)), held
    body = s.readers[0].fields["body"]
    assert isinstance(files.file_map(body.unit), files.FileMap)
    assert not body.unit.flags.writeable
    with pytest.raises(ValueError):
        body.unit.setflags(write=True)
    units = body.postings(0)[0]
    expected = units.copy()
    s.close()
    del s, body
    gc.collect()
    assert np.array_equal(units, expected)  # a view keeps its map
    assert [h.id for h in ix.searcher().search("w3", limit=3)]


def test_long_posting_lists_are_asked_for_ahead_and_read_whole(tmp_path, monkeypatch):
    ix = _index(tmp_path / "ix")
    monkeypatch.setattr("searchlib.storage.segment._AHEAD_POSTINGS", 10)
    asked = []
    monkeypatch.setattr(files.Ahead, "items", lambda self, a, b: asked.append((a, b)))
    with ix.searcher() as s:
        fr = s.readers[0].fields["body"]
        tid = fr.term_id("w0")
        units, tf = fr.postings(tid)
        assert len(units) > 10 and (int(fr.ptr[tid]), int(fr.ptr[tid + 1])) in asked
        assert len(fr.position_keys(tid)) == int(tf.sum())


def test_reading_ahead_is_advice_only(tmp_path):
    ix = _index(tmp_path / "ix")
    entry = read_manifest(ix.path).segments[0]
    directory = ix.path / SEGMENTS_DIR / entry.name
    listed = dict(entry.files, **{"gone.npy": {"size": 10}, "body.unit.npy": {"size": "forged"}})
    files.read_ahead([(directory, listed), (ix.path / SEGMENTS_DIR / "no-such-segment", entry.files)])
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    files.read_ahead([(directory, entry.files)])
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before  # every descriptor closed
