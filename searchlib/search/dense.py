"""Combining clauses as dense arrays over a segment's documents and passages.

The combiner for segments where a field is split into passages. Matching is decided per document
(a required word may be anywhere in the document); scores are kept per passage for split fields
and per document for the rest, so the best passage decides the rank (collectors.py). A clause's
result is a `Matches`: a mask over documents, document scores, passage scores per split field.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .leaves import LeafScorer, SegmentMatches
from .postings import distinct
from .weighted import (ConstantScore, Weighted, WeightedBool, WeightedExpansion, WeightedFields, WeightedPhrase,
                       WeightedTerm)
from ..query.compile import AllLeaf, ColumnLeaf, TermRangeLeaf


@dataclass
class Matches:
    """A clause's result in one segment: matching documents and score contributions."""

    docs: np.ndarray  # bool[doc_count]
    doc_score: np.ndarray | None = None  # float32[doc_count], from fields not split into passages
    passage_score: dict[str, np.ndarray] = field(default_factory=dict)  # split field -> float32[units]

    def add_scores(self, other: "Matches") -> None:
        if other.doc_score is not None:
            self.doc_score = other.doc_score.copy() if self.doc_score is None else self.doc_score + other.doc_score
        for f, s in other.passage_score.items():
            self.passage_score[f] = s.copy() if f not in self.passage_score else self.passage_score[f] + s

    def scale(self, factor: float) -> None:
        if factor != 1.0:
            if self.doc_score is not None:
                self.doc_score *= np.float32(factor)
            for s in self.passage_score.values():
                s *= np.float32(factor)


def passage_scores(m: "Matches | None", pscore: "np.ndarray | None", units: np.ndarray, docs) -> np.ndarray:
    """The scores of passages `units` of one split field, whose documents are `docs` (an array, or
    one document): the passage's own score (`pscore`, the field's passage scores; None when the
    query has no term in the field) plus its document's score from fields not split, added in
    float32. The one rule collectors rank by, explain reports and Passage.score shows."""
    total = pscore[units] if pscore is not None else np.zeros(len(units), dtype=np.float32)
    if m is not None and m.doc_score is not None:
        total = total + m.doc_score[docs]
    return total


