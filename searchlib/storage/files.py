"""File primitives of the on-disk format: atomic durable writes, checksums, verified array loading.

Every index file is written once, fsynced, and recorded in a manifest with its size, the CRC-32
of its whole content and the CRC-32 of its last TAIL bytes. Which of them a reader checks is the
policy Lucene follows (headers, footers and lengths at open; whole checksums at merge and in
CheckIndex), so that opening costs milliseconds whatever the index's size:

- opening a searcher (check_file with full=False) checks every file's size (a truncated or
  extended file), the CRC-32 of its tail (a torn write: a file whose last pages never reached the
  disk, or were overwritten), an array's .npy header, and reads the small metadata files whole
  (the manifest and meta.json, checksummed);
- `Index.open(path, verify=True)`, merges and `check` (full=True) checksum every byte, so a
  flipped byte in the middle of a large array is found there.

Arrays are raw .npy files opened memory-mapped with pickling disabled, by libc's mmap (FileMap:
no descriptor kept per map); a searcher's postings and dictionaries are mapped for random reading
(a page fault reads its page, not the device's read-ahead around it) and long ranges are asked for
ahead (Ahead), and opening a searcher asks for every file's header and tail at once (read_ahead).

Every file of an index is opened here (open_file), as a descriptor, without following a
symbolic link at the file or at any directory between the index directory and the file: the
path is walked one directory at a time (openat with O_NOFOLLOW), so nothing outside the index
directory is read, and no link can be swapped in between a check and the open. Only a regular
file is accepted (a FIFO would block the reader). Sizes, checksums and maps then all come from
that one descriptor.
"""
from __future__ import annotations

import errno
import io
import mmap as _mmap
import os
import re
import stat
import struct
import sys
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from tokenize import TokenError
from typing import Iterable, Iterator, Mapping

import numpy as np

from ..errors import IndexCorruptError, IndexFileMissingError, IndexIOError, SearchlibError

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\Z")
TEMP_SUFFIX = ".tmp"  # of a file atomic_write has not renamed into place yet
_CHUNK = 1 << 20
TAIL = 4096  # bytes at the end of a file whose CRC-32 its manifest entry records as "tail"


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


# Directories between the index directory and a file, which must not be links either: a segment's
# files lie in <index>/segments/<segment>/; a manifest lies in the index directory itself.
IN_SEGMENT = 2
IN_INDEX = 0
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
LINK_REFUSED = "is a symbolic link (nothing in an index is a link; not followed)"
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK)  # what O_NOFOLLOW meets at a link: Linux, FreeBSD


# What the process, not the index, ran out of: an index met with these is not damaged.
EXHAUSTED = {errno.EMFILE: "too many open files", errno.ENFILE: "too many open files in the system",
             errno.ENOMEM: "out of memory"}


def io_error(exc: "OSError | MemoryError", path: Path, doing: str) -> IndexIOError:
    """`exc`, met while `doing` ("opening", "mapping", "reading", "writing") the index file `path`,
    as an IndexIOError saying what happened to which file: running out of descriptors or memory
    says the index is not damaged (it is not IndexCorruptError)."""
    code = errno.ENOMEM if isinstance(exc, MemoryError) else exc.errno or errno.EIO
    name = errno.errorcode.get(code, str(code))
    if code in EXHAUSTED:
        return IndexIOError(code, str(path), f"{EXHAUSTED[code]} ({name}) {doing} {path}: the index is not damaged")
    what = os.strerror(code)
    return IndexIOError(code, str(path), f"{what[:1].lower()}{what[1:]} ({name}) {doing} {path}")


