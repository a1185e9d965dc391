"""Dynamic pruning for the top k by score: block-max bounds over windows of documents.

A disjunction of scored clauses (words in one field, BM25F words over several fields, ORs of
words of one field) need not score every posting to find its best k documents, as Lucene (since
8.0) and tantivy know. Each block of BLOCK postings carries the largest term frequency and the
smallest length among its postings (storage/blocks.py), so the most any of its documents can get
from a word is known without reading them. Here the segment's documents are cut into windows of
WINDOW consecutive numbers, and per window the bounds of every clause are added up:

- the windows with the highest bounds are scored first, exactly; the k-th best score among them
  (or the collector's `min_competitive_score` from earlier segments, when higher) is a threshold
  theta the final k-th best score reaches;
- every window whose bound stays below theta is skipped whole: only the postings of the other
  windows are read and scored;
- scoring runs the ordinary sparse evaluation (sparse.py) over a view of the segment holding only
  those postings (`_Restricted`). A window's documents keep all their postings, so their scores
  are the exhaustive scores bit for bit, and the top k is the exhaustive top k
  (tests/unit/search/test_pruning.py compares both on generated indexes).

Everything is decided per block and per window with numpy, never per posting in Python. Bounds
are computed in float64 and raised by a relative MARGIN, so float32 rounding in the exact scores
can never exceed them. The match count of a pruned segment is a lower bound; the collector says
when that is acceptable (Searcher.search's `total_threshold`).
"""
from __future__ import annotations

import numpy as np

from ..scoring import length_norm, saturate_bound, tf_factor_bound
from ..storage.arrays import gather_ranges
from ..storage.blocks import BLOCK
from .weighted import WeightedBool, WeightedFields, WeightedTerm

MARGIN = 1e-4  # relative: bounds are raised by this much over their float64 arithmetic
MIN_POSTINGS = 50_000  # below this many postings in a segment, scoring them all costs less than deciding what to skip
WINDOW = 64  # documents per window
SEED_WINDOWS = 16  # windows scored first, the best by bound, for a threshold
EXACT_PART = 2 * BLOCK  # a term with at most this many postings is bounded posting by posting
MOST_READ = 0.5  # where more than this share of the windows can compete, every posting is scored instead


