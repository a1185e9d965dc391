"""Postings of adjacent word pairs: the optional phrase index of a TEXT field (`index_phrases`).

Elasticsearch's `index_phrases` does the same with shingles: a two-word exact phrase becomes one
posting-list lookup instead of an intersection of the two words' positions, and a longer phrase
looks at positions only in the units that hold all of its pairs. The price is paid at indexing
time and on disk (about one pair posting per token).

A pair is keyed by the segment's term ids of its words, `first << 32 | second`, so the pair
dictionary is a sorted uint64 array (no strings, no trie). Per field, a segment holds the distinct
pair keys ascending, pointers into the pair postings, and each posting's unit and frequency
(COMPONENTS; components.py describes the files).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import chunks, gather_ranges, release_pages, run_starts
from .components import Component

COMPONENTS = (Component.PAIRKEY, Component.PAIRPTR, Component.PAIRUNIT, Component.PAIRTF)
SUFFIXES = tuple(c.suffix for c in COMPONENTS)  # field f's pair files are f.<suffix>.npy
DTYPES = (np.uint64, np.int64, np.uint32, np.uint32)  # of the arrays, in the order of COMPONENTS
_SHIFT = np.uint64(32)
_LOW = np.uint64(0xFFFFFFFF)  # the second word of a key


@dataclass
class PairArrays:
    """One field's pair postings, ready to be written or searched."""

    keys: np.ndarray
    ptr: np.ndarray
    unit: np.ndarray
    tf: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by file suffix, in the order of SUFFIXES (and COMPONENTS)."""
        return dict(zip(SUFFIXES, (self.keys, self.ptr, self.unit, self.tf)))

    def lookup(self, first: int, second: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(units, frequencies) where term `first` is directly followed by term `second`; None
        when that never happens."""
        key = np.uint64(first) << _SHIFT | np.uint64(second)
        at = int(self.keys.searchsorted(key))
        if at == len(self.keys) or self.keys[at] != key:
            return None
        a, b = self.ptr[at:at + 2].tolist()
        return self.unit[a:b], self.tf[a:b]


def problems(arrays: "list[np.ndarray] | tuple[np.ndarray, ...]", pairs: int,
             pair_postings: int) -> list[tuple[Component, str]]:
    """(component, what is wrong) for a field's pair arrays, given in COMPONENTS order, against
    their types and meta.json's counts of pairs and pair postings; empty when they agree. Each
    file is compared with meta.json, so a finding names the file that differs. O(1): opening a
    segment runs it; `check` also scans the contents (order, ranges)."""
    found = [(component, f"holds {a.dtype} with {a.ndim} dimensions, expected one of {np.dtype(dtype)}")
             for component, a, dtype in zip(COMPONENTS, arrays, DTYPES) if a.dtype != dtype or a.ndim != 1]
    if found:
        return found
    keys, ptr, unit, tf = arrays
    if len(keys) != pairs:
        found.append((Component.PAIRKEY, f"has {len(keys)} pairs, meta.json says {pairs}"))
    if len(ptr) != pairs + 1 or ptr[0] != 0 or ptr[-1] != pair_postings:
        found.append((Component.PAIRPTR, "pair pointers do not run from 0 to the pair postings"))
    if len(unit) != pair_postings:
        found.append((Component.PAIRUNIT, f"has {len(unit)} postings, meta.json says {pair_postings}"))
    if len(tf) != pair_postings:
        found.append((Component.PAIRTF, f"has {len(tf)} frequencies, meta.json says {pair_postings} postings"))
    return found


def pair_key(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The keys of pairs of term ids (non-negative, below 2**32)."""
    return first.astype(np.uint64) << _SHIFT | second.astype(np.uint64)


def pair_terms(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The term ids (int64) of the first and the second word of each pair key."""
    return (keys >> _SHIFT).astype(np.int64), (keys & _LOW).astype(np.int64)


def postings(keys: np.ndarray, units: np.ndarray, tf: np.ndarray | None = None) -> PairArrays:
    """Pair postings from occurrences (`tf` None: one each) or postings (`tf` given) listed in
    ascending unit order within each key; occurrences of a key in one unit are counted together."""
    order = np.argsort(keys, kind="stable")  # stable: units stay ascending within a key
    keys, units = keys[order], units[order]
    n = len(keys)
    if not n:
        return PairArrays(np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, np.uint32),
                          np.zeros(0, np.uint32))
    starts = run_starts(keys, units)  # the first occurrence of each (key, unit) posting
    if tf is None:
        counts = np.diff(np.append(starts, n))
    else:
        counts = np.add.reduceat(np.asarray(tf, dtype=np.int64)[order], starts)
    posting_keys = keys[starts]
    key_starts = run_starts(posting_keys)  # the first posting of each distinct key
    ptr = np.append(key_starts, len(starts)).astype(np.int64)
    return PairArrays(posting_keys[key_starts].astype(np.uint64), ptr, units[starts].astype(np.uint32),
                      counts.astype(np.uint32))


