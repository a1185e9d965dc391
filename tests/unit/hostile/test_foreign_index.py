"""Opening an index someone else built: links out of the directory, forged sizes and counts,
descriptors and memory.

Each test reproduces one attack of the issue "Hostile input never crashes, hangs, escapes the
index directory or leaks" and checks the defence: IndexCorruptError naming the file (or a clear
error saying the index is not damaged), nothing read outside the index directory, nothing
allocated beyond what the files' bytes justify.
"""
from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from conftest import edit_manifest
from searchlib import ID, NUMERIC, TEXT, Index, IndexCorruptError, Schema
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.files import write_bytes
from searchlib.storage.manifest import read_manifest


def _schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard", stored=True), n=NUMERIC(),
                  notes=TEXT(analyzer="standard", stored=True, passages="paragraph"))


def _small_index(path: Path, commits: int = 2) -> Index:
    ix = Index.create(path, _schema())
    for c in range(commits):
        with ix.writer() as w:
            for i in range(20):
                k = c * 20 + i
                w.add({"id": f"d{k}", "body": f"hello world number {k}", "n": k,
                       "notes": f"first paragraph {k}\n\nsecond paragraph"})
        if c == commits - 1:
            with ix.writer() as w:
                w.delete("d3")
    return ix


def _segment_dir(ix: Index, segment: int = 0) -> Path:
    return ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[segment].name


def _resign(ix: Index, fname: str, data: bytes, segment: int = 0) -> Path:
    """Replace a segment file by `data`, recorded in a new commit with its size and CRC-32: a
    forgery the checksums cannot see."""
    path = _segment_dir(ix, segment) / fname

    def change(manifest):
        path.unlink()
        manifest.segments[segment].files[fname] = write_bytes(path, data)

    edit_manifest(ix.path, change)
    return path


# -- (7) a .npy header declaring more values than its file holds -----------------------------------------

def _npy(shape: tuple, descr: str, data: bytes = b"") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue() + data


@pytest.mark.parametrize("fname, descr", [("body.unit.npy", "<u4"), ("stored.ptr.npy", "<i8"),
                                          ("n.col.npy", "<f8"), ("del-", "|u1")],
                         ids=["mapped", "read-whole", "column", "deletions"])
@pytest.mark.parametrize("count", [10 ** 12, 10 ** 8, 3])
def test_npy_header_declaring_more_values_than_its_bytes_is_refused(tmp_path, fname, descr, count):
    # 0.1: a 128-byte file declaring 10**12 values raised MemoryError (read whole) or allocated
    # what it declared before finding the bytes missing.
    ix = _small_index(tmp_path / "ix")
    fname = next(f for f in read_manifest(ix.path).segments[0].files if f == fname or f.startswith(fname))
    path = _resign(ix, fname, _npy((count,), descr, b"\0" * 16))
    tracemalloc.start()
    try:
        with pytest.raises(IndexCorruptError, match=rf"declares {count:,} values") as info:
            Index(ix.path).searcher().close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.path == str(path)
    assert peak < 4_000_000, f"opening allocated {peak:,} bytes"
    report = check_index(ix.path)
    assert any(p.path == str(path) and "declares" in p.message for p in report.problems), report.format()


@pytest.mark.parametrize("header", [
    _npy((4,), "|O", b"\0" * 32),                       # pickled objects
    _npy((2,), [("a", "<i4"), ("b", "<f8")], b"\0" * 24),  # a record array
    _npy((2,), "<U3", b"\0" * 24),                      # text
    b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 200,          # a header longer than any the format writes
    b"\x93NUMPY\x09\x00\x10\x00{'descr': '<u4'}",       # an unknown version
    b"\x93NUMPY\x01\x00\x20\x00" + b"(" * 30 + b")" * 2,  # a header that is no dictionary
    b"not an array at all",
], ids=["objects", "records", "text", "long-header", "version", "not-a-dict", "garbage"])
def test_npy_files_that_are_no_array_of_numbers_are_refused(tmp_path, header):
    ix = _small_index(tmp_path / "ix")
    path = _resign(ix, "body.unit.npy", header)
    with pytest.raises(IndexCorruptError, match="not a valid array file") as info:
        Index(ix.path).searcher().close()
    assert info.value.path == str(path)
