"""The write queue: adds, updates and deletes that never wait for the writer lock.

Web applications save from many threads and processes at once; with one writer per index, all
but one of them would wait or fail. `Index.enqueue` instead appends the operation to a durable,
append-only log inside the index directory and returns; whoever holds the writer next — the next
`Index.writer()`, `Index.apply_queue()` or a background `QueueApplier` — applies the waiting
operations in order, inside its own batch, and records in the commit's manifest how far it got.

Why each operation is applied exactly once: an operation is acknowledged (enqueue returns) only
after its line is written and fsynced. The position up to which the queue is applied is part of
the commit's manifest, so the operations of a batch and the position that says they are done
become visible in the same atomic rename: a writer killed before it leaves both as they were (the
next writer applies the same operations again), after it leaves both done. A process killed while
appending leaves at most a line without its newline; the next appender ends it first, so that
fragment becomes one malformed line that is reported and skipped, never glued to the next entry.

Layout: `queue/NNNNNNNNNN.log`, lines of `<crc32 as 8 hex digits> <JSON>\n`, with JSON
`{"op": "add"|"update", "doc": {...}}` or `{"op": "delete", "key": "..."}`; `queue/append.lock`
(a flock held only while one line is appended, so appenders never interleave). Appends go to the
newest file; once a file is applied to its end and larger than ROTATE_BYTES, the applier starts a
new file and deletes the files wholly applied by the committed manifest.
"""
from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import re
import threading
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from .errors import DocumentError, IndexLockedError, SchemaError, SearchlibError
from .storage.files import fsync_dir
from .storage.manifest import read_manifest

if TYPE_CHECKING:
    from .indexing.writer import IndexWriter

QUEUE_DIR = "queue"
APPEND_LOCK = "append.lock"
ROTATE_BYTES = 1 << 20  # a wholly applied queue file larger than this is retired
OPERATIONS = ("add", "update", "delete")
_FILE = re.compile(r"(\d{10})\.log\Z")
_READ_CHUNK = 1 << 22


class QueueEntryWarning(UserWarning):
    """A queued operation that could not be applied (malformed, or refused by the writer): skipped."""


@dataclass
class QueueReport:
    """What applying the queue did: operations applied, and (where, why) of each one skipped."""

    applied: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def file_name(number: int) -> str:
    return f"{number:010d}.log"


def encode_entry(op: str, value: Any) -> bytes:
    """One queue line for `op` on `value` (a document, or a key for delete); DocumentError if it
    cannot be written as JSON (a datetime is written as ISO 8601, which DATETIME fields read)."""
    if op not in OPERATIONS:
        raise SearchlibError(f"unknown queue operation {op!r}; expected one of {', '.join(OPERATIONS)}")
    entry = {"op": op, ("key" if op == "delete" else "doc"): value}
    try:
        body = json.dumps(entry, ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=_iso)
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"a queued {op} must be JSON-serialisable: {exc}") from None
    data = body.encode("ascii")
    return b"%08x " % zlib.crc32(data) + data + b"\n"


def _iso(value: Any) -> str:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def decode_entry(line: bytes) -> tuple[str, Any]:
    """(op, document or key) of a queue line (its newline removed); ValueError saying what is wrong."""
    crc, space, data = line.partition(b" ")
    if not space or len(crc) != 8:
        raise ValueError("not a queue entry (no checksum)")
    try:
        expected = int(crc, 16)
    except ValueError:
        raise ValueError("not a queue entry (no checksum)") from None
    if zlib.crc32(data) != expected:
        raise ValueError("checksum mismatch (a torn or damaged entry)")
    try:
        entry = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("invalid JSON") from None
    op = entry.get("op") if isinstance(entry, dict) else None
    if op not in OPERATIONS:
        raise ValueError(f"unknown operation {op!r}")
    value = entry.get("key" if op == "delete" else "doc")
    if op != "delete" and not isinstance(value, dict):
        raise ValueError(f"a queued {op} needs a document (a JSON object)")
    if op == "delete" and not isinstance(value, (str, int)):
        raise ValueError("a queued delete needs a key")
    return op, value


