"""What opening a segment validates (the same validators `check` uses), vanished files told apart from
other damage by their type, stored fields and arrays written as a stream, stored documents returned as
copies, and pair postings merged by block copies."""
from __future__ import annotations

import io
import json
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import searchlib.search.searcher as search_module
from searchlib import ID, KEYWORD, NUMERIC, STORED, TEXT, Index, IndexCorruptError, IndexFileMissingError, Schema
from searchlib.search import Searcher
from searchlib.storage import files
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest

from conftest import rewrite


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
        Searcher.open(ix.path, verify=True)  # a byte in the middle: found by the whole checksum
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


# -- stored fields and arrays are written as a stream -----------------------------------------------

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
    tail = zlib.crc32((big / DATA).read_bytes()[-files.TAIL:])
    assert entries[DATA] == {"size": size, "crc32": files.crc32_file(big / DATA), "tail": tail, "codec": "zstd"}
    files.verify(big / POINTERS, entries[POINTERS])


def test_write_array_streams_without_a_whole_copy(tmp_path):
    for i, arr in enumerate([np.arange(10), np.zeros(0, np.uint32), np.arange(12).reshape(6, 2),
                             np.arange(20, dtype=np.int64).reshape(10, 2)[:, :1]]):
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
        expected = buf.getvalue()
        entry = files.write_array(tmp_path / f"{i}.npy", arr)
        assert entry == {"size": len(expected), "crc32": zlib.crc32(expected), "tail": zlib.crc32(expected[-files.TAIL:])}
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


# -- opening a segment validates what `check` validates ---------------------------------------------
# Each damage below keeps every checksum valid (a buggy writer's output): a searcher must refuse it
# with IndexCorruptError naming the file, and check must report that file, by the same validators.

def damaged_index(path: Path) -> Index:
    """Two segments of 20 documents; the first has a deletions file (one document deleted)."""
    ix = build(path)
    with ix.writer() as w:
        w.delete("p0-3")
    assert read_manifest(ix.path).segments[0].deletes is not None
    return ix


def rewrite_meta(ix: Index, segment: int, change) -> Path:
    """Replace a segment's meta.json by `change(meta)`, with its new size and checksum in a new commit."""
    from searchlib.storage.files import write_bytes
    from searchlib.storage.manifest import write_manifest

    manifest = read_manifest(ix.path)
    entry = manifest.segments[segment]
    path = ix.path / SEGMENTS_DIR / entry.name / "meta.json"
    meta = json.loads(path.read_bytes())
    meta = change(meta) or meta
    path.unlink()
    entry.files["meta.json"] = write_bytes(path, json.dumps(meta).encode())
    manifest.generation += 1
    write_manifest(ix.path, manifest)
    return path


def drop_from_manifest(ix: Index, segment: int, fname: str) -> Path:
    from searchlib.storage.manifest import write_manifest

    manifest = read_manifest(ix.path)
    entry = manifest.segments[segment]
    del entry.files[fname]
    manifest.generation += 1
    write_manifest(ix.path, manifest)
    return ix.path / SEGMENTS_DIR / entry.name / fname


def recount_in_manifest(ix: Index, segment: int, **counts) -> Path:
    """A new commit whose entry for the segment has other counts (doc_count, deleted) than its files."""
    from searchlib.storage.manifest import write_manifest

    manifest = read_manifest(ix.path)
    entry = manifest.segments[segment]
    for key, value in counts.items():
        setattr(entry, key, value)
    manifest.generation += 1
    write_manifest(ix.path, manifest)
    return ix.path / SEGMENTS_DIR / entry.name