def from_tokens(tid: np.ndarray, units: np.ndarray, pos: np.ndarray) -> PairArrays:
    """Pair postings of a token stream in (unit, position) order: two tokens form a pair when
    they are in the same unit at consecutive positions (a dropped stop word between them breaks
    the pair, as it breaks an exact phrase). This assumes one token per position, which every
    analyzer here produces; one that stacked tokens on a position (synonyms) would need the
    pairs of every token of a position with every token of the next."""
    if len(tid) < 2:
        return postings(np.zeros(0, np.uint64), np.zeros(0, np.uint32))
    adjacent = (units[1:] == units[:-1]) & (np.diff(pos.astype(np.int64)) == 1)
    return postings(pair_key(tid[:-1][adjacent], tid[1:][adjacent]), units[:-1][adjacent])


def merge(parts: list[tuple[PairArrays, np.ndarray, np.ndarray, np.ndarray]], chunk: int = 1 << 21) -> PairArrays:
    """The pair postings of a merged segment. Each part is an input segment's pairs with the
    merged term id of each of its term ids (-1: dropped, which only a term without a posting in
    a surviving unit may be), whether each of its units survives and each unit's merged number.

    As a merge does for terms (merge._merge_field): parts come in segment order, so a pair's
    merged postings are its surviving postings in the first part, then in the second, and so on,
    units ascending; each (part, pair) block is copied once to a place computed from block sizes.
    Only the distinct merged keys are sorted, never the postings. Memory: the result, arrays per
    pair of each part, and at most `chunk` postings at a time; each part's memory-mapped pages
    are released once it is copied."""
    kept: list[np.ndarray] = []  # per part: surviving postings of each of its pairs
    live: list[np.ndarray] = []  # per part: which of its pairs survive
    new_keys: list[np.ndarray] = []  # per part: the merged keys of its surviving pairs
    for pa, remap, keep_unit, _ in parts:
        counts = _kept_counts(pa, keep_unit, chunk)
        survives = counts > 0
        old = np.asarray(pa.keys)[survives]
        first, second = (remap[ids] for ids in pair_terms(old))
        if len(old) and min(int(first.min()), int(second.min())) < 0:
            raise ValueError("a pair with surviving postings has a word dropped from the merged dictionary")
        kept.append(counts)
        live.append(survives)
        new_keys.append(pair_key(first, second))
    keys = np.sort(np.concatenate(new_keys)) if new_keys else np.zeros(0, np.uint64)
    keys = keys[run_starts(keys)] if len(keys) else keys
    targets = [np.searchsorted(keys, k) for k in new_keys]  # where each part's pairs go
    del new_keys
    df = np.zeros(len(keys), dtype=np.int64)
    for target, counts, survives in zip(targets, kept, live):
        df[target] += counts[survives]  # a part's merged keys are distinct: no repeated indices
    ptr = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(df, out=ptr[1:])
    del df
    unit = np.empty(int(ptr[-1]), dtype=np.uint32)
    tf = np.empty(int(ptr[-1]), dtype=np.uint32)
    next_posting = ptr[:-1].copy()  # per merged pair: where the next part's block goes
    for (pa, _, keep_unit, new_unit), counts, survives, target in zip(parts, kept, live, targets):
        block_start = np.zeros(len(counts), dtype=np.int64)  # a dropped pair's block is empty
        block_start[survives] = next_posting[target]
        next_posting[target] += counts[survives]
        all_kept = bool(np.all(keep_unit))
        for k1, k2 in chunks(pa.ptr, chunk):
            a, b = int(pa.ptr[k1]), int(pa.ptr[k2])
            units, tfs = pa.unit[a:b], pa.tf[a:b]
            if not all_kept:
                keep = keep_unit[units]
                units, tfs = units[keep], tfs[keep]
            dest = gather_ranges(block_start[k1:k2], counts[k1:k2])
            unit[dest] = new_unit[units]
            tf[dest] = tfs
        release_pages(pa.keys, pa.ptr, pa.unit, pa.tf)
    return PairArrays(keys, ptr, unit, tf)


def _kept_counts(pa: PairArrays, keep_unit: np.ndarray, chunk: int) -> np.ndarray:
    """How many postings of each pair are in surviving units."""
    counts = np.diff(np.asarray(pa.ptr))
    if np.all(keep_unit):
        return counts
    for k1, k2 in chunks(pa.ptr, chunk):
        a, b = int(pa.ptr[k1]), int(pa.ptr[k2])
        survived = np.zeros(b - a + 1, dtype=np.int64)
        np.cumsum(keep_unit[pa.unit[a:b]], out=survived[1:])
        counts[k1:k2] = np.diff(survived[np.asarray(pa.ptr[k1:k2 + 1]) - a])
    return counts
