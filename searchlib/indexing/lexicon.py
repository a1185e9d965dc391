"""A writer's terms of one TEXT field, numbered once and kept in code-point order across flushes.

A flush writes its terms sorted (a term's id in a segment is its rank). Sorting a segment's
vocabulary as Python strings at every flush (240k terms of scale.py's body: ~0.1 s, and as much
again to list, rank and encode them) is replaced here by work that is per *new* term: the
lexicon numbers each term the first time the writer's analysis hands it over (its lexicon id,
kept across flushes), and before a flush it ranks the terms that arrived since the last one —
those few strings sorted, then placed among the ranked terms by a binary search each over the
terms in order (Python's string comparison: code-point order, exactly the order of `sorted`). A
flush then orders its terms with integer array operations only, and its term dictionary's bytes
and keys are gathered from each term's UTF-8 kept here (termdict.EncodedTerms).

Memory is bounded like the analysis's numberings (analyze.WORD_CACHE_LIMIT): after a flush, a
lexicon holding more terms than the limit keeps only those a live numbering has mapped (the
others come back, as new terms, if met again).
"""
from __future__ import annotations

from bisect import bisect_left
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from ..storage.arrays import gather_ranges
from ..storage.components import Component
from ..storage.termdict import EncodedTerms, encode

if TYPE_CHECKING:  # the analysis (analyze.py) owns a lexicon per field: types only, no import cycle
    from .analyze import Source, TextBatch


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


