"""The writer lock: one writer per index across processes.

An OS advisory lock (flock) on `write.lock`: the kernel releases it when the holder exits, however
it exits, so a killed writer never blocks the index.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from ..errors import IndexLockedError

LOCK_NAME = "write.lock"


class WriteLock:
    """Held from `acquire()` until `release()`; `timeout` seconds of waiting (0 = fail at once)."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, timeout: float = 0.0) -> "WriteLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(0.0, timeout)
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
                    raise IndexLockedError(f"another writer holds {self.path}{waited}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
