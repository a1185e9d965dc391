"""File primitives of the on-disk format: atomic durable writes, checksums, verified array loading.

Every index file is written once, fsynced, and recorded in a manifest with its size and CRC-32;
readers check both before trusting a byte, so damage surfaces as IndexCorruptError, never as
wrong results. Arrays are raw .npy files opened memory-mapped with pickling disabled.
"""
from __future__ import annotations

import os
import re
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import IndexCorruptError, IndexFileMissingError

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\Z")
TEMP_SUFFIX = ".tmp"  # of a file atomic_write has not renamed into place yet
_CHUNK = 1 << 20


def check_name(name: str) -> str:
    """A file or segment name from a manifest, refused if it could leave the index directory."""
    if not isinstance(name, str) or not SAFE_NAME.match(name) or ".." in name:
        raise IndexCorruptError(str(name), "unsafe file name in manifest")
    return name


def missing(path: Path) -> IndexFileMissingError:
    """The error for a file a manifest names that is not there (or vanished while being opened,
    when a writer removed an old commit's files): Searcher.open retries such errors, told apart by
    their type, on a newer commit."""
    return IndexFileMissingError(str(path), "file is missing")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def crc32_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


class _ChecksummingWriter:
    """A binary file wrapper that keeps the CRC-32 and size of everything written through it."""

    def __init__(self, fh):
        self.fh = fh
        self.crc32 = 0
        self.size = 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.crc32 = zlib.crc32(view, self.crc32)
        self.size += len(view)
        return self.fh.write(view)

    def entry(self) -> dict:
        """The manifest entry {size, crc32} of what was written so far."""
        return {"size": self.size, "crc32": self.crc32}


@contextmanager
def write_stream(path: Path) -> Iterator[_ChecksummingWriter]:
    """A new file written piece by piece, checksummed as it goes and fsynced when the block ends
    (normally: an exception leaves a partial file, which no manifest names). Take the manifest
    entry from the writer's `entry()` after the block."""
    with open(path, "xb") as fh:
        out = _ChecksummingWriter(fh)
        yield out
        fh.flush()
        os.fsync(fh.fileno())


def write_bytes(path: Path, data: bytes) -> dict:
    """Write `data` to a new file durably; return its manifest entry {size, crc32}."""
    with write_stream(path) as out:
        out.write(data)
    return out.entry()


def write_array(path: Path, array: np.ndarray) -> dict:
    """Write a numpy array as .npy (no pickle) durably; return its manifest entry. The array is
    streamed to the file (checksummed as it goes), never copied whole into memory."""
    with write_stream(path) as out:
        np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.entry()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    tmp = path.with_name(path.name + TEMP_SUFFIX)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


_verified: dict[tuple, bool] = {}
_VERIFIED_LIMIT = 100_000  # files remembered as verified; beyond it the memory starts over


def _mismatch(path: Path, size: int, entry: dict) -> str | None:
    """What is wrong with the file at `path`, `size` bytes long, against its manifest entry: its
    size, then its CRC-32 read from disk; None when both match. OSError (FileNotFoundError
    included) passes through."""
    if size != entry.get("size"):
        return f"size is {size} bytes, the manifest says {entry.get('size')} (truncated or overwritten)"
    if crc32_file(path) != entry.get("crc32"):
        return "checksum mismatch (the file is damaged)"
    return None


def verify(path: Path, entry: dict, fresh: bool = False) -> None:
    """Raise IndexCorruptError unless the file has the size and CRC-32 its manifest entry records.

    A file verified once is remembered by (path, inode, size, mtime, expected size and CRC-32) so
    reopening costs nothing; the memory is forgotten whole when it exceeds _VERIFIED_LIMIT files.
    With `fresh` (as `check` does), the bytes are read and checksummed again even when remembered,
    and the memory follows what they show.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise missing(path) from None
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, entry.get("size"), entry.get("crc32"))
    if key in _verified and not fresh:
        return
    try:
        problem = _mismatch(path, st.st_size, entry)
    except FileNotFoundError:
        raise missing(path) from None
    if problem is not None:
        _verified.pop(key, None)
        raise IndexCorruptError(str(path), problem)
    if len(_verified) >= _VERIFIED_LIMIT:
        _verified.clear()
    _verified[key] = True


def read_array(path: Path, size: int, mmap: bool = True) -> np.ndarray:
    """The array of a .npy file of `size` bytes (already verified), refusing pickled object arrays:
    memory-mapped, unless `mmap` is false or the file is at most a header (128 bytes: an empty or
    tiny array, cheaper to read than to map). Raises IndexCorruptError for what is no array file."""
    try:
        if size <= 128 or not mmap:
            return np.load(path, allow_pickle=False)
        # A plain ndarray view over the map: numpy's memmap subclass adds overhead to every slice.
        return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
    except FileNotFoundError:
        raise missing(path) from None
    except (ValueError, OSError, EOFError) as exc:
        raise IndexCorruptError(str(path), f"not a valid array file: {exc}") from None


def load_array(path: Path, entry: dict, mmap: bool = True) -> np.ndarray:
    """Load a .npy file after verifying it against its manifest entry (see read_array)."""
    verify(path, entry)
    return read_array(path, entry.get("size", 0), mmap)