class _Part:
    """One term of one field in the segment: its posting range, and (`bound`) per window the most
    its postings there can contribute (a BM25 score for words, a field's share of tf~ for BM25F)."""

    __slots__ = ("fr", "fname", "term", "tid", "a", "b")

    def __init__(self, fr, fname: str, term: str, tid: int):
        self.fr, self.fname, self.term, self.tid = fr, fname, term, tid
        self.a, self.b = int(fr.ptr[tid]), int(fr.ptr[tid + 1])

    def bound(self, windows: int, to_x) -> np.ndarray:
        """Per window, the largest `to_x(field, tf, length)` of the postings there: from the
        postings themselves for a short list, else from the block bounds."""
        fr, a, b = self.fr, self.a, self.b
        units = fr.unit[a:b]
        x = np.zeros(windows, dtype=np.float64)
        if fr.lengths is None or b - a <= EXACT_PART or fr.block_ptr is None:
            lengths = None if fr.lengths is None else fr.lengths[units]
            np.maximum.at(x, units // WINDOW, to_x(self.fname, fr.tf[a:b].astype(np.float64), lengths))
            return x
        c, d = int(fr.block_ptr[self.tid]), int(fr.block_ptr[self.tid + 1])
        bounds = np.asarray(fr.block_max[c:d], dtype=np.float64)
        values = to_x(self.fname, bounds[:, 0], bounds[:, 1])
        starts = np.arange(d - c, dtype=np.int64) * BLOCK
        ends = np.minimum(starts + BLOCK, b - a)
        first = (units[starts] // WINDOW).astype(np.int64)
        last = (units[ends - 1] // WINDOW).astype(np.int64)
        dense = last - first <= 1  # a block within two windows: bounded there, read from the block alone
        np.maximum.at(x, first[dense], values[dense])
        np.maximum.at(x, last[dense], values[dense])
        sparse = ~dense  # a block spread over many windows: bounded only in those holding its postings
        if sparse.any():
            counts = ends[sparse] - starts[sparse]
            idx = gather_ranges(starts[sparse], counts)
            np.maximum.at(x, units[idx] // WINDOW, np.repeat(values[sparse], counts))
        return x


class _Clause:
    """A scored clause as parts (their postings counted), and `bound(windows)`: per window, the
    most it can score there."""

    def __init__(self, scorer, parts: list[_Part]):
        self.scorer, self.parts = scorer, parts
        self.postings = sum(p.b - p.a for p in parts)

    def norm(self, fname: str, lengths):
        """k1 * (1 - b + b * len / avglen) for `lengths`, float64 (None without lengths)."""
        s = self.scorer.norm
        if lengths is None or s.bm25 is None or s(fname) is None:
            return None
        return length_norm(lengths, s.avg_length(fname), s.bm25.k1, s.bm25.b).astype(np.float64)


class _Words(_Clause):
    """Words of one field, each a BM25 score, summed."""

    def __init__(self, scorer, fname: str, words: list[tuple[str, int, float]]):
        fr = scorer.reader.fields[fname]
        super().__init__(scorer, [_Part(fr, fname, term, tid) for term, tid, _ in words])
        self.weights = [weight for _, _, weight in words]

    def bound(self, windows: int) -> np.ndarray:
        k1, variant, delta = float(self.scorer.k1), self.scorer.variant, float(self.scorer.delta)

        def bm25(f, tf, lengths, weight):
            norm = self.norm(f, lengths)
            return np.full(len(tf), float(weight)) if norm is None else \
                weight * tf_factor_bound(tf, norm, k1, variant, delta)

        return sum(p.bound(windows, lambda f, tf, ln, w=w: bm25(f, tf, ln, w)) for p, w in zip(self.parts, self.weights))


class _Fields(_Clause):
    """One word over several TEXT fields, BM25F (leaves.py): the fields' shares of tf~ added,
    then saturated."""

    def __init__(self, scorer, w: WeightedFields):
        self.w = w
        parts = []
        for fname, term in w.leaf.terms.items():
            fr = scorer.reader.fields.get(fname)
            tid = fr.term_id(term) if fr is not None else -1
            if tid >= 0:
                parts.append(_Part(fr, fname, term, tid))
        super().__init__(scorer, parts)

    def bound(self, windows: int) -> np.ndarray:
        k1 = float(self.scorer.k1)

        def share(f, tf, lengths, weight):
            norm = self.norm(f, lengths)
            return weight * tf if norm is None or k1 == 0 else weight * tf * k1 / norm

        x = sum(p.bound(windows, lambda f, tf, ln, wf=float(self.w.leaf.weights[p.fname]): share(f, tf, ln, wf))
                for p in self.parts)
        return float(self.w.weight) * saturate_bound(x, k1, self.scorer.variant, float(self.scorer.delta))


def clauses(scorer, w) -> "list[_Clause] | None":
    """The scored clauses of `w` (their postings located, not yet bounded); None when `w` is not
    a disjunction of words or a weight is not positive (bounds assume scores that only add)."""
    kind = type(w)
    if kind is WeightedTerm:
        items = [(w.field, [w])]
    elif kind is WeightedFields:
        items = [w]
    elif kind is WeightedBool and not w.must and not w.must_not and (w.should_words or w.should) and w.boost > 0:
        items = [*w.should_words, *[(c.field, [c]) if type(c) is WeightedTerm else c for c in w.should]]
    else:
        return None
    out: list[_Clause] = []
    fields = scorer.reader.fields
    for item in items:
        if type(item) is WeightedFields:
            if float(item.weight) <= 1e-20 or any(v <= 0 for v in item.leaf.weights.values()):
                return None
            out.append(_Fields(scorer, item))
            continue
        if type(item) is not tuple:
            return None  # a phrase, an expansion, a nested boolean: scored in full
        fname, group = item
        fr = fields.get(fname)
        found = [(t.term, fr.term_id(t.term), t.weight) for t in group] if fr is not None else []
        found = [f for f in found if f[1] >= 0]
        if any(weight <= 1e-20 for _, _, weight in found):
            return None
        if found:
            out.append(_Words(scorer, fname, found))
    return [c for c in out if c.parts]


class _RestrictedField:
    """A field of `_Restricted`: only the query's terms, each with the postings of the chosen windows."""

    def __init__(self, fr, terms: dict[str, int], runs: np.ndarray):
        self.lengths, self.name, self.info = fr.lengths, fr.name, fr.info
        self._ids = {}
        units, tfs, ptr = [], [], [0]
        for term, tid in terms.items():
            a, b = int(fr.ptr[tid]), int(fr.ptr[tid + 1])
            all_units = fr.unit[a:b]
            lo = all_units.searchsorted(runs[:, 0])
            hi = all_units.searchsorted(runs[:, 1])
            idx = gather_ranges(lo, hi - lo) + a
            self._ids[term] = len(units)
            units.append(fr.unit[idx])
            tfs.append(fr.tf[idx])
            ptr.append(ptr[-1] + len(idx))
        self.unit = np.concatenate(units) if units else np.zeros(0, np.uint32)
        self.tf = np.concatenate(tfs) if tfs else np.zeros(0, np.uint32)
        self.ptr = np.array(ptr, dtype=np.int64)

    def term_id(self, term: str) -> int:
        return self._ids.get(term, -1)

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.ptr[tid]), int(self.ptr[tid + 1])
        return self.unit[a:b], self.tf[a:b]


class _Restricted:
    """A view of a segment reader holding, for the query's terms, only the postings of documents
    in `runs` (rows of [first, end) document numbers, ascending)."""

    def __init__(self, reader, found: list[_Clause], runs: np.ndarray):
        self.doc_count, self.live, self.columns = reader.doc_count, reader.live, reader.columns
        terms: dict[str, dict[str, int]] = {}
        for c in found:
            for p in c.parts:
                terms.setdefault(p.fname, {})[p.term] = reader.fields[p.fname].term_id(p.term)
        self.fields = {f: _RestrictedField(reader.fields[f], t, runs) for f, t in terms.items()}


def _runs(chosen: np.ndarray) -> np.ndarray:
    """The document ranges [first, end) of the chosen windows (a mask), adjacent ones joined."""
    edges = np.diff(np.concatenate([[0], chosen.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return np.column_stack([starts * WINDOW, ends * WINDOW]).astype(np.int64)


def top_candidates(scorer, w, k: int, threshold: float, least_total: int):
    """(documents, exact scores, lower bound of the matches) holding every live document of the
    segment that can enter the top k with `threshold` known, or None when pruning does not apply
    or would not pay (the caller then scores everything). `least_total`: the matches the caller
    still has to count exactly; a segment that cannot show that many without reading everything
    is left to the exhaustive count."""
    windows = -(-scorer.n // WINDOW)
    found = clauses(scorer, w)
    if not found:
        return None
    postings = sum(c.postings for c in found)
    if postings < max(MIN_POSTINGS, 16 * k):
        return None
    live = scorer.reader.live
    deleted = 0 if live is None else scorer.n - int(np.count_nonzero(live))
    at_least = max(max(p.b - p.a for c in found for p in c.parts) - deleted, 0)
    if at_least < least_total:
        return None
    boost = float(w.boost) if type(w) is WeightedBool else 1.0
    bound = sum(c.bound(windows) for c in found) * ((1.0 + MARGIN) * boost)
    theta = threshold
    if SEED_WINDOWS and not np.isfinite(theta):  # no threshold yet: the best windows' k-th score
        seed = np.zeros(windows, dtype=bool)
        seed[np.argsort(-bound, kind="stable")[:SEED_WINDOWS]] = True
        docs, scores = _live(scorer, scorer.restricted(_Restricted(scorer.reader, found, _runs(seed & (bound > 0))))
                             .evaluate(w))
        if len(docs) >= k:
            theta = float(np.partition(scores, len(scores) - k)[len(scores) - k])
    if not np.isfinite(theta):
        return None
    chosen = bound >= theta
    if np.count_nonzero(chosen) > MOST_READ * np.count_nonzero(bound):
        return None  # most windows can hold a competitive document: reading them all costs less
    if not chosen.any():
        return np.zeros(0, np.int64), np.zeros(0, np.float32), at_least
    docs, scores = _live(scorer, scorer.restricted(_Restricted(scorer.reader, found, _runs(chosen))).evaluate(w))
    return docs, scores, max(at_least, len(docs))


def _live(scorer, found) -> tuple[np.ndarray, np.ndarray]:
    """The live documents of an evaluation's (documents, scores)."""
    docs, scores = found
    live = scorer.reader.live
    if live is not None and len(docs):
        keep = live[docs]
        docs, scores = docs[keep], scores[keep]
    return docs, scores