def damage(ix: Index, kind: str) -> Path:
    """Apply one kind of damage; return the file that is wrong."""
    deletes = read_manifest(ix.path).segments[0].deletes
    packed = np.load(segment_file(ix, deletes))
    col = np.load(segment_file(ix, "n.col.npy"))
    if kind == "deletions as int64":
        return rewrite(ix, 0, deletes, packed.astype(np.int64))
    if kind == "deletions too short":
        return rewrite(ix, 0, deletes, packed[:-1])
    if kind == "deletions empty":
        return rewrite(ix, 0, deletes, np.zeros(0, np.uint8))
    if kind == "deletion past the last document":
        packed = packed.copy()
        packed[-1] |= 0x01  # 20 documents: the last byte's low 4 bits are past the end
        return rewrite(ix, 0, deletes, packed)
    if kind == "meta fields as a list":
        return rewrite_meta(ix, 1, lambda meta: {**meta, "fields": list(meta["fields"])})
    if kind == "meta field info as a string":
        return rewrite_meta(ix, 1, lambda meta: meta["fields"].update(body="terms"))
    if kind == "meta count not a number":
        return rewrite_meta(ix, 1, lambda meta: meta["fields"]["body"].update(units="twenty"))
    if kind == "meta without doc_count":
        return rewrite_meta(ix, 1, lambda meta: meta.pop("doc_count"))
    if kind == "column too short":
        return rewrite(ix, 0, "n.col.npy", col[:-1])
    if kind == "column of bytes":
        return rewrite(ix, 0, "n.col.npy", col.astype("S1"))
    if kind == "term list missing from the manifest":
        return drop_from_manifest(ix, 1, "body.lex.txt")
    if kind == "postings missing from the manifest":
        return drop_from_manifest(ix, 1, "tag.unit.npy")
    raise AssertionError(kind)


def structural(report, path: Path) -> list:
    """The report's problems with `path` other than its size or checksum differing from a manifest
    (the older kept commit names the file as it was before the damage)."""
    return [p for p in report.problems if p.path == str(path)
            and "checksum mismatch" not in p.message and "size is" not in p.message]


@pytest.mark.parametrize("kind", ["deletions as int64", "deletions too short", "deletions empty",
                                  "deletion past the last document", "meta fields as a list",
                                  "meta field info as a string", "meta count not a number",
                                  "meta without doc_count", "column too short", "column of bytes",
                                  "term list missing from the manifest", "postings missing from the manifest"])
def test_damage_behind_valid_checksums_is_refused_on_open_and_reported(tmp_path, kind):
    from searchlib.storage.check import check_index

    ix = damaged_index(tmp_path / "ix")
    target = damage(ix, kind)
    with pytest.raises(IndexCorruptError) as info:
        Searcher.open(ix.path)
    assert info.value.path == str(target), str(info.value)
    found = structural(check_index(ix.path), target)
    assert found, check_index(ix.path).format()
    if "manifest" not in kind:
        assert info.value.message in {p.message for p in found}  # one validator, one message


COUNT_DAMAGE = ["documents", "deletions"]


def damage_counts(ix: Index, kind: str) -> tuple[int, Path, str]:
    """(segment, file, message) of a commit whose counts differ from what a segment's files hold."""
    if kind == "documents":  # the manifest counts one document more than meta.json (and every file)
        return 1, recount_in_manifest(ix, 1, doc_count=21) / "meta.json", "says 20 documents, the manifest says 21"
    deletes = read_manifest(ix.path).segments[0].deletes
    bits = np.unpackbits(np.load(segment_file(ix, deletes)))
    bits[7] = 1  # a second deleted document the manifest does not count
    return 0, rewrite(ix, 0, deletes, np.packbits(bits)), "marks 2 documents deleted, the manifest says 1"


@pytest.mark.parametrize("kind", COUNT_DAMAGE)
def test_counts_that_differ_from_the_manifest_are_refused_by_writers_and_reported(tmp_path, kind):
    from searchlib.storage.check import check_index
    from searchlib.storage.segment import SegmentReader

    ix = damaged_index(tmp_path / "ix")
    segment, target, message = damage_counts(ix, kind)
    entry = read_manifest(ix.path).segments[segment]
    with pytest.raises(IndexCorruptError) as info:
        SegmentReader(target.parent, entry.files, entry.deletes, doc_count=entry.doc_count, deleted=entry.deleted)
    assert info.value.path == str(target) and info.value.message == message
    with pytest.raises(IndexCorruptError) as info:
        with ix.writer() as w:
            w.delete("p1-5")  # opens every segment to find the key
    assert info.value.path == str(target) and info.value.message == message
    assert message in {p.message for p in structural(check_index(ix.path), target)}


