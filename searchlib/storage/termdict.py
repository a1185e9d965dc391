"""The term dictionary of one field of a segment: its sorted terms as plain arrays, safe to open whatever its bytes.

A term's id is its rank in code-point order, which is also the byte order of its UTF-8 encoding.
Three files hold a field's dictionary (components.py names them):

  LEX     the terms in that order, UTF-8, each followed by a newline: one text, so a regular
          expression runs over a whole range of terms in C (wildcards). A term may hold a
          newline itself (a custom TEXT analyzer can make one): it reads back whole, and only
          wildcards, whose `?` and `*` never match a newline, cannot find it;
  LEXOFF  int64[T+1] where each term starts in LEX (and where the last one's newline ends);
  LEXKEY  uint64[T] each term's first 8 bytes, zero-padded, as a big-endian number. Sorting the
          terms sorts their keys, so `np.searchsorted` narrows an exact or prefix lookup to the
          few terms sharing those bytes, which are then compared as bytes.

searchlib 0.1 kept the dictionary in a marisa trie, whose C reader follows the offsets inside the
file: a forged trie (with the manifest re-signed, as whoever controls the directory can do) killed
or hung the interpreter. This reader is numpy arrays and bytes: numpy or an explicit bound checks
every index, every loop is bounded (by the logarithm of the term count), and nothing it allocates
is larger than the files it read. Opening checks the arrays' types and lengths and the offsets'
ends; opening with verification (and `check`) also, vectorised in O(T) (T = the term count of
meta.json), the offsets increasing from 0 to the end of LEX, a newline ending each term, the keys
non-decreasing. A forged dictionary that passes these can give
wrong answers but not fail otherwise, except that a term which is not valid UTF-8 is an
IndexCorruptError when decoded. `check` scans further (`scan_problems`): every term decodes, the
terms strictly increase, and each key is its term's.
"""
from __future__ import annotations

import mmap
import re
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import IndexCorruptError
from .components import Component
from .files import map_file

COMPONENTS = (Component.LEX, Component.LEXOFF, Component.LEXKEY)
KEY_BYTES = 8
_NEWLINE = 0x0A
_SCAN_CHUNK = 1 << 16  # terms decoded at a time by scan_problems
_RECENT_LOOKUPS = 512  # id() answers remembered per dictionary (the memory starts over when full)


@dataclass
class EncodedTerms:
    """A dictionary's terms already encoded (the writer's lexicon gathers them so, indexing/lexicon.py):
    `data` the LEX text, `offsets` LEXOFF, `keys` LEXKEY, as `encode` makes them."""

    data: bytes
    offsets: np.ndarray
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1


def encode(terms: "list[str] | EncodedTerms") -> dict[Component, "bytes | np.ndarray"]:
    """The contents of a dictionary's files, by component, for `terms` (distinct, in code-point order)."""
    if isinstance(terms, EncodedTerms):
        return {Component.LEX: terms.data, Component.LEXOFF: terms.offsets, Component.LEXKEY: terms.keys}
    encoded = [term.encode("utf-8") for term in terms]
    offsets = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) + 1, out=offsets[1:])
    data = b"".join(term + b"\n" for term in encoded)
    return {Component.LEX: data, Component.LEXOFF: offsets,
            Component.LEXKEY: term_keys(np.frombuffer(data, dtype=np.uint8), offsets)}


