"""Dictionary expansion: the index terms a prefix, wildcard, fuzzy or text-range query stands for.

A prefix, wildcard or fuzzy query is expanded once per search over every segment's dictionary of
its field; the union of the terms found is then scored like an OR of ordinary terms, each with its
index-wide document frequency. A term's id is its rank in the segment's dictionary
(storage/termdict.py), so the terms with a prefix are one range of ids, found by two binary
searches. The scanning happens in C: a wildcard is one regular expression run over the
newline-separated terms (only those with the pattern's literal prefix, so only a leading wildcard
ever reads the whole dictionary), built so that it runs in time linear in the length of each term
(see wildcard_regex); fuzzy candidates share the query's first `prefix_length` characters and are
measured with rapidfuzz's optimal string alignment distance (a swap of two adjacent characters is
one edit). No Python code runs per dictionary term.

Caps keep a runaway query cheap: at most `max_expansions` terms are kept (1024 for prefix and
wildcard, the most frequent first; 50 for fuzzy, the closest first, then the most frequent). The
Expansion records how many terms matched, so the searcher can warn that the cap was hit.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..errors import InvalidArgumentError
from ..storage.segment import FieldReader, SegmentReader

DEFAULT_MAX_EXPANSIONS = {"prefix": 1024, "wildcard": 1024, "fuzzy": 50}
_CACHE_LIMIT = 512  # expansions remembered per searcher (its snapshot never changes)


class ExpansionLimitWarning(UserWarning):
    """A prefix, wildcard or fuzzy query matched more terms than its cap; only the best were searched."""


@dataclass(frozen=True)
class Expansion:
    """The terms a multi-term query expanded to in one field, with index-wide statistics.

    `segment_ids[s][i]` is the id of `terms[i]` in segment s (-1 where the segment lacks it), so
    evaluation never looks a term up again; `candidates` counts the terms that matched before
    the cap of `limit` was applied.
    """

    field: str
    kind: str
    text: str
    terms: tuple[str, ...]
    doc_freq: np.ndarray
    segment_ids: tuple[np.ndarray, ...]
    candidates: int
    limit: int

    @property
    def truncated(self) -> bool:
        return self.candidates > len(self.terms)

    def message(self) -> str:
        """What a user reads when the cap was hit."""
        kept = "closest, then most frequent" if self.kind == "fuzzy" else "most frequent"
        return (f"{self.kind} query {self.text!r} on field {self.field!r} matches {self.candidates} terms; "
                f"only the {len(self.terms)} {kept} were searched (max_expansions={self.limit})")


def wildcard_regex(pattern: str) -> "re.Pattern[str]":
    """A regex matching whole lines of a newline-separated term list that fit `pattern`
    (`?` one character, `*` any run, everything else literal), for TermDictionary.matching.

    The plain translation (`*` to `.*`) backtracks: `^.*a.*a.*a.*a.*a.*b$` tries every way of
    placing the a's, so one 200-letter term held a search for minutes. Instead the pattern is cut
    at its stars into fixed-length pieces, `head*mid1*...*midN*tail`, and matched the classic
    linear way: the head at the start, each middle piece at its leftmost place after the previous
    one, the tail at the end. Leftmost is never wrong: it leaves the most room for what follows.
    Each middle piece is found in a lookahead (which the engine never re-enters) and then
    consumed with a back-reference, so a failure never retries an earlier piece elsewhere.
    A pattern with at most one middle-or-tail piece keeps the plain translation, which cannot
    backtrack more than once over a term and is the faster of the two there.
    """
    pieces = ["".join("." if c == "?" else re.escape(c) for c in piece) for piece in re.split(r"\*+", pattern)]
    middle, tail = pieces[1:-1], pieces[-1]
    if len(pieces) == 1 or len(middle) + bool(tail) <= 1:
        return re.compile("^" + ".*".join(pieces) + "$", re.MULTILINE)
    found = "".join(f"(?=(?P<p{i}>.*?{piece}))(?P=p{i})" for i, piece in enumerate(middle))
    return re.compile(f"^{pieces[0]}{found}.*{tail}$", re.MULTILINE)


def literal_prefix(pattern: str) -> str:
    """The characters of a wildcard pattern before its first `?` or `*`."""
    return re.split(r"[?*]", pattern, maxsplit=1)[0]


def term_range_ids(fr: FieldReader, low: str | None, high: str | None, include_low: bool = True,
                   include_high: bool = True) -> np.ndarray:
    """Ids of the field's terms between `low` and `high` in code-point order (None: open end),
    found by two binary searches over the dictionary: no term is decoded in between."""
    start, end = fr.dictionary.range(low, high, include_low, include_high)
    return np.arange(start, end, dtype=np.int64)


def _prefix_terms(fr: FieldReader, prefix: str) -> tuple[list[str], np.ndarray]:
    lo, hi = fr.dictionary.prefix_range(prefix)
    return fr.dictionary.terms(lo, hi), np.arange(lo, hi, dtype=np.int64)


def _wildcard_terms(fr: FieldReader, pattern: str) -> tuple[list[str], np.ndarray]:
    # With a leading wildcard, one regex pass over the whole dictionary.
    lo, hi = fr.dictionary.prefix_range(literal_prefix(pattern))
    return fr.dictionary.matching(wildcard_regex(pattern), lo, hi)


def _fuzzy_terms(fr: FieldReader, text: str, max_dist: int, prefix_length: int
                 ) -> tuple[list[str], np.ndarray, np.ndarray]:
    lo, hi = fr.dictionary.prefix_range(text[:prefix_length])
    candidates = fr.dictionary.terms(lo, hi)
    lengths = np.fromiter(map(len, candidates), dtype=np.int64, count=len(candidates))
    near = np.flatnonzero(np.abs(lengths - len(text)) <= max_dist)  # more edits than that otherwise
    if not len(near):
        return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if len(near) < len(candidates):
        candidates = list(map(candidates.__getitem__, near.tolist()))
    dist = process.cdist([text], candidates, scorer=OSA.distance, score_cutoff=max_dist,
                         dtype=np.int32, workers=1)[0]
    keep = np.flatnonzero(dist <= max_dist)
    return [candidates[i] for i in keep], lo + near[keep], dist[keep].astype(np.int64)


class Expander:
    """Expands multi-term queries over a fixed list of segments, remembering recent expansions."""

    def __init__(self, readers: list[SegmentReader]):
        self.readers = readers
        self._cache: dict[tuple, Expansion] = {}

    def expand(self, field: str, kind: str, text: str, max_expansions: int | None = None, max_dist: int = 1,
               prefix_length: int = 1) -> Expansion:
        """The terms of `field` that `kind` ("prefix", "wildcard" or "fuzzy") of `text` matches,
        capped at `max_expansions` (None: the kind's default)."""
        if kind not in DEFAULT_MAX_EXPANSIONS:
            raise ValueError(f"unknown expansion kind {kind!r}")
        limit = DEFAULT_MAX_EXPANSIONS[kind] if max_expansions is None else int(max_expansions)
        if limit < 1:
            raise InvalidArgumentError(f"max_expansions must be at least 1, got {max_expansions!r}")
        key = (field, kind, text, limit, max_dist, prefix_length)
        found = self._cache.get(key)
        if found is None:
            found = self._expand(field, kind, text, limit, max_dist, prefix_length)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _expand(self, field: str, kind: str, text: str, limit: int, max_dist: int, prefix_length: int) -> Expansion:
        parts: list[tuple[FieldReader, list[str], np.ndarray]] = []
        distances: list[np.ndarray] = []
        for reader in self.readers:
            fr = reader.fields.get(field)
            if fr is None:
                parts.append((None, [], np.zeros(0, dtype=np.int64)))
                distances.append(np.zeros(0, dtype=np.int64))
                continue
            if kind == "prefix":
                terms, ids = _prefix_terms(fr, text)
                dist = np.zeros(len(terms), dtype=np.int64)
            elif kind == "wildcard":
                terms, ids = _wildcard_terms(fr, text)
                dist = np.zeros(len(terms), dtype=np.int64)
            else:
                terms, ids, dist = _fuzzy_terms(fr, text, max_dist, prefix_length)
            parts.append((fr, terms, ids))
            distances.append(dist)
        terms, df, dist, seg_ids = _union(parts, distances)
        chosen = _best(terms, df, dist, limit)
        return Expansion(field, kind, text, tuple(terms[i] for i in chosen), df[chosen],
                         tuple(ids[chosen] for ids in seg_ids), len(terms), limit)


def _union(parts: list[tuple[FieldReader | None, list[str], np.ndarray]], distances: list[np.ndarray]
           ) -> tuple[list[str], np.ndarray, np.ndarray, list[np.ndarray]]:
    """Merge per-segment (terms, ids) into one term list with summed document frequencies, the
    distance of each term, and each segment's id for each term. The merge runs in C (dict and
    map over the term lists), never a Python statement per term."""
    position = dict(zip(dict.fromkeys(itertools.chain.from_iterable(t for _, t, _ in parts)), itertools.count()))
    terms = list(position)
    df = np.zeros(len(terms), dtype=np.int64)
    dist = np.zeros(len(terms), dtype=np.int64)
    seg_ids = []
    for (fr, seg_terms, ids), seg_dist in zip(parts, distances):
        slots = np.fromiter(map(position.__getitem__, seg_terms), dtype=np.int64, count=len(seg_terms))
        out = np.full(len(terms), -1, dtype=np.int64)
        if len(slots):
            out[slots] = ids
            ptr = fr.ptr
            df[slots] += np.asarray(ptr[ids + 1], dtype=np.int64) - np.asarray(ptr[ids], dtype=np.int64)
            dist[slots] = seg_dist
        seg_ids.append(out)
    return terms, df, dist, seg_ids


def _best(terms: list[str], df: np.ndarray, dist: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the terms to keep, in code-point order of the terms: all of them when within
    `limit`, else the closest (smallest distance), then the most frequent, then the first in
    code-point order, so the choice never depends on how the index is split into segments."""
    n = len(terms)
    if n <= limit:
        chosen = np.arange(n)
    else:
        # One integer rank: distance first, then document frequency (larger is better).
        rank = dist * (int(df.max()) + 1) - df
        cut = np.partition(rank, limit - 1)[limit - 1]
        sure = np.flatnonzero(rank < cut)
        ties = sorted(np.flatnonzero(rank == cut).tolist(), key=terms.__getitem__)
        chosen = np.concatenate([sure, np.array(ties[:limit - len(sure)], dtype=np.int64)])
    return np.array(sorted(chosen.tolist(), key=terms.__getitem__), dtype=np.int64)