def _refused(path: Path, exc: OSError, file: Path) -> Exception:
    """The error for `path` (`file` or a directory above it) that the OS would not open without
    following a link (ELOOP for a file, ENOTDIR for a directory on Linux), or at all: nothing of
    a link's target is named."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        is_link = exc.errno in _LINK_ERRNOS
    if is_link:
        return IndexCorruptError(str(path), LINK_REFUSED)
    if exc.errno == errno.ENOENT:
        return missing(file)
    if exc.errno == errno.ENOTDIR:
        return IndexCorruptError(str(path), "is not a directory")
    return io_error(exc, file, "opening")


def open_file(path: Path, below: int = IN_SEGMENT) -> int:
    """A read-only descriptor of the regular file at `path`, opened without following a symbolic
    link at it or at any of the `below` directories above it (those between the index directory and
    the file: IN_SEGMENT for a segment's file, IN_INDEX for a manifest; the index directory itself
    may be reached through links the user made). A link is IndexCorruptError naming it (and nothing
    of its target), a missing file IndexFileMissingError, any other refusal IndexIOError (io_error).
    The caller closes the descriptor."""
    held = getattr(_held, "directory", None)
    if held is not None and below == IN_SEGMENT:  # (strings, not Path objects: hundreds of files an open)
        parent, _, name = os.fspath(path).rpartition(os.sep)
        if parent == held[0]:
            return _open_in(held[1], path, name)
    path = Path(path)
    fd = _open_parent(path, below)
    try:
        return _open_in(fd, path)
    finally:
        os.close(fd)


def _open_parent(path: Path, below: int) -> int:
    """A descriptor of the directory holding `path`, walked to as open_file says."""
    parts = path.parts
    if len(parts) < below + 1:
        raise IndexCorruptError(str(path), "is not inside an index directory")
    base = Path(*parts[:len(parts) - below - 1]) if len(parts) > below + 1 else Path(".")
    try:
        fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise _refused(base, exc, path) from None
    current = base
    try:
        for name in parts[len(parts) - below - 1:-1]:
            current = current / name
            try:
                inner = os.open(name, os.O_RDONLY | _DIRECTORY | _NO_FOLLOW | _CLOEXEC | _NONBLOCK, dir_fd=fd)
            except OSError as exc:
                raise _refused(current, exc, path) from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


_held = threading.local()  # (segment directory, its descriptor) while held_directory runs


@contextmanager
def held_directory(directory: Path) -> Iterator[None]:
    """Within the block, this thread opens the files of the segment directory `directory` through
    one descriptor of it (walked to once, as open_file does), not one walk per file: a reader
    opening a segment's few dozen files saves two directory opens each."""
    try:
        fd = _open_parent(Path(directory) / "x", IN_SEGMENT)
    except (SearchlibError, OSError):  # each file's own open then says what is wrong, naming the file
        yield
        return
    previous = getattr(_held, "directory", None)
    _held.directory = (os.fspath(directory).rstrip(os.sep) or os.sep, fd)
    try:
        yield
    finally:
        _held.directory = previous
        os.close(fd)


_FILE_FLAGS = os.O_RDONLY | _NO_FOLLOW | _CLOEXEC | _NONBLOCK  # a file of an index, opened in its directory
HEAD = 8192  # bytes at the start of a file that opening reads (an array's .npy header and more)
WHOLE = 256 * 1024  # files up to this size are read ahead whole (opening reads some whole; searches touch the rest)


