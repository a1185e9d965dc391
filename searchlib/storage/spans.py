"""Token spans in about one byte per token position: the character start and end of every token
position of a TEXT field with offsets, as format 7 writes them (OFFS uint8[N], OFFX int64[3, E],
OFFK uint32[ceil(N / STRIDE)]).

A position's code holds, in its top GAP_BITS bits, the gap from the end of the position before it
in the same unit (for a unit's first position: from the unit's base, 0 or its passage's start in a
split field) and, in its low LENGTH_BITS bits, the token's length. A gap or a length that does
not fit (or a negative gap: tokens that overlap, as CJK bigrams do) is escaped -- its part of the
code is all ones -- and the position's exact gap and length are listed in the exceptions, whose
three rows are the escaped positions (ascending), their gaps and their lengths. Text in words
separated by one or two characters needs few exceptions (SciFact: 0.01 % of positions; the scale
benchmark's corpus: none). Every STRIDE-th position of the whole array has a checkpoint: where
its gap counts from (the end of the position before it, or its unit's base). So spans take 1.125
bytes per position instead of two uint32 (8 bytes).

A unit's positions are sliced by its offset pointers as before. The span of a position is the
sum of the codes between its checkpoint (or its unit's start, when after that) and it: at most
STRIDE - 1 codes, for any number of positions at once in a fixed number of array operations
(SpanReader). Decoding whole units (decode: the checkpoints, the fallback below, `check`) is a
running sum over their rows alone. Nothing else of the array is read or widened. When a field's
spans would take more bytes this way (escapes cost 24 bytes each: most positions escaped), it is
written as before, uint32[N, 2] (`packed_pays`), which format 6 wrote and readers still read.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .arrays import chunks, gather_ranges

GAP_BITS, LENGTH_BITS = 3, 5
GAP_ESCAPE = (1 << GAP_BITS) - 1  # 7: gaps 0..6 fit
LENGTH_ESCAPE = (1 << LENGTH_BITS) - 1  # 31: lengths 0..30 fit
MAX_SPAN = 2**32  # spans end below it (format 6 wrote them as uint32)
CHUNK = 1 << 20  # positions encoded or checked at a time
STRIDE = 32  # a checkpoint every STRIDE positions of the whole array (a power of 2)
# each code's gap, length, gap + length, and whether it is escaped
_CODES = np.arange(256, dtype=np.int64)
GAP_OF, LENGTH_OF = _CODES >> LENGTH_BITS, _CODES & LENGTH_ESCAPE
STEP_OF = GAP_OF + LENGTH_OF
ESCAPED = (GAP_OF == GAP_ESCAPE) | (LENGTH_OF == LENGTH_ESCAPE)


class SpanError(ValueError):
    """Codes and exceptions that do not decode to spans (a damaged or forged file)."""


def encode(starts: np.ndarray, ends: np.ndarray, counts: np.ndarray, base: "np.ndarray | None" = None,
           row0: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes uint8[n], exceptions int64[3, e], checkpoints uint32) of the spans
    starts[i]..ends[i] of consecutive units holding `counts` positions each (`base`: each unit's
    base, None for 0); these positions start at row `row0` of the whole array (exceptions are
    numbered from it; the checkpoints are those of the rows on the STRIDE grid)."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - starts
    counts = np.asarray(counts, dtype=np.int64)
    gaps = starts.copy()
    gaps[1:] -= starts[:-1] + lengths[:-1]  # from the end of the position before
    firsts = (np.cumsum(counts) - counts)[counts > 0]
    gaps[firsts] = starts[firsts] - (0 if base is None else np.asarray(base, dtype=np.int64)[counts > 0])
    gap_esc = (gaps < 0) | (gaps >= GAP_ESCAPE)
    length_esc = (lengths < 0) | (lengths >= LENGTH_ESCAPE)
    codes = (np.where(gap_esc, GAP_ESCAPE, gaps) << LENGTH_BITS) | np.where(length_esc, LENGTH_ESCAPE, lengths)
    rows = np.flatnonzero(gap_esc | length_esc)
    exceptions = np.stack([rows + row0, gaps[rows], lengths[rows]]) if len(rows) else np.zeros((3, 0), np.int64)
    on_grid = slice(-row0 % STRIDE, None, STRIDE)
    return codes.astype(np.uint8), exceptions, (starts[on_grid] - gaps[on_grid]).astype(np.uint32)


def join_exceptions(parts: "list[np.ndarray]") -> np.ndarray:
    return np.concatenate(parts, axis=1) if parts else np.zeros((3, 0), np.int64)


def packed_pays(positions: int, exceptions: int) -> bool:
    """Whether codes and exceptions take fewer bytes than two uint32 per position."""
    return positions + 24 * exceptions <= 8 * positions


def decode(codes: np.ndarray, exceptions: np.ndarray, ptr: np.ndarray, base: "np.ndarray | None",
           units: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) int64 of the first counts[i] positions of each of `units`, concatenated;
    counts[i] must not exceed the unit's positions. Raises SpanError for an escaped code without
    its exception, or a span that does not decode to 0 <= start <= end < MAX_SPAN."""
    units = np.asarray(units, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    rows = gather_ranges(np.asarray(ptr[units], dtype=np.int64), counts)
    if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= len(codes)):
        raise SpanError("offset pointers reach past the token spans")
    gaps, lengths = _exact(np.asarray(codes), exceptions, rows)
    steps = gaps
    steps[1:] += lengths[:-1]
    nonempty = counts > 0
    firsts = (np.cumsum(counts) - counts)[nonempty]
    # a unit's first step is its gap from the base, not from the end of another unit's position
    if len(firsts):
        before = np.zeros(len(firsts), dtype=np.int64)
        later = firsts > 0
        before[later] = lengths[firsts[later] - 1]
        steps[firsts] -= before
        if base is not None:
            steps[firsts] += np.asarray(base, dtype=np.int64)[units[nonempty]]
    starts = np.cumsum(steps)
    if len(firsts):
        starts -= np.repeat(starts[firsts] - steps[firsts], counts[nonempty])
    ends = starts + lengths
    if len(starts) and (int(starts.min()) < 0 or int(lengths.min()) < 0 or int(ends.max()) >= MAX_SPAN):
        raise SpanError("a token span decodes to a negative or out-of-range character offset")
    return starts, ends


