"""Evaluating compiled queries segment by segment, with index-wide statistics.

Evaluation is vectorised: a term's postings are scored in one
numpy expression; clauses combine as dense arrays over the segment's documents and passages.
Matching is decided per document (a required word may be anywhere in the document); scores are
computed per passage for fields split into passages, so the best passage decides the rank.

Scoring, per kind of clause:

- a word in one field: BM25 (Lucene's idf over the units holding the field, k1 saturation, b
  length normalisation), times the field's and the query's boosts;
- a word over several default TEXT fields: BM25F. Each field contributes its own analysed term's
  frequency, length-normalised and weighted by the field boost, tf~ = sum_f w_f * tf_f / B_f with
  B_f = 1 - b + b * len_f / avglen_f; the score is idf * tf~ * (k1 + 1) / (k1 + tf~), with idf from
  the documents of the index and the documents holding the word in any of the fields. For a
  field split into passages the passage's tf joins the other fields' document-level tf;
- a phrase: one term whose idf is the sum of its words' idfs and whose tf is the number of
  occurrences; with slop, Lucene's sloppy frequency (below);
- prefix, wildcard and fuzzy: an OR of the terms they expand to (see expand.py), each scored as
  an ordinary word;
- ranges (numbers, dates, terms), exact NUMERIC/DATETIME values and `*:*`: constant score, the
  clause's boost, as Lucene's constant-score range queries (a range says nothing about relevance).

A sloppy phrase `"a b c"~s` matches where one position p_i can be chosen for each word (offset o_i
in the phrase; distinct positions) with spread = max(p_i - o_i) - min(p_i - o_i) <= s, as in Lucene:
words may be reordered, and swapping two words costs 2. Its frequency (the tf of BM25) sums
1 / (1 + spread) (Lucene's sloppyFreq) over matches, where each occurrence of the phrase's rarest
word (by document frequency) anchors at most one match, the tightest around it: so an exact phrase
counts its occurrences, and dense repeats of the words cannot multiply the count.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..schema import TEXT, Schema
from ..scoring import BM25, Explanation, bm25, explain_idf, explain_tf, idf, length_norm
from ..storage.arrays import gather_ranges, run_start_mask, run_starts
from ..storage.segment import _STRIDE, MISSING_TIME, FieldReader, SegmentReader
from .compile import (AllLeaf, BoolNode, ColumnLeaf, ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf,
                      TermRangeLeaf)
from .expand import Expander, Expansion, term_range_ids

_NO_UNITS = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # (units, frequencies) of a phrase found nowhere
for _a in _NO_UNITS:
    _a.flags.writeable = False
_WHOLE_KEYS = 16384  # a phrase whose words have at most this many positions in all keys them whole
_MAX_SLOP = (1 << 30) - 1  # a larger slop means the same (positions stay below 2**31) and would overflow keys


def positions_in(sorted_values: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value of `wanted`, whether it occurs in `sorted_values` and where (binary searches)."""
    if not len(sorted_values):
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), dtype=np.int64)
    at = sorted_values.searchsorted(wanted)
    np.minimum(at, len(sorted_values) - 1, out=at)
    return sorted_values[at] == wanted, at


def _common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values of sorted, duplicate-free `a` that are also in sorted `b` (binary searches, no sort)."""
    return a[positions_in(b, a)[0]] if len(a) else a


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (a sort and one comparison: np.unique is several times
    slower on integer arrays in numpy 2)."""
    values = np.sort(values)
    return values[run_start_mask(values)]


