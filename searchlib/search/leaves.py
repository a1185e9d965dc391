"""Scoring the leaves of a weighted query in one segment: postings in, (units, float32 scores) out.

Written once for both combiners (dense.py for segments with passages, sparse.py for the rest):

- a word in one field: BM25 (Lucene's idf over the units holding the field, k1 saturation, b
  length normalisation), times the field's and the query's boosts;
- a word over several default TEXT fields: BM25F. Each field contributes its own analysed term's
  frequency, length-normalised and weighted by the field boost, tf~ = sum_f w_f * tf_f / B_f with
  B_f = 1 - b + b * len_f / avglen_f; the score is idf * tf~ * (k1 + 1) / (k1 + tf~), with idf from
  the documents of the index and the documents holding the word in any of the fields. For a
  field split into passages the passage's tf joins the other fields' document-level tf;
- a phrase: one term whose idf is the sum of its words' idfs and whose tf is the number of
  occurrences; with slop, Lucene's sloppy frequency (phrases.py);
- prefix, wildcard and fuzzy: an OR of the terms they expand to (query/expand.py), each scored as
  an ordinary word;
- ranges (numbers, dates, terms), exact NUMERIC/DATETIME values and `*:*`: constant score, the
  clause's boost, as Lucene's constant-score range queries (a range says nothing about relevance).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..query.compile import ColumnLeaf, TermRangeLeaf
from ..query.expand import term_range_ids
from ..scoring import BM25, bm25, length_norm, saturate
from ..storage.segment import MISSING_TIME, FieldReader, SegmentReader
from .phrases import phrase_units
from .postings import posting_slots, term_postings
from .weighted import WeightedExpansion, WeightedFields, WeightedPhrase, WeightedTerm


COLD_USES = 8  # uses of a field's norms computed for their units alone before the array over every unit is built


class SegmentNorms:
    """One segment's length norms for one set of BM25 parameters: per field, k1 * (1 - b + b *
    len / avglen) per unit (float32), computed on first use and kept (the searcher keeps these
    across queries). None for a field without lengths, or when `bm25` is None (matching only)."""

    def __init__(self, reader: SegmentReader, avg_length: Callable[[str], float], bm25: BM25 | None):
        self.reader, self.avg_length, self.bm25 = reader, avg_length, bm25
        self.k1 = np.float32(BM25().k1 if bm25 is None else bm25.k1)
        # the BM25 variant's name and delta (scoring.py): how term_scores and saturate score
        self.variant, self.delta = ("bm25", 0.0) if bm25 is None else (bm25.variant, bm25.d)
        self._norms: dict[str, np.ndarray | None] = {}
        self._uses: dict[str, int] = {}

    def at(self, fname: str, units: np.ndarray) -> np.ndarray | None:
        """The norms of `units` (None without lengths): read from the kept array or, for a field's
        first COLD_USES uses with few units, computed for those units alone (the same values:
        length_norm works value by value), so that a first query on a large index does not pay
        for every document of every field it touches."""
        if fname not in self._norms:
            fr = self.reader.fields.get(fname)
            uses = self._uses.get(fname, 0)
            if (self.bm25 is not None and fr is not None and fr.lengths is not None and uses < COLD_USES
                    and len(units) * 4 < len(fr.lengths)):
                self._uses[fname] = uses + 1
                return length_norm(fr.lengths[units], self.avg_length(fname), self.bm25.k1, self.bm25.b)
        norm = self(fname)
        return None if norm is None else norm[units]

    def __call__(self, fname: str) -> np.ndarray | None:
        if fname not in self._norms:
            fr = self.reader.fields.get(fname)
            norm = None
            if self.bm25 is not None and fr is not None and fr.lengths is not None:
                norm = length_norm(fr.lengths, self.avg_length(fname), self.bm25.k1, self.bm25.b)
            self._norms[fname] = norm
        return self._norms[fname]


class LeafScorer:
    """Scores weighted leaves on one segment. Holds no per-query state."""

    def __init__(self, reader: SegmentReader, seg: int, norms: SegmentNorms):
        self.reader = reader
        self.seg = seg  # the reader's position in the snapshot (expansions list term ids per segment)
        self.norm = norms
        self.k1 = norms.k1
        self.variant, self.delta = norms.variant, norms.delta
        self.n = reader.doc_count

    def term_scores(self, fname: str, units: np.ndarray, tf: np.ndarray, weight) -> np.ndarray:
        """BM25 (the searcher's variant) of postings; `weight` (idf times boosts) is a number or
        one per posting."""
        norm = self.norm.at(fname, units)
        if norm is None:  # ID and KEYWORD fields: no length, tf saturates at once
            return np.broadcast_to(np.asarray(weight, dtype=np.float32), (len(units),)).copy()
        return bm25(tf, norm, weight, self.k1, self.variant, self.delta)

    def postings_of(self, fname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(units ascending, term frequencies) of a word of field `fname`; None where it is absent."""
        return term_postings(self.reader, fname, term)

    def scored_term(self, w: WeightedTerm) -> tuple[np.ndarray, np.ndarray] | None:
        """(units, BM25 scores) of a word's postings in this segment; None where it is absent."""
        found = self.postings_of(w.field, w.term)
        if found is None:
            return None
        units, tf = found
        return units, self.term_scores(w.field, units, tf, w.weight)

    def scored_phrase(self, w: WeightedPhrase) -> tuple[np.ndarray, np.ndarray] | None:
        """(units, BM25 scores) where the phrase occurs in this segment; None where it does not."""
        units, freq = phrase_units(self.reader.fields.get(w.field), w.leaf, w.dfs)
        if not len(units):
            return None
        return units, self.term_scores(w.field, units, freq, w.weight)

    # -- BM25F ----------------------------------------------------------------------------------
    def fields_parts(self, w: WeightedFields) -> list[tuple[FieldReader, np.ndarray, np.ndarray]]:
        """Per field holding the word, in the leaf's field order: (field reader, units, the
        field's part of tf~ for each unit)."""
        parts = []
        for fname, term in w.leaf.terms.items():
            found = self.postings_of(fname, term)
            if found is not None:
                units, tf = found
                parts.append((self.reader.fields[fname], units, self.fields_tf(fname, units, tf, w.leaf.weights[fname])))
        return parts

    def fields_tf(self, fname: str, units: np.ndarray, tf: np.ndarray, weight: float) -> np.ndarray:
        """A field's part of BM25F's tf~: w_f * tf / (1 - b + b * len / avglen), as float32."""
        tf = np.asarray(tf, dtype=np.float32)
        norm = None if self.k1 == 0 else self.norm.at(fname, units)
        if norm is None:
            return np.float32(weight) * tf
        return np.float32(weight) * tf * self.k1 / norm

    def saturate(self, x: np.ndarray) -> np.ndarray:
        """BM25F's saturation of tf~ for the searcher's variant (scoring.saturate)."""
        return saturate(x, self.k1, self.variant, self.delta)

    # -- ORs of terms of one field --------------------------------------------------------------
    def expansion_terms(self, w: WeightedExpansion) -> tuple[np.ndarray, np.ndarray]:
        """This segment's ids of the terms a clause expands to, and each one's idf times boost."""
        tids = w.expansion.segment_ids[self.seg]
        present = tids >= 0
        return tids[present], w.weights[present]

    def word_terms(self, fname: str, words: list[WeightedTerm]) -> tuple[np.ndarray, np.ndarray]:
        """This segment's ids of single words of field `fname` (those it holds), and their weights."""
        fr = self.reader.fields[fname]
        tids, weights = [], []
        for w in words:
            tid = fr.term_id(w.term)
            if tid >= 0:
                tids.append(tid)
                weights.append(w.weight)
        return np.array(tids, dtype=np.int64), np.array(weights)

    def any_term_postings(self, fname: str, tids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The postings of several terms of one field (ids `tids`, idf times boost `weights`),
        gathered and scored in one pass: (unit of each posting, its score); units repeat."""
        fr = self.reader.fields[fname]
        ptr = fr.ptr
        if len(tids) <= 8:  # a few words: slices joined, cheaper than computing an index array
            bounds = [ptr[t:t + 2].tolist() for t in tids.tolist()]
            units = np.concatenate([fr.unit[a:b] for a, b in bounds])
            tf = np.concatenate([fr.tf[a:b] for a, b in bounds])
            counts = [b - a for a, b in bounds]
        else:
            idx, counts = posting_slots(fr, tids)
            units, tf = fr.unit[idx], fr.tf[idx]
        return units, self.term_scores(fname, units, tf, np.repeat(weights, counts))

    # -- constant-score clauses -----------------------------------------------------------------
    def term_range_docs(self, leaf: TermRangeLeaf) -> np.ndarray:
        """Documents with a term of the field in the range: all postings of the range's terms."""
        docs = np.zeros(self.n, dtype=bool)
        fr = self.reader.fields.get(leaf.field)
        if fr is None:
            return docs
        tids = term_range_ids(fr, leaf.low, leaf.high, leaf.include_low, leaf.include_high)
        if len(tids) == len(fr.dictionary):
            units = np.asarray(fr.unit)  # the whole dictionary: every posting
        else:
            units = np.asarray(fr.unit)[posting_slots(fr, tids)[0]]
        docs[np.asarray(fr.unit_doc)[units] if fr.split else units] = True
        return docs

    def column_docs(self, leaf: ColumnLeaf, of: np.ndarray | None = None) -> np.ndarray:
        """Whether each document's column value lies in the range (missing values never do): for
        every document of the segment, or only for the documents `of`."""
        col = self.reader.columns.get(leaf.field)
        if col is None:
            return np.zeros(self.n if of is None else len(of), dtype=bool)
        values = col if of is None else col[of]
        docs = values != MISSING_TIME if values.dtype.kind == "i" else ~np.isnan(values)
        if leaf.low is not None:
            docs &= values >= leaf.low if leaf.include_low else values > leaf.low
        if leaf.high is not None:
            docs &= values <= leaf.high if leaf.include_high else values < leaf.high
        return docs


class SegmentMatches:
    """One segment's matching live documents, as a scorer found them: what collectors are fed,
    one whole batch per segment (where pruning skipped documents that cannot enter the top k,
    `at_least` is a lower bound of the matches, else None). `docs` ascend; `scores` are the documents' float32 scores where
    the segment has no passages; `matches` holds the dense result (document and passage scores)
    where it has them (`scores` is then None: the collector chooses grouped or flat ranking)."""

    __slots__ = ("seg", "scorer", "docs", "scores", "matches", "at_least")

    def __init__(self, scorer: "LeafScorer", docs: np.ndarray, scores: "np.ndarray | None", matches=None,
                 at_least: "int | None" = None):
        self.seg, self.scorer, self.docs, self.scores, self.matches = scorer.seg, scorer, docs, scores, matches
        # None: `docs` are every match; else pruning skipped some, and at least this many matched
        self.at_least = at_least

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the documents where `mask` (one bool per document of the batch) is true."""
        self.docs = self.docs[mask]
        if self.scores is not None:
            self.scores = self.scores[mask]