class DenseScorer(LeafScorer):
    """Evaluates weighted queries on one segment as Matches."""

    def evaluate(self, w: Weighted) -> Matches:
        kind = type(w)
        if kind is WeightedTerm:
            scored = self.scored_term(w)
            return self._empty() if scored is None else self._place(w.field, *scored)
        if kind is WeightedBool:
            return self._bool(w)
        if kind is WeightedPhrase:
            scored = self.scored_phrase(w)
            return self._empty() if scored is None else self._place(w.field, *scored)
        if kind is WeightedFields:
            return self._fields(w)
        if kind is WeightedExpansion:
            if w.field not in self.reader.fields:
                return self._empty()
            return self._any_term(w.field, *self.expansion_terms(w))
        if kind is ConstantScore:
            if type(w.leaf) is AllLeaf:
                score = np.full(self.n, w.boost, dtype=np.float32) if w.boost else None
                return Matches(np.ones(self.n, dtype=bool), score)
            docs = self.matching(w)
            return Matches(docs, np.where(docs, np.float32(w.boost), np.float32(0)))
        raise TypeError(f"cannot evaluate {w!r}")

    def matching(self, w: Weighted) -> np.ndarray:
        """Only the documents `w` matches (bool[doc_count]), for filters and excluded clauses,
        whose scores are not used: constant-score ranges skip building a score array."""
        if type(w) is ConstantScore:
            if type(w.leaf) is ColumnLeaf:
                return self.column_docs(w.leaf)
            if type(w.leaf) is TermRangeLeaf:
                return self.term_range_docs(w.leaf)
        return self.evaluate(w).docs

    def matches(self, w: Weighted, collector=None) -> SegmentMatches:
        """The live documents `w` matches, with the dense result their passages are ranked from.
        (`collector`, whose `min_competitive_score` a pruning scorer would ask, is the seam; the
        dense combiner scores every document.)"""
        m = self.evaluate(w)
        live = self.reader.live
        return SegmentMatches(self, np.flatnonzero(m.docs if live is None else m.docs & live), None, m)

    def passes(self, w: Weighted, docs: np.ndarray) -> np.ndarray:
        """Whether each of the sorted `docs` matches `w` (the interface both combiners share)."""
        return self.matching(w)[docs]

    def _empty(self) -> Matches:
        return Matches(np.zeros(self.n, dtype=bool))

    def _place(self, fname: str, units: np.ndarray, scores: np.ndarray) -> Matches:
        fr = self.reader.fields[fname]
        docs = np.zeros(self.n, dtype=bool)
        if fr.split:
            per_unit = np.zeros(len(fr.unit_doc), dtype=np.float32)
            per_unit[units] = scores
            docs[np.asarray(fr.unit_doc)[units]] = True
            return Matches(docs, None, {fname: per_unit})
        per_doc = np.zeros(self.n, dtype=np.float32)
        per_doc[units] = scores
        docs[units] = True
        return Matches(docs, per_doc)

    def _fields(self, w: WeightedFields) -> Matches:
        """BM25F: per-field length-normalised tf summed with field weights, then saturated once."""
        doc_tf = np.zeros(self.n, dtype=np.float32)
        docs = np.zeros(self.n, dtype=bool)
        split_parts = []
        touched = []  # documents with the word in an unsplit field: only they need saturating
        for fr, units, part in self.fields_parts(w):
            if fr.split:
                split_parts.append((fr, units, part))
            else:
                doc_tf[units] += part
                docs[units] = True
                touched.append(units)
        doc_score = np.zeros(self.n, dtype=np.float32)
        if touched:
            at = touched[0] if len(touched) == 1 else distinct(np.concatenate(touched))
            doc_score[at] = w.weight * self.saturate(doc_tf[at])
        result = Matches(docs, doc_score)
        for fr, units, part in split_parts:
            unit_doc = np.asarray(fr.unit_doc)[units]
            base = doc_tf[unit_doc]
            pscore = np.zeros(len(fr.unit_doc), dtype=np.float32)
            # the passage's score with the document's other fields, less what those fields alone
            # already give the document (the doc-level score is added to every passage)
            pscore[units] = w.weight * (self.saturate(base + part) - self.saturate(base))
            docs[unit_doc] = True
            result.passage_score[fr.name] = pscore
        return result

    def _any_term(self, fname: str, tids: np.ndarray, weights: np.ndarray) -> Matches:
        """An OR of several terms of one field, summed per unit with bincount."""
        if not len(tids):
            return self._empty()
        fr = self.reader.fields[fname]
        units, scores = self.any_term_postings(fname, tids, weights)
        per_unit = np.bincount(units, weights=scores, minlength=fr.units).astype(np.float32)
        docs = np.zeros(self.n, dtype=bool)
        if fr.split:
            docs[fr.unit_doc[units]] = True
            return Matches(docs, None, {fname: per_unit})
        docs[units] = True
        return Matches(docs, per_unit)

    def _bool(self, w: WeightedBool) -> Matches:
        result: Matches | None = None
        for child in w.must:
            m = self.evaluate(child)
            if result is None:
                result = m
            else:
                result.docs &= m.docs
                result.add_scores(m)
        if w.should_words or w.should:
            any_should = np.zeros(self.n, dtype=bool)
            acc = Matches(any_should)
            for fname, words in w.should_words:
                if len(words) == 1:
                    m = self.evaluate(words[0])
                elif fname not in self.reader.fields:
                    m = self._empty()
                else:
                    m = self._any_term(fname, *self.word_terms(fname, words))
                any_should |= m.docs
                acc.add_scores(m)
            for child in w.should:
                m = self.evaluate(child)
                any_should |= m.docs
                acc.add_scores(m)
            if result is None:
                result = acc
            else:
                result.add_scores(acc)
        for child in w.must_not:
            result.docs &= ~self.matching(child)
        if w.masks:
            self._mask(result)
        result.scale(w.boost)
        return result

    def _mask(self, m: Matches) -> None:
        if m.doc_score is not None:
            m.doc_score *= m.docs
        for fname, s in m.passage_score.items():
            s *= m.docs[np.asarray(self.reader.fields[fname].unit_doc)]


def passage_totals(reader, m: Matches, docs: np.ndarray):
    """For each split field with scores: (field, units, their documents, total score) of the
    passages of documents `docs` (a mask) that score above 0 in the field."""
    for fname, pscore in m.passage_score.items():
        unit_doc = np.asarray(reader.fields[fname].unit_doc)
        units = np.flatnonzero(docs[unit_doc] & (pscore > 0))
        yield fname, units, unit_doc[units], passage_scores(m, pscore, units, unit_doc[units])
