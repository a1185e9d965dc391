"""Dynamic pruning for the top k by score: block-max MaxScore over sorted document lists.

A disjunction of scored clauses (words in one field, BM25F words over several fields, ORs of
words of one field) need not score every posting to find its best k documents, as Lucene (since
8.0) and tantivy know: each block of BLOCK postings carries the largest term frequency and the
smallest length among its postings (storage/blocks.py), so the most any of its documents can get
from the clause is known without reading them. With a threshold theta that the k-th best score
is known to reach (the collector's `min_competitive_score` from earlier segments, or the k-th best
exact score of the documents in the most promising blocks, scored first):

- clauses whose bounds sum to less than theta are non-essential (MaxScore): a document matching
  only them cannot reach theta, so candidates come from the other clauses' postings alone;
- of those, a block is read only when its bound plus every other clause's bound reaches theta;
- every candidate is then scored exactly, each clause looked up by binary search in its posting
  lists, summed in the exhaustive evaluation's order: the top k and their float32 scores are
  identical to scoring everything (tests/unit/search/test_pruning.py compares both).

Everything is decided per block with numpy, never per posting in Python. Bounds are computed in
float64 and raised by a relative margin (MARGIN) so float32 rounding in the exact scores can never
exceed them. The match count is then a lower bound; the collector says when that is acceptable.
"""
from __future__ import annotations

import numpy as np

from ..scoring import length_norm
from ..storage.arrays import gather_ranges
from ..storage.blocks import BLOCK
from .postings import distinct, positions_in
from .weighted import WeightedBool, WeightedFields, WeightedTerm

MARGIN = 1e-4  # relative: bounds are raised by this much over the float64 arithmetic
MIN_POSTINGS = 4096  # below this many postings, scoring everything is as cheap as deciding what to skip
SEED_BLOCKS = 8  # blocks of each clause scored first, the best by bound, to find a threshold