@pytest.mark.parametrize("kind", COUNT_DAMAGE)
def test_counts_that_differ_from_the_manifest_are_refused_by_searchers(tmp_path, kind):
    ix = damaged_index(tmp_path / "ix")
    _, target, message = damage_counts(ix, kind)
    with pytest.raises(IndexCorruptError) as info:
        Searcher.open(ix.path)
    assert info.value.path == str(target) and info.value.message == message


def test_opening_checks_counts_only_against_a_consistent_commit(tmp_path):
    """A writer's own batch: deletions counted by commit() but not yet written are not damage."""
    ix = damaged_index(tmp_path / "ix")
    with ix.writer(merge_factor=2) as w:  # the commit merges the two segments after counting deletions
        w.delete("p0-4")
        w.delete("p1-4")
    assert ix.doc_count() == 37 and len(read_manifest(ix.path).segments) == 1
    assert ix.check().ok


# -- pair postings merge by block copies, step by step, releasing their inputs ---------------------

def test_pair_merge_in_small_steps_equals_one_step_and_a_sorted_merge():
    from searchlib.storage.pairs import from_tokens, merge, postings

    rng = np.random.default_rng(7)
    parts, occurrences, offset = [], [], 0
    for _ in range(3):
        n_units, n = 40, 600
        tid = rng.integers(0, 12, n).astype(np.int64)
        unit = np.sort(rng.integers(0, n_units, n)).astype(np.uint32)
        pos = np.arange(n, dtype=np.uint32) - np.searchsorted(unit, unit).astype(np.uint32)
        pos[rng.random(n) < 0.1] += 1  # a few gaps (stop words)
        keep = rng.random(n_units) > 0.3
        new_unit = (np.cumsum(keep) - 1 + offset).astype(np.uint32)
        offset += int(keep.sum())
        remap = rng.permutation(20)[:12].astype(np.int64)
        pa = from_tokens(tid, unit, pos)
        parts.append((pa, remap, keep, new_unit))
        # the reference: every surviving posting, renamed, then sorted by key (stable: units ascend)
        old_keys = np.repeat(pa.keys, np.diff(pa.ptr))
        alive = keep[pa.unit]
        first = remap[(old_keys >> np.uint64(32)).astype(np.int64)][alive]
        second = remap[(old_keys & np.uint64(0xFFFFFFFF)).astype(np.int64)][alive]
        occurrences.append((first.astype(np.uint64) << np.uint64(32) | second.astype(np.uint64),
                            new_unit[pa.unit[alive]], pa.tf[alive]))
    keys, units, tfs = (np.concatenate(c) for c in zip(*occurrences))
    expected = postings(keys, units, tfs)
    for chunk in (1, 5, 1 << 21):
        got = merge(parts, chunk)
        for a, b in zip((got.keys, got.ptr, got.unit, got.tf), (expected.keys, expected.ptr, expected.unit,
                                                                 expected.tf)):
            assert a.dtype == b.dtype and np.array_equal(a, b), chunk


def test_a_merge_releases_the_pages_of_every_input_pair_array(tmp_path, monkeypatch):
    from searchlib.storage import pairs

    ix = build(tmp_path / "ix", segments=3)
    released = []
    monkeypatch.setattr(pairs, "release_pages", lambda *arrays: released.append(arrays))
    ix.optimize()
    assert len(released) == 3  # once per input segment, after its pairs were copied
    assert all(len(arrays) == 4 and all(isinstance(a, np.ndarray) for a in arrays) for arrays in released)
    assert ix.check().ok and ix.search('body:"walnut hazel"').total == 60
