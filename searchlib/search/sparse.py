"""Combining clauses as sorted document lists, for segments without passages.

Dense combining (dense.py) works on arrays over every document of the segment, which costs in
proportion to the segment's size and a dozen numpy calls per clause. Where no field of a segment
is split into passages, a clause's result is fully described by the documents it matches and their
scores, so here a clause is (sorted document numbers, float32 scores): words and phrases cost in
proportion to their postings, required words intersect their posting lists before any scoring,
and a simple query is a handful of numpy calls from postings to top k.

Leaves are scored by the same code as dense combining (leaves.py), and clauses are summed in the
same float32 order (a must clause's scores child by child, should clauses among themselves first,
single-field ORs of words in float64), so both combiners give every document the same score; the
tests compare them on generated queries.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..query.compile import AllLeaf, ColumnLeaf, TermRangeLeaf
from .leaves import LeafScorer, SegmentMatches
from .postings import distinct, intersect, positions_in, run_sums
from .prune import top_candidates
from .weighted import (ConstantScore, Weighted, WeightedBool, WeightedExpansion, WeightedFields, WeightedPhrase,
                       WeightedTerm)

_EMPTY_DOCS = np.zeros(0, dtype=np.int64)
_EMPTY_SCORES = np.zeros(0, dtype=np.float32)


class DocScores(NamedTuple):
    """A clause's result in one segment: the matching documents (integers, ascending, distinct)
    and each one's score (float32)."""

    docs: np.ndarray
    scores: np.ndarray


EMPTY = DocScores(_EMPTY_DOCS, _EMPTY_SCORES)


def sum_by_doc(docs: np.ndarray, scores: np.ndarray, doc_count: int, positive: bool = False) -> DocScores:
    """Scores of possibly repeated, unsorted documents summed per document (in float64, in input
    order, as the dense combiner's bincount), then as float32. `positive`: every score is above
    0, so a document is present exactly where its sum is."""
    if len(docs) * 16 < doc_count:  # few postings: sort them rather than touch every document
        order = np.argsort(docs, kind="stable")
        docs, sums = run_sums(docs[order], scores[order])
        return DocScores(docs, sums.astype(np.float32))
    sums = np.bincount(docs, weights=scores, minlength=doc_count)
    if positive:
        unique = (sums > 0).nonzero()[0]
    else:
        seen = np.zeros(doc_count, dtype=bool)
        seen[docs] = True
        unique = seen.nonzero()[0]
    return DocScores(unique, sums[unique].astype(np.float32))