def read_ahead(segments: "Iterable[tuple[Path, Mapping[str, dict]]]") -> None:
    """Ask the kernel (posix_fadvise WILLNEED) to read the first HEAD and last TAIL bytes of each
    file of `segments` (each a segment directory and its manifest entries {name: {size, ...}}), or
    all of a file up to WHOLE bytes, and return without waiting. Opening a searcher then reads
    those bytes of every file (headers, tail checksums, small metadata): asked for all at once,
    the device reads them side by side instead of one small read after another, which was most of
    opening an index whose files are out of the page cache. Advice only: what cannot be opened
    here is skipped (its own open says what is wrong, naming the file). Each descriptor is closed
    at once (holding hundreds open grows the process's descriptor table, see FileMap)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for directory, files in segments:
        try:
            parent = _open_parent(Path(directory) / "x", IN_SEGMENT)
        except (SearchlibError, OSError):
            continue
        try:
            if _looks_cached(parent, files):
                continue
            for name, entry in files.items():
                size = entry.get("size") if isinstance(entry, dict) else None
                if not isinstance(size, int) or size < 0 or not isinstance(name, str):
                    continue
                try:
                    fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
                except (OSError, ValueError):
                    continue
                try:
                    if size <= max(WHOLE, HEAD + TAIL):
                        advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                    else:
                        advise(fd, 0, HEAD, os.POSIX_FADV_WILLNEED)
                        advise(fd, size - TAIL, TAIL, os.POSIX_FADV_WILLNEED)
                except OSError:
                    pass  # advice only
                finally:
                    os.close(fd)
        finally:
            os.close(parent)


def _looks_cached(parent: int, files: "Mapping[str, dict]") -> bool:
    """Whether the last byte of the largest of a segment's `files` (in the directory open as
    `parent`) is in the page cache, read without waiting for the device (RWF_NOWAIT): then the
    segment's headers and tails most likely are too, and read_ahead skips it (advising every file
    costs ~4 us each even when nothing is to be read). False where it cannot tell."""
    nowait = getattr(os, "RWF_NOWAIT", None)
    sizes = [(e.get("size"), name) for name, e in files.items() if isinstance(e, dict) and isinstance(e.get("size"), int)]
    if nowait is None or not hasattr(os, "preadv") or not sizes:
        return False
    size, name = max(sizes)
    if size <= 0 or not isinstance(name, str):
        return False
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    except (OSError, ValueError):
        return False
    try:
        return os.preadv(fd, [bytearray(1)], size - 1, nowait) == 1
    except OSError:  # EAGAIN: not in memory; EOPNOTSUPP: the filesystem cannot say
        return False
    finally:
        os.close(fd)


def _open_in(fd: int, path: "Path | str", name: str | None = None) -> int:
    """The regular file `path` (named `name` in its directory) opened in the directory open as
    `fd` (see open_file)."""
    try:
        found = os.open(Path(path).name if name is None else name, _FILE_FLAGS, dir_fd=fd)
    except OSError as exc:
        raise _refused(path, exc, path) from None
    try:
        if not stat.S_ISREG(os.fstat(found).st_mode):
            raise IndexCorruptError(str(path), "is not a regular file")
        if _NONBLOCK:
            os.set_blocking(found, True)
    except BaseException:
        os.close(found)
        raise
    return found


def read_file(path: Path, below: int = IN_SEGMENT) -> bytes:
    """The whole content of an index file (opened by open_file)."""
    fd = open_file(path, below)
    try:
        with io.FileIO(fd, "rb", closefd=False) as fh:
            return fh.readall()
    except (OSError, MemoryError) as exc:
        raise io_error(exc, path, "reading") from None
    finally:
        os.close(fd)


@contextmanager
def _naming(path: Path, doing: str) -> Iterator[None]:
    """Run a step of `doing` (writing, syncing) the file or directory `path`: an OSError in it, a
    full disk say, becomes IndexIOError naming `path` (one that already names its file passes)."""
    try:
        yield
    except IndexIOError:
        raise
    except OSError as exc:
        raise io_error(exc, path, doing) from None


def fsync_dir(path: Path) -> None:
    with _naming(path, "syncing the directory"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _crc32_fd(fd: int) -> int:
    crc = 0
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        crc = zlib.crc32(chunk, crc)
        offset += len(chunk)
    return crc


def crc32_file(path: Path) -> int:
    """The CRC-32 of the file at `path` (not followed if it is a link)."""
    fd = open_file(path, IN_INDEX)
    try:
        return _crc32_fd(fd)
    finally:
        os.close(fd)


class _ChecksummingWriter:
    """A binary file wrapper that keeps the CRC-32, the size and the last TAIL bytes of
    everything written through it."""

    def __init__(self, fh):
        self.fh = fh
        self.crc32 = 0
        self.size = 0
        self.tail = b""

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.crc32 = zlib.crc32(view, self.crc32)
        self.size += len(view)
        self.tail = (self.tail + view[-TAIL:])[-TAIL:]
        return self.fh.write(view)

    def entry(self) -> dict:
        """The manifest entry {size, crc32, tail} of what was written so far."""
        return {"size": self.size, "crc32": self.crc32, "tail": zlib.crc32(self.tail)}


@contextmanager
def write_stream(path: Path) -> Iterator[_ChecksummingWriter]:
    """A new file written piece by piece, checksummed as it goes and fsynced when the block ends
    (normally: an exception leaves a partial file, which no manifest names). Take the manifest
    entry from the writer's `entry()` after the block. An OSError while the file is written (a
    full disk, at a write, the flush or the fsync) is IndexIOError naming it."""
    with _naming(path, "writing"), open(path, "xb") as fh:
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


class ArrayWriter:
    """A .npy file written piece by piece (see write_array_pieces)."""

    def __init__(self, out: _ChecksummingWriter, dtype: np.dtype, count: int):
        self.out, self.dtype, self.count, self.written = out, dtype, count, 0

    def write(self, piece: np.ndarray) -> None:
        """Append the items of `piece` (converted to the file's type, if need be)."""
        piece = np.ascontiguousarray(piece, dtype=self.dtype)
        if self.written + len(piece) > self.count:
            raise ValueError(f"more than the {self.count} rows declared for the array")
        self.written += len(piece)
        if piece.size:
            self.out.write(piece)

    def entry(self) -> dict:
        return self.out.entry()


@contextmanager
def write_array_pieces(path: Path, dtype: "np.dtype | type", shape: tuple) -> Iterator[ArrayWriter]:
    """A new .npy file of `shape` and `dtype` (C order), written by appending pieces of rows in
    order: the bytes write_array writes for the whole array, which never needs to be in memory
    (a merge streams its postings so). Checksummed and fsynced as write_stream; the rows written
    must add up to shape[0]. Take the manifest entry from the writer's `entry()` after the block."""
    dtype = np.dtype(dtype)
    with write_stream(path) as out:
        np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                   "fortran_order": False, "shape": tuple(shape)})
        writer = ArrayWriter(out, dtype, int(shape[0]))
        yield writer
        if writer.written != writer.count:
            raise ValueError(f"{path}: {writer.written} rows written, {writer.count} declared")


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix. An
    OSError before the rename is IndexIOError naming `path` (the temporary file is removed, and
    `path` is as it was); after it, the directory's sync failed (fsync_dir)."""
    tmp = path.with_name(path.name + TEMP_SUFFIX)
    with _naming(path, "writing"):
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    fsync_dir(path.parent)