class WriteQueue:
    """The queue of one index directory."""

    def __init__(self, index_dir: "str | Path"):
        self.index_dir = Path(index_dir)
        self.directory = self.index_dir / QUEUE_DIR

    # -- appending (no writer lock) ----------------------------------------------------------
    def append(self, op: str, value: Any) -> None:
        """Append one operation durably: when this returns, the line is on disk."""
        record = encode_entry(op, value)
        if not self.directory.is_dir():
            self.directory.mkdir(exist_ok=True)
            fsync_dir(self.index_dir)
        lock = os.open(self.directory / APPEND_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held for one append: appenders never interleave
            numbers = self._numbers()
            path = self.directory / file_name(numbers[-1] if numbers else 1)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if not numbers:
                    fsync_dir(self.directory)
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    record = b"\n" + record  # end the fragment an appender killed mid-write left
                view = memoryview(record)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            os.close(lock)  # closing drops the flock

    # -- reading -----------------------------------------------------------------------------
    def _numbers(self) -> list[int]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for m in map(_FILE.match, names) if m)

    def entries(self, position: Mapping[str, int]) -> Iterator[tuple[dict[str, int], str, "tuple[str, Any] | str"]]:
        """(position after the entry, where it is, (op, value) or the reason it is malformed) of
        every complete entry after `position` ({} for the start), in order. A line still being
        written (no newline yet, in the newest file) is not read."""
        start_file, start_offset = position.get("file", 0), position.get("offset", 0)
        numbers = [n for n in self._numbers() if n >= start_file]
        for i, number in enumerate(numbers):
            offset = start_offset if number == start_file else 0
            last = i == len(numbers) - 1
            for end, line in self._lines(number, offset, last):
                where = f"{self.directory / file_name(number)} at byte {end - len(line) - 1}"
                try:
                    entry: "tuple[str, Any] | str" = decode_entry(line)
                except ValueError as exc:
                    entry = str(exc)
                yield {"file": number, "offset": end}, where, entry

    def _lines(self, number: int, offset: int, newest: bool) -> Iterator[tuple[int, bytes]]:
        """(offset after the line, the line without its newline) from `offset` of queue file `number`."""
        try:
            handle = open(self.directory / file_name(number), "rb")
        except FileNotFoundError:  # retired since the listing: it was wholly applied
            return
        with handle:
            handle.seek(offset)
            rest = b""
            while True:
                chunk = handle.read(_READ_CHUNK)
                if not chunk:
                    break
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    offset += len(line) + 1
                    yield offset, line
            if rest and not newest:  # an older file never gets its fragment ended: skip it as one entry
                yield offset + len(rest), rest

    def pending(self) -> int:
        """How many complete entries wait after the newest commit's position."""
        return sum(1 for _ in self.entries(read_manifest(self.index_dir).queue))

    # -- applying (under the writer lock) ------------------------------------------------------
    def apply(self, writer: "IndexWriter") -> QueueReport:
        """Apply every waiting entry in `writer`'s batch, in order, and set the position the
        writer's commit will record. A malformed entry, or one the writer refuses (a
        DocumentError, say), is reported with a QueueEntryWarning and skipped."""
        report = QueueReport()
        if not self.directory.is_dir():
            return report
        self._retire(writer.queue_position)
        for position, where, entry in self.entries(writer.queue_position):
            if isinstance(entry, str):
                self._skip(report, where, entry)
            else:
                op, value = entry
                try:
                    if op == "add":
                        writer.add(value)
                    elif op == "update":
                        writer.update(value)
                    else:
                        writer.delete(value)
                    report.applied += 1
                except (DocumentError, SchemaError) as exc:  # the entry is wrong, not the index or the disk
                    self._skip(report, where, f"{op} refused: {exc}")
            writer.queue_position = position
        return report

    @staticmethod
    def _skip(report: QueueReport, where: str, why: str) -> None:
        report.skipped.append((where, why))
        warnings.warn(QueueEntryWarning(f"skipped the queued operation in {where}: {why}"), stacklevel=3)

    def _retire(self, committed: Mapping[str, int]) -> None:
        """With the writer lock held: delete the queue files the committed position is past, and
        start a new file when the one it is in is applied to its end and over ROTATE_BYTES."""
        if not committed:
            return
        numbers = self._numbers()
        for number in numbers:
            if number < committed["file"]:
                (self.directory / file_name(number)).unlink(missing_ok=True)
        current = self.directory / file_name(committed["file"])
        if numbers[-1:] != [committed["file"]] or committed["offset"] < ROTATE_BYTES:
            return
        lock = os.open(self.directory / APPEND_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if current.stat().st_size == committed["offset"]:  # nothing appended since: start the next file
                os.close(os.open(self.directory / file_name(committed["file"] + 1), os.O_WRONLY | os.O_CREAT, 0o644))
                fsync_dir(self.directory)
        finally:
            os.close(lock)


class QueueApplier:
    """A background thread that applies the queue every `delay` seconds while entries wait.

    When another writer holds the lock it tries again later (that writer applies them anyway).
    Errors are kept in `errors` and warned about, and never stop the thread. Use it as a context
    manager, or call `stop()`.
    """

    def __init__(self, index: Any, delay: float = 1.0):
        self.index, self.delay = index, delay
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="searchlib-queue-applier", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.delay):
            try:
                if self.index.pending():
                    self.index.apply_queue(timeout=self.delay)
            except IndexLockedError:
                continue
            except Exception as exc:  # noqa: BLE001 - kept and reported, the thread goes on
                self.errors.append(exc)
                warnings.warn(f"the queue applier failed: {type(exc).__name__}: {exc}", RuntimeWarning)

    def stop(self) -> None:
        """Stop the thread (after the round in progress) and wait for it."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "QueueApplier":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
