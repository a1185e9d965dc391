"""Postings of adjacent word pairs: the optional phrase index of a TEXT field (`index_phrases`).

Elasticsearch's `index_phrases` does the same with shingles: a two-word exact phrase becomes one
posting-list lookup instead of an intersection of the two words' positions, and a longer phrase
looks at positions only in the units that hold all of its pairs. The price is paid at indexing
time and on disk (about one pair posting per token).

A pair is keyed by the segment's term ids of its words, `first << 32 | second`, so the pair
dictionary is a sorted uint64 array (no strings, no trie). Per field `f` of a segment:
  f.pairkey.npy  uint64[K]    the distinct pair keys, ascending
  f.pairptr.npy  int64[K+1]   postings of pair k are [pairptr[k], pairptr[k+1])
  f.pairunit.npy uint32[Q]    the unit of each posting, ascending within a pair
  f.pairtf.npy   uint32[Q]    how often the pair occurs in that unit
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import run_starts

SUFFIXES = ("pairkey", "pairptr", "pairunit", "pairtf")
DTYPES = (np.uint64, np.int64, np.uint32, np.uint32)  # of the arrays, in the order of SUFFIXES
_SHIFT = np.uint64(32)


@dataclass
class PairArrays:
    """One field's pair postings, ready to be written or searched."""

    keys: np.ndarray
    ptr: np.ndarray
    unit: np.ndarray
    tf: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by file suffix."""
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
             pair_postings: int) -> list[tuple[str, str]]:
    """(file suffix, what is wrong) for a field's pair arrays, given in SUFFIXES order, against
    their types and meta.json's counts of pairs and pair postings; empty when they agree. Each
    file is compared with meta.json, so a finding names the file that differs. O(1): opening a
    segment runs it; `check` also scans the contents (order, ranges)."""
    found = [(suffix, f"holds {a.dtype} with {a.ndim} dimensions, expected one of {np.dtype(dtype)}")
             for suffix, a, dtype in zip(SUFFIXES, arrays, DTYPES) if a.dtype != dtype or a.ndim != 1]
    if found:
        return found
    keys, ptr, unit, tf = arrays
    if len(keys) != pairs:
        found.append(("pairkey", f"has {len(keys)} pairs, meta.json says {pairs}"))
    if len(ptr) != pairs + 1 or ptr[0] != 0 or ptr[-1] != pair_postings:
        found.append(("pairptr", "pair pointers do not run from 0 to the pair postings"))
    if len(unit) != pair_postings:
        found.append(("pairunit", f"has {len(unit)} postings, meta.json says {pair_postings}"))
    if len(tf) != pair_postings:
        found.append(("pairtf", f"has {len(tf)} frequencies, meta.json says {pair_postings} postings"))
    return found


def pair_key(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The keys of pairs of term ids (non-negative, below 2**32)."""
    return first.astype(np.uint64) << _SHIFT | second.astype(np.uint64)


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


def merge(parts: list[tuple[PairArrays, np.ndarray, np.ndarray, np.ndarray]]) -> PairArrays:
    """The pair postings of a merged segment. Each part is an input segment's pairs with the
    merged term id of each of its term ids (-1: dropped), whether each of its units survives and
    each unit's merged number; parts come in segment order, so units stay ascending."""
    keys, units, tfs = [], [], []
    for pa, remap, keep_unit, new_unit in parts:
        n_postings = np.diff(pa.ptr)
        old = np.repeat(pa.keys, n_postings)
        unit = np.asarray(pa.unit)
        keep = keep_unit[unit]
        first = remap[(old[keep] >> _SHIFT).astype(np.int64)]
        second = remap[(old[keep] & np.uint64(0xFFFFFFFF)).astype(np.int64)]
        keys.append(pair_key(first, second))  # a surviving posting's words survive too
        units.append(new_unit[unit[keep]])
        tfs.append(np.asarray(pa.tf)[keep])
    if not keys:
        return postings(np.zeros(0, np.uint64), np.zeros(0, np.uint32))
    return postings(np.concatenate(keys), np.concatenate(units), np.concatenate(tfs))
