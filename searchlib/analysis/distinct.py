"""The distinct words of a batch's tokens, found with numpy: a Python string per distinct word,
not per token.

A token's code units (`BatchTokens.units`: one per character, never 0 inside a token), zero-padded
to whole 64-bit columns, are an exact key for its word within the batch: two tokens with the same
number of columns have the same key exactly when they have the same characters (no hash, nothing
can collide). Tokens are grouped by that number (1 to MAX_COLUMNS), each group is sorted once
(radix passes of plain integer sorts) to number its distinct keys, and the words are
listed in the order of their first occurrence in the batch, so looking them up in that order
numbers new words exactly as a token-by-token pass would. Longer tokens, and every token of a
batch without units, are sliced as strings one by one (a dict does their grouping).
"""
from __future__ import annotations

import numpy as np

from .spans import PADDING, BatchTokens

MAX_COLUMNS = 4  # keys of up to 32 bytes; longer tokens go through a dict as strings
assert 8 * MAX_COLUMNS <= PADDING  # the bytes a key reads past a token's start are in the units
_LOW, _HIGH = np.uint64(0xFFFF_FFFF), np.uint64(0xFFFF_FFFF_0000_0000)
_MASKS = np.array([(1 << 8 * k) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)  # low k bytes


def _sorted_order(keys: np.ndarray) -> np.ndarray:
    """The stable order (int64) of the rows of a (n, columns) uint64 array, by their columns in
    turn. A least-significant-first radix pass per 32-bit half of a column: the half is sorted by
    value with the row's current place in the low bits (a plain sort of integers, several times
    faster than an argsort or a lexsort); n is below 2**32 (a batch's tokens)."""
    place = np.arange(len(keys), dtype=np.uint64)
    order = None
    for j in reversed(range(keys.shape[1])):
        for low in (True, False):
            packed = keys[:, j].copy() if order is None else keys[order, j]
            if low:
                packed <<= np.uint64(32)  # the low half, moved up
            else:
                packed &= _HIGH
            packed |= place
            packed.sort()
            packed &= _LOW
            step = packed.view(np.int64)
            order = step if order is None else order[step]
    return order


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inverse, first) of the rows of a (n, columns) uint64 array: each row's distinct-row
    number (int32), and the first row of each distinct row (in the numbers' order)."""
    order = _sorted_order(keys)
    ordered = keys[order]
    new = np.ones(len(keys), dtype=bool)
    np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
    del ordered
    number = np.cumsum(new, dtype=np.int32)
    number -= 1
    inverse = np.empty(len(keys), dtype=np.int32)
    inverse[order] = number
    return inverse, order[new]  # stable: a distinct row's first place in the order is its first row


def _keys(octets: np.ndarray, begin: np.ndarray, size: np.ndarray, columns: int) -> np.ndarray:
    """(tokens, columns) uint64: the `size` bytes of each token's units from byte `begin`, read 8
    at a time (`octets[i]`: the 8 bytes from byte i, little-endian), zero past its end."""
    keys = np.empty((len(begin), columns), dtype=np.uint64)
    for j in range(columns):
        np.bitwise_and(octets[begin + 8 * j if j else begin], _MASKS[np.minimum(size - 8 * j, 8)], out=keys[:, j])
    return keys


def _string_groups(text: str, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_unique_rows` for tokens compared as strings (one Python object per token)."""
    words = [text[s:e] for s, e in zip(starts.tolist(), ends.tolist())]
    first: dict[str, int] = {}
    for i, word in enumerate(words):
        first.setdefault(word, i)
    number = {word: k for k, word in enumerate(first)}
    inverse = np.fromiter(map(number.__getitem__, words), dtype=np.int32, count=len(words))
    return inverse, np.fromiter(first.values(), dtype=np.intp, count=len(first))


def distinct_words(batch: BatchTokens) -> tuple[list[str], np.ndarray]:
    """(words, which): the distinct words of the batch's tokens, in the order of their first
    occurrence, and for each token the index of its word in `words` (int32)."""
    starts, ends = batch.starts, batch.ends
    lengths = ends - starts
    if batch.units is None:  # every token a string
        columns, width, octets = np.full(len(starts), MAX_COLUMNS + 1, dtype=np.uint8), 0, None
    else:
        width = batch.units.itemsize
        columns = np.minimum((lengths * width + 7) >> 3, MAX_COLUMNS + 1).astype(np.uint8)
        raw = batch.units.view(np.uint8)  # ends with PADDING units: any key's bytes are inside
        octets = np.ndarray((len(raw) - 7,), dtype="<u8", buffer=raw, strides=(1,))  # unaligned
    groups = []  # (member tokens, their distinct-word numbers in the group, each number's first token)
    for c in range(1, MAX_COLUMNS + 2):
        members = np.flatnonzero(columns == c)
        if not len(members):
            continue
        if c <= MAX_COLUMNS:
            begin, size = starts[members], lengths[members]
            if width > 1:
                begin *= width
                size *= width
            inverse, first = _unique_rows(_keys(octets, begin, size, c))
        else:
            inverse, first = _string_groups(batch.text, starts[members], ends[members])
        groups.append((members, inverse, members[first]))
    if not groups:
        return [], np.zeros(0, dtype=np.int32)
    firsts = np.concatenate([g[2] for g in groups])
    order = np.argsort(firsts)  # distinct words by first occurrence (each token is the first of at most one)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    which = np.empty(len(starts), dtype=np.int32)
    done = 0
    for members, inverse, first in groups:
        which[members] = rank[done + inverse]
        done += len(first)
    at = firsts[order]
    text = batch.text
    return [text[s:e] for s, e in zip(starts[at].tolist(), ends[at].tolist())], which
