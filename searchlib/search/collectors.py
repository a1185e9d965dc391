"""Collectors: what a search keeps of each segment's matches, and how segments' results merge.

A collector is fed one whole batch per segment (`SegmentMatches`: numpy arrays, never a call per
document), then `result()` merges what it kept over the segments (tantivy's `merge_fruits`).
`search()`'s keyword options choose them (Whoosh's `Searcher.collector()`): `Count` (the total,
which the others count too), `TopScores` (best k by score, documents or flat passages), `SortedBy` (a field's order),
`Filtered` (drops what a filter does not match, before the collectors it feeds).

Rows are (score, segment, document, passage field id, passage unit); field -1 is the whole
document. By score, ties go to index order (segment, document, unit), so pages never overlap.

`min_competitive_score` is the score a document must beat to enter a top-k collector (Lucene's
`setMinCompetitiveScore`): the search hands the collector to each segment's scorer, which may ask
for it; the seam on which pruning (skipping blocks that cannot beat it) is built.
"""
from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from ..storage.arrays import run_start_mask
from ..storage.segment import MISSING_TIME
from .dense import passage_totals
from .leaves import SegmentMatches
from .weighted import Weighted

ALL = sys.maxsize  # "every candidate"


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores (unordered), without sorting everything. Among equal
    scores the earlier index wins, so the best k + j always include the best k: pages of a
    search never overlap, even where every match scores alike."""
    n = len(scores)
    if n <= k:
        return np.arange(n)
    kth = np.partition(scores, n - k)[n - k]
    best = (scores >= kth).nonzero()[0]
    if len(best) > k:  # ties at the cut: keep the earliest
        at_best = scores[best]
        above = best[at_best > kth]
        if not len(above):  # every candidate ties (a constant-score query): the first k
            return best[:k]
        best = np.concatenate([above, best[at_best == kth][:k - len(above)]])
    return best


def rows(scores: np.ndarray, seg: int, docs: np.ndarray, field_id: int, units) -> np.ndarray:
    out = np.empty((len(scores), 5), dtype=np.float64)
    out[:, 0], out[:, 1], out[:, 2], out[:, 3], out[:, 4] = scores, seg, docs, field_id, units
    return out


def segment_rows(batch: SegmentMatches, k: int, group: bool, field_ids: dict[str, int]) -> list[np.ndarray]:
    """A segment's best k candidates as rows: documents ranked by their best passage (grouped),
    or passages and the documents that matched outside split fields (flat)."""
    m, doc_ids = batch.matches, batch.docs
    if m is None:
        top = top_k(batch.scores, k)
        return [rows(batch.scores[top], batch.seg, doc_ids[top], -1, -1)]
    reader = batch.scorer.reader
    docs = np.zeros(reader.doc_count, dtype=bool)
    docs[doc_ids] = True
    base = m.doc_score[doc_ids] if m.doc_score is not None else np.zeros(len(doc_ids), np.float32)
    out = []
    if not group:
        covered = np.zeros(reader.doc_count, dtype=bool)
        for fname, units, udocs, total in passage_totals(reader, m, docs):
            covered[udocs] = True
            best = top_k(total, k)
            out.append(rows(total[best], batch.seg, udocs[best], field_ids[fname], units[best]))
        rest = ~covered[doc_ids]
        best = top_k(base[rest], k)
        out.append(rows(base[rest][best], batch.seg, doc_ids[rest][best], -1, -1))
        return out
    scores = base
    if m.passage_score:  # a document's score is its best passage's
        best_score = np.zeros(reader.doc_count, dtype=np.float32)
        best_score[doc_ids] = base
        for _, _, udocs, total in passage_totals(reader, m, docs):
            np.maximum.at(best_score, udocs, total)
        scores = best_score[doc_ids]
    best = top_k(scores, k)
    return [rows(scores[best], batch.seg, doc_ids[best], -1, -1)]


class Ranked:
    """Merged hits in order: their segments (None when the snapshot has one segment) and
    documents as arrays, and either `rows` (score, segment, document, passage field, unit) as
    lists or, for whole documents, just their `scores` (rows are then built with the hits)."""

    __slots__ = ("segs", "docs", "rows", "scores")

    def __init__(self, segs: "np.ndarray | None", docs: np.ndarray, rows: "list[list] | None" = None,
                 scores: "list[float] | None" = None):
        self.segs, self.docs, self.rows, self.scores = segs, docs, rows, scores


_NOTHING = Ranked(None, np.zeros(0, dtype=np.int64), [])


class Collector:
    """Fed one batch per segment; `result()` merges them."""

    min_competitive_score = -np.inf

    def collect(self, batch: SegmentMatches) -> None:
        raise NotImplementedError

    def result(self):
        raise NotImplementedError


class Count(Collector):
    """How many documents matched. The top-k collectors count too (as Lucene's count total hits),
    so a search feeds one collector, not two. Where a scorer pruned (a batch's `at_least`), the
    count is a lower bound: `total_is_exact` is then False."""

    total = 0
    total_is_exact = True

    def count(self, batch: SegmentMatches) -> None:
        if batch.at_least is None:
            self.total += len(batch.docs)
        else:
            self.total += batch.at_least
            self.total_is_exact = False

    def collect(self, batch: SegmentMatches) -> None:
        self.count(batch)

    def result(self) -> int:
        return self.total


class TopScores(Count):
    """The best `k` by score: documents (ranked by their best passage) or, with `group=False`,
    passages (and documents that matched outside split fields)."""

    def __init__(self, k: int, group: bool, field_ids: dict[str, int], one_segment: bool,
                 prune_total: "int | None" = None):
        """`prune_total`: None, every match is counted and scored; else segments may skip the
        documents that cannot enter the top k once this many matches are counted (Lucene's
        total hits threshold), and the total beyond it is a lower bound."""
        self.k, self.group, self.field_ids, self.one_segment = k, group, field_ids, one_segment
        self.prune_total = prune_total if k else None
        # segments without passages: (scores, seg, docs); seg an array when stacked (one per document)
        self.ranked: list[tuple[np.ndarray, "int | np.ndarray", np.ndarray]] = []
        self.rows: list[np.ndarray] = []  # segments with passages: candidate rows

    @property
    def min_competitive_score(self) -> float:
        """The k-th best score collected so far (-inf until k documents are in)."""
        if not self.k or not (self.ranked or self.rows):
            return -np.inf
        scores = [s for s, _, _ in self.ranked] + [r[:, 0] for r in self.rows]
        pool = np.concatenate(scores) if scores else np.zeros(0, np.float32)
        if len(pool) < self.k:
            return -np.inf
        return float(np.partition(pool, len(pool) - self.k)[len(pool) - self.k])

    def collect(self, batch: SegmentMatches) -> None:
        self.count(batch)
        if not len(batch.docs) or not self.k:
            return
        if batch.matches is None:
            scores, docs = self._best(batch)
            self.ranked.append((scores, batch.seg, docs))
        else:
            self.rows += segment_rows(batch, self.k, self.group, self.field_ids)

    def collect_stacked(self, batch: SegmentMatches, bases: np.ndarray) -> None:
        """Every segment's matches in one batch (search/stacked.py: documents numbered from their
        segment's base, `bases`); the same as collecting the segments one by one."""
        self.count(batch)
        if not len(batch.docs) or not self.k:
            return
        scores, docs = self._best(batch)
        segs = bases.searchsorted(docs, side="right") - 1
        self.ranked.append((scores, segs, docs - bases[segs]))

    def _best(self, batch: SegmentMatches) -> tuple[np.ndarray, np.ndarray]:
        """(scores, documents) of a batch's best k, in document order (ties: the earlier wins)."""
        scores, docs = batch.scores, batch.docs
        if len(docs) > self.k:
            top = top_k(scores, self.k)
            scores, docs = scores[top], docs[top]
        return scores, docs

    def result(self, offset: int = 0) -> Ranked:
        """Hits offset..k, by score, then segment, document and unit."""
        if self.ranked and not self.rows:  # every segment without passages: no rows to build
            if len(self.ranked) == 1:
                scores, seg, docs = self.ranked[0]
                # documents ascend in index order (within a segment, or across segments when
                # stacked, `seg` then an array): the stable sort keeps ties in index order
                order = (-scores).argsort(kind="stable")[offset:self.k]
                segs = seg[order] if isinstance(seg, np.ndarray) else None if self.one_segment else np.full(len(order), seg)
            else:
                scores = np.concatenate([r[0] for r in self.ranked])
                segs = np.concatenate([np.full(len(r[0]), r[1]) for r in self.ranked])
                docs = np.concatenate([r[2] for r in self.ranked])
                order = np.lexsort((docs, segs, -scores))[offset:self.k]
                segs = segs[order]
            return Ranked(segs, docs[order], scores=scores[order].tolist())
        if not self.rows:
            return _NOTHING
        table = np.concatenate(self.rows + [rows(s, seg, d, -1, -1) for s, seg, d in self.ranked])
        order = np.lexsort((table[:, 4], table[:, 2], table[:, 1], -table[:, 0]))[offset:self.k]
        return _ranked(table[order])


def _ranked(table: np.ndarray) -> Ranked:
    return Ranked(table[:, 1].astype(np.int64), table[:, 2].astype(np.int64), table.tolist())


class FieldOrder:
    """The order of a NUMERIC or DATETIME field or the unique ID (`reverse`: largest first),
    documents without a value last: what SortedBy and a sorted Collapsed rank by. `id_ranks(seg)`
    gives, per document of a segment, its key's rank among the segment's keys; `id_text(seg, doc)`
    the key itself (ranks are per segment, so segments compare keys)."""

    def __init__(self, field: str, reverse: bool, is_id: bool, id_ranks: Callable[[int], np.ndarray],
                 id_text: Callable[[int, int], str]):
        self.field, self.reverse, self.is_id, self.id_ranks, self.id_text = field, reverse, is_id, id_ranks, id_text

    def values(self, batch: SegmentMatches, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(missing, key) for documents of a segment: ascending key order is the wanted order
        within the segment (for the ID field the key is the term's rank in this segment only)."""
        if self.is_id:
            key = self.id_ranks(batch.seg)[docs]
            missing = key < 0
        else:
            col = batch.scorer.reader.columns.get(self.field)
            if col is None:
                return np.ones(len(docs), dtype=bool), np.zeros(len(docs), dtype=np.int64)
            key = np.asarray(col)[docs]
            missing = key == MISSING_TIME if key.dtype.kind == "i" else np.isnan(key)
        key = np.where(missing, 0, key)
        return missing, -key if self.reverse else key

    def merged(self, segs: np.ndarray, docs: np.ndarray, missing: np.ndarray, key: np.ndarray) -> np.ndarray:
        """Keys (of `values`) of documents of several segments made comparable across them: a
        column's values are; the ID's per-segment ranks become ranks of the keys' text among these
        documents' keys (read only for the documents given: those a collector kept)."""
        if not self.is_id:
            return key
        present = np.flatnonzero(~missing)
        out = np.zeros(len(key), dtype=np.int64)
        if len(present):
            where = zip(segs[present].astype(np.int64).tolist(), docs[present].astype(np.int64).tolist())
            names = np.array([self.id_text(s, d) for s, d in where], dtype=object)
            rank = np.unique(names, return_inverse=True)[1].ravel()
            out[present] = -rank if self.reverse else rank
        return out


class SortedBy(Count):
    """The first `k` in a field's order (FieldOrder); ties go by score, then index order."""

    def __init__(self, order: FieldOrder, k: int, group: bool, field_ids: dict[str, int]):
        self.order, self.k, self.group, self.field_ids = order, k, group, field_ids
        self.rows: list[np.ndarray] = []
        self.keys: list[tuple[np.ndarray, np.ndarray]] = []

    def collect(self, batch: SegmentMatches) -> None:
        self.total += len(batch.docs)
        if not len(batch.docs) or not self.k:
            return
        table = np.concatenate(segment_rows(batch, ALL, self.group, self.field_ids))
        missing, key = self.order.values(batch, table[:, 2].astype(np.int64))
        order = np.lexsort((table[:, 4], table[:, 3], table[:, 2], -table[:, 0], key, missing))[:self.k]
        self.rows.append(table[order])
        self.keys.append((missing[order], key[order]))

    def result(self, offset: int = 0) -> Ranked:
        """The segments' pre-cut rows in order: missing values last, then the key, then score,
        then index order."""
        if not self.rows:
            return _NOTHING
        table = np.concatenate(self.rows)
        missing = np.concatenate([m for m, _ in self.keys])
        key = np.concatenate([k for _, k in self.keys])
        if len(self.rows) > 1:
            key = self.order.merged(table[:, 1], table[:, 2], missing, key)
        order = np.lexsort((table[:, 4], table[:, 3], table[:, 2], table[:, 1], -table[:, 0], key, missing))
        return _ranked(table[order[offset:self.k]])


class Filtered(Collector):
    """Passes on only the documents a filter matches (their scores unchanged) to `collectors`;
    every document when `filter` is None."""

    def __init__(self, filter: "Weighted | None", collectors: list[Collector]):
        self.filter, self.collectors = filter, collectors

    @property
    def min_competitive_score(self) -> float:
        return max(c.min_competitive_score for c in self.collectors)

    def collect(self, batch: SegmentMatches) -> None:
        if self.filter is not None and len(batch.docs):
            batch.keep(batch.scorer.passes(self.filter, batch.docs))
        for c in self.collectors:
            c.collect(batch)

    def result(self) -> list:
        return [c.result() for c in self.collectors]


class Faceted(Collector):
    """Counts facets over every matching document and passes the documents a post-filter keeps to
    `hits`. Each post-filter clause is (field, weighted filter): facet f counts the documents that
    pass every clause on another field (Lucene's drill-sideways, so the counts of a field the user
    has drilled into stay visible); a clause without a field (a query) limits hits only, as
    Elasticsearch's `post_filter`. Facets need every match, so no scorer may prune for it."""

    min_competitive_score = -np.inf

    def __init__(self, facets: dict, post: "list[tuple[str | None, Weighted]]", hits: Collector):
        self.facets, self.post, self.hits = facets, post, hits

    def collect(self, batch: SegmentMatches) -> None:
        docs = batch.docs
        passed = [(field, batch.scorer.passes(w, docs)) for field, w in self.post] if len(docs) else []
        for name, counter in self.facets.items():
            keep = [mask for field, mask in passed if field is not None and field != name]
            counter.add(batch.seg, docs[np.logical_and.reduce(keep)] if keep else docs)
        if passed:
            batch.keep(np.logical_and.reduce([mask for _, mask in passed]))
        self.hits.collect(batch)

    def result(self) -> dict:
        return {name: counter.result() for name, counter in self.facets.items()}


class Collapsed(Count):
    """The first `k` hits with at most one per value of a field (Elasticsearch's `collapse`): per
    group the hit that comes first stands for it, and the groups are ranked by it. Hits come first
    by score (ties to index order) or, with `order`, by a field (FieldOrder, then score); they are
    documents, or with `group=False` passages (and documents matched outside split fields), as
    TopScores ranks them. `group_sizes` says how many hits each group has (matching documents, or
    with `group=False` matching passages). `doc_groups(seg, docs)` gives each document's group id
    in its segment (-1: no value, the document a group of its own), and `group_names(seg, ids)`
    their values, so segments merge by value. Needs every match."""

    min_competitive_score = -np.inf

    def __init__(self, k: int, group: bool, field_ids: dict[str, int],
                 doc_groups: Callable[[int, np.ndarray], np.ndarray], group_names: Callable[[int, list[int]], list],
                 order: "FieldOrder | None" = None):
        self.k, self.group, self.field_ids, self.order = k, group, field_ids, order
        self.doc_groups, self.group_names = doc_groups, group_names
        # per segment: (rows of each group's first hit, their missing flags and keys, group ids, sizes)
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def _keys(self, batch: SegmentMatches, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.order is None:
            return np.zeros(len(docs), dtype=bool), np.zeros(len(docs), dtype=np.int64)
        return self.order.values(batch, docs)

    def _ranking(self, table: np.ndarray, missing: np.ndarray, key: np.ndarray, segments: bool) -> list:
        """np.lexsort's keys (least significant first) of the hits' order: missing values last, the
        key, score, then index order (segment, document, passage); those that cannot differ (no
        key without `order`, no passage with `group`) left out, each costing a sort pass."""
        keys = [] if self.group else [table[:, 4], table[:, 3]]
        keys += [table[:, 2], table[:, 1]] if segments else [table[:, 2]]
        keys.append(-table[:, 0])
        return keys + [key, missing] if self.order is not None else keys

    def collect(self, batch: SegmentMatches) -> None:
        self.total += len(batch.docs)
        if not len(batch.docs):
            return
        table = np.concatenate(segment_rows(batch, ALL, self.group, self.field_ids))
        docs = table[:, 2].astype(np.int64)
        groups = self.doc_groups(batch.seg, docs)
        groups = np.where(groups < 0, -1 - docs, groups)  # no value: the document is a group of its own
        missing, key = self._keys(batch, docs)
        # per group: its first hit (missing values last, then key, score, index order)
        order = np.lexsort((*self._ranking(table, missing, key, False), groups))
        groups = groups[order]
        starts = np.flatnonzero(run_start_mask(groups))
        sizes = np.diff(np.append(starts, len(groups)))
        first = order[starts]
        self.parts.append((table[first], missing[first], key[first], groups[starts], sizes))

    values: list = []  # after result(): each hit's group value (None: a document without one)
    sizes: list[int] = []  # each hit's group size
    groups = 0  # the groups matched
    every_group: tuple = ([], [])  # after result(): every group's value (a tuple: a document without one), size

    def annotate(self, results) -> None:
        """Set each hit's group value and size, and the results' number of groups; every group's
        value and size go to `results.every_group` (what a shard reports for a coordinator to sum)."""
        for hit, value, size in zip(results.hits, self.values, self.sizes):
            hit.group_value, hit.group_size = value, size
        results.groups = self.groups
        results.every_group = self.every_group

    def result(self, offset: int = 0) -> Ranked:
        """The hits offset..k in order; `values`, `sizes` and `groups` describe their groups."""
        if not self.parts:
            return _NOTHING
        table = np.concatenate([p[0] for p in self.parts])
        missing = np.concatenate([p[1] for p in self.parts])
        key = np.concatenate([p[2] for p in self.parts])
        sizes = np.concatenate([p[4] for p in self.parts])
        names: list = []
        for p in self.parts:
            seg = int(p[0][0, 1])
            named = self.group_names(seg, np.maximum(p[3], -1).tolist())
            names += [(None, seg, int(d)) if g < 0 else n for n, g, d in zip(named, p[3].tolist(), p[0][:, 2].tolist())]
        if len(self.parts) > 1:  # the same value in several segments: one group
            if self.order is not None:
                key = self.order.merged(table[:, 1], table[:, 2], missing, key)
            index: dict = {}
            gid = np.fromiter((index.setdefault(n, len(index)) for n in names), dtype=np.int64, count=len(names))
            order = np.lexsort((*self._ranking(table, missing, key, True), gid))
            starts = order[run_start_mask(gid[order])]
            sizes = np.bincount(gid, weights=sizes).astype(np.int64)[gid[starts]]
            table, missing, key = table[starts], missing[starts], key[starts]
            names = [names[i] for i in starts.tolist()]
        order = np.lexsort(self._ranking(table, missing, key, True))
        self.every_group = (names, sizes)
        self.values = [None if isinstance(names[i], tuple) else names[i] for i in order[offset:self.k].tolist()]
        self.sizes, self.groups = sizes[order[offset:self.k]].tolist(), len(names)
        return _ranked(table[order[offset:self.k]])
