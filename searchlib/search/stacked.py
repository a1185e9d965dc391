"""Every segment of a snapshot scored at once: the sparse combiner over documents numbered across
segments (a segment's base plus its document number), for queries of words and phrases.

A segment costs a search a few dozen numpy calls per query (look the words up, score, combine
fields and clauses, drop deleted documents, keep the top k), about a microsecond each whatever the
size of the arrays, so on an index of several segments a small query pays mostly for the number
of segments: 100,000 documents in four segments took 0.16-0.18 ms per word, in one segment
0.07-0.10 ms. Here a segment contributes only its postings (a dictionary look-up and two slices per word and
field, or its phrase matches); scoring, combining, deletions and the top k run once over the
concatenation, with the same code (sparse.py) on larger arrays.

The scores are those of scoring each segment alone, bit for bit: every step is elementwise or adds
a document's contributions in the same order (clause order, field order, term order), and a
document lives in one segment. Queries with clauses that read a segment's own term numbering or
columns (prefix, wildcard and fuzzy expansions, ranges, `*:*`), segments with passages, and
collectors other than the plain top k (facets, filters, sorting, collapsing, pruning) go segment
by segment as before.
"""
from __future__ import annotations

import numpy as np

from .leaves import COLD_USES, SegmentNorms
from .phrases import phrase_units
from .postings import distinct, term_postings
from .sparse import EMPTY, DocScores, SparseScorer
from .weighted import WeightedBool, WeightedFields, WeightedPhrase, WeightedTerm

_WORDS = (WeightedTerm, WeightedFields, WeightedPhrase)


# Stacking pays where a query's per-segment overhead outweighs its work on postings. With many
# postings on a large index it loses: arrays over every document of the index (BM25F's and an OR's
# sums) leave the processor's caches, where a segment's stay in them. Measured on 1,000,000
# documents in 4 segments (benchmarks/scale.py's corpus, ORs of 1-10 words): 0.6x the time up to
# ~10,000 matches, 0.8x at 30,000-60,000, 0.93-0.98x at 60,000-200,000, 1.5x beyond; on 100,000
# documents faster throughout. A search's first arrays over a large index also cost it fresh pages
# (a first 3-word query with 70,000 matches on 1M documents: +5 ms), so the gain must be clear.
STACK_DOCS = 1 << 19  # an index of at most this many documents is always stacked
STACK_POSTINGS = 1 << 16  # else a query whose words hold at most this many documents in all


def stackable(w, stats) -> bool:
    """Whether a weighted query is made only of words, phrases and boolean combinations of them,
    and is small enough for its index to gain from stacking (STACK_DOCS, STACK_POSTINGS)."""
    if stats.doc_count <= STACK_DOCS:
        return _words_only(w)
    found = _postings(w, stats)
    return found is not None and found <= STACK_POSTINGS


def _words_only(w) -> bool:
    if type(w) in _WORDS:
        return True
    return type(w) is WeightedBool and all(map(_words_only, w.must)) and all(map(_words_only, w.should)) \
        and all(map(_words_only, w.must_not))


def _postings(w, stats) -> int | None:
    """The documents a query's words hold (summed over its words; phrases count none: only their
    matches are stacked), or None where it is not made of words and phrases only."""
    kind = type(w)
    if kind is WeightedTerm:
        return stats.doc_freq(w.field, w.term)
    if kind is WeightedFields:
        return stats.fields_doc_freq(w.leaf.terms)
    if kind is WeightedPhrase:
        return 0
    if kind is not WeightedBool:
        return None
    total = sum(stats.doc_freq(fname, word.term) for fname, words in w.should_words for word in words)
    for child in (*w.must, *w.should, *w.must_not):
        found = _postings(child, stats)
        if found is None:
            return None
        total += found
    return total


class StackedReader:
    """What the sparse combiner reads of a segment (its document count, deletions and field
    names), for all the segments of a snapshot one after the other."""

    def __init__(self, readers: list):
        self.readers = readers
        self.bases = np.concatenate([[0], np.cumsum([r.doc_count for r in readers])]).astype(np.int64)
        self.starts = self.bases[:-1].tolist()
        self.doc_count = int(self.bases[-1])
        self.fields = {name: None for r in readers for name in r.fields}  # membership only
        self.live = None
        if any(r.live is not None for r in readers):
            self.live = np.concatenate([np.ones(r.doc_count, dtype=bool) if r.live is None else r.live for r in readers])


