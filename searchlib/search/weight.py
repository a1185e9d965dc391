"""The Weight: one search's query with its statistics fixed, and the segment scorers it creates.

As in Lucene (`Weight`: whole-search state; `Scorer`: per-segment state), a Weight is built once
per search from the compiled query and the snapshot's statistics (idf times boost fixed, expansions
resolved: weighted.py), then asked for a scorer per segment. The same object reports the terms to
highlight (`terms()`, as tantivy's `Query::query_terms` feeds its SnippetGenerator) and explains a
document (`explain()`), so scoring, highlighting and explaining cannot drift apart.

A segment whose fields are all unsplit is scored as sorted document lists (sparse.py), which costs
in proportion to the postings touched; a segment with passages needs per-passage scores, so it is
scored as dense arrays (dense.py). Both give every document the same score.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..query.compile import ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf, leaves
from ..query.expand import Expansion
from ..schema import Schema
from ..scoring import BM25, Explanation
from .dense import DenseScorer, passage_totals
from .explain import Explainer
from .leaves import SegmentNorms
from .sparse import SparseScorer
from .stacked import StackedScorer, stackable
from .stats import Stats
from .weighted import weigh


class FieldTerms(NamedTuple):
    """What a snippet marks in one field (Weight.terms): `words` maps each term marked wherever
    it occurs to its weight (idf); `phrases` lists (phrase, its words' index-wide document
    frequencies, its weight: the sum of its words' idfs), each marked only where it matched."""

    words: dict[str, float]
    phrases: list[tuple[PhraseLeaf, list[int], float]]


class Scorers:
    """The segment scorers of one snapshot, by segment and BM25 parameters. They hold no
    per-query state, only their segment's length norms, so a searcher keeps them across queries
    (at most `limit` per segment: norms are arrays over every unit). `sparse=False` scores every
    segment densely (the tests compare both combiners this way)."""

    def __init__(self, stats: Stats, limit: int = 64, sparse: bool = True):
        self.stats, self.limit, self.sparse = stats, limit, sparse
        self._split = [any(fr.split for fr in r.fields.values()) for r in stats.readers]
        self._cache: dict[tuple, tuple[DenseScorer, SparseScorer | None]] = {}
        self._lists: dict = {}

    def get(self, seg: int, bm25: BM25 | None, dense: bool = False) -> "DenseScorer | SparseScorer":
        """The segment's scorer: sparse unless the segment has passages or `dense` is asked for."""
        key = (seg, bm25)
        pair = self._cache.get(key)
        if pair is None:
            reader = self.stats.readers[seg]
            norms = SegmentNorms(reader, self.stats.avg_length, bm25)
            sparse = self.sparse and not self._split[seg]
            pair = (DenseScorer(reader, seg, norms), SparseScorer(reader, seg, norms) if sparse else None)
            if len(self._cache) < self.limit * max(1, len(self._split)):
                self._cache[key] = pair
        return pair[0] if dense or pair[1] is None else pair[1]

    def stacked(self, bm25: BM25 | None) -> "StackedScorer | None":
        """Every segment's sparse scorer as one (stacked.py), or None where that does not apply:
        one segment (nothing to stack) or a segment with passages (scored densely)."""
        if not self.sparse or len(self._split) < 2 or any(self._split):
            return None
        key = ("stacked", bm25)
        found = self._lists.get(key)
        if found is None:
            found = StackedScorer(self.for_params(bm25))
            if len(self._lists) < self.limit:
                self._lists[key] = found
        return found

    def for_params(self, bm25: BM25 | None) -> list:
        """Every segment's scorer for these BM25 parameters, in segment order."""
        key = bm25
        found = self._lists.get(key)
        if found is None:
            found = [self.get(seg, bm25) for seg in range(len(self._split))]
            if len(self._lists) < self.limit:
                self._lists[key] = found
        return found


class Weight:
    """A compiled query weighed with `stats` for BM25 parameters `bm25` (None: matching only,
    every term worth its idf). Holds no segment state: `scorer(seg)` gives each segment's."""

    __slots__ = ("node", "stats", "bm25", "scorers", "root", "expansions", "_segment_scorers")

    def __init__(self, node: Node, stats: Stats, bm25: BM25 | None, scorers: Scorers | None = None):
        self.node, self.stats, self.bm25 = node, stats, bm25
        self.scorers = Scorers(stats) if scorers is None else scorers
        self.expansions: list[Expansion] = []  # what its prefix, wildcard and fuzzy clauses expanded to
        self.root = weigh(node, stats, self.expansions, "bm25" if bm25 is None else bm25.variant)
        self._segment_scorers = self.scorers.for_params(bm25)  # one dict lookup once the first search made them

    def scorer(self, seg: int) -> "DenseScorer | SparseScorer":
        return self._segment_scorers[seg]

    def stacked(self) -> "StackedScorer | None":
        """The scorer of every segment at once, where the snapshot and this query allow it
        (stacked.py), else None: score segment by segment."""
        return self.scorers.stacked(self.bm25) if stackable(self.root, self.stats) else None

    def terms(self) -> "dict[str, FieldTerms]":
        """Per field, what a snippet marks there (FieldTerms): the words of the positive clauses
        in that field (single words, BM25F words in each of their fields, the terms a prefix,
        wildcard or fuzzy clause expanded to) with their idf, and its positive phrases. A
        phrase's words are marked only where the phrase matched (phrases.phrase_matches), never
        on their own; words under a negation are never marked."""
        out: dict[str, FieldTerms] = {}

        def field(fname: str) -> FieldTerms:
            found = out.get(fname)
            if found is None:
                found = out[fname] = FieldTerms({}, [])
            return found

        def add(fname: str, term: str, weight: float) -> None:
            words = field(fname).words
            words[term] = max(words.get(term, 0.0), weight)

        stats = self.stats
        for leaf, negated in leaves(self.node):
            if negated:
                continue
            if isinstance(leaf, TermLeaf):
                add(leaf.field, leaf.term, stats.idf(leaf.field, leaf.term))
            elif isinstance(leaf, FieldsLeaf):
                weight = stats.fields_idf(leaf.terms)
                for fname, term in leaf.terms.items():
                    add(fname, term, weight)
            elif isinstance(leaf, PhraseLeaf):
                dfs = [stats.doc_freq(leaf.field, t) for _, t in leaf.terms]
                weight = sum(stats.idf(leaf.field, t) for _, t in leaf.terms)
                field(leaf.field).phrases.append((leaf, dfs, weight))
            elif isinstance(leaf, ExpandLeaf):
                exp, idfs = stats.expansion_idf(leaf)
                for term, weight in zip(exp.terms, idfs.tolist()):
                    add(leaf.field, term, weight)
        return out

    def explain(self, seg: int, doc: int, schema: Schema) -> "tuple[Explanation, tuple[str, int] | None] | None":
        """How document `doc` of segment `seg` scores, in the unit that ranks it (its best
        passage when that beats the document's score from unsplit fields, as collectors rank), and
        that passage (field, unit) or None; None when the document does not match. The
        explanation's value is the score a search gives the document, to the last bit."""
        scorer = self.scorers.get(seg, self.bm25, dense=True)
        m = scorer.evaluate(self.root)
        if not m.docs[doc]:
            return None
        passage = None
        top = float(m.doc_score[doc]) if m.doc_score is not None else 0.0
        only = np.zeros(scorer.n, dtype=bool)
        only[doc] = True
        for fname, units, _, total in passage_totals(scorer.reader, m, only):
            if len(total) and float(total.max()) > top:
                best = int(np.argmax(total))
                passage, top = (fname, int(units[best])), float(total[best])
        expl = Explainer(scorer, self.stats, schema, self.bm25).explain(self.root, doc, passage)
        return expl, passage