def _runs(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of non-empty sorted `units` and how many times each occurs."""
    starts = run_starts(units)
    counts = np.empty(len(starts), dtype=np.int64)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = len(units) - starts[-1]
    return units[starts], counts


def run_sums(units: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of non-empty sorted `units` and the sum of their `weights` (float64,
    added in order, as bincount does)."""
    first = run_start_mask(units)
    slot = first.cumsum()
    slot -= 1
    return units[first], np.bincount(slot, weights=weights)


def intersect(plists: list[np.ndarray], unit_count: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """The units in every one of the sorted, duplicate-free posting lists (as int64), and for each
    list the index of each such unit in it. The shortest list is probed into the others: by binary
    search or, where that would cost more than touching every one of the segment's `unit_count`
    units, through an array mapping units to their index in the list."""
    order = sorted(range(len(plists)), key=lambda i: len(plists[i]))
    cand = plists[order[0]]
    picks = {order[0]: np.arange(len(cand))}
    for i in order[1:]:
        pl = plists[i]
        if unit_count is not None and unit_count < 4 * len(cand) * len(pl).bit_length():
            index = np.full(unit_count, -1, dtype=np.int64)
            index[pl] = np.arange(len(pl))
            at = index[cand]
            hit = at >= 0
        else:
            hit, at = positions_in(pl, cand)
        cand = cand[hit]
        picks = {j: p[hit] for j, p in picks.items()}
        picks[i] = at[hit]
        if not len(cand):
            break
    return np.asarray(cand, dtype=np.int64), [picks.get(i, cand[:0]) for i in range(len(plists))]


def term_postings(reader: SegmentReader, fname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(units ascending, term frequencies) of `term` in field `fname` of the segment; None where
    the segment does not hold the term (or the field)."""
    fr = reader.fields.get(fname)
    tid = fr.term_id(term) if fr is not None else -1
    return fr.postings(tid) if tid >= 0 else None


def posting_slots(fr: FieldReader, tids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the postings of term ids `tids` of field reader `fr` lie in its posting arrays (one
    index per posting, term by term), and how many postings each term has."""
    ptr = np.asarray(fr.ptr)
    starts, counts = ptr[tids], ptr[tids + 1] - ptr[tids]
    return gather_ranges(starts, counts), counts


# -- evaluation -------------------------------------------------------------------------------
class Stats:
    """Index-wide statistics over a searcher's segments: unit counts, average lengths, document
    frequencies; and the expansions of multi-term queries over those segments. Deleted documents
    count until their segment is merged, as in Lucene."""

    def __init__(self, readers: list[SegmentReader]):
        self.readers = readers
        self.doc_count = sum(r.doc_count for r in readers)
        self.units: dict[str, int] = {}
        self.tokens: dict[str, int] = {}
        for r in readers:
            for name, fr in r.fields.items():
                self.units[name] = self.units.get(name, 0) + fr.info.get("nonempty", r.doc_count)
                self.tokens[name] = self.tokens.get(name, 0) + fr.info.get("tokens", 0)
        self._df: dict[tuple[str, str], int] = {}
        self._fields_df: dict[tuple, int] = {}
        self.expander = Expander(readers)

    def avg_length(self, fname: str) -> float:
        units = self.units.get(fname, 0)
        return self.tokens.get(fname, 0) / units if units else 0.0

    def doc_freq(self, fname: str, term: str) -> int:
        key = (fname, term)
        if key not in self._df:
            self._df[key] = sum(r.fields[fname].doc_freq(term) for r in self.readers if fname in r.fields)
        return self._df[key]

    def field_units(self, fname: str) -> int:
        """N for a field's idf: the units (documents or passages) holding the field."""
        return max(self.units.get(fname, 0), 1)

    def idf(self, fname: str, term: str) -> float:
        return float(idf(self.field_units(fname), self.doc_freq(fname, term)))

    def fields_doc_freq(self, terms: Mapping[str, str]) -> int:
        """Documents holding the word in any of the fields (each field's own term), index-wide."""
        key = tuple(sorted(terms.items()))
        if key not in self._fields_df:
            total = 0
            for r in self.readers:
                docs, split = [], False
                for fname, term in terms.items():
                    found = term_postings(r, fname, term)
                    if found is not None:
                        fr, units = r.fields[fname], found[0]
                        docs.append(np.asarray(fr.unit_doc)[units] if fr.split else units)
                        split |= fr.split
                if len(docs) == 1 and not split:
                    total += len(docs[0])
                elif docs:
                    total += len(distinct(np.concatenate(docs)))
            self._fields_df[key] = total
        return self._fields_df[key]

    def fields_idf(self, terms: Mapping[str, str]) -> float:
        """BM25F idf: N = documents in the index, df = documents with the word in any field."""
        return float(idf(max(self.doc_count, 1), self.fields_doc_freq(terms)))

    def expand(self, leaf: ExpandLeaf) -> Expansion:
        return self.expander.expand(leaf.field, leaf.kind, leaf.text, leaf.max_expansions, leaf.max_dist,
                                    leaf.prefix_length)

    def expansion_idf(self, leaf: ExpandLeaf) -> tuple[Expansion, np.ndarray]:
        """The leaf's expansion and the idf of each of its terms."""
        exp = self.expand(leaf)
        return exp, idf(self.field_units(leaf.field), exp.doc_freq.astype(np.float64))


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


class SegmentEvaluator:
    """Evaluates compiled nodes on one segment with index-wide statistics and BM25 parameters
    `bm25` (None: the evaluator only matches, and every term scores a constant idf). It holds no
    per-query state, so one evaluator answers any number of queries.

    A field with lengths (TEXT) gets its norms, k1 * (1 - b + b * len / avglen) per unit, when a
    query first scores it; without them (ID and KEYWORD fields, or bm25=None) a term scores a
    constant idf. `schema` gives explain() the fields' boosts.
    """

    def __init__(self, reader: SegmentReader, stats: Stats, seg: int, schema: Schema, bm25: BM25 | None):
        self.reader = reader
        self.seg = seg  # the reader's position among the segments `stats` covers
        self.stats = stats
        self.schema = schema
        self.bm25 = bm25
        self.k1 = np.float32(BM25().k1 if bm25 is None else bm25.k1)
        self.n = reader.doc_count
        self._norms: dict[str, np.ndarray | None] = {}

    def norm(self, fname: str) -> np.ndarray | None:
        """The field's k1 * (1 - b + b * len / avglen) per unit (float32), computed on first use;
        None for a field without lengths, or when the evaluator only matches."""
        if fname not in self._norms:
            fr = self.reader.fields.get(fname)
            norm = None
            if self.bm25 is not None and fr is not None and fr.lengths is not None:
                norm = length_norm(fr.lengths, self.stats.avg_length(fname), self.bm25.k1, self.bm25.b)
            self._norms[fname] = norm
        return self._norms[fname]

    def _empty(self) -> Matches:
        return Matches(np.zeros(self.n, dtype=bool))

    def evaluate(self, node: Node) -> Matches:
        if isinstance(node, TermLeaf):
            return self._term(node)
        if isinstance(node, BoolNode):
            return self._bool(node)
        if isinstance(node, PhraseLeaf):
            return self._phrase(node)
        if isinstance(node, FieldsLeaf):
            return self._fields(node)
        if isinstance(node, ExpandLeaf):
            return self._expanded(node)
        if isinstance(node, TermRangeLeaf):
            return self._constant(self.term_range_docs(node), node.boost)
        if isinstance(node, ColumnLeaf):
            return self._constant(self.column_docs(node), node.boost)
        if isinstance(node, AllLeaf):
            score = np.full(self.n, node.boost, dtype=np.float32) if node.boost else None
            return Matches(np.ones(self.n, dtype=bool), score)
        raise TypeError(f"cannot evaluate {node!r}")

    def matching(self, node: Node) -> np.ndarray:
        """Only the documents `node` matches (bool[doc_count]), for filters and excluded clauses,
        whose scores are not used: constant-score ranges skip building a score array."""
        if isinstance(node, ColumnLeaf):
            return self.column_docs(node)
        if isinstance(node, TermRangeLeaf):
            return self.term_range_docs(node)
        return self.evaluate(node).docs

    # -- placing scores -----------------------------------------------------------------------
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

    def _constant(self, docs: np.ndarray, boost: float) -> Matches:
        return Matches(docs, np.where(docs, np.float32(boost), np.float32(0)))

    def term_scores(self, fname: str, units: np.ndarray, tf: np.ndarray, weight) -> np.ndarray:
        """BM25 of postings; `weight` (idf times boosts) is a number or one per posting."""
        norm = self.norm(fname)
        if norm is None:  # ID and KEYWORD fields: no length, tf saturates at once
            return np.broadcast_to(np.asarray(weight, dtype=np.float32), (len(units),)).copy()
        return bm25(tf, norm[units], weight, self.k1)

    # -- words ----------------------------------------------------------------------------------
    def scored_term(self, leaf: TermLeaf) -> tuple[np.ndarray, np.ndarray] | None:
        """(units, BM25 scores) of a word's postings in this segment; None where it is absent.
        Shared by the dense and the sparse evaluator, so both score a word alike."""
        found = term_postings(self.reader, leaf.field, leaf.term)
        if found is None:
            return None
        units, tf = found
        return units, self.term_scores(leaf.field, units, tf, self.stats.idf(leaf.field, leaf.term) * leaf.boost)

    def _term(self, leaf: TermLeaf) -> Matches:
        scored = self.scored_term(leaf)
        return self._empty() if scored is None else self._place(leaf.field, *scored)

    def _fields(self, leaf: FieldsLeaf) -> Matches:
        """BM25F: per-field length-normalised tf summed with field weights, then saturated once."""
        doc_tf = np.zeros(self.n, dtype=np.float32)
        docs = np.zeros(self.n, dtype=bool)
        split_parts = []
        touched = []  # documents with the word in an unsplit field: only they need saturating
        for fname, term in leaf.terms.items():
            found = term_postings(self.reader, fname, term)
            if found is None:
                continue
            fr, (units, tf) = self.reader.fields[fname], found
            part = self.fields_tf(fname, units, tf, leaf.weights[fname])
            if fr.split:
                split_parts.append((fname, fr, units, part))
            else:
                doc_tf[units] += part
                docs[units] = True
                touched.append(units)
        weight = np.float32(self.stats.fields_idf(leaf.terms) * leaf.boost)
        doc_score = np.zeros(self.n, dtype=np.float32)
        if touched:
            at = touched[0] if len(touched) == 1 else distinct(np.concatenate(touched))
            doc_score[at] = weight * self.saturate(doc_tf[at])
        result = Matches(docs, doc_score)
        for fname, fr, units, part in split_parts:
            unit_doc = np.asarray(fr.unit_doc)[units]
            base = doc_tf[unit_doc]
            pscore = np.zeros(len(fr.unit_doc), dtype=np.float32)
            # the passage's score with the document's other fields, less what those fields alone
            # already give the document (the doc-level score is added to every passage)
            pscore[units] = weight * (self.saturate(base + part) - self.saturate(base))
            docs[unit_doc] = True
            result.passage_score[fname] = pscore
        return result

    def fields_tf(self, fname: str, units: np.ndarray, tf: np.ndarray, weight: float) -> np.ndarray:
        """A field's part of BM25F's tf~: w_f * tf / (1 - b + b * len / avglen), as float32."""
        tf = np.asarray(tf, dtype=np.float32)
        norm = self.norm(fname)
        if norm is None or self.k1 == 0:
            return np.float32(weight) * tf
        return np.float32(weight) * tf * self.k1 / norm[units]

    def saturate(self, x: np.ndarray) -> np.ndarray:
        """x * (k1 + 1) / (k1 + x), and 0 where x is 0."""
        if self.k1 == 0:
            return (x > 0).astype(np.float32)
        return x * (self.k1 + np.float32(1)) / (self.k1 + x)

    def _expanded(self, leaf: ExpandLeaf) -> Matches:
        """An OR of the expanded terms, all postings scored in one vectorised pass."""
        if leaf.field not in self.reader.fields:
            return self._empty()
        return self._any_term(leaf.field, *self.expansion_terms(leaf))

    def expansion_terms(self, leaf: ExpandLeaf) -> tuple[np.ndarray, np.ndarray]:
        """This segment's ids of the terms `leaf` expands to, and each one's idf times boost."""
        exp, idfs = self.stats.expansion_idf(leaf)
        tids = exp.segment_ids[self.seg]
        present = tids >= 0
        return tids[present], idfs[present] * leaf.boost

    def word_terms(self, fname: str, words: list[TermLeaf]) -> tuple[np.ndarray, np.ndarray]:
        """This segment's ids of single words of field `fname` (those it holds), and each one's
        idf times boost."""
        fr = self.reader.fields[fname]
        tids, weights = [], []
        for leaf in words:
            tid = fr.term_id(leaf.term)
            if tid >= 0:
                tids.append(tid)
                weights.append(self.stats.idf(fname, leaf.term) * leaf.boost)
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

    def _terms_or(self, fname: str, terms: list[TermLeaf]) -> Matches:
        """Should-clauses that are all single words of one field, evaluated as one OR."""
        if fname not in self.reader.fields:
            return self._empty()
        return self._any_term(fname, *self.word_terms(fname, terms))

    # -- constant-score clauses -------------------------------------------------------------------
    def term_range_docs(self, leaf: TermRangeLeaf) -> np.ndarray:
        """Documents with a term of the field in the range: all postings of the range's terms."""
        docs = np.zeros(self.n, dtype=bool)
        fr = self.reader.fields.get(leaf.field)
        if fr is None:
            return docs
        tids = term_range_ids(fr, leaf.low, leaf.high, leaf.include_low, leaf.include_high)
        if len(tids) == len(fr.trie):
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

    # -- phrases ----------------------------------------------------------------------------------
    def phrase_units(self, leaf: PhraseLeaf) -> tuple[np.ndarray, np.ndarray]:
        """(units, phrase frequency) where the phrase occurs in this segment; the frequency is a
        count for exact phrases and Lucene's sloppy frequency for phrases with slop.

        An exact phrase is an intersection of keys unit * 2**32 + (position - offset in the
        phrase), one sorted key list per word. Words with few positions in all are keyed whole
        (a few numpy calls); otherwise the posting lists are intersected first and only the
        positions in the common units are keyed. A field with pair postings (index_phrases)
        answers exact phrases from them first (_paired)."""
        fr = self.reader.fields.get(leaf.field)
        if fr is None:
            return _NO_UNITS
        tids = [fr.term_id(t) for _, t in leaf.terms]
        if min(tids) < 0:
            return _NO_UNITS
        if fr.pos is None:
            raise ValueError(f"field {fr.name!r} was indexed without positions")
        pptr = fr.pptr
        n_positions = [b - a for a, b in (pptr[t:t + 2].tolist() for t in tids)]
        few = sum(n_positions) <= _WHOLE_KEYS
        if fr.pairs is not None and leaf.slop == 0:
            paired = self._paired(fr, leaf, tids, few)
            if paired is not None:
                return paired
        if few and leaf.slop > 0 and len(tids) == 2 and tids[0] != tids[1]:
            return self._sloppy_pair(fr, leaf, tids)
        if few and leaf.slop == 0:
            # Keys of the word with the most positions stay unshifted (so keys // 2**32 is the
            # unit); every other word's keys move by the difference of offsets and are probed
            # into them, fewest positions first.
            order = sorted(range(len(tids)), key=n_positions.__getitem__)
            base = order.pop()
            keys = None
            for i in order:
                k = fr.position_keys(tids[i], leaf.terms[i][0] - leaf.terms[base][0])
                keys = k if keys is None else _common(keys, k)
                if not len(keys):
                    return _NO_UNITS
            keys = _common(keys, fr.position_keys(tids[base]))
            if not len(keys):
                return _NO_UNITS
            return _runs(keys // _STRIDE)
        cand, picks = intersect([fr.postings(t)[0] for t in tids], fr.units)
        if not len(cand):
            return _NO_UNITS
        if leaf.slop > 0:
            return self._sloppy(fr, leaf, tids, picks, cand)
        return self._exact_in(fr, leaf, tids, picks, cand)

    def _paired(self, fr, leaf: PhraseLeaf, tids: list[int], few: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """An exact phrase through the field's pair postings (storage/pairs.py), or None where
        they do not help: no two of its words are adjacent, or a longer phrase whose words have
        `few` positions (keyed whole, that is cheaper than gathering positions per unit). Two
        adjacent words are one pair lookup; a missing pair rules the phrase out; otherwise a
        longer phrase is checked against positions only in the units holding all its pairs (and
        its unpaired words)."""
        order = sorted(range(len(tids)), key=lambda i: leaf.terms[i][0])
        rel = [leaf.terms[i][0] for i in order]
        adjacent = [j for j in range(len(order) - 1) if rel[j + 1] - rel[j] == 1]
        if not adjacent or (few and len(tids) > 2):
            return None
        lists = []
        for j in adjacent:
            found = fr.pairs.lookup(tids[order[j]], tids[order[j + 1]])
            if found is None:
                return _NO_UNITS
            if len(tids) == 2:
                return found
            lists.append(found[0])
        covered = {order[j] for j in adjacent} | {order[j + 1] for j in adjacent}
        lists += [fr.postings(tids[i])[0] for i in range(len(tids)) if i not in covered]
        cand, _ = intersect(lists, fr.units)
        if not len(cand):
            return _NO_UNITS
        picks = [positions_in(fr.postings(t)[0], cand)[1] for t in tids]
        return self._exact_in(fr, leaf, tids, picks, cand)

    def _exact_in(self, fr, leaf: PhraseLeaf, tids: list[int], picks: list[np.ndarray], cand: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """(units, count) of an exact phrase among candidate units `cand`, each word's postings
        there given by `picks` (indices into its posting list)."""
        keys = None
        for (rel, _), tid, pick in zip(leaf.terms, tids, picks):
            pos, owner = fr.positions(tid, pick)
            k = cand[owner] * _STRIDE + (pos - rel)
            keys = k if keys is None else _common(keys, k)
            if not len(keys):
                return _NO_UNITS
        return _runs(keys // _STRIDE)

    def _sloppy_pair(self, fr, leaf: PhraseLeaf, tids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """A sloppy phrase of two different words with few positions: what _sloppy computes, from
        whole key lists. For each occurrence of the anchor word (the rarer index-wide), the other
        word's nearest keys below and above it give the tightest match; keys of other units lie
        more than any slop away, so the unit needs no separate test."""
        dfs = [self.stats.doc_freq(leaf.field, t) for _, t in leaf.terms]
        anchor = 0 if dfs[0] <= dfs[1] else 1
        other = 1 - anchor
        keys = fr.position_keys(tids[anchor])  # unshifted, so that keys // 2**32 is the unit
        near = fr.position_keys(tids[other], leaf.terms[other][0] - leaf.terms[anchor][0])
        at = near.searchsorted(keys)
        # the nearest keys on either side (clipped at the ends, where abs() keeps them farther)
        spread = np.minimum(np.abs(keys - near.take(at - 1, mode="clip")), np.abs(keys - near.take(at, mode="clip")))
        found = spread <= min(leaf.slop, _MAX_SLOP)
        keys = keys[found]
        if not len(keys):
            return _NO_UNITS
        return run_sums(keys // _STRIDE, np.reciprocal(spread[found] + 1.0))

    def _sloppy(self, fr, leaf: PhraseLeaf, tids: list[int], picks: list[np.ndarray], cand: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Sloppy phrase frequency per candidate unit. Each occurrence of the anchor word (the
        phrase's rarest word index-wide) stands for at most one match: the tightest choice of
        positions for the other words around it, found by a vectorised join over only the
        nearest occurrences of each word on either side (m of each, for a word that fills m slots
        of the phrase: farther ones can never tighten the window). So the work is linear in the
        positions whatever the slop, and an exact phrase counts 1 per occurrence, as in Lucene."""
        slop = min(leaf.slop, _MAX_SLOP)
        bias = max(rel for rel, _ in leaf.terms) + slop + 1  # keeps keys of window ends non-negative
        slots = []
        for (rel, term), tid, pick in zip(leaf.terms, tids, picks):
            pos, owner = fr.positions(tid, pick)
            slots.append((term, owner, pos - rel, pos))
        terms = [t for t, *_ in slots]
        anchor = min(range(len(slots)), key=lambda i: (self.stats.doc_freq(leaf.field, terms[i]), i))
        _, own, center, raw = slots[anchor]
        row_anchor = np.arange(len(own))  # the anchor occurrence each partial match belongs to
        lo, hi = center, center
        remember = {anchor: raw}  # positions a repeated word must not take again
        rest = [i for i in range(len(slots)) if i != anchor]
        for step, i in enumerate(rest):
            term, owner, adj, raw = slots[i]
            m = terms.count(term)
            keys = owner * _STRIDE + (adj + bias)
            at = np.searchsorted(keys, own * _STRIDE + (center + bias))
            offsets = np.arange(-m, m)
            pick = (at[:, None] + offsets).ravel()
            rep = np.repeat(np.arange(len(own)), 2 * m)
            ok = (pick >= 0) & (pick < len(keys))
            pick, rep = pick[ok], rep[ok]
            new_adj = adj[pick]
            new_lo, new_hi = np.minimum(lo[rep], new_adj), np.maximum(hi[rep], new_adj)
            ok = (owner[pick] == own[rep]) & (new_hi - new_lo <= slop)
            for k, r in remember.items():  # one position cannot fill two slots of the phrase
                if terms[k] == term:
                    ok &= r[rep] != raw[pick]
            rep, pick = rep[ok], pick[ok]
            own, center, row_anchor = own[rep], center[rep], row_anchor[rep]
            lo, hi = new_lo[ok], new_hi[ok]
            remember = {k: r[rep] for k, r in remember.items()}
            remember[i] = raw[pick]
            later = {terms[j] for j in rest[step + 1:]}
            remember = {k: r for k, r in remember.items() if terms[k] in later}
            if not len(own):
                return np.zeros(0, np.int64), np.zeros(0, np.float64)
        spread = np.full(len(slots[anchor][1]), np.iinfo(np.int64).max)
        np.minimum.at(spread, row_anchor, hi - lo)
        found = spread <= slop
        freq = np.bincount(slots[anchor][1][found], weights=1.0 / (1.0 + spread[found]), minlength=len(cand))
        units = np.flatnonzero(freq > 0)
        return cand[units], freq[units]

    def phrase_idf(self, leaf: PhraseLeaf) -> float:
        return sum(self.stats.idf(leaf.field, t) for _, t in leaf.terms)

    def scored_phrase(self, leaf: PhraseLeaf) -> tuple[np.ndarray, np.ndarray] | None:
        """(units, BM25 scores) where the phrase occurs in this segment; None where it does not
        (shared by the dense and the sparse evaluator)."""
        units, freq = self.phrase_units(leaf)
        if not len(units):
            return None
        return units, self.term_scores(leaf.field, units, freq, self.phrase_idf(leaf) * leaf.boost)

    def _phrase(self, leaf: PhraseLeaf) -> Matches:
        scored = self.scored_phrase(leaf)
        return self._empty() if scored is None else self._place(leaf.field, *scored)

    # -- boolean ------------------------------------------------------------------------------------
    def _bool(self, node: BoolNode) -> Matches:
        result: Matches | None = None
        for child in node.must:
            m = self.evaluate(child)
            if result is None:
                result = m
            else:
                result.docs &= m.docs
                result.add_scores(m)
        if node.should:
            any_should = np.zeros(self.n, dtype=bool)
            acc = Matches(any_should)
            words: dict[str, list[TermLeaf]] = {}
            for child in node.should:
                if isinstance(child, TermLeaf):
                    words.setdefault(child.field, []).append(child)
            parts = [self._terms_or(f, w) if len(w) > 1 else self._term(w[0]) for f, w in words.items()]
            parts += [self.evaluate(c) for c in node.should if not isinstance(c, TermLeaf)]
            for m in parts:
                any_should |= m.docs
                acc.add_scores(m)
            if result is None:
                result = acc
            else:
                result.add_scores(acc)
        for child in node.must_not:
            result.docs &= ~self.matching(child)
        if len(node.must) > 1 or node.must_not or (node.must and node.should):
            self._mask(result)  # documents that failed a clause keep no partial score
        result.scale(node.boost)
        return result

    def _mask(self, m: Matches) -> None:
        if m.doc_score is not None:
            m.doc_score *= m.docs
        for fname, s in m.passage_score.items():
            s *= m.docs[np.asarray(self.reader.fields[fname].unit_doc)]

    # -- explaining one document's score --------------------------------------------------------------
    def explain(self, node: Node, doc: int, passage: "tuple[str, int] | None") -> Explanation | None:
        """How `node` scores document `doc` of this segment, in the unit that ranks it: `passage`
        (split field, unit) or, when None, the document as a whole. None if the document does not
        match. The arithmetic is redone in float64 from the statistics it shows."""
        if isinstance(node, BoolNode):
            return self._explain_bool(node, doc, passage)
        if not self.evaluate(node).docs[doc]:
            return None
        if isinstance(node, TermLeaf):
            return self._explain_term(node.field, node.term, node.boost, doc, passage)
        if isinstance(node, PhraseLeaf):
            return self._explain_phrase(node, doc, passage)
        if isinstance(node, FieldsLeaf):
            return self._explain_fields(node, doc, passage)
        if isinstance(node, ExpandLeaf):
            exp = self.stats.expand(node)
            parts = [e for t in exp.terms if (e := self._explain_term(node.field, t, node.boost, doc, passage)).value]
            what = f"{node.kind} {node.text!r} on {node.field}"
            return Explanation(sum(e.value for e in parts),
                               f"{what}: sum over the {len(exp.terms)} terms it expands to (those in this unit):", parts)
        if isinstance(node, TermRangeLeaf):
            return Explanation(node.boost, f"{node.field}: a term in the range (constant score = boost)")
        if isinstance(node, ColumnLeaf):
            return Explanation(node.boost, f"{node.field}: value in the range (constant score = boost)")
        if isinstance(node, AllLeaf):
            return Explanation(node.boost, "every document (constant score = boost)")
        raise TypeError(f"cannot explain {node!r}")

    def _explain_bool(self, node: BoolNode, doc: int, passage) -> Explanation | None:
        must = [self.explain(c, doc, passage) for c in node.must]
        if any(e is None for e in must):
            return None
        should = [e for c in node.should if (e := self.explain(c, doc, passage)) is not None]
        if not node.must and not should:
            return None
        if any(self.matching(c)[doc] for c in node.must_not):
            return None
        total = sum(e.value for e in must + should)
        if node.boost == 1.0:
            return Explanation(total, "sum of:", must + should)
        return Explanation(node.boost * total, f"boost {node.boost:g} times the sum of:", must + should)

    def _unit(self, fname: str, doc: int, passage) -> int | None:
        """The unit of `fname` that counts for this explanation: the document, or the chosen
        passage when the field is split (None: this field's passages are not the one chosen)."""
        fr = self.reader.fields.get(fname)
        if fr is None:
            return None
        if not fr.split:
            return doc
        return passage[1] if passage is not None and passage[0] == fname else None

    def _tf_at(self, fname: str, term: str, unit: int | None) -> int:
        found = term_postings(self.reader, fname, term) if unit is not None else None
        if found is None:
            return 0
        units, tf = found
        i = int(np.searchsorted(units, unit))
        return int(tf[i]) if i < len(units) and units[i] == unit else 0

    def _boost(self, fname: str, boost: float) -> Explanation:
        ft = self.schema.fields.get(fname)
        field_boost = ft.boost if isinstance(ft, TEXT) else 1.0
        return Explanation(boost, "boost = query boost (with the default field's) times field boost:",
                           [Explanation(boost / field_boost, "query boost"), Explanation(field_boost, "field boost")])

    def _bm25(self, label: str, fname: str, idf_expl: Explanation, tf: float, unit: int, boost: float,
              what: str) -> Explanation:
        if self.norm(fname) is None:  # ID and KEYWORD fields
            return Explanation(idf_expl.value * boost, f"{label}: idf * boost (no length; a match counts once)",
                               [idf_expl, self._boost(fname, boost)])
        fr = self.reader.fields[fname]
        tf_expl = explain_tf(tf, int(fr.lengths[unit]), self.stats.avg_length(fname), float(self.k1), self.bm25.b, what)
        return Explanation(idf_expl.value * tf_expl.value * boost, f"{label}: BM25 = idf * tf factor * boost",
                           [idf_expl, tf_expl, self._boost(fname, boost)])

    def _where(self, fname: str, unit: int) -> str:
        """The unit as the hit shows it: the passage's number within its document (as `Passage.index`)."""
        fr = self.reader.fields[fname]
        if not fr.split:
            return fname
        unit_doc = np.asarray(fr.unit_doc)
        first = int(np.searchsorted(unit_doc, unit_doc[unit]))
        return f"passage #{unit - first} of {fname}"

    def _explain_term(self, fname: str, term: str, boost: float, doc: int, passage) -> Explanation:
        unit = self._unit(fname, doc, passage)
        tf = self._tf_at(fname, term, unit)
        if not tf:
            return Explanation(0.0, f"{fname}:{term} is in another passage of the document (adds nothing to this one)")
        idf_expl = explain_idf(self.stats.field_units(fname), self.stats.doc_freq(fname, term))
        return self._bm25(f"{fname}:{term} in {self._where(fname, unit)}", fname, idf_expl, tf, unit, boost, "tf")

    def _explain_phrase(self, leaf: PhraseLeaf, doc: int, passage) -> Explanation:
        words = " ".join(t for _, t in leaf.terms)
        unit = self._unit(leaf.field, doc, passage)
        units, freq = self.phrase_units(leaf)
        i = int(np.searchsorted(units, unit)) if unit is not None else len(units)
        if i >= len(units) or units[i] != unit:
            return Explanation(0.0, f'{leaf.field}:"{words}" is in another passage of the document')
        idfs = [explain_idf(self.stats.field_units(leaf.field), self.stats.doc_freq(leaf.field, t)) for _, t in leaf.terms]
        for (_, t), e in zip(leaf.terms, idfs):
            e.description = f"idf of {t} = log(1 + (N - df + 0.5) / (df + 0.5)) from:"
        idf_expl = Explanation(sum(e.value for e in idfs), "idf, the sum of the words' idfs:", idfs)
        what = (f"phrase frequency with slop {leaf.slop}: sum of 1 / (1 + spread) over matches, "
                "one per occurrence of the rarest word" if leaf.slop
                else "phrase frequency, occurrences of the phrase")
        return self._bm25(f'{leaf.field}:"{words}"{"~%d" % leaf.slop if leaf.slop else ""} in '
                          f"{self._where(leaf.field, unit)}", leaf.field, idf_expl, float(freq[i]), unit,
                          leaf.boost, what)

    def _explain_fields(self, leaf: FieldsLeaf, doc: int, passage) -> Explanation:
        k1 = float(self.k1)
        parts = []
        for fname, term in leaf.terms.items():
            unit = self._unit(fname, doc, passage)
            tf = self._tf_at(fname, term, unit)
            if not tf:
                continue
            w = leaf.weights[fname]
            if self.norm(fname) is not None:
                b = self.bm25.b
                dl, avg = int(self.reader.fields[fname].lengths[unit]), self.stats.avg_length(fname)
                norm = 1 - b + b * dl / (avg if avg > 0 else 1.0)
                parts.append(Explanation(w * tf / norm, f"{fname}:{term} in {self._where(fname, unit)}: "
                                         "w * tf / (1 - b + b * dl / avgdl) from:",
                                         [Explanation(float(tf), "tf"), Explanation(w, "w, field weight"),
                                          Explanation(b, "b"), Explanation(float(dl), "dl, length of the unit"),
                                          Explanation(avg, "avgdl, average length")]))
            else:
                parts.append(Explanation(w * tf, f"{fname}:{term}: w * tf (no length)",
                                         [Explanation(float(tf), "tf"), Explanation(w, "w, field weight")]))
        combined = sum(e.value for e in parts)
        idf_expl = explain_idf(max(self.stats.doc_count, 1), self.stats.fields_doc_freq(leaf.terms), "documents")
        idf_expl.description = "idf over documents with the word in any of the fields, " + idf_expl.description
        tf_expl = Explanation(combined, "tf~, BM25F's combined frequency: sum over fields of", parts)
        sat = (combined * (k1 + 1) / (k1 + combined) if k1 else 1.0) if combined else 0.0
        sat_expl = Explanation(sat, "tf~ * (k1 + 1) / (k1 + tf~) from:", [tf_expl, Explanation(k1, "k1")])
        label = " | ".join(f"{f}:{t}" for f, t in leaf.terms.items())
        return Explanation(idf_expl.value * sat * leaf.boost, f"BM25F ({label}) = idf * saturated tf~ * boost",
                           [idf_expl, sat_expl, Explanation(leaf.boost, "query boost")])