class StackedNorms:
    """The segments' length norms (leaves.SegmentNorms) for documents numbered across segments:
    read from one array over every document once a field has been used COLD_USES times (as a
    segment's own norms are), and before that from each segment's norms for the units asked."""

    def __init__(self, parts: list[SegmentNorms], bases: np.ndarray):
        self.parts, self.bases = parts, bases
        self.k1, self.variant, self.delta = parts[0].k1, parts[0].variant, parts[0].delta
        self._whole: dict[str, np.ndarray | None] = {}
        self._uses: dict[str, int] = {}

    def at(self, fname: str, units: np.ndarray) -> np.ndarray | None:
        if fname not in self._whole:
            uses = self._uses.get(fname, 0)
            if uses < COLD_USES and len(units) * 4 < self.bases[-1]:
                self._uses[fname] = uses + 1
                return self._by_segment(fname, units)
            self._whole[fname] = self._concatenated(fname)
        whole = self._whole[fname]
        return None if whole is None else whole[units]

    def _by_segment(self, fname: str, units: np.ndarray) -> np.ndarray | None:
        seg_of = self.bases.searchsorted(units, side="right") - 1
        out = np.empty(len(units), dtype=np.float32)
        for seg in distinct(seg_of).tolist():
            at = seg_of == seg
            part = self.parts[seg].at(fname, units[at] - self.bases[seg])
            if part is None:  # a field without lengths (ID, KEYWORD) or matching only
                return None
            out[at] = part
        return out

    def _concatenated(self, fname: str) -> np.ndarray | None:
        arrays = [p(fname) for p in self.parts]
        if all(a is None for a in arrays):
            return None
        # a segment without the field has no postings in it: its documents' norms are never read
        return np.concatenate([np.zeros(p.reader.doc_count, np.float32) if a is None else a
                               for p, a in zip(self.parts, arrays)])


class StackedScorer(SparseScorer):
    """The sparse combiner over every segment of a snapshot at once (see the module docstring).
    `matches` gives documents numbered across segments: StackedReader.bases says where each
    segment's start."""

    def __init__(self, scorers: list[SparseScorer]):
        reader = StackedReader([s.reader for s in scorers])
        super().__init__(reader, -1, StackedNorms([s.norm for s in scorers], reader.bases))

    def postings_of(self, fname: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        units, tfs = [], []
        for r, base in zip(self.reader.readers, self.reader.starts):
            found = term_postings(r, fname, term)
            if found is not None:
                units.append(found[0] + base if base else found[0])
                tfs.append(found[1])
        if len(units) <= 1:
            return (units[0], tfs[0]) if units else None
        return np.concatenate(units), np.concatenate(tfs)

    def scored_phrase(self, w: WeightedPhrase) -> tuple[np.ndarray, np.ndarray] | None:
        units, freqs = [], []
        for r, base in zip(self.reader.readers, self.reader.starts):
            found, freq = phrase_units(r.fields.get(w.field), w.leaf, w.dfs)
            if len(found):
                units.append(found + base)
                freqs.append(freq)
        if not units:
            return None
        units, freq = (units[0], freqs[0]) if len(units) == 1 else (np.concatenate(units), np.concatenate(freqs))
        return units, self.term_scores(w.field, units, freq, w.weight)

    def _words_any(self, fname: str, words: list[WeightedTerm]) -> DocScores:
        # the postings word by word and the weights as a segment gathers them (word_terms,
        # any_term_postings), each word's postings over every segment
        found = [(w.weight, pl) for w in words if (pl := self.postings_of(fname, w.term)) is not None]
        if not found:
            return EMPTY
        weights = np.array([weight for weight, _ in found])
        units = np.concatenate([pl[0] for _, pl in found])
        tf = np.concatenate([pl[1] for _, pl in found])
        scores = self.term_scores(fname, units, tf, np.repeat(weights, [len(pl[0]) for _, pl in found]))
        return self._summed(units, scores, weights)