def term_keys(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The key of each term of a dictionary text `data` with its `offsets`: the term's first
    KEY_BYTES bytes (its newline excluded), zero-padded, as a big-endian uint64."""
    starts = np.asarray(offsets[:-1], dtype=np.int64)
    ends = np.asarray(offsets[1:], dtype=np.int64) - 1
    keys = np.zeros(len(starts), dtype=np.uint64)
    if not len(starts):
        return keys
    for i in range(KEY_BYTES):
        at = starts + i
        byte = np.where(at < ends, data[np.minimum(at, len(data) - 1)], 0).astype(np.uint64)
        keys = (keys << np.uint64(8)) | byte
    return keys


def _key(term: bytes) -> int:
    return int.from_bytes(term[:KEY_BYTES].ljust(KEY_BYTES, b"\0"), "big")


def _utf8(text: str) -> bytes:
    """`text` as UTF-8 for comparing with terms; a lone surrogate (which no term holds) is encoded
    as its code point would be, so the order stays code-point order."""
    return text.encode("utf-8", "surrogatepass")


class TermDictionary:
    """A field's terms in one segment; a term's id is its rank. The interface:

    len(d)                      the number of terms
    d.id(term)                  its id, or -1 when the segment does not hold it
    d.term(tid)                 the term of id `tid` (0 <= tid < len(d))
    d.terms_of(tids)            the terms of many ids (None for -1)
    d.terms(lo, hi)             the terms of ids lo..hi-1, in order
    d.prefix_range(prefix)      (lo, hi): the ids of the terms starting with `prefix` are lo..hi-1
    d.range(low, high, ...)     (lo, hi) of the terms between two bounds
    d.matching(regex, lo, hi)   the terms of ids lo..hi-1 a regular expression matches whole, and their ids
    """

    def __init__(self, data: "bytes | mmap.mmap", offsets: np.ndarray, keys: np.ndarray, count: int,
                 paths: "dict[Component, str] | None" = None, full: bool = True):
        """A dictionary over its term text `data`, offsets and keys, checked against each other
        and meta.json's term `count`; an IndexCorruptError names the file at fault (`paths`).
        The checks that read every offset and key (O(T)) run with `full` only: a searcher opened
        without verification checks the arrays' types, lengths and ends (O(1)); every read is
        bounds-checked either way."""
        self._paths = paths or {c: c.file("<memory>") for c in COMPONENTS}
        self.path = self._paths[Component.LEX]
        self._refuse(_array_problem(offsets, np.int64, count + 1, "offsets"), Component.LEXOFF)
        self._refuse(_array_problem(keys, np.uint64, count, "keys"), Component.LEXKEY)
        self._bytes = data
        self.data = np.frombuffer(data, dtype=np.uint8)
        if int(offsets[0]) != 0 or int(offsets[-1]) != len(self.data) or (full and np.any(offsets[1:] <= offsets[:-1])):
            self._refuse(f"offsets do not run up from 0 to the {len(self.data)} bytes of the term text "
                         "(a term and its newline at least a byte each)", Component.LEXOFF)
        if count and full and np.any(self.data[offsets[1:] - 1] != _NEWLINE):
            if np.count_nonzero(self.data == _NEWLINE) == count:  # the text has its newlines: the offsets miss them
                self._refuse("offsets do not end each term at its newline", Component.LEXOFF)
            self._refuse("a term is not followed by a newline", Component.LEX)
        if full and np.any(keys[1:] < keys[:-1]):
            self._refuse("keys are not in ascending order", Component.LEXKEY)
        self.offsets, self.keys, self.count = offsets, keys, count
        # Python-level views for single lookups: an item is a Python int, with none of the cost of
        # a numpy scalar, and the bisect module searches them in C
        self._offset_view = memoryview(np.ascontiguousarray(offsets))
        self._key_view = memoryview(np.ascontiguousarray(keys))
        self._recent: dict[str, int] = {}  # term -> id, for id()
        self._text: str | None = None  # the whole dictionary, decoded once when first needed
        self._text_starts: np.ndarray | None = None

    @classmethod
    def open(cls, directory: Path, field: str, size: int, offsets: np.ndarray, keys: np.ndarray,
             count: int, full: bool = True, text: "bytes | mmap.mmap | None" = None) -> "TermDictionary":
        """The dictionary of `field` in a segment directory: its term text (`size` bytes, checked
        by the caller) memory-mapped, or `text` when the caller mapped it, with the offsets and
        keys loaded from their files; `full`: see __init__."""
        paths = {c: str(directory / c.file(field)) for c in COMPONENTS}
        return cls(_map(Path(paths[Component.LEX]), size) if text is None else text, offsets, keys, count, paths, full)

    @classmethod
    def of(cls, terms: list[str]) -> "TermDictionary":
        """A dictionary in memory of `terms` (distinct, in code-point order), as encode() writes it."""
        files = encode(terms)
        return cls(files[Component.LEX], files[Component.LEXOFF], files[Component.LEXKEY], len(terms))

    def _refuse(self, problem: str | None, component: Component) -> None:
        if problem is not None:
            raise IndexCorruptError(self._paths[component], problem)

    def __len__(self) -> int:
        return self.count

    # -- bytes and text -------------------------------------------------------------------------
    def _line(self, tid: int) -> bytes:
        """The UTF-8 bytes of term `tid` (no newline)."""
        offsets = self._offset_view
        return self._bytes[offsets[tid]:offsets[tid + 1] - 1]

    def _decode(self, data: bytes, what: str) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IndexCorruptError(self.path, f"{what} not valid UTF-8 ({exc.reason})") from None

    def term(self, tid: int) -> str:
        """The term of id `tid`; IndexError outside 0..len-1."""
        if not 0 <= tid < self.count:
            raise IndexError(f"term id {tid} out of range for {self.count} terms")
        offsets = self._offset_view
        try:
            return self._bytes[offsets[tid]:offsets[tid + 1] - 1].decode("utf-8")
        except UnicodeDecodeError:
            return self._decode(self._line(tid), f"term {tid} is")  # raises, naming the file

    def terms_of(self, tids: "Iterable[int]") -> "list[str | None]":
        """The term of each id of `tids`, None for a negative one (unit_terms' "no term")."""
        offsets, data = self._offset_view, self._bytes
        try:
            return [data[offsets[tid]:offsets[tid + 1] - 1].decode("utf-8") if tid >= 0 else None for tid in tids]
        except UnicodeDecodeError:
            return [self.term(tid) if tid >= 0 else None for tid in tids]  # raises, naming the file and term

    def text(self, lo: int = 0, hi: int | None = None) -> str:
        """The terms of ids lo..hi-1 (all by default), one per line (no newline after the last)."""
        lo, hi = self._clamp(lo, hi)
        if (lo, hi) == (0, self.count):
            if self._text is None:
                self._text = self._slice_text(lo, hi)
            return self._text
        return self._slice_text(lo, hi)

    def _slice_text(self, lo: int, hi: int) -> str:
        if lo == hi:
            return ""
        return self._decode(self._bytes[int(self.offsets[lo]):int(self.offsets[hi]) - 1], f"terms {lo}..{hi - 1} are")

    def _clamp(self, lo: int, hi: int | None) -> tuple[int, int]:
        hi = self.count if hi is None else min(max(int(hi), 0), self.count)
        return min(max(int(lo), 0), hi), hi

    def terms(self, lo: int = 0, hi: int | None = None) -> list[str]:
        """The terms of ids lo..hi-1 (all by default), in order."""
        lo, hi = self._clamp(lo, hi)
        if lo == hi:
            return []
        found = self.text(lo, hi).split("\n")
        if len(found) != hi - lo:  # a term holds a newline: decode term by term
            found = [self.term(tid) for tid in range(lo, hi)]
        return found

    def _starts(self, lo: int, hi: int) -> np.ndarray:
        """Where each term of ids lo..hi-1 starts in text(lo, hi), in characters, and (last) the
        text's length plus one, as if a newline followed it."""
        if (lo, hi) == (0, self.count) and self._text_starts is not None:
            return self._text_starts
        byte_starts = np.asarray(self.offsets[lo:hi + 1], dtype=np.int64) - int(self.offsets[lo])
        part = self.data[int(self.offsets[lo]):int(self.offsets[hi])]
        # a character starts at every byte but UTF-8 continuation bytes (0b10xxxxxx)
        continuation = np.zeros(len(part) + 1, dtype=np.int64)
        np.cumsum((part & 0xC0) == 0x80, out=continuation[1:])
        starts = byte_starts - continuation[byte_starts]
        if (lo, hi) == (0, self.count):
            self._text_starts = starts
        return starts

    # -- lookups --------------------------------------------------------------------------------
    def _rank(self, term: bytes) -> int:
        """How many terms sort before `term` (compared as UTF-8 bytes)."""
        keys, key = self._key_view, _key(term)
        lo = bisect_left(keys, key)
        if lo == self.count or keys[lo] != key or self._line(lo) >= term:
            return lo  # (usually no other term shares the key)
        return self._rank_after(term, key, lo)

    def _rank_after(self, term: bytes, key: int, lo: int) -> int:
        """_rank(term) when term `lo` has the same key and sorts before `term`: the rank among the
        terms after it that share the key, by galloping then bisecting (a term sorts before
        `term` while its key is `key` and its bytes are smaller; every later key is larger), so at
        most 2 * log2(count) terms are compared."""
        keys, count, line = self._key_view, self.count, self._line
        step, hi = 1, lo + 1
        while hi < count and keys[hi] == key and line(hi) < term:
            lo, step = hi, step * 2
            hi = lo + step
        lo, hi = lo + 1, min(hi, count)
        while lo < hi:
            mid = (lo + hi) // 2
            if keys[mid] == key and line(mid) < term:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def id(self, term: str) -> int:
        """The id of `term`, or -1 when the segment does not hold it. The last few hundred
        answers are remembered: query words repeat, and a lookup costs ~0.7 us (a binary search
        in Python, where marisa's was ~0.15 us in C), a remembered one ~0.1 us."""
        tid = self._recent.get(term)
        if tid is None:
            tid = self._find(term)
            if len(self._recent) >= _RECENT_LOOKUPS:
                self._recent.clear()
            self._recent[term] = tid
        return tid

    def _find(self, term: str) -> int:
        encoded = term.encode("utf-8", "surrogatepass")  # (_utf8 and _key inlined: a hot path)
        key = int.from_bytes(encoded[:KEY_BYTES].ljust(KEY_BYTES, b"\0"), "big")
        keys = self._key_view
        tid = bisect_left(keys, key)
        if tid == self.count or keys[tid] != key:
            return -1
        offsets = self._offset_view
        line = self._bytes[offsets[tid]:offsets[tid + 1] - 1]
        if line < encoded:  # another term shares the key: find the place of this one among them
            tid = self._rank_after(encoded, key, tid)
            line = self._line(tid) if tid < self.count else None
        return tid if line == encoded else -1

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """(lo, hi): the terms starting with `prefix` have ids lo..hi-1."""
        encoded = _utf8(prefix)
        if not encoded:
            return 0, self.count
        lo = self._rank(encoded)
        # the terms with the prefix sort before the prefix with its last byte raised (bytes of
        # UTF-8 stop at 0xF4, so raising never overflows unless the prefix was no UTF-8 at all)
        head = encoded.rstrip(b"\xff")
        hi = self._rank(head[:-1] + bytes([head[-1] + 1])) if head else self.count
        return lo, max(lo, hi)

    def range(self, low: str | None, high: str | None, include_low: bool = True,
              include_high: bool = True) -> tuple[int, int]:
        """(lo, hi): the terms between `low` and `high` in code-point order (None: an open end;
        an end not included is strict) have ids lo..hi-1. A term followed by NUL is the first
        string after it, so "up to and including x" is "before x + NUL"."""
        lo = 0 if low is None else self._rank(_utf8(low) + (b"" if include_low else b"\0"))
        hi = self.count if high is None else self._rank(_utf8(high) + (b"\0" if include_high else b""))
        return lo, max(lo, hi)

    def matching(self, pattern: "re.Pattern[str]", lo: int = 0, hi: int | None = None
                 ) -> tuple[list[str], np.ndarray]:
        """The terms of ids lo..hi-1 that `pattern` (compiled with re.MULTILINE, anchored with
        ^ and $) matches whole, and their ids: one scan of text(lo, hi) in C, then the ids from
        where the matches start."""
        lo, hi = self._clamp(lo, hi)
        if lo == hi:
            return [], np.zeros(0, dtype=np.int64)
        found = list(pattern.finditer(self.text(lo, hi)))
        if not found:
            return [], np.zeros(0, dtype=np.int64)
        starts = np.fromiter(map(re.Match.start, found), dtype=np.int64, count=len(found))
        ends = np.fromiter(map(re.Match.end, found), dtype=np.int64, count=len(found))
        bounds = self._starts(lo, hi)
        index = np.searchsorted(bounds, starts, "right") - 1
        whole = np.flatnonzero((bounds[index] == starts) & (bounds[index + 1] - 1 == ends))
        return [found[i].group() for i in whole.tolist()], lo + index[whole]

    # -- check ----------------------------------------------------------------------------------
    def scan_problems(self) -> list[tuple[Component, str]]:
        """What opening does not look for (it would cost a pass decoding every term): a term that
        is not UTF-8, terms not strictly increasing, a key not its term's. (component, message)
        pairs, at most one per component."""
        found: list[tuple[Component, str]] = []
        if not np.array_equal(self.keys, term_keys(self.data, self.offsets)):
            found.append((Component.LEXKEY, "keys differ from the terms' first bytes"))
        previous: list[str] = []  # the last term of the chunk before
        for lo in range(0, self.count, _SCAN_CHUNK):
            try:
                ordered = previous + self.terms(lo, lo + _SCAN_CHUNK)
            except IndexCorruptError as exc:
                found.append((Component.LEX, exc.message))
                break
            if not all(map(str.__lt__, ordered, ordered[1:])):
                first = next(i for i, pair in enumerate(zip(ordered, ordered[1:])) if not pair[0] < pair[1])
                found.append((Component.LEX, f"terms are not in code-point order at term "
                                             f"{lo - len(previous) + first + 1}"))
                break
            previous = ordered[-1:]
        return found


def _map(path: Path, size: int) -> "bytes | mmap.mmap":
    """The `size` bytes of the file at `path`, memory-mapped (files.map_file: never through a link;
    an empty file cannot be mapped), read at random: a lookup reads a page or two of it, and a
    fault should read those, not the megabytes around them (files.FileMap)."""
    return map_file(path, size, random=True)


def _array_problem(array: np.ndarray, dtype, length: int, what: str) -> str | None:
    if array.dtype != dtype or array.ndim != 1:
        return f"holds {array.dtype} with {array.ndim} dimensions, expected one of {np.dtype(dtype)}"
    if len(array) != length:
        return f"has {len(array)} {what}, meta.json's term count calls for {length}"
    return None
