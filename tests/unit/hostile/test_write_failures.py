"""A write that fails (a full disk) names the file and says the batch was rolled back (issue item 16).

0.1 let a bare `OSError: [Errno 28] No space left on device` out of a flush or a commit, with no
path. The faults are injected through `os.fsync` (which reports ENOSPC on filesystems that
allocate late, NFS, thin volumes) and, for a failing write(2) itself, through a child process's
limit on file size (RLIMIT_FSIZE: EFBIG), never by patching searchlib's own code.
"""
from __future__ import annotations

import errno
import os
import signal
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from conftest import run_python
from searchlib import ID, TEXT, Index, IndexIOError, Schema, SearchlibError
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR


def _index(path: Path) -> Index:
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        for i in range(10):
            w.add({"id": f"old{i}", "body": f"committed text {i}"})
    return ix


class _FullDisk:
    """os.fsync that reports ENOSPC for the `nth` descriptor (counting from 1) whose file's path
    satisfies `chosen`; other calls sync as usual."""

    def __init__(self, chosen: Callable[[str], bool], nth: int = 1):
        self.chosen, self.nth, self.seen, self.real = chosen, nth, 0, os.fsync

    def __call__(self, fd):
        if self.chosen(os.readlink(f"/proc/self/fd/{fd}")):
            self.seen += 1
            if self.seen == self.nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real(fd)


def _segments(ix: Index) -> set[str]:
    return {p.name for p in (ix.path / SEGMENTS_DIR).iterdir()}


def _assert_rolled_back(ix: Index, w, exc: IndexIOError, before: set[str]) -> None:
    assert isinstance(exc, OSError) and isinstance(exc, SearchlibError) and exc.errno == errno.ENOSPC
    assert exc.filename in str(exc) and "no space left on device (ENOSPC) writing" in str(exc), str(exc)
    assert "nothing of this batch was committed" in str(exc)
    with pytest.raises(SearchlibError, match="rolled back"):
        w.add({"id": "more", "body": "text"})
    assert _segments(ix) == before  # the partial segment is gone
    assert ix.doc_count() == 10 and check_index(ix.path).ok
    with ix.writer() as w2:  # the lock was released
        w2.add({"id": "later", "body": "text"})
    assert ix.doc_count() == 11


_LINUX_FDS = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names descriptors through /proc (Linux)")


@_LINUX_FDS
@pytest.mark.parametrize("nth", [1, 2, 5])
def test_disk_full_while_flushing_names_the_file_and_rolls_the_batch_back(tmp_path, monkeypatch, nth):
    ix = _index(tmp_path / "ix")
    before = _segments(ix)
    w = ix.writer()
    w.add({"id": "new", "body": "never committed"})
    in_segments = str(ix.path / SEGMENTS_DIR) + os.sep
    monkeypatch.setattr(os, "fsync", _FullDisk(lambda path: path.startswith(in_segments), nth))
    with pytest.raises(IndexIOError) as info:
        w.flush()
    monkeypatch.undo()
    assert Path(info.value.filename).parent.parent == ix.path / SEGMENTS_DIR  # a file of the new segment
    _assert_rolled_back(ix, w, info.value, before)


@_LINUX_FDS
def test_disk_full_while_writing_the_manifest_names_it_and_commits_nothing(tmp_path, monkeypatch):
    ix = _index(tmp_path / "ix")
    before, generation = _segments(ix), ix.generation
    w = ix.writer()
    w.add({"id": "new", "body": "never committed"})
    w.flush()
    monkeypatch.setattr(os, "fsync", _FullDisk(lambda path: os.path.basename(path).startswith("manifest-")))
    with pytest.raises(IndexIOError) as info:
        w.commit()
    monkeypatch.undo()
    assert Path(info.value.filename).name.startswith("manifest-")
    assert ix.generation == generation
    _assert_rolled_back(ix, w, info.value, before)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE and SIGXFSZ (POSIX)")
def test_a_write_refused_by_the_system_names_the_file(tmp_path):
    # A real failing write(2): the child may not write files over 64 KiB (RLIMIT_FSIZE), so
    # writing a segment's large stored.bin fails with EFBIG.
    ix = _index(tmp_path / "ix")
    script = textwrap.dedent(f"""
        import errno, os, resource, signal
        from searchlib import Index, IndexIOError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, resource.RLIM_INFINITY))
        ix = Index({str(ix.path)!r})
        try:
            with ix.writer() as w:
                w.add({{"id": "big", "body": os.urandom(100_000).hex()}})
        except IndexIOError as exc:
            assert exc.errno == errno.EFBIG, exc.errno
            print(exc.filename)
            print(exc)
        print(ix.doc_count())
    """)
    done = run_python("-c", script, timeout=120)
    assert done.returncode == 0, done.stderr
    filename, message, count = done.stdout.splitlines()
    assert Path(filename).parent.parent == ix.path / SEGMENTS_DIR and filename in message
    assert "nothing of this batch was committed" in message
    assert count == "10"
