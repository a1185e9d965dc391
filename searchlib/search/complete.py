"""Autocomplete: the most frequent terms that start with what the user is typing.

`Searcher.complete("late misc", field="title")` completes the last word from the field's term
dictionaries, ranked by index-wide document frequency (then by term), as Elasticsearch's prefix
completion over a terms index does. A term's id is its rank in code-point order
(storage/termdict.py), so the terms with a prefix are one range of ids in each segment, found by
two binary searches, and their document frequencies are `ptr[lo+1:hi+1] - ptr[lo:hi]`: no Python
step per dictionary term.

Over several segments the ranking is merged without reading every term of every range: each
segment offers its `m` most frequent terms of the range; the untaken terms of segment s have at
most `bound_s` (its m-th frequency) there, so a term offered nowhere has at most the sum of the
bounds index-wide. When the `limit`-th best offered term (with its exact frequency summed over all
segments) beats that sum, the answer is exact; otherwise `m` grows (Fagin's threshold algorithm).

Where the field has `index_phrases`, the word before the last one narrows the completions to the
words that follow it in the text: the word-pair keys of a segment are sorted by (first, second)
term id, so the pairs starting with the previous word and ending in the prefix's range are one
range of keys, ranked by the pair's document frequency.
"""
from __future__ import annotations

import heapq
import re
from typing import NamedTuple

import numpy as np

from ..schema import FieldType
from ..storage.segment import SegmentReader
from .collectors import top_k
from .words import doc_freqs, surface_words

_LAST_WORD = re.compile(r"(\S*)\Z")
_START = 16  # terms each segment offers first
FULL_MERGE = 1 << 15  # prefix terms over all segments read whole when offers keep tying (else offers grow)


class Completion(NamedTuple):
    """A completion: the whole text with its last word completed, and the document frequency
    it is ranked by (the word's, or for a phrase completion, the word pair's)."""

    text: str
    doc_freq: int


def prefix_terms(readers: list[SegmentReader], field: str, prefix: str, limit: int) -> list[tuple[str, int]]:
    """The `limit` terms of `field` starting with `prefix`, by index-wide document frequency
    (most first), then by term."""
    ranges = []
    for r in readers:
        fr = r.fields.get(field)
        if fr is not None:
            lo, hi = fr.dictionary.prefix_range(prefix)
            if hi > lo:
                ranges.append((fr, lo, np.diff(np.asarray(fr.ptr[lo:hi + 1]))))
    if not ranges or limit <= 0:
        return []
    if len(ranges) == 1:  # one segment: exact at once; ties go to the earlier id, the smaller term
        fr, lo, df = ranges[0]
        best = top_k(df, limit)
        best = best[np.lexsort((best, -df[best]))]
        return list(zip(fr.dictionary.terms_of((lo + best).tolist()), df[best].tolist()))
    m = max(limit, _START)
    while True:
        if m > _START * 16 and sum(len(df) for _, _, df in ranges) <= FULL_MERGE:  # ties persist: read them all
            return _merge_all(ranges, limit)
        offered: set[str] = set()
        bound = 0
        for fr, lo, df in ranges:
            best = top_k(df, m)
            offered.update(fr.dictionary.terms_of((lo + best).tolist()))
            if len(best) < len(df):
                rest = np.ones(len(df), dtype=bool)
                rest[best] = False
                bound += int(df[rest].max())
        ranked = sorted(doc_freqs(readers, field, offered).items(), key=lambda tc: (-tc[1], tc[0]))[:limit]
        if bound == 0 or (len(ranked) == limit and ranked[-1][1] > bound):
            return ranked
        m *= 4


def _merge_all(ranges: list, limit: int) -> list[tuple[str, int]]:
    """The `limit` most frequent terms of the segments' whole prefix ranges, summed by term."""
    sums: dict[str, int] = {}
    for fr, lo, df in ranges:
        for term, n in zip(fr.dictionary.terms(lo, lo + len(df)), df.tolist()):
            sums[term] = sums.get(term, 0) + n
    return heapq.nsmallest(limit, sums.items(), key=lambda tc: (-tc[1], tc[0]))


def following_terms(readers: list[SegmentReader], field: str, previous: str, prefix: str, limit: int
                    ) -> list[tuple[str, int]]:
    """The `limit` terms starting with `prefix` that directly follow the term `previous` in the
    field's text, by the pair's document frequency, then by term (needs `index_phrases`)."""
    totals: dict[str, int] = {}
    for r in readers:
        fr = r.fields.get(field)
        if fr is None or fr.pairs is None:
            continue
        first = fr.term_id(previous)
        if first < 0:
            continue
        lo, hi = fr.dictionary.prefix_range(prefix)
        if hi <= lo:
            continue
        keys = np.asarray(fr.pairs.keys)
        base = np.uint64(first) << np.uint64(32)
        a, b = np.searchsorted(keys, [base | np.uint64(lo), base | np.uint64(hi)]).tolist()
        if b <= a:
            continue
        seconds = (keys[a:b] & np.uint64(0xFFFFFFFF)).astype(np.int64)
        df = np.diff(np.asarray(fr.pairs.ptr[a:b + 1]))
        for term, n in zip(fr.dictionary.terms_of(seconds.tolist()), df.tolist()):
            totals[term] = totals.get(term, 0) + n
    return sorted(totals.items(), key=lambda tc: (-tc[1], tc[0]))[:limit]


def complete(readers: list[SegmentReader], field: str, ft: FieldType, text: str, limit: int,
             phrases: bool = True) -> list[Completion]:
    """Completions of the last word of `text` (after a space: of the next word, from word pairs
    only): first the words that follow the previous word (with `phrases` and `index_phrases`),
    then the most frequent words with the prefix; each with `text` up to the word kept."""
    last = _LAST_WORD.search(text).group(1)
    head = text[:len(text) - len(last)]
    analyzer = ft.analyzer
    prefix = analyzer.normalize(last)
    found: list[tuple[str, int]] = []
    if phrases and head.strip():
        terms, positions = analyzer.index_terms(head)
        if terms and positions[-1] == len(analyzer.tokenizer.words(head)) - 1:  # no stop word in between
            found = following_terms(readers, field, terms[-1], prefix, limit)
    if prefix and len(found) < limit:
        more = prefix_terms(readers, field, prefix, limit)
        if not more and analyzer.analyze_word(last) != prefix:  # a whole word typed: its stem
            more = prefix_terms(readers, field, analyzer.analyze_word(last), limit)
        seen = {t for t, _ in found}
        found += [(t, n) for t, n in more if t not in seen][:limit - len(found)]
    words = surface_words(readers, field, ft, [t for t, _ in found])
    return [Completion(head + words[t], n) for t, n in found]