def checkpoints(codes: np.ndarray, exceptions: np.ndarray, ptr: np.ndarray, base: "np.ndarray | None") -> np.ndarray:
    """uint32 (ceil(N / STRIDE),): for every STRIDE-th position of the whole array, where its gap
    counts from (the end of the position before it in its unit, or the unit's base), so that a
    position's span is summed from at most STRIDE - 1 codes before it (SpanReader); decoded CHUNK
    positions at a time."""
    ptr = np.asarray(ptr, dtype=np.int64)
    out = np.zeros(-(-len(codes) // STRIDE), dtype=np.uint32)
    for u1, u2 in chunks(ptr, CHUNK):
        a, b = int(ptr[u1]), int(ptr[u2])
        starts, ends = decode(codes, exceptions, ptr, base, np.arange(u1, u2), np.diff(ptr[u1:u2 + 1]))
        rows = np.arange(a + -a % STRIDE, b, STRIDE)
        unit = np.searchsorted(ptr, rows, side="right") - 1
        opens = ptr[unit] == rows  # the first position of its unit: from the base
        found = np.where(opens, 0, ends[np.maximum(rows - a - 1, 0)])
        if base is not None:
            found[opens] = np.asarray(base, dtype=np.int64)[unit[opens]]
        out[rows // STRIDE] = found
    return out


class SpanReader:
    """The spans of positions of a field's units from its codes, exceptions and checkpoints, for
    any number of positions at once: each is summed from the nearest checkpoint at or before it,
    or from its unit's base when its unit starts after that -- at most STRIDE - 1 codes each, read
    as rows of a sliding view (a copy of STRIDE bytes per position), in a fixed number of array
    operations whatever the units' lengths. The arrays are numpy arrays (memory-mapped or not):
    `base` int64, or None."""

    def __init__(self, codes: np.ndarray, exceptions: np.ndarray, marks: np.ndarray, ptr: np.ndarray,
                 base: "np.ndarray | None"):
        self.codes, self.exceptions, self.marks, self.ptr, self.base = codes, exceptions, marks, ptr, base
        n = len(codes)
        self._windows = sliding_window_view(codes, STRIDE) if n >= STRIDE else np.zeros((0, STRIDE), np.uint8)
        self._tail0 = max(n - STRIDE, 0)  # windows from here on reach past the end: from a padded copy
        tail = np.zeros(2 * STRIDE, dtype=np.uint8)
        tail[:n - self._tail0] = codes[self._tail0:]
        self._tail = sliding_window_view(tail, STRIDE)

    def at(self, units: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) int64 of position positions[i] (int64 >= 0) of unit units[i] (int64,
        each below its unit's count). Raises SpanError for pointers past the codes, an escaped code
        without its exception, or a negative span. (Checkpoints and escapes being bounded, a span
        ends below 2**32 + 31 * 36 whatever the files hold.)"""
        first = self.ptr[units]
        rows = first + positions
        n = len(rows)
        if not n:
            return rows, rows.copy()
        last = int(rows.max())
        if int(first.min()) < 0 or last >= len(self.codes):
            raise SpanError("offset pointers reach past the token spans")
        grid = rows & -STRIDE
        origin = np.maximum(first, grid)  # the checkpoint, or the unit's start when after it
        if last <= self._tail0 and len(self._windows):
            window = self._windows[origin]
        else:
            window = np.empty((n, STRIDE), dtype=np.uint8)
            end = origin > self._tail0 if len(self._windows) else np.ones(n, dtype=bool)
            window[~end] = self._windows[origin[~end]]
            window[end] = self._tail[origin[end] - self._tail0]
        flat = window.ravel()
        step = _STEP[flat]  # gap + length of each code (at most 37), _ESCAPE_STEP where escaped
        running = np.empty(len(flat) + 1, dtype=np.int32)  # (at most 37 * STRIDE per position)
        running[0] = 0
        np.cumsum(step, out=running[1:])
        row_start = _ROW_START[:n] if n <= len(_ROW_START) else np.arange(0, len(flat), STRIDE)
        at = row_start + (rows - origin)
        summed = running[at] - running[row_start]  # the steps before the position, from its origin
        gap_length = _GAP_LENGTH[flat[at]]
        if int(step.max()) == _ESCAPE_STEP:  # the positions with an escaped code at or before them: exactly
            summed, gap_length = self._escaped(window, origin, rows, summed.astype(np.int64), gap_length)
        if self.base is None:
            counted_from = np.where(first > grid, 0, self.marks[grid >> _STRIDE_BITS])
        else:
            counted_from = np.where(first > grid, self.base[units], self.marks[grid >> _STRIDE_BITS])
        starts = counted_from + summed
        starts += gap_length[:, 0]
        if int(starts.min()) < 0:  # (escaped gaps may be negative; a forged base)
            raise SpanError("a token span decodes to a negative character offset")
        return starts, starts + gap_length[:, 1]

    def _escaped(self, window: np.ndarray, origin: np.ndarray, rows: np.ndarray, summed: np.ndarray,
                 gap_length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`at`'s sums and (gap, length) with the positions that meet an escaped code at or
        before them recomputed from the exceptions."""
        escaped = _STEP[window] == _ESCAPE_STEP
        ahead = rows - origin
        which = np.flatnonzero(escaped.any(axis=1) & (escaped.argmax(axis=1) <= ahead))
        if len(which):
            near = np.minimum(origin[which, None] + _AHEAD, rows[which, None])
            gaps, lengths = _exact(np.asarray(self.codes), self.exceptions, near)
            gap, length = gaps[:, -1], lengths[:, -1]
            gap_length[which, 0], gap_length[which, 1] = gap, length
            summed[which] = (gaps + lengths).sum(axis=1) - (STRIDE - ahead[which]) * (gap + length)
            if int(length.min()) < 0 or int((summed[which] + gap).max()) >= MAX_SPAN:
                raise SpanError("a token span decodes to a negative or out-of-range length")
        return summed, gap_length


_ESCAPE_STEP = 255
_STEP = np.where(ESCAPED, _ESCAPE_STEP, STEP_OF).astype(np.uint8)
_GAP_LENGTH = np.stack([GAP_OF, LENGTH_OF], axis=1)  # int64 (256, 2)
_ROW_START = np.arange(0, 1024 * STRIDE, STRIDE)
_AHEAD = np.arange(STRIDE)
_STRIDE_BITS = STRIDE.bit_length() - 1


def _exact(codes: np.ndarray, exceptions: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gaps, lengths) int64 of `rows` (any shape), escaped ones from the exceptions."""
    code = codes[rows]
    gaps, lengths = GAP_OF[code], LENGTH_OF[code]
    at = np.flatnonzero(ESCAPED[code].ravel())
    if len(at):
        wanted = rows.ravel()[at]
        listed = exceptions[0]
        found = np.minimum(np.searchsorted(listed, wanted), max(len(listed) - 1, 0))
        if not len(listed) or np.any(np.asarray(listed[found]) != wanted):
            raise SpanError("an escaped span has no exception")
        xgap, xlength = np.asarray(exceptions[1][found]), np.asarray(exceptions[2][found])
        if np.any(np.abs(xgap) >= MAX_SPAN) or np.any(xlength >= MAX_SPAN) or np.any(xlength < 0):
            raise SpanError("an exception's gap or length is out of range")
        gaps.ravel()[at], lengths.ravel()[at] = xgap, xlength
    return gaps, lengths
