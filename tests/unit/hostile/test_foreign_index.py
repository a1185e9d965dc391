"""Opening an index someone else built: links out of the directory, forged sizes and counts,
descriptors and memory.

Each test reproduces one attack of the issue "Hostile input never crashes, hangs, escapes the
index directory or leaks" and checks the defence: IndexCorruptError naming the file (or a clear
error saying the index is not damaged), nothing read outside the index directory, nothing
allocated beyond what the files' bytes justify.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import zstandard

from conftest import edit_manifest, run_python
from searchlib import ID, NUMERIC, TEXT, DocumentError, Index, IndexCorruptError, IndexFormatError, Schema
from searchlib.storage import stored
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.files import write_array, write_bytes
from searchlib.storage.manifest import generations, manifest_name, read_manifest


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


# -- (2) symbolic links are never followed below the index directory -----------------------------------

def _replace_by_link(path: Path, outside: Path) -> Path:
    """Move `path` (a file or directory of the index) to `outside` and leave a symbolic link to it
    in its place: the bytes a reader would find through the link are exactly the index's own, so
    only the refusal to follow links can tell."""
    shutil.move(str(path), str(outside))
    path.symlink_to(outside, target_is_directory=outside.is_dir())
    return path


# Every kind of segment file, opened by each of the readers: arrays (memory-mapped and read whole),
# the term dictionary's text and keys, meta.json, stored fields and a deletions file.
_SEGMENT_FILES = ["body.unit.npy", "stored.ptr.npy", "body.lexkey.npy", "body.lex.txt", "meta.json", "stored.bin",
                  "n.col.npy", "del-"]


def _assert_refused_as_link(ix: Index, link: Path, secret: str) -> None:
    """Opening a searcher and `check` both refuse `link`, naming it as a symbolic link, and say
    nothing of where it points (`secret`: the target's path)."""
    with pytest.raises(IndexCorruptError, match="symbolic link") as info:
        Index(ix.path).searcher().close()
    assert info.value.path == str(link)
    assert secret not in str(info.value)
    report = check_index(ix.path)
    assert any(p.path == str(link) and "symbolic link" in p.message for p in report.problems), report.format()
    assert secret not in report.format()


@pytest.mark.parametrize("name", _SEGMENT_FILES)
def test_segment_file_replaced_by_a_link_is_refused(tmp_path, name):
    ix = _small_index(tmp_path / "ix")
    directory = _segment_dir(ix)
    fname = next(f for f in read_manifest(ix.path).segments[0].files if f == name or f.startswith(name))
    outside = tmp_path / "elsewhere" / "secret-target"
    outside.parent.mkdir()
    link = _replace_by_link(directory / fname, outside)
    _assert_refused_as_link(ix, link, "secret-target")


def test_segment_directory_replaced_by_a_link_is_refused(tmp_path):
    ix = _small_index(tmp_path / "ix")
    link = _replace_by_link(_segment_dir(ix), tmp_path / "secret-target")
    _assert_refused_as_link(ix, link, "secret-target")


def test_segments_directory_replaced_by_a_link_is_refused(tmp_path):
    ix = _small_index(tmp_path / "ix")
    link = _replace_by_link(ix.path / SEGMENTS_DIR, tmp_path / "secret-target")
    _assert_refused_as_link(ix, link, "secret-target")


def test_manifest_replaced_by_a_link_is_refused(tmp_path):
    ix = _small_index(tmp_path / "ix")
    link = _replace_by_link(ix.path / manifest_name(generations(ix.path)[-1]), tmp_path / "secret-target")
    with pytest.raises(IndexCorruptError, match="symbolic link") as info:
        Index(ix.path)
    assert info.value.path == str(link) and "secret-target" not in str(info.value)
    report = check_index(ix.path)  # 0.1's check read the manifest through the link and found nothing wrong
    assert any(p.path == str(link) and "symbolic link" in p.message for p in report.problems), report.format()


@pytest.mark.skipif(not Path("/etc/passwd").is_file(), reason="needs a readable file outside the index")
def test_link_to_a_system_file_echoes_nothing_of_it(tmp_path):
    ix = _small_index(tmp_path / "ix")
    path = _segment_dir(ix) / "stored.bin"
    path.unlink()
    path.symlink_to("/etc/passwd")
    size = str(Path("/etc/passwd").stat().st_size)
    with pytest.raises(IndexCorruptError) as info:
        Index(ix.path).searcher().close()
    assert "passwd" not in str(info.value) and f"size is {size}" not in str(info.value)
    assert "passwd" not in check_index(ix.path).format()


def test_index_directory_reached_through_a_users_link_opens(tmp_path):
    ix = _small_index(tmp_path / "real")
    link = tmp_path / "alias"
    link.symlink_to(ix.path, target_is_directory=True)
    with Index(link).searcher() as s:
        assert s.search("hello", limit=100).total == 39
        assert s.search("hello")[0].fields["id"]
    assert check_index(link).ok
    with Index(link).writer() as w:
        w.add({"id": "new", "body": "hello again"})
    assert Index(link).doc_count() == 40


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name", ["stored.bin", "manifest"])
def test_a_named_pipe_in_place_of_a_file_is_refused_without_blocking(tmp_path, name):
    ix = _small_index(tmp_path / "ix")
    path = (ix.path / manifest_name(generations(ix.path)[-1]) if name == "manifest"
            else _segment_dir(ix) / name)
    path.unlink()
    os.mkfifo(path)
    # Opening a FIFO for reading blocks until a writer comes: the timeout only detects a hang.
    script = textwrap.dedent(f"""
        from searchlib import Index, IndexCorruptError
        from searchlib.storage.check import check_index
        try:
            Index({str(ix.path)!r}).searcher()
        except IndexCorruptError as exc:
            print(exc.message)
        print(check_index({str(ix.path)!r}).format())
    """)
    done = run_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "is not a regular file" in done.stdout.splitlines()[0]
    assert f"{name if name != 'manifest' else path.name}: is not a regular file" in done.stdout


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


# -- (7) a zlib bomb in stored.bin, forged block offsets, forged meta.json counts ----------------------------

def _replace_stored(ix: Index, blocks: list[bytes], offsets: "list[int] | None" = None,
                    codec: "str | None" = None) -> Path:
    """Replace segment 0's stored fields by these compressed blocks (and these offsets, by default
    the true ones), re-signed in a new commit; `codec` is named in stored.bin's entry (none: zlib,
    as format 6 and earlier wrote them)."""
    directory = _segment_dir(ix)
    data = b"".join(blocks)
    if offsets is None:
        offsets = [0]
        for block in blocks:
            offsets.append(offsets[-1] + len(block))

    def change(manifest):
        for name in (stored.DATA, stored.POINTERS):
            (directory / name).unlink()
        manifest.segments[0].files.update({
            stored.DATA: dict(write_bytes(directory / stored.DATA, data), **({"codec": codec} if codec else {})),
            stored.POINTERS: write_array(directory / stored.POINTERS, np.asarray(offsets, dtype=np.int64))})

    edit_manifest(ix.path, change)
    return directory / stored.DATA


def _bomb(size: int) -> bytes:
    """A stored block whose JSON decompresses to `size` bytes from about size / 1000."""
    z = zlib.compressobj(9)
    body = [z.compress(b'[{"id":"d0","body":"')]
    chunk = b" " * (1 << 20)
    for _ in range(size >> 20):
        body.append(z.compress(chunk))
    body.append(z.compress(b'"}' + b',{"id":"d","body":""}' * 15 + b"]"))
    return b"".join(body) + z.flush()


def test_stored_block_decompressing_beyond_the_writers_limit_is_refused(tmp_path, monkeypatch):
    # 0.1 decompressed a 3 MB bomb to 3.1 GB on every query that read the block, then raised a
    # bare MemoryError. The bound is BLOCK_DOCS documents of MAX_STORED_DOC_BYTES each: lowered
    # here so that the test stays small.
    monkeypatch.setattr(stored, "MAX_STORED_DOC_BYTES", 1 << 18)  # blocks of at most 4 MiB
    ix = _small_index(tmp_path / "ix", commits=1)
    bomb = _bomb(64 << 20)
    assert len(bomb) < 100_000
    path = _replace_stored(ix, [bomb, zlib.compress(b'[{"id":"d16"},{"id":"d17"},{"id":"d18"},{"id":"d19"}]')])
    with ix.searcher() as s:
        tracemalloc.start()
        try:
            with pytest.raises(IndexCorruptError, match=r"stored block 0 .*more than") as info:
                [hit.fields for hit in s.search("number", limit=20)]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.path == str(path)
        assert peak < 3 * stored.block_limit(), f"{peak:,} bytes"  # not the 64 MiB of the bomb
        assert s.search("id:d17")[0].fields == {"id": "d17"}  # the next block reads as before
    report = check_index(ix.path)
    assert any(p.path == str(path) and "more than" in p.message for p in report.problems), report.format()


def _zstd_block(ids: "range | list[int]", body: str = "") -> bytes:
    return zstandard.ZstdCompressor(level=1).compress(
        json.dumps([{"id": f"d{i}", "body": body} for i in ids]).encode())


def _forge_content_size(frame: bytes, size: int) -> bytes:
    """The zstd frame with the decompressed size its header declares replaced by `size` (the frame
    must declare it in 4 bytes: a frame of 65,792 bytes to 4 GiB)."""
    descriptor = frame[4]
    assert descriptor >> 6 == 2, "the frame does not declare its size in 4 bytes"
    at = 5 + (0 if descriptor & 0x20 else 1) + (0, 1, 2, 4)[descriptor & 3]
    return frame[:at] + size.to_bytes(4, "little") + frame[at + 4:]


def test_stored_blocks_of_format_6_read_as_zlib(tmp_path):
    ix = _small_index(tmp_path / "ix", commits=1)
    assert read_manifest(ix.path).segments[0].files[stored.DATA]["codec"] == "zstd"  # what the writer writes
    blocks = [zlib.compress(json.dumps([{"id": f"d{i}", "body": f"old {i}"} for i in range(b * 16, min(b * 16 + 16, 20))]
                                       ).encode()) for b in range(2)]
    _replace_stored(ix, blocks)  # no codec named: zlib
    with ix.searcher() as s:
        assert s.search("id:d17")[0].fields == {"id": "d17", "body": "old 17"}
        assert s.search("id:d2")[0].fields == {"id": "d2", "body": "old 2"}


def test_stored_block_of_an_unknown_codec_is_a_format_error(tmp_path):
    ix = _small_index(tmp_path / "ix", commits=1)
    path = _replace_stored(ix, [_zstd_block(range(16)), _zstd_block(range(16, 20))], codec="lz9")
    with pytest.raises(IndexFormatError, match="'lz9'.*re-index") as info:
        ix.searcher().close()
    assert info.value.path == str(path)
    report = check_index(ix.path)
    assert any(p.path == str(path) and "'lz9'" in p.message for p in report.problems), report.format()


_BIG = "x" * 10_000  # 16 documents of it: a frame of more than 65,791 bytes declares its size in 4 bytes


@pytest.mark.parametrize("forge, problem", [
    (lambda f: f[:-3], "truncated"),
    (lambda f: f[:6], "unreadable"),  # cut inside the frame header
    (lambda f: f + b"more", "4 bytes follow"),
    (lambda f: f + f, "bytes follow"),  # a second frame
    (lambda f: _forge_content_size(f, 100), "unreadable"),  # declares fewer bytes than it holds
    (lambda f: _forge_content_size(f, 200_000), "unreadable"),  # declares more
    (lambda f: _forge_content_size(f, 2**32 - 1), "more than"),  # beyond block_limit(): refused before decoding
    (lambda f: f[:5] + bytes([f[5] ^ 0xFF]) + f[6:], "unreadable"),
])
def test_damaged_zstd_stored_block_is_a_clear_error(tmp_path, monkeypatch, forge, problem):
    monkeypatch.setattr(stored, "MAX_STORED_DOC_BYTES", 1 << 18)  # blocks of at most 4 MiB
    ix = _small_index(tmp_path / "ix", commits=1)
    frame = _zstd_block(range(16), _BIG)
    assert zstandard.frame_content_size(frame) > 65_791
    path = _replace_stored(ix, [forge(frame), _zstd_block(range(16, 20))], codec="zstd")
    with ix.searcher() as s:
        with pytest.raises(IndexCorruptError, match=f"stored block 0 .*{problem}") as info:
            s.search("id:d2")[0].fields
        assert info.value.path == str(path)
        assert s.search("id:d17")[0].fields == {"id": "d17", "body": ""}  # the next block reads as before
    report = check_index(ix.path)
    assert any(p.path == str(path) and "stored block 0" in p.message for p in report.problems), report.format()


def test_zstd_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    monkeypatch.setattr(stored, "MAX_STORED_DOC_BYTES", 1 << 18)  # blocks of at most 4 MiB
    ix = _small_index(tmp_path / "ix", commits=1)
    bomb = zstandard.ZstdCompressor(level=19).compress(
        b'[{"id":"d0","body":"' + b" " * (64 << 20) + b'"}' + b',{"id":"d","body":""}' * 15 + b"]")
    assert len(bomb) < 100_000
    _replace_stored(ix, [bomb, _zstd_block(range(16, 20))], codec="zstd")
    with ix.searcher() as s:
        tracemalloc.start()
        try:
            with pytest.raises(IndexCorruptError, match=r"stored block 0 .*more than"):
                s.search("id:d2")[0].fields
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, f"{peak:,} bytes"


def test_writer_refuses_a_document_whose_stored_fields_exceed_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(stored, "MAX_STORED_DOC_BYTES", 100_000)
    ix = Index.create(tmp_path / "ix", _schema())
    with ix.writer() as w:
        w.add({"id": "fits", "body": "x" * 40_000, "notes": "y" * 40_000})
        with pytest.raises(DocumentError, match=r"id='big'.*stored fields.*100,000 bytes"):
            w.add({"id": "big", "body": "x" * 60_000, "notes": "y" * 60_000})
        with pytest.raises(DocumentError, match=r"id='escaped'.*stored fields"):
            w.add({"id": "escaped", "body": "\x01" * 20_000})  # 20,000 characters, 120,000 bytes of JSON
    with ix.searcher() as s:
        assert [h.id for h in s.search("*:*")] == ["fits"]
        assert len(s.search("*:*")[0].fields["body"]) == 40_000


@pytest.mark.parametrize("offsets, problem", [
    ([0, 10 ** 12, 10 ** 12 + 1], "do not cover"),  # 0.1: os.pread of 10**12 bytes: MemoryError
    ([0, -5, 100], "do not cover"),
    ([0, 30], "do not cover"),  # one block short
    ([0, 30, 20, 40], "do not cover"),
])
def test_stored_block_offsets_are_checked_when_opening(tmp_path, offsets, problem):
    ix = _small_index(tmp_path / "ix", commits=1)
    blocks = [zlib.compress(json.dumps([{"id": f"d{i}"} for i in range(b * 16, min(b * 16 + 16, 20))]).encode())
              for b in range(2)]
    path = _replace_stored(ix, blocks, offsets)
    with pytest.raises(IndexCorruptError, match=problem) as info:
        ix.searcher().close()
    assert info.value.path == str(path.with_name(stored.POINTERS))


@pytest.mark.parametrize("field, counts, file", [
    ("id", {"units": 10 ** 12}, "meta.json"),      # 0.1: MemoryError from the first sort by id
    ("body", {"units": 10 ** 9}, "body.len.npy"),
    ("notes", {"units": 10 ** 9}, "notes.len.npy"),
    ("body", {"postings": 10 ** 9}, "meta.json"),
    ("body", {"terms": 10 ** 9}, "body.lexoff.npy"),  # the term dictionary's own check (termdict.py)
    ("body", {"nonempty": 10 ** 9}, "meta.json"),
])
def test_meta_counts_are_checked_against_the_arrays_they_describe(tmp_path, field, counts, file):
    ix = _small_index(tmp_path / "ix", commits=1)
    directory = _segment_dir(ix)
    meta = json.loads((directory / "meta.json").read_text())
    meta["fields"][field].update(counts)
    _resign(ix, "meta.json", json.dumps(meta).encode())
    with pytest.raises(IndexCorruptError) as info:
        with ix.searcher() as s:
            s.search("*:*", sort_by="id")
    assert info.value.path == str(directory / file)
    report = check_index(ix.path)
    assert any(p.path == str(directory / file) and p.message == info.value.message for p in report.problems), \
        (info.value.message, report.format())


# -- (10) running out of descriptors is not damage --------------------------------------------------------

@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd (Linux)")
def test_out_of_descriptors_while_opening_says_so_not_that_the_index_is_corrupt(tmp_path):
    # 0.1: "IndexCorruptError: ...: not a valid array file: [Errno 24] Too many open files". The
    # child opens a searcher, then checks the index, under every limit on open files from what it
    # already uses up to what they need: each attempt succeeds or says it ran out of descriptors.
    ix = _small_index(tmp_path / "ix", commits=3)
    script = textwrap.dedent(f"""
        import errno, os, resource
        from searchlib import Index, IndexCorruptError, IndexIOError, SearchlibError
        from searchlib.storage.check import check_index
        path = {str(ix.path)!r}
        Index(path).searcher().close()  # modules imported, files verified once
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        base = len(os.listdir("/proc/self/fd"))

        def attempts(action):
            failures = set()
            for limit in range(base, base + 1000):
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
                try:
                    action()
                except IndexIOError as exc:
                    assert isinstance(exc, OSError) and isinstance(exc, SearchlibError)
                    assert exc.errno == errno.EMFILE and exc.filename and exc.filename in str(exc), str(exc)
                    assert "too many open files (EMFILE)" in str(exc) and "not damaged" in str(exc), str(exc)
                    failures.add(os.path.basename(exc.filename))
                except IndexCorruptError as exc:
                    raise AssertionError(f"limit {{limit}}: {{exc}}")
                else:
                    return failures
                finally:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            raise AssertionError("never succeeded")

        def check():
            report = check_index(path)
            assert report.ok, report.format()

        found = attempts(lambda: Index(path).searcher().close())
        print(len(found), len(attempts(check)), sorted(found))
    """)
    done = run_python("-c", script, timeout=120)
    assert done.returncode == 0, done.stderr
    searcher, check = map(int, done.stdout.split()[:2])
    # files of several kinds met the limit (a searcher's arrays are mapped without keeping a
    # descriptor, files.FileMap, so only its term texts' maps and stored fields hold one)
    assert searcher >= 4 and check >= 1, done.stdout


# -- (4) a searcher dropped without close() releases its files ----------------------------------------------

def _open_files() -> list[str]:
    """What this process's descriptors point at."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor listing the directory, closed since
            pass
    return found


@pytest.mark.slow  # 200 commits
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd")
def test_refresh_without_close_keeps_descriptors_bounded(tmp_path):
    # The Whoosh idiom `s = s.refresh()` never closes the old searcher: 0.1 went from 24 to 1,962
    # descriptors over 200 refreshes, each old segment's stored.bin kept open after its deletion.
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "0", "body": "x"})
    start = len(_open_files())
    s = ix.searcher()
    for i in range(1, 201):
        with ix.writer() as w:
            w.add({"id": str(i), "body": f"x {i}"})
        s = s.refresh()
        assert s.search("x").total == i + 1
    held = _open_files()
    snapshot = sum(len(e.files) for e in s.manifest.segments)  # at most one descriptor per file
    assert len(held) <= start + snapshot + 5, (start, snapshot, len(held))
    gone = [f for f in held if f.startswith(str(ix.path)) and f.endswith("(deleted)")]
    assert not gone, f"files of old commits are still open: {gone}"
    s.close()


def test_stored_reader_closes_its_descriptor_once_whether_closed_or_dropped(tmp_path):
    ix = _small_index(tmp_path / "ix")
    stored_bin = str(_segment_dir(ix) / "stored.bin")
    s = ix.searcher()
    assert stored_bin in _open_files()
    s.close()
    s.close()  # twice: nothing closed twice (a descriptor number reused meanwhile would be closed)
    assert stored_bin not in _open_files()
    s = ix.searcher()
    assert stored_bin in _open_files()
    del s
    assert stored_bin not in _open_files()


@pytest.mark.parametrize("segments", [0, 2])
def test_writer_refuses_a_segments_directory_that_is_a_link(tmp_path, segments):
    # The readers refuse it; a writer wrote its new segments through it, outside the index, and
    # committed them when it had no older segment's file to read first.
    ix = _small_index(tmp_path / "ix", commits=segments) if segments else Index.create(tmp_path / "ix", _schema())
    outside = tmp_path / "secret-target"
    if segments:
        link = _replace_by_link(ix.path / SEGMENTS_DIR, outside)
    else:
        outside.mkdir()
        link = ix.path / SEGMENTS_DIR
        link.symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    with pytest.raises(IndexCorruptError, match="symbolic link") as info:
        w = ix.writer()
        try:
            w.add({"id": "new", "body": "text"})
            w.commit(merge=False)  # no merge to plan: no older segment's file is read
        finally:
            w.close()
    assert info.value.path == str(link)
    assert sorted(p.name for p in outside.iterdir()) == before  # nothing written or removed there