class _Part:
    """One term's postings in one field of the segment, and its blocks' bounds in the clause's
    units (`x`: a BM25 score for words, a field's share of tf~ for BM25F)."""

    __slots__ = ("fname", "units", "tf", "starts", "ends", "x")

    def __init__(self, scorer, fname: str, tid: int, to_x):
        fr = scorer.reader.fields[fname]
        a, b = int(fr.ptr[tid]), int(fr.ptr[tid + 1])
        self.fname, self.units, self.tf = fname, fr.unit[a:b], fr.tf[a:b]
        if fr.block_ptr is not None:
            c, d = int(fr.block_ptr[tid]), int(fr.block_ptr[tid + 1])
            bounds = np.asarray(fr.block_max[c:d], dtype=np.float64)
            self.starts = np.arange(d - c, dtype=np.int64) * BLOCK
            self.ends = np.minimum(self.starts + BLOCK, b - a)
            self.x = to_x(fname, bounds[:, 0], bounds[:, 1])
        else:  # a field without lengths (ID, KEYWORD): one block, the largest tf
            self.starts, self.ends = np.zeros(1, np.int64), np.full(1, b - a, np.int64)
            self.x = to_x(fname, np.array([float(np.max(self.tf))]), None)

    def lookup(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the sorted candidate `docs` this part holds, and their term frequencies."""
        found, at = positions_in(self.units, docs)
        return found, self.tf[at[found]]


class _Clause:
    """A scored clause as parts; `bound` the most it can score, `block_bound(i)` per block of part
    i the most a document of that block can get from the clause; `score(docs)` exact scores."""

    def __init__(self, scorer, parts: list[_Part]):
        self.scorer, self.parts = scorer, parts
        self.postings = sum(len(p.units) for p in parts)

    def _norm(self, fname: str, lengths):
        """k1 * (1 - b + b * len / avglen) for `lengths`, float64 (None without lengths)."""
        s = self.scorer.norm
        if lengths is None or s.bm25 is None or s(fname) is None:
            return None
        return length_norm(lengths, s.avg_length(fname), s.bm25.k1, s.bm25.b).astype(np.float64)


class _Words(_Clause):
    """Words of one field: one word (BM25), or several summed in float64 (an OR of one field's
    words, as sparse.SparseScorer._any_term sums them)."""

    def __init__(self, scorer, fname: str, tids: list[int], weights: list[float]):
        self.scorer, self.fname, self.weights = scorer, fname, weights
        self.k1 = float(scorer.k1)
        parts = [_Part(scorer, fname, tid, lambda f, tf, ln, w=w: self._bm25(f, tf, ln, w))
                 for tid, w in zip(tids, weights)]
        super().__init__(scorer, parts)
        self.part_bounds = [float(p.x.max()) for p in parts]
        self.bound = sum(self.part_bounds)

    def _bm25(self, fname, tf, lengths, weight):
        norm = self._norm(fname, lengths)
        if norm is None:
            return np.full(len(tf), float(weight))
        return weight * (self.k1 + 1) * tf / (tf + norm)

    def block_bound(self, i: int) -> np.ndarray:
        return self.parts[i].x + (self.bound - self.part_bounds[i])

    def score(self, docs: np.ndarray) -> np.ndarray:
        s = self.scorer
        if len(self.parts) == 1:
            out = np.zeros(len(docs), dtype=np.float32)
            found, tf = self.parts[0].lookup(docs)
            out[found] = s.term_scores(self.fname, docs[found], tf, self.weights[0])
            return out
        total = np.zeros(len(docs), dtype=np.float64)
        for part, w in zip(self.parts, self.weights):
            found, tf = part.lookup(docs)
            total[found] += s.term_scores(self.fname, docs[found], tf, w)
        return total.astype(np.float32)


class _Fields(_Clause):
    """One word over several TEXT fields, BM25F (leaves.py)."""

    def __init__(self, scorer, w: WeightedFields):
        self.scorer, self.w = scorer, w
        self.k1 = float(scorer.k1)
        parts = []
        for fname, term in w.leaf.terms.items():
            fr = scorer.reader.fields.get(fname)
            tid = fr.term_id(term) if fr is not None else -1
            if tid >= 0:
                weight = float(w.leaf.weights[fname])
                parts.append(_Part(scorer, fname, tid, lambda f, tf, ln, wf=weight: self._share(f, tf, ln, wf)))
        super().__init__(scorer, parts)
        self.shares = [float(p.x.max()) for p in parts]
        self.bound = self._saturate(sum(self.shares))

    def _share(self, fname, tf, lengths, weight):
        norm = self._norm(fname, lengths)
        if norm is None or self.k1 == 0:
            return weight * tf
        return weight * tf * self.k1 / norm

    def _saturate(self, x):
        weight = float(self.w.weight)
        if self.k1 == 0:
            return weight * (np.asarray(x) > 0)
        return weight * x * (self.k1 + 1) / (self.k1 + x)

    def block_bound(self, i: int) -> np.ndarray:
        return self._saturate(self.parts[i].x + (sum(self.shares) - self.shares[i]))

    def score(self, docs: np.ndarray) -> np.ndarray:
        s = self.scorer
        total = np.zeros(len(docs), dtype=np.float32)
        for part in self.parts:
            found, tf = part.lookup(docs)
            total[found] += s.fields_tf(part.fname, docs[found], tf, self.w.leaf.weights[part.fname])
        return self.w.weight * s.saturate(total)


def clauses(scorer, w) -> "tuple[list[_Clause], float] | None":
    """The scored clauses of `w` in the exhaustive evaluation's summing order, and the boost over
    their sum; None when `w` is not a disjunction of words (pruned here) or a weight is not
    positive (bounds assume scores that only add)."""
    kind = type(w)
    if kind is WeightedTerm:
        words, others, boost = [(w.field, [w])], [], 1.0
    elif kind is WeightedFields:
        words, others, boost = [], [w], 1.0
    elif kind is WeightedBool and not w.must and not w.must_not and (w.should_words or w.should):
        words, others, boost = w.should_words, w.should, w.boost
    else:
        return None
    out: list[_Clause] = []
    fields = scorer.reader.fields
    for fname, group in words:
        if fname not in fields:
            continue
        found = [(fields[fname].term_id(t.term), t.weight) for t in group]
        found = [(tid, weight) for tid, weight in found if tid >= 0]
        if len(group) == 1 and not found:
            continue
        if any(weight <= 1e-20 for _, weight in found):
            return None
        if found:
            out.append(_Words(scorer, fname, [t for t, _ in found], [x for _, x in found]))
    for c in others:
        if type(c) is WeightedTerm:
            fr = fields.get(c.field)
            tid = fr.term_id(c.term) if fr is not None else -1
            if tid >= 0:
                if c.weight <= 1e-20:
                    return None
                out.append(_Words(scorer, c.field, [tid], [c.weight]))
        elif type(c) is WeightedFields:
            if float(c.weight) <= 1e-20 or any(v <= 0 for v in c.leaf.weights.values()):
                return None
            clause = _Fields(scorer, c)
            if clause.parts:
                out.append(clause)
        else:
            return None
    if boost <= 0:
        return None
    return out, boost


def _exact(found: list[_Clause], docs: np.ndarray, boost: float) -> np.ndarray:
    """The exact float32 scores of the sorted `docs`: clause scores added in order, from 0, as
    the exhaustive evaluation adds them, then the boost."""
    scores = None
    for c in found:
        part = c.score(docs)
        scores = part if scores is None else scores + part
    if boost != 1.0:
        scores = scores * np.float32(boost)
    return scores


def _gather(part: _Part, keep: np.ndarray) -> np.ndarray:
    """The units of the blocks of `part` where `keep` is true."""
    starts, ends = part.starts[keep], part.ends[keep]
    if not len(starts):
        return part.units[:0]
    if len(starts) == len(part.starts):
        return part.units
    return part.units[gather_ranges(starts, ends - starts)]


def top_candidates(scorer, w, k: int, threshold: float, least_total: int):
    """(documents, exact scores, lower bound of the matches) holding every live document of the
    segment that can enter the top k with `threshold` known, or None when pruning does not apply
    or would not pay (the caller then scores everything). `least_total`: when pruning, the matches
    still to be counted exactly; a segment whose skipped postings might hide fewer is left to the
    exhaustive count."""
    found = clauses(scorer, w)
    if found is None:
        return None
    found, boost = found
    if not found or sum(c.postings for c in found) < max(MIN_POSTINGS, 16 * k):
        return None
    live = scorer.reader.live
    deleted = 0 if live is None else scorer.n - int(np.count_nonzero(live))
    matches_at_least = max(max(len(p.units) for c in found for p in c.parts) - deleted, 0)
    if matches_at_least < least_total:
        return None
    margin = 1.0 + MARGIN
    bounds = np.array([c.bound for c in found]) * margin * boost
    # a first threshold: the exact scores of the documents in each clause's most promising blocks
    seed = []
    for c in found:
        for i, part in enumerate(c.parts):
            bb = c.block_bound(i)
            if len(bb) > SEED_BLOCKS:
                keep = np.zeros(len(bb), dtype=bool)
                keep[np.argpartition(bb, len(bb) - SEED_BLOCKS)[-SEED_BLOCKS:]] = True
            else:
                keep = np.ones(len(bb), dtype=bool)
            seed.append(_gather(part, keep))
    seed_docs = distinct(np.concatenate(seed).astype(np.int64))
    if live is not None:
        seed_docs = seed_docs[live[seed_docs]]
    theta = threshold
    if len(seed_docs) >= k:
        seed_scores = _exact(found, seed_docs, boost)
        theta = max(theta, float(np.partition(seed_scores, len(seed_scores) - k)[len(seed_scores) - k]))
    if not np.isfinite(theta):
        return None
    # MaxScore: the clauses whose bounds sum below theta supply no candidates
    order = np.argsort(bounds, kind="stable")
    essential = np.ones(len(found), dtype=bool)
    essential[order[np.cumsum(bounds[order]) < theta]] = False
    total_bound = float(bounds.sum())
    pieces = []
    for j, c in enumerate(found):
        if not essential[j]:
            continue
        others = total_bound - bounds[j]
        for i, part in enumerate(c.parts):
            keep = c.block_bound(i) * margin * boost + others >= theta
            pieces.append(_gather(part, keep))
    docs = distinct(np.concatenate(pieces).astype(np.int64)) if pieces else np.zeros(0, np.int64)
    if live is not None:
        docs = docs[live[docs]]
    if len(docs) * 2 > sum(c.postings for c in found):  # little was skipped: not worth the lookups
        return None
    return docs, _exact(found, docs, boost), max(matches_at_least, len(docs))
