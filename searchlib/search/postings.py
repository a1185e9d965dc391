"""Sorted-array operations over postings: lookups, intersections, runs and sums.

Everything the scorers and phrase matching do with posting lists is one of these few vectorised
operations on sorted integer arrays (binary searches, a sort and a comparison, bincount), kept
here so that each is written once.
"""
from __future__ import annotations

import numpy as np

from ..storage.arrays import gather_ranges, run_start_mask, run_starts
from ..storage.segment import FieldReader, SegmentReader


def positions_in(sorted_values: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value of `wanted`, whether it occurs in `sorted_values` and where (binary searches)."""
    if not len(sorted_values):
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), dtype=np.int64)
    at = sorted_values.searchsorted(wanted)
    np.minimum(at, len(sorted_values) - 1, out=at)
    return sorted_values[at] == wanted, at


def common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values of sorted, duplicate-free `a` that are also in sorted `b` (binary searches, no sort)."""
    return a[positions_in(b, a)[0]] if len(a) else a


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (a sort and one comparison: np.unique is several times
    slower on integer arrays in numpy 2)."""
    values = np.sort(values)
    return values[run_start_mask(values)]


def runs(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of non-empty sorted `units` and how many times each occurs."""
    starts = run_starts(units)
    counts = np.empty(len(starts), dtype=np.int64)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = len(units) - starts[-1]
    return units[starts], counts


def run_sums(units: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of non-empty sorted `units` and the sum of their `weights` (float64,
    added in order, as bincount does)."""
    first = run_start_mask(units)
    slot = first.cumsum()
    slot -= 1
    return units[first], np.bincount(slot, weights=weights)


def intersect(plists: list[np.ndarray], unit_count: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """The units in every one of the sorted, duplicate-free posting lists (as int64), and for each
    list the index of each such unit in it. The shortest list is probed into the others: by binary
    search or, where that would cost more than touching every one of the segment's `unit_count`
    units, through an array mapping units to their index in the list."""
    order = sorted(range(len(plists)), key=lambda i: len(plists[i]))
    cand = plists[order[0]]
    picks = {order[0]: np.arange(len(cand))}
    for i in order[1:]:
        pl = plists[i]
        if unit_count is not None and unit_count < 4 * len(cand) * len(pl).bit_length():
            index = np.full(unit_count, -1, dtype=np.int64)
            index[pl] = np.arange(len(pl))
            at = index[cand]
            hit = at >= 0
        else:
            hit, at = positions_in(pl, cand)
        cand = cand[hit]
        picks = {j: p[hit] for j, p in picks.items()}
        picks[i] = at[hit]
        if not len(cand):
            break
    return np.asarray(cand, dtype=np.int64), [picks.get(i, cand[:0]) for i in range(len(plists))]


def term_postings(reader: SegmentReader, fname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(units ascending, term frequencies) of `term` in field `fname` of the segment; None where
    the segment does not hold the term (or the field)."""
    fr = reader.fields.get(fname)
    tid = fr.term_id(term) if fr is not None else -1
    return fr.postings(tid) if tid >= 0 else None


def posting_slots(fr: FieldReader, tids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the postings of term ids `tids` of field reader `fr` lie in its posting arrays (one
    index per posting, term by term), and how many postings each term has."""
    ptr = np.asarray(fr.ptr)
    starts, counts = ptr[tids], ptr[tids + 1] - ptr[tids]
    return gather_ranges(starts, counts), counts