_verified: dict[tuple, bool] = {}
_VERIFIED_LIMIT = 100_000  # files remembered as verified; beyond it the memory starts over


def _mismatch(fd: int, size: int, entry: dict) -> str | None:
    """What is wrong with the file open as `fd`, `size` bytes long, against its manifest entry: its
    size, then its CRC-32 read from disk; None when both match."""
    if size != entry.get("size"):
        return f"size is {size} bytes, the manifest says {entry.get('size')} (truncated or overwritten)"
    if _crc32_fd(fd) != entry.get("crc32"):
        return "checksum mismatch (the file is damaged)"
    return None


def _tail_crc(fd: int, size: int) -> int:
    """The CRC-32 of the last TAIL bytes of the file open as `fd`, `size` bytes long."""
    start = max(0, size - TAIL)
    return zlib.crc32(os.pread(fd, size - start, start))


def _check_fd(fd: int, path: Path, entry: dict, full: bool) -> None:
    """check_file, for the file at `path` open as `fd`."""
    if full:
        _verify_fd(fd, path, entry)
        return
    size = os.fstat(fd).st_size
    if size != entry.get("size"):
        raise IndexCorruptError(str(path), f"size is {size} bytes, the manifest says {entry.get('size')} "
                                           "(truncated or overwritten)")
    if "tail" in entry:
        try:
            found = _tail_crc(fd, size)
        except OSError as exc:
            raise io_error(exc, path, "reading") from None
        if found != entry["tail"]:
            raise IndexCorruptError(str(path), "the checksum of its last bytes does not match (a torn or "
                                               "damaged write)")