class Lexicon:
    """Terms by lexicon id: each term's UTF-8 (with its newline, as the dictionary text holds it)
    and dictionary key; the ids in code-point order (`_by_rank`) for every term ranked so far;
    and, per numbering of the analysis (its source), the lexicon id of each of its local ids."""

    def __init__(self):
        self.ids: dict[str, int] = {}  # term -> lexicon id
        self._new: list[str] = []  # terms numbered since the last ranking (ids len(_by_rank) on)
        self._pending: list[tuple] = []  # their (UTF-8, offsets, keys), batch by batch
        self._utf8 = np.zeros(0, dtype=np.uint8)  # every term's UTF-8 and newline, by id
        self._starts = np.zeros(1, dtype=np.int64)  # where each id's bytes start in _utf8 (and the end)
        self._keys = np.zeros(0, dtype=np.uint64)  # each id's dictionary key (termdict.term_keys)
        self._sorted = np.zeros(0, dtype=object)  # the ranked terms in code-point order
        self._by_rank = np.zeros(0, dtype=np.int64)  # their ids
        self._remaps: dict[Source, np.ndarray] = {}  # source -> lexicon id of each local id (-1: not yet)

    def __len__(self) -> int:
        return len(self.ids)

    def token_ids(self, batch: TextBatch, source_terms: list[str]) -> np.ndarray:
        """The batch's tokens as lexicon ids (int32, -1 where a word was dropped). `source_terms` are
        every term the batch's source numbered so far, by local id; a term gets its lexicon id the
        first time a batch of the source uses it, and the source is forgotten with its `last` batch."""
        remap = self._remaps.get(batch.source)
        if remap is None or len(remap) < len(source_terms):
            grown = np.full(max(len(source_terms), 1), -1, dtype=np.int32)
            if remap is not None:
                grown[:len(remap)] = remap
            remap = self._remaps[batch.source] = grown
        local = batch.ids[batch.ids >= 0]
        if len(local):
            used = np.zeros(len(remap), dtype=bool)
            used[local] = True
            new = np.flatnonzero(used & (remap < 0))
            if len(new):
                remap[new] = self._number([source_terms[i] for i in new.tolist()])
        if batch.last:  # no batch of this numbering follows
            del self._remaps[batch.source]
        return np.where(batch.ids >= 0, remap[np.maximum(batch.ids, 0)], -1).astype(np.int32)

    def _number(self, terms: list[str]) -> list[int]:
        """Lexicon ids of distinct terms, numbering those met for the first time."""
        ids, before = self.ids, len(self.ids)
        found = [ids.setdefault(t, len(ids)) for t in terms]
        if len(ids) > before:
            self._append([t for t, i in zip(terms, found) if i >= before])
        return found

    def _append(self, terms: list[str]) -> None:
        """Keep the UTF-8 and key of terms just numbered (ids in order from the last numbered on),
        joined to the arrays at the next ranking (not at every batch)."""
        encoded = encode(terms)  # the dictionary's own encoding of them, as a flush would write it
        data = np.frombuffer(encoded[Component.LEX], dtype=np.uint8)
        self._pending.append((data, encoded[Component.LEXOFF], encoded[Component.LEXKEY]))
        self._new.extend(terms)

    def _rank_new(self) -> None:
        """Place the terms numbered since the last ranking among the ranked ones: the new terms
        sorted as strings, then a binary search each over the ranked terms (`bisect` over a list:
        3x faster than `np.searchsorted` over an object array)."""
        if not self._new:
            return
        end = self._starts[-1]
        starts = [self._starts[:-1]]
        for data, offsets, _ in self._pending:
            starts.append(offsets[:-1] + end)
            end += len(data)
        self._starts = np.concatenate(starts + [np.array([end], dtype=np.int64)])
        self._utf8 = np.concatenate([self._utf8] + [data for data, _, _ in self._pending])
        self._keys = np.concatenate([self._keys] + [keys for _, _, keys in self._pending])
        self._pending = []
        first = len(self._by_rank)
        new = self._new
        order = sorted(range(len(new)), key=new.__getitem__)
        terms = _objects(new)[order]
        ids = np.asarray(order, dtype=np.int64) + first
        self._new = []
        if not first:
            self._sorted, self._by_rank = terms, ids
            return
        at = np.fromiter(map(partial(bisect_left, self._sorted.tolist()), terms.tolist()), dtype=np.int64,
                         count=len(terms))  # no new term equals a ranked one
        self._sorted = np.insert(self._sorted, at, terms)
        self._by_rank = np.insert(self._by_rank, at, ids)

    def segment(self, token_ids: np.ndarray) -> tuple[EncodedTerms, np.ndarray]:
        """For the tokens of a segment (lexicon ids, none dropped): its term dictionary, the terms it
        uses in code-point order, and each token's term id there (its term's rank, int32)."""
        self._rank_new()
        used = np.zeros(len(self.ids), dtype=bool)
        used[token_ids] = True
        ordered = self._by_rank[used[self._by_rank]]
        seg = np.zeros(len(self.ids), dtype=np.int32)
        seg[ordered] = np.arange(len(ordered), dtype=np.int32)
        starts = self._starts[ordered]
        lengths = self._starts[ordered + 1] - starts
        offsets = np.zeros(len(ordered) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = self._utf8[gather_ranges(starts, lengths)].tobytes()
        return EncodedTerms(data, offsets, self._keys[ordered]), seg[token_ids]

    def shrink(self, limit: int) -> None:
        """Over `limit` terms, keep only the terms a live numbering has mapped, renumbered in
        their order (call it between flushes: no buffered token may hold a lexicon id)."""
        if len(self.ids) <= limit:
            return
        self._rank_new()
        kept = np.zeros(len(self.ids), dtype=bool)
        for remap in self._remaps.values():
            kept[remap[remap >= 0]] = True
        old = np.flatnonzero(kept)
        renumber = np.full(len(self.ids) + 1, -1, dtype=np.int32)  # index -1 (unmapped) stays -1
        renumber[old] = np.arange(len(old), dtype=np.int32)
        for source, remap in self._remaps.items():
            self._remaps[source] = renumber[remap]
        in_rank = kept[self._by_rank]
        rank_of_old = np.empty(len(self.ids), dtype=np.int64)
        rank_of_old[self._by_rank] = np.arange(len(self._by_rank))
        terms = self._sorted[rank_of_old[old]].tolist()  # kept terms by their new id
        self.ids = dict(zip(terms, range(len(terms))))
        starts = self._starts[old]
        lengths = self._starts[old + 1] - starts
        self._utf8 = self._utf8[gather_ranges(starts, lengths)]
        self._starts = np.zeros(len(old) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self._starts[1:])
        self._keys = self._keys[old]
        self._sorted = self._sorted[in_rank]
        self._by_rank = renumber[self._by_rank[in_rank]].astype(np.int64)
