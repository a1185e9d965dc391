"""Undo, in the worker processes searchlib uses, what the Dask nanny's malloc setting costs.

A nanny starts every worker with MALLOC_TRIM_THRESHOLD_=65536 (`distributed.nanny.pre-spawn-environ`)
so that glibc hands freed memory back to the system at once. Setting any threshold also turns off
glibc's dynamic mmap threshold, which stays at 128 KiB: every array over 128 KiB (a search's
per-segment match and score arrays, a writer's buffers) becomes a fresh mmap whose pages the kernel
zeroes and faults in one by one, and an munmap when freed. Measured on this machine with the
variable set in one process: a search over a 500,000-document shard took 41.6 ms of CPU instead of
7.9 ms, and building a 50,000-document shard 13.6 s instead of 10.6 s.

`restore_malloc()` sets the two thresholds (glibc's mallopt) to where its dynamic rule would take
them, an mmap threshold of 32 MiB (the rule's ceiling on 64-bit) and a trim threshold twice that,
once per process, and only where the variable is set (the process was started to trim) and glibc's
mallopt exists. A worker then keeps up to 64 MiB of freed heap for reuse instead of none.
"""
from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # the dynamic rule keeps the trim threshold at twice the mmap one

_restored = False


def restore_malloc() -> bool:
    """Set glibc's mmap and trim thresholds as above in this process if MALLOC_TRIM_THRESHOLD_ is
    set; True once they are set (now or before)."""
    global _restored
    if _restored or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return _restored
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows): nothing to undo
        return False
    _restored = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _restored