def check_file(path: Path, entry: dict, full: bool = False, below: int = IN_SEGMENT) -> None:
    """Raise IndexCorruptError unless the file agrees with its manifest entry: its size and the
    CRC-32 of its tail, or with `full` the CRC-32 of every byte (verify). See the module's policy."""
    fd = open_file(path, below)
    try:
        _check_fd(fd, path, entry, full)
    finally:
        os.close(fd)


def _verify_fd(fd: int, path: Path, entry: dict, fresh: bool = False) -> None:
    """verify, for the file at `path` open as `fd`."""
    st = os.fstat(fd)
    key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, entry.get("size"), entry.get("crc32"))
    if key in _verified and not fresh:
        return
    try:
        problem = _mismatch(fd, st.st_size, entry)
    except OSError as exc:
        raise io_error(exc, path, "reading") from None
    if problem is not None:
        _verified.pop(key, None)
        raise IndexCorruptError(str(path), problem)
    if len(_verified) >= _VERIFIED_LIMIT:
        _verified.clear()
    _verified[key] = True


def verify(path: Path, entry: dict, fresh: bool = False, below: int = IN_SEGMENT) -> None:
    """Raise IndexCorruptError unless the file has the size and CRC-32 its manifest entry records
    (opened by open_file: a link is refused, not followed).

    A file verified once is remembered by (path, device, inode, size, mtime, expected size and
    CRC-32) so reopening costs nothing; the memory is forgotten whole when it exceeds
    _VERIFIED_LIMIT files. With `fresh` (as `check` does), the bytes are read and checksummed again
    even when remembered, and the memory follows what they show.
    """
    fd = open_file(path, below)
    try:
        _verify_fd(fd, path, entry, fresh)
    finally:
        os.close(fd)


_NPY_MAGIC = b"\x93NUMPY"
_MAX_NPY_HEADER = 4096  # bytes of .npy header accepted (np.save writes 128 for the arrays of an index)
_NPY_KINDS = "biuf"  # booleans, integers and floats: the only arrays of the format
# The header np.save writes for a plain numeric array, e.g. "{'descr': '<u4', 'fortran_order': False,
# 'shape': (12,), }" padded with spaces to a newline: parsed by this expression (a few microseconds),
# any other header by numpy's parser of its Python literal (tens of microseconds; an index opens
# hundreds of arrays).
_PLAIN_HEADER = re.compile(rb"\{'descr': '([<>|][biuf][1248])', 'fortran_order': (False|True), "
                           rb"'shape': \((|[0-9]{1,19},|[0-9]{1,19}(?:, [0-9]{1,19})+,?)\), \} *\n\Z")
_DTYPES: dict[bytes, np.dtype] = {}


def _dtype(descr: bytes) -> np.dtype:
    """The dtype of a plain header's descr (b'<u4'), made once per descr."""
    found = _DTYPES.get(descr)
    if found is None:
        found = _DTYPES[descr] = np.dtype(descr.decode("ascii"))
    return found