def _merged(units_a: np.ndarray, part_a: np.ndarray, units_b: np.ndarray, part_b: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The union of two ascending, duplicate-free unit lists, and per unit the sum of its parts
    (float32; one part where only one list holds it). The shorter list is looked up in the longer
    and inserted into it, so the longer is copied, never sorted or scattered. Two float32 numbers
    add up to the same float32 in either order, so this is the dense sum bit for bit."""
    if len(units_a) > len(units_b):
        units_a, part_a, units_b, part_b = units_b, part_b, units_a, part_a
    found, at = positions_in(units_b, units_a)
    tf = part_b.copy()
    tf[at[found]] += part_a[found]
    if found.all():
        return units_b, tf
    missing = ~found
    extra = units_a[missing]
    inserted = np.zeros(len(units_b) + len(extra), dtype=bool)  # where the extra units land
    inserted[units_b.searchsorted(extra) + np.arange(len(extra))] = True
    units, sums = np.empty(len(inserted), dtype=units_b.dtype), np.empty(len(inserted), dtype=tf.dtype)
    units[inserted], sums[inserted] = extra, part_a[missing]
    kept = ~inserted
    units[kept], sums[kept] = units_b, tf
    return units, sums


class SparseScorer(LeafScorer):
    """Evaluates weighted queries on one segment without passages, as DocScores."""

    def restricted(self, view) -> "SparseScorer":
        """This scorer over `view`, a reader of part of this segment's postings (prune.py), with
        the segment's norms."""
        return SparseScorer(view, self.seg, self.norm)

    def evaluate(self, w: Weighted) -> DocScores:
        kind = type(w)
        if kind is WeightedTerm:
            scored = self.scored_term(w)
            return EMPTY if scored is None else DocScores(*scored)
        if kind is WeightedBool:
            return self._bool(w)
        if kind is WeightedPhrase:
            scored = self.scored_phrase(w)
            return EMPTY if scored is None else DocScores(*scored)
        if kind is ConstantScore:
            leaf = w.leaf
            if type(leaf) is AllLeaf:
                docs = np.arange(self.n)
            else:
                docs = (self.column_docs(leaf) if type(leaf) is ColumnLeaf else self.term_range_docs(leaf)).nonzero()[0]
            return DocScores(docs, np.full(len(docs), w.boost, dtype=np.float32))
        if kind is WeightedExpansion:
            if w.field not in self.reader.fields:
                return EMPTY
            return self._any_term(w.field, *self.expansion_terms(w))
        if kind is WeightedFields:
            return self._fields(w)
        raise TypeError(f"cannot evaluate {w!r}")

    def matches(self, w: Weighted, collector=None) -> SegmentMatches:
        """The live documents `w` matches and their scores. `collector` is the top-k collector
        the batch feeds: where it allows pruning (its `prune_total`: the matches it must count
        exactly) and `w` is a disjunction of words, only the documents that can enter its top k
        are returned (prune.py), with their exact scores and a lower bound of the matches."""
        if collector is not None and getattr(collector, "prune_total", None) is not None:
            found = top_candidates(self, w, collector.k, collector.min_competitive_score,
                                   max(0, collector.prune_total - collector.total))
            if found is not None:
                return SegmentMatches(self, found[0], found[1], at_least=found[2])
        docs, scores = self.evaluate(w)
        live = self.reader.live
        if len(docs) and live is not None:
            keep = live[docs]
            docs, scores = docs[keep], scores[keep]
        return SegmentMatches(self, docs, scores)

    def passes(self, w: Weighted, docs: np.ndarray) -> np.ndarray:
        """Whether each of the sorted `docs` matches `w` (a filter or an excluded clause): a
        column range reads only their values, a term range marks its documents in a mask; other
        clauses are evaluated as a document list (scores unused), then looked up by binary
        search, or through a mask where the documents are many."""
        if type(w) is ConstantScore:
            if type(w.leaf) is ColumnLeaf:
                return self.column_docs(w.leaf, docs)
            if type(w.leaf) is TermRangeLeaf:
                return self.term_range_docs(w.leaf)[docs]
        matched = self.evaluate(w).docs
        if len(docs) * 16 < self.n:
            return positions_in(matched, docs)[0]
        mask = np.zeros(self.n, dtype=bool)
        mask[matched] = True
        return mask[docs]

    def _fields(self, w: WeightedFields) -> DocScores:
        """BM25F (see leaves.py): each field's length-normalised tf summed per document in field
        order, then saturated once, for only the documents holding the word."""
        parts = self.fields_parts(w)
        if not parts:
            return EMPTY
        if len(parts) == 1:
            _, docs, tf = parts[0]
        elif len(parts) == 2:  # the usual title and body: the smaller list merged into the larger
            docs, tf = _merged(*parts[0][1:], *parts[1][1:])
        else:
            total = np.zeros(self.n, dtype=np.float32)
            for _, units, part in parts:
                total[units] += part
            docs = distinct(np.concatenate([units for _, units, _ in parts]))
            tf = total[docs]
        return DocScores(docs, w.weight * self.saturate(tf))

    def _any_term(self, fname: str, tids: np.ndarray, weights: np.ndarray) -> DocScores:
        """An OR of several terms of one field, summed per document."""
        if not len(tids):
            return EMPTY
        return self._summed(*self.any_term_postings(fname, tids, weights), weights)

    def _summed(self, units: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> DocScores:
        """Postings' scores of terms weighted `weights` summed per document (sum_by_doc)."""
        # BM25 of a posting is at least weight * (k1 + 1) / (1 + norm), far above float32's
        # smallest number for any weight above 1e-20: such weights give positive scores
        return sum_by_doc(units, scores, self.n, bool(weights.min() > 1e-20))

    def _words_any(self, fname: str, words: list[WeightedTerm]) -> DocScores:
        """An OR of single words of field `fname`, summed per document."""
        return self._any_term(fname, *self.word_terms(fname, words))

    def _all_words(self, words: "list[WeightedTerm | WeightedFields]") -> DocScores:
        """Required words (each in one field, or over several fields as BM25F): their documents
        intersected first, then only the common documents scored, summed in clause order. A
        common document gets exactly the score evaluating the word alone gives it (each field's
        part of tf~ added in field order), so only the work on the others is saved."""
        postings, doc_lists = [], []
        for w in words:
            terms = [(w.field, w.term)] if type(w) is WeightedTerm else w.leaf.terms.items()
            found = [(fname, *pl) for fname, term in terms if (pl := self.postings_of(fname, term)) is not None]
            if not found:
                return EMPTY
            postings.append(found)
            doc_lists.append(found[0][1] if len(found) == 1 else distinct(np.concatenate([pl[1] for pl in found])))
        docs, picks = intersect(doc_lists, self.n)
        if not len(docs):
            return EMPTY
        scores = None
        for w, found, pick in zip(words, postings, picks):
            if type(w) is WeightedTerm:
                part = self.term_scores(w.field, docs, found[0][2][pick], w.weight)
            else:
                part = w.weight * self.saturate(self._fields_tf_at(w, found, docs, pick))
            scores = part if scores is None else scores + part
        return DocScores(docs, scores)

    def _fields_tf_at(self, w: WeightedFields, found: list, docs: np.ndarray, pick: np.ndarray) -> np.ndarray:
        """BM25F's tf~ of a word for `docs` (each holding it in one of the fields of `found`:
        (field, units, tf) per field holding it, in field order), as _fields sums it; `pick`:
        where each of `docs` is among the word's documents (its units, for one field)."""
        if len(found) == 1:
            fname, _, tf = found[0]
            return self.fields_tf(fname, docs, tf[pick], w.leaf.weights[fname])
        total = np.zeros(len(docs), dtype=np.float32)
        for fname, units, tf in found:
            held, at = positions_in(units, docs)
            total[held] += self.fields_tf(fname, docs[held], tf[at[held]], w.leaf.weights[fname])
        return total

    def _bool(self, w: WeightedBool) -> DocScores:
        result = None
        if len(w.must) > 1 and all(type(c) in (WeightedTerm, WeightedFields) for c in w.must):
            result = self._all_words(w.must)
        for child in w.must if result is None else ():
            part = self.evaluate(child)
            if result is None:
                result = part
            elif len(result.docs):
                found, at = positions_in(part.docs, result.docs)
                result = DocScores(result.docs[found], result.scores[found] + part.scores[at[found]])
        if w.should_words or w.should:
            should = self._should(w)
            if result is None:
                result = should
            elif len(result.docs):
                found, at = positions_in(should.docs, result.docs)
                scores = result.scores.copy()
                scores[found] += should.scores[at[found]]
                result = DocScores(result.docs, scores)
        for child in w.must_not:
            if not len(result.docs):
                break
            keep = ~self.passes(child, result.docs)
            result = DocScores(result.docs[keep], result.scores[keep])
        if w.boost != 1.0:
            result = DocScores(result.docs, result.scores * np.float32(w.boost))
        return result

    def _should(self, w: WeightedBool) -> DocScores:
        """The union of should clauses, scores summed in the dense combiner's order: single words
        grouped per field (each group one OR), then the other clauses."""
        parts = []
        for fname, words in w.should_words:
            if len(words) == 1:
                parts.append(self.evaluate(words[0]))
            elif fname in self.reader.fields:
                parts.append(self._words_any(fname, words))
        parts += [self.evaluate(c) for c in w.should]
        parts = [p for p in parts if len(p.docs)]
        if len(parts) <= 1:
            return parts[0] if parts else EMPTY
        if sum(len(p.docs) for p in parts) * 16 < self.n:  # few matches: merge the lists
            docs = distinct(np.concatenate([p.docs for p in parts]))
            scores = np.zeros(len(docs), dtype=np.float32)
            for p in parts:
                scores[docs.searchsorted(p.docs)] += p.scores
            return DocScores(docs, scores)
        total = np.zeros(self.n, dtype=np.float32)  # many: sum over the whole segment
        seen = np.zeros(self.n, dtype=bool)
        for p in parts:
            total[p.docs] += p.scores
            seen[p.docs] = True
        docs = seen.nonzero()[0]
        return DocScores(docs, total[docs])
