"""Evaluating compiled queries as sorted document lists, for segments without passages.

Dense evaluation (evaluate.py) combines clauses as arrays over every document of the segment,
which costs in proportion to the segment's size and a dozen numpy calls per clause. Where no field
of a segment is split into passages, a clause's result is fully described by the documents it
matches and their scores, so here a clause is (sorted document numbers, float32 scores): words and
phrases cost in proportion to their postings, required words intersect their posting lists before
any scoring, and a simple query is a handful of numpy calls from postings to top k.

The arithmetic is the dense evaluator's, in the same float32 order (a must clause's scores are
summed child by child, should clauses are summed among themselves first, single-field ORs of words
sum in float64), so both give every document the same score; tests compare them on generated
queries.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .compile import AllLeaf, BoolNode, ColumnLeaf, ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf, TermRangeLeaf
from .evaluate import SegmentEvaluator, distinct, intersect, positions_in, run_sums, term_postings

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
    order, as the dense evaluator's bincount), then as float32. `positive`: every score is above
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


class SparseEvaluator:
    """Evaluates compiled nodes on one segment without passages, as DocScores."""

    def __init__(self, dense: SegmentEvaluator):
        self.dense = dense
        self.reader = dense.reader
        self.n = dense.n

    def evaluate(self, node: Node) -> DocScores:
        kind = type(node)
        if kind is TermLeaf:
            return self._term(node)
        if kind is BoolNode:
            return self._bool(node)
        if kind is PhraseLeaf:
            return self._phrase(node)
        if kind is ColumnLeaf or kind is TermRangeLeaf:
            return self._constant(self.dense.matching(node).nonzero()[0], node.boost)
        if kind is AllLeaf:
            return self._constant(np.arange(self.n), node.boost)
        if kind is ExpandLeaf:
            return self._expanded(node)
        if kind is FieldsLeaf:
            return self._fields(node)
        raise TypeError(f"cannot evaluate {node!r}")

    def passes(self, node: Node, docs: np.ndarray) -> np.ndarray:
        """Whether each of the sorted `docs` matches `node` (a filter or an excluded clause): a
        column range reads only their values, a term range marks its documents in a mask; other
        clauses are evaluated as a document list (scores unused), then looked up by binary
        search, or through a mask where the documents are many."""
        kind = type(node)
        if kind is ColumnLeaf:
            return self.dense.column_docs(node, docs)
        if kind is TermRangeLeaf:
            return self.dense.matching(node)[docs]
        matched = self.evaluate(node).docs
        if len(docs) * 16 < self.n:
            return positions_in(matched, docs)[0]
        mask = np.zeros(self.n, dtype=bool)
        mask[matched] = True
        return mask[docs]

    # -- leaves ------------------------------------------------------------------------------------
    def _term(self, leaf: TermLeaf) -> DocScores:
        scored = self.dense.scored_term(leaf)
        return EMPTY if scored is None else DocScores(*scored)

    def _fields(self, leaf: FieldsLeaf) -> DocScores:
        """BM25F (see SegmentEvaluator._fields): each field's length-normalised tf summed per
        document in field order, then saturated once, for only the documents holding the word."""
        parts = []
        for fname, term in leaf.terms.items():
            found = term_postings(self.reader, fname, term)
            if found is not None:
                units, tf = found
                parts.append((units, self.dense.fields_tf(fname, units, tf, leaf.weights[fname])))
        if not parts:
            return EMPTY
        if len(parts) == 1:
            docs, tf = parts[0]
        else:
            total = np.zeros(self.n, dtype=np.float32)
            for units, part in parts:
                total[units] += part
            docs = distinct(np.concatenate([units for units, _ in parts]))
            tf = total[docs]
        weight = np.float32(self.dense.stats.fields_idf(leaf.terms) * leaf.boost)
        return DocScores(docs, weight * self.dense.saturate(tf))

    def _phrase(self, leaf: PhraseLeaf) -> DocScores:
        scored = self.dense.scored_phrase(leaf)
        return EMPTY if scored is None else DocScores(*scored)

    def _constant(self, docs: np.ndarray, boost: float) -> DocScores:
        return DocScores(docs, np.full(len(docs), boost, dtype=np.float32))

    def _any_term(self, fname: str, tids: np.ndarray, weights: np.ndarray) -> DocScores:
        """An OR of several terms of one field, summed per document."""
        if not len(tids):
            return EMPTY
        # BM25 of a posting is at least weight * (k1 + 1) / (1 + norm), far above float32's
        # smallest number for any weight above 1e-20: such weights give positive scores
        positive = bool(weights.min() > 1e-20)
        return sum_by_doc(*self.dense.any_term_postings(fname, tids, weights), self.n, positive)

    def _expanded(self, leaf: ExpandLeaf) -> DocScores:
        if leaf.field not in self.reader.fields:
            return EMPTY
        return self._any_term(leaf.field, *self.dense.expansion_terms(leaf))

    def _terms_or(self, fname: str, words: list[TermLeaf]) -> DocScores:
        if fname not in self.reader.fields:
            return EMPTY
        return self._any_term(fname, *self.dense.word_terms(fname, words))

    # -- boolean ---------------------------------------------------------------------------------
    def _all_words(self, words: list[TermLeaf]) -> DocScores:
        """Required single words: their posting lists intersected first, then only the common
        documents scored, summed in clause order."""
        lists = []
        for leaf in words:
            found = term_postings(self.reader, leaf.field, leaf.term)
            if found is None:
                return EMPTY
            lists.append(found)
        docs, picks = intersect([units for units, _ in lists], self.n)
        if not len(docs):
            return EMPTY
        scores = None
        for leaf, (_, tf), pick in zip(words, lists, picks):
            weight = self.dense.stats.idf(leaf.field, leaf.term) * leaf.boost
            part = self.dense.term_scores(leaf.field, docs, tf[pick], weight)
            scores = part if scores is None else scores + part
        return DocScores(docs, scores)

    def _bool(self, node: BoolNode) -> DocScores:
        result = None
        if len(node.must) > 1 and all(type(c) is TermLeaf for c in node.must):
            result = self._all_words(node.must)
        for child in node.must if result is None else ():
            part = self.evaluate(child)
            if result is None:
                result = part
            elif len(result.docs):
                found, at = positions_in(part.docs, result.docs)
                result = DocScores(result.docs[found], result.scores[found] + part.scores[at[found]])
        if node.should:
            should = self._should(node.should)
            if result is None:
                result = should
            elif len(result.docs):
                found, at = positions_in(should.docs, result.docs)
                scores = result.scores.copy()
                scores[found] += should.scores[at[found]]
                result = DocScores(result.docs, scores)
        for child in node.must_not:
            if not len(result.docs):
                break
            keep = ~self.passes(child, result.docs)
            result = DocScores(result.docs[keep], result.scores[keep])
        if node.boost != 1.0:
            result = DocScores(result.docs, result.scores * np.float32(node.boost))
        return result

    def _should(self, children: list) -> DocScores:
        """The union of should clauses, scores summed in the dense evaluator's order: single
        words grouped per field (each group one OR), then the other clauses."""
        words: dict[str, list[TermLeaf]] = {}
        for child in children:
            if type(child) is TermLeaf:
                words.setdefault(child.field, []).append(child)
        parts = [self._terms_or(f, w) if len(w) > 1 else self._term(w[0]) for f, w in words.items()]
        parts += [self.evaluate(c) for c in children if type(c) is not TermLeaf]
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