def _npy_layout(fd: int, path: Path, size: int) -> tuple[tuple, bool, np.dtype, int]:
    """(shape, fortran order, dtype, offset of the data) of the .npy file open as `fd`, of `size`
    bytes, after checking that the header is small, declares a plain numeric array (no pickled
    objects, no records) and that its shape times its item size is exactly the bytes that follow
    it: nothing is mapped or allocated from a declared shape the file's bytes do not hold."""
    head = os.pread(fd, min(size, 12 + _MAX_NPY_HEADER), 0)
    if not head.startswith(_NPY_MAGIC) or len(head) < 10:
        raise IndexCorruptError(str(path), "not a valid array file: no .npy header")
    version = (head[6], head[7])
    if version == (1, 0):
        length, reader = struct.unpack("<H", head[8:10])[0], np.lib.format.read_array_header_1_0
    elif version == (2, 0) and len(head) >= 12:
        length, reader = struct.unpack("<I", head[8:12])[0], np.lib.format.read_array_header_2_0
    else:
        raise IndexCorruptError(str(path), f"not a valid array file: .npy version {version} is not supported")
    if length > _MAX_NPY_HEADER:
        raise IndexCorruptError(str(path), f"not a valid array file: a header of {length:,} bytes")
    start = 10 if version == (1, 0) else 12
    plain = _PLAIN_HEADER.match(head, start, start + length) if start + length <= len(head) else None
    if plain is not None:  # the header np.save writes for a plain array, read without numpy's literal parser
        dtype = _dtype(plain[1])
        fortran = plain[2] == b"True"
        shape = tuple(int(n) for n in plain[3].split(b",") if n.strip())
        offset = start + length
    else:
        fh = io.BytesIO(head)
        fh.seek(8)
        try:
            shape, fortran, dtype = reader(fh, max_header_size=_MAX_NPY_HEADER)
        except (ValueError, TypeError, SyntaxError, TokenError, OverflowError, RecursionError, MemoryError,
                EOFError) as exc:  # what numpy's parser of the header's Python literal may raise
            raise IndexCorruptError(str(path), f"not a valid array file: {str(exc)[:200]}") from None
        offset = fh.tell()
    if dtype.hasobject:
        raise IndexCorruptError(str(path), "not a valid array file: it holds Python objects (pickled data "
                                           "is never loaded)")
    if dtype.kind not in _NPY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise IndexCorruptError(str(path), f"not a valid array file: it holds {dtype}, not numbers")
    if any(n < 0 for n in shape):
        raise IndexCorruptError(str(path), f"not a valid array file: the impossible shape {shape}")
    count = 1
    for n in shape:
        count *= n
    if offset + count * dtype.itemsize != size:
        raise IndexCorruptError(str(path), f"declares {count:,} values of {dtype} ({count * dtype.itemsize:,} "
                                           f"bytes), but {size - offset:,} bytes follow its header")
    return shape, fortran, dtype, offset


def _array_from_fd(fd: int, path: Path, size: int, mmap: bool, random: bool = False) -> np.ndarray:
    """The array of the .npy file open as `fd`, `size` bytes long (see read_array)."""
    shape, fortran, dtype, offset = _npy_layout(fd, path, size)
    order = "F" if fortran else "C"
    count = (size - offset) // dtype.itemsize if dtype.itemsize else 0
    if size <= 128 or not mmap or count == 0:
        try:
            data = np.empty(count, dtype=dtype)
            view = memoryview(data).cast("B")
            with io.FileIO(fd, "rb", closefd=False) as fh:
                fh.seek(offset)
                done = 0
                while done < len(view):
                    got = fh.readinto(view[done:])
                    if not got:
                        raise IndexCorruptError(str(path), "ended while being read (truncated meanwhile)")
                    done += got
        except (OSError, MemoryError) as exc:
            raise io_error(exc, path, "reading") from None
        return data.reshape(shape, order=order)
    # A plain ndarray over the map (no numpy.memmap: its subclass adds overhead to every slice).
    if _LIBC is None:
        return np.frombuffer(_map(fd, path), dtype=dtype, count=count, offset=offset).reshape(shape, order=order)
    try:
        raw = np.asarray(FileMap(fd, size, random))
    except OSError as exc:
        raise io_error(exc, path, "mapping") from None
    return raw[offset:offset + count * dtype.itemsize].view(dtype).reshape(shape, order=order)


