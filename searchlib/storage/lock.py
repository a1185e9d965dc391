"""The writer lock: one writer per index across processes.

An OS advisory lock (flock) on `write.lock`: the kernel releases it when the holder exits, however
it exits, so a killed writer never blocks the index. A flock belongs to the open file, which a
forked child shares; children therefore close their copy of every held lock right after a fork,
so that a child outliving a killed writer (an analysis worker, a user's fork) cannot keep the
index locked.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path
from typing import Protocol

from ..errors import IndexLockedError

LOCK_NAME = "write.lock"
MAX_RETRY_DELAY = 0.1  # the longest pause, in seconds, between two attempts of a waiting writer

_HELD: set[int] = set()  # descriptors of the locks this process holds


class Clock(Protocol):
    """What a waiting writer reads the time with: the `time` module, or a test's stand-in."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


def _close_in_child() -> None:
    """After a fork, in the child: close (never unlock) the inherited lock descriptors; the
    parent's lock stays held through its own descriptor."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


class WriteLock:
    """Held from `acquire()` until `release()`; `timeout` seconds of waiting (0 = fail at once)."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None
        self._pid = 0  # the process that acquired the lock

    def acquire(self, timeout: float = 0.0, clock: Clock = time) -> "WriteLock":
        """Take the lock, trying again for up to `timeout` seconds (pauses of at most
        MAX_RETRY_DELAY) while another writer holds it; then IndexLockedError. `clock` tells the
        time and pauses: the time module unless a test passes its own."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd, timeout, clock)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            # Whatever failed (a full disk writing the pid, an interrupt while waiting), closing
            # the descriptor drops the flock too: a later writer must not find the index locked.
            os.close(fd)
            raise
        self._fd, self._pid = fd, os.getpid()
        _HELD.add(fd)
        return self

    def _lock(self, fd: int, timeout: float, clock: Clock) -> None:
        """flock `fd`, retrying for up to `timeout` seconds while another writer holds it."""
        deadline = clock.monotonic() + max(0.0, timeout)
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if clock.monotonic() >= deadline:
                    waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
                    raise IndexLockedError(f"another writer holds {self.path}{waited}") from None
                clock.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and self._pid == os.getpid():  # a forked child closed its copy already
            _HELD.discard(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        """True in the process that acquired the lock, until it releases it (never in a fork)."""
        return self._fd is not None and self._pid == os.getpid()
