"""What opening checks, and what only verification finds (files.py's policy, as Lucene's): a
searcher checks every file's size, the checksum of its last bytes and its header, so truncation,
a missing file and a torn write (last bytes lost or changed) are refused at open; a byte changed
in the middle of a large array is found by `Index.open(path, verify=True)`, by `check` and by a
merge, which checksum every byte."""
from __future__ import annotations

import pytest

from searchlib import ID, TEXT, Index, IndexCorruptError, Schema
from searchlib.storage import files
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest


def _index(path):
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    for part in range(2):
        with ix.writer(merge_factor=100) as w:
            for i in range(400):
                # 80 words: positions take one byte each (format 4), the file must still span several tails
                w.add({"id": f"{part}-{i}", "body": " ".join(f"w{(i * j) % 97}" for j in range(80))})
    return ix


def _positions(ix):
    entry = read_manifest(ix.path).segments[0]
    return ix.path / SEGMENTS_DIR / entry.name / "body.pos.npy"


def _flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_byte_changed_in_the_middle_is_found_by_verification_check_and_merge(tmp_path):
    ix = _index(tmp_path / "ix")
    path = _positions(ix)
    assert path.stat().st_size > 4 * files.TAIL
    _flip(path, path.stat().st_size // 2)  # outside the header and the checksummed tail
    with ix.searcher() as s:  # opening reads no array whole: it does not see it
        s.search("w1", highlight=False)
    with pytest.raises(IndexCorruptError, match="checksum mismatch") as info:
        Index.open(ix.path, verify=True).searcher()
    assert info.value.path == str(path)
    assert any(p.path == str(path) for p in ix.check().problems)
    with pytest.raises(IndexCorruptError, match="checksum mismatch"):
        ix.optimize()  # a merge reads every byte it copies, checksummed first


@pytest.mark.parametrize("damage", ["truncated", "torn", "missing", "extended"])
def test_truncation_torn_writes_and_missing_files_are_refused_at_open(tmp_path, damage):
    ix = _index(tmp_path / "ix")
    path = _positions(ix)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-100])
    elif damage == "torn":  # the right size, its last pages never written
        path.write_bytes(data[:-3000] + bytes(3000))
    elif damage == "missing":
        path.unlink()
    else:
        path.write_bytes(data + b"\0")
    with pytest.raises(IndexCorruptError) as info:
        ix.searcher()
    assert info.value.path == str(path)


def test_first_searches_read_keys_without_an_array_of_every_document(tmp_path):
    ix = _index(tmp_path / "ix")
    with ix.searcher() as s:
        ids = [h.id for h in s.search("w1 w2", limit=20, highlight=False)]
        assert all(r.fields["id"]._unit_terms is None for r in s.readers)  # answered by scanning
        for r in s.readers:
            fr = r.fields["id"]
            docs = list(range(0, r.doc_count, 37))
            scanned = fr.unit_term_ids(docs)
            assert (scanned == fr.unit_terms()[docs]).all() and (scanned >= 0).all()
    with ix.searcher() as s:
        assert [h.id for h in s.search("w1 w2", limit=20, highlight=False)] == ids


def test_opening_and_searching_a_plain_index_imports_no_cluster_code(tmp_path):
    """Index.open asks only whether the directory is sharded (storage.manifest.is_sharded); the
    cluster package, and Dask's asyncio machinery behind it, stay unimported (they cost more than
    the open itself)."""
    from conftest import run_python

    _index(tmp_path / "ix")
    script = ("import sys; from searchlib import Index; s = Index.open(sys.argv[1]).searcher(); "
              "s.search('w1 w2'); print(sorted(m for m in sys.modules if m.startswith('searchlib.cluster')))")
    done = run_python("-c", script, tmp_path / "ix")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