def _libc() -> "tuple | None":
    """libc's mmap, munmap and madvise (through ctypes), or None where there is no such libc."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        functions = libc.mmap, libc.munmap, libc.madvise
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    mmap_, munmap, madvise = functions
    mmap_.restype = ctypes.c_void_p
    mmap_.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
    munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return mmap_, munmap, madvise, ctypes.get_errno, ctypes.c_void_p(-1).value


_LIBC = _libc() if hasattr(_mmap, "MAP_SHARED") else None
PAGE = _mmap.PAGESIZE
RANDOM, WILLNEED, DONTNEED = (getattr(_mmap, f"MADV_{name}", None) for name in ("RANDOM", "WILLNEED", "DONTNEED"))


class FileMap:
    """A whole file mapped read-only and shared by libc's mmap, which keeps no descriptor open.

    Python's mmap keeps a duplicate of the descriptor per map (before 3.13), and a searcher holds
    hundreds of maps: that many descriptors grow the process's descriptor table, and in a
    threaded process (numpy's BLAS threads) every growth waits for an RCU grace period, 10-15 ms
    of a 25 ms open at a million documents. numpy reads the map through __array_interface__,
    read-only (numpy refuses to make an array over it writable); it is unmapped when the last
    array over it goes. With `random`, the kernel is told the pages are read at random
    (MADV_RANDOM): a page fault reads that page, not the several megabytes around it that a
    device's read-ahead setting may ask for (8 MB here), which is what the first searches of an
    index whose files are out of the page cache touch: a few pages of many files.
    """

    address = 0

    def __init__(self, fd: int, size: int, random: bool = False):
        mmap_, _, madvise, get_errno, failed = _LIBC
        address = mmap_(None, size, _mmap.PROT_READ, _mmap.MAP_SHARED, fd, 0)
        if address is None or address == failed:
            code = get_errno() or errno.ENOMEM
            raise OSError(code, os.strerror(code))
        self.address, self.size, self._munmap = address, size, _LIBC[1]  # (kept: a module's globals go at exit)
        self.__array_interface__ = {"data": (address, True), "shape": (size,), "typestr": "|u1", "version": 3}
        if random and RANDOM is not None:
            madvise(address, size, RANDOM)

    def advise(self, advice: int, start: int = 0, stop: "int | None" = None) -> None:
        """madvise(`advice`) on bytes start..stop of the map (the pages holding them)."""
        stop = self.size if stop is None else min(stop, self.size)
        start = max(0, start) // PAGE * PAGE
        if stop > start and self.address:
            _LIBC[2](self.address + start, stop - start, advice)

    def __del__(self) -> None:
        if self.address:
            self._munmap(self.address, self.size)
            self.address = 0


def file_map(array: np.ndarray) -> "FileMap | _mmap.mmap | None":
    """The map an array read by read_array or load_array (or a view of one) lies in, None for an
    array in memory."""
    found = array
    while isinstance(found, (np.ndarray, memoryview)):
        found = found.base if isinstance(found, np.ndarray) else found.obj
    found = getattr(found, "_mmap", found)  # numpy.memmap keeps its mmap here
    return found if isinstance(found, (FileMap, _mmap.mmap)) else None


class Ahead:
    """Asks the kernel to read ranges of a memory-mapped array (load_array with `random`) before
    they are used (MADV_WILLNEED): one request for a whole posting list instead of a page fault
    per page. Does nothing for an array in memory."""

    __slots__ = ("_map", "_start", "_itemsize")

    def __init__(self, array: "np.ndarray | None"):
        found = None if array is None else file_map(array)
        self._map = found if isinstance(found, FileMap) else None
        self._start = array.__array_interface__["data"][0] - self._map.address if self._map is not None else 0
        self._itemsize = array.itemsize if array is not None else 0

    def items(self, start: int, stop: int) -> None:
        """Ask for items start..stop of the array."""
        if self._map is not None and WILLNEED is not None:
            self._map.advise(WILLNEED, self._start + start * self._itemsize, self._start + stop * self._itemsize)


def _map(fd: int, path: Path) -> _mmap.mmap:
    """The whole file open as `fd`, mapped read-only; the map outlives the descriptor."""
    options = {"trackfd": False} if sys.version_info >= (3, 13) else {}  # no descriptor kept per map
    try:
        return _mmap.mmap(fd, 0, access=_mmap.ACCESS_READ, **options)
    except OSError as exc:  # before 3.13 the map keeps a duplicate of the descriptor: EMFILE, or ENOMEM
        raise io_error(exc, path, "mapping") from None


def read_array(path: Path, size: int, mmap: bool = True, below: int = IN_SEGMENT) -> np.ndarray:
    """The array of a .npy file of `size` bytes (already verified): memory-mapped, unless `mmap` is
    false or the file is at most a header (128 bytes: an empty or tiny array, cheaper to read than
    to map). Raises IndexCorruptError for what is no array file of numbers, or declares more values
    than its bytes hold (the file is opened by open_file: never through a link)."""
    fd = open_file(path, below)
    try:
        if os.fstat(fd).st_size != size:
            raise IndexCorruptError(str(path), f"size is {os.fstat(fd).st_size} bytes, expected {size}")
        return _array_from_fd(fd, path, size, mmap)
    finally:
        os.close(fd)


def load_array(path: Path, entry: dict, mmap: bool = True, full: bool = False, random: bool = False) -> np.ndarray:
    """Load a segment's .npy file after checking it against its manifest entry (check_file; every
    byte with `full`; see read_array), both from one descriptor; with `random`, its map is read
    at random, a page per fault (FileMap)."""
    fd = open_verified(path, entry, full)
    try:
        return _array_from_fd(fd, path, entry["size"], mmap, random)
    finally:
        os.close(fd)


def open_verified(path: Path, entry: dict, full: bool = False) -> int:
    """A descriptor of a segment's file (open_file) after checking it against its manifest entry
    through that descriptor (check_file; every byte with `full`). The caller closes it."""
    fd = open_file(path)
    try:
        _check_fd(fd, path, entry, full)
    except BaseException:
        os.close(fd)
        raise
    return fd


def map_verified(path: Path, entry: dict, full: bool = False, random: bool = False) -> "_mmap.mmap | bytes":
    """A segment's file mapped as map_file does, after checking it against its manifest entry
    (check_file; every byte with `full`), both from one descriptor."""
    fd = open_verified(path, entry, full)
    try:
        return _map_fd(fd, path, entry["size"], random)
    finally:
        os.close(fd)


def map_file(path: Path, size: int, random: bool = False) -> "_mmap.mmap | bytes":
    """A segment's file of `size` bytes (already verified), memory-mapped read-only from a
    descriptor opened by open_file (an empty file, which cannot be mapped, as b""); with `random`,
    read at random, a page per fault (see FileMap)."""
    fd = open_file(path)
    try:
        found = os.fstat(fd).st_size
        if found != size:
            raise IndexCorruptError(str(path), f"size is {found} bytes, expected {size}")
        return _map_fd(fd, path, size, random)
    finally:
        os.close(fd)


def _map_fd(fd: int, path: Path, size: int, random: bool) -> "_mmap.mmap | bytes":
    """map_file, for the file open as `fd`."""
    if not size:
        return b""
    mapped = _map(fd, path)
    if random and RANDOM is not None and hasattr(mapped, "madvise"):
        mapped.madvise(RANDOM)
    return mapped
