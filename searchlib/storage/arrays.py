"""numpy helpers the storage modules share: the narrowest types for counts and offsets, postings
inverted by unit, runs of equal rows, gathered ranges, chunks of ranges, releasing the pages of
memory-mapped inputs and the memory freed by large temporaries.

They sit below segment.py, pairs.py and indexing/merge.py (segment.py imports pairs.py, the merge
both), so a pair merge and a term merge use the same pieces, and a flush and a merge release
memory alike.
"""
from __future__ import annotations

import ctypes
import mmap
import sys
from typing import Iterator

import numpy as np

from .files import DONTNEED, FileMap, file_map


def narrowest_uint(top: int) -> np.dtype:
    """The narrowest unsigned type (8, 16 or 32 bits) that holds every value up to `top`: term
    frequencies and positions are written in it (most documents are short, so most segments
    store them in one or two bytes instead of four), as Lucene packs integers to the bits they need."""
    for dtype in (np.uint8, np.uint16):
        if top <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint32)


def narrow_offsets(offsets: np.ndarray) -> np.ndarray:
    """Non-decreasing offsets (posting and position pointers) as int32 when they stay below 2**31,
    else as they are (int64): half the bytes for every segment of fewer than two billion postings."""
    if len(offsets) and int(offsets[-1]) < 2**31:
        return offsets.astype(np.int32)
    return offsets


def invert_postings(ptr: np.ndarray, unit: np.ndarray, units: int) -> tuple[np.ndarray, np.ndarray]:
    """A field's postings by unit instead of by term: (pointers, term ids), unit u's term ids being
    ids[pointers[u]:pointers[u + 1]], ascending; pointers as narrow_offsets, ids in the narrowest
    unsigned type that holds them. One sort of (unit, term) int64 keys (several times faster than a
    stable argsort by unit); a field with at most one term per unit is a scatter, no sort."""
    ptr, unit = np.asarray(ptr), np.asarray(unit)
    n_terms = len(ptr) - 1
    dtype = narrowest_uint(max(n_terms - 1, 0))
    per_unit = np.bincount(unit, minlength=units) if len(unit) else np.zeros(units, dtype=np.int64)
    pointers = np.zeros(units + 1, dtype=np.int64)
    np.cumsum(per_unit, out=pointers[1:])
    term_of_posting = np.repeat(np.arange(n_terms, dtype=dtype), np.diff(ptr))
    if not len(unit) or int(per_unit.max()) <= 1:
        ids = np.empty(len(unit), dtype=dtype)
        ids[pointers[unit]] = term_of_posting
    else:
        keys = unit.astype(np.int64) * n_terms + term_of_posting
        keys.sort()
        keys -= np.repeat(np.arange(units, dtype=np.int64) * n_terms, per_unit)  # (no slow `%`)
        ids = keys.astype(dtype)
    return narrow_offsets(pointers), ids


def first_in_ranges(ptr: "np.ndarray | None", values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of `rows`, the first of its values (row r holds values[ptr[r]:ptr[r + 1]], or just
    values[r] when `ptr` is None: one value per row) as int64, -1 for a row without any."""
    rows = np.asarray(rows, dtype=np.int64)
    if ptr is None:
        return values[rows].astype(np.int64)
    if not len(values):
        return np.full(len(rows), -1, dtype=np.int64)
    lo, hi = ptr[rows], ptr[rows + 1]
    found = values[np.minimum(lo, len(values) - 1)].astype(np.int64)
    found[hi <= lo] = -1
    return found


def run_start_mask(*columns: np.ndarray) -> np.ndarray:
    """Whether each row starts a run of equal rows, a row being the columns' values at one index
    (the columns sorted so that equal rows are adjacent); row 0 starts the first run."""
    n = len(columns[0])
    new = np.empty(n, dtype=bool)
    if n:
        new[0] = True
        np.not_equal(columns[0][1:], columns[0][:-1], out=new[1:])
        for column in columns[1:]:
            new[1:] |= column[1:] != column[:-1]
    return new


def run_starts(*columns: np.ndarray) -> np.ndarray:
    """Indices of the rows that start a run of equal rows (see run_start_mask)."""
    return np.flatnonzero(run_start_mask(*columns))


def gather_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges [starts[i], starts[i] + lengths[i])."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def chunks(bounds: np.ndarray, chunk: int) -> Iterator[tuple[int, int]]:
    """Ranges [g1, g2) of groups (group g holds items [bounds[g], bounds[g + 1])) whose items
    number about `chunk` at most; a single group with more items is a range of its own."""
    n_groups = len(bounds) - 1
    g1 = 0
    while g1 < n_groups:
        # never beyond the last bound, so the value has the bounds' type (int32 pointers included)
        g2 = int(np.searchsorted(bounds, min(int(bounds[g1]) + chunk, int(bounds[-1])), side="right")) - 1
        g2 = min(max(g2, g1 + 1), n_groups)
        yield g1, g2
        g1 = g2


def release_pages(*arrays: "np.ndarray | None") -> None:
    """Drop the pages of memory-mapped input arrays from this process's resident memory.

    Pages of a file read through a memory map stay resident (and count in the process's RSS)
    until the map is closed; a merge reads every input once, so after each input it tells the
    kernel it will not need those pages (they stay in the page cache; a later read maps them again).
    """
    for arr in arrays:
        found = None if arr is None else file_map(arr)
        try:
            if isinstance(found, FileMap) and DONTNEED is not None:
                found.advise(DONTNEED)
            elif isinstance(found, mmap.mmap) and hasattr(found, "madvise") and DONTNEED is not None:
                found.madvise(DONTNEED)
        except (OSError, ValueError):
            pass


def _load_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:  # the process's own symbols: no ctypes.util.find_library, which runs ldconfig in a subprocess
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl has no malloc_trim)
        return None


_malloc_trim = _load_trim()


def release_free_memory() -> None:
    """Give memory freed by a flush or merge back to the operating system (glibc only).

    glibc serves the large numpy temporaries of a flush from its heap once one of that size has
    been freed (its mmap threshold adapts upward), and the heap, interleaved with long-lived
    Python objects, is not returned when they are freed: without this, a writer's resident memory
    ratchets up by about one flush's temporaries per flush. malloc_trim releases the free pages
    (it only hands back memory nobody uses, so it is safe at any time) in about a millisecond.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)
