"""A compiled query with its statistics fixed: every leaf's idf times boost, every expansion resolved.

`weigh(node, stats, expansions)` walks the compiled tree (query/compile.py) once per search and reads from
`stats` everything scoring needs that depends on more than one segment: idfs (one per word, the sum
over a phrase's words, BM25F's over several fields), document frequencies choosing a sloppy
phrase's anchor, the terms a prefix, wildcard or fuzzy clause expands to. The segment scorers
(leaves.py, dense.py, sparse.py) read only these weighted nodes and their segment, so statistics
supplied from elsewhere (a shard coordinator's sums) score exactly as local ones.

Single-word should clauses are grouped per field here (each group scored as one OR), so both
combiners see the same grouping and sum in the same order.
"""
from __future__ import annotations

import numpy as np

from ..query.compile import (AllLeaf, BoolNode, ColumnLeaf, ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf,
                             TermRangeLeaf)
from ..query.expand import Expansion
from .stats import Stats


class WeightedTerm:
    """One word in one field; `weight` is its idf times the query's and the field's boosts."""

    __slots__ = ("leaf", "field", "term", "weight")

    def __init__(self, leaf: TermLeaf, weight: float):
        self.leaf, self.field, self.term, self.weight = leaf, leaf.field, leaf.term, weight


class WeightedPhrase:
    """A phrase in one field; `weight` is the sum of its words' idfs times its boost; `dfs` are
    its words' document frequencies (a sloppy phrase anchors on the rarest), empty when exact."""

    __slots__ = ("leaf", "field", "weight", "dfs")

    def __init__(self, leaf: PhraseLeaf, weight: float, dfs: list[int]):
        self.leaf, self.field, self.weight, self.dfs = leaf, leaf.field, weight, dfs


class WeightedFields:
    """One word over several TEXT fields (BM25F); `weight` is the idf over documents times boost."""

    __slots__ = ("leaf", "weight")

    def __init__(self, leaf: FieldsLeaf, weight: np.float32):
        self.leaf, self.weight = leaf, weight


class WeightedExpansion:
    """A prefix, wildcard or fuzzy clause: the terms it expands to in this snapshot and each one's
    idf times boost."""

    __slots__ = ("leaf", "field", "expansion", "weights")

    def __init__(self, leaf: ExpandLeaf, expansion: Expansion, weights: np.ndarray):
        self.leaf, self.field, self.expansion, self.weights = leaf, leaf.field, expansion, weights


class ConstantScore:
    """A range, an exact NUMERIC/DATETIME value or every document: worth its boost."""

    __slots__ = ("leaf", "boost")

    def __init__(self, leaf: "TermRangeLeaf | ColumnLeaf | AllLeaf"):
        self.leaf, self.boost = leaf, leaf.boost


class WeightedBool:
    """Required, optional and excluded clauses. Optional single words are grouped per field
    (`should_words`, in order of first appearance); `should` holds the other optional clauses."""

    __slots__ = ("must", "should_words", "should", "must_not", "boost", "masks")

    def __init__(self, must: list, should_words: list, should: list, must_not: list, boost: float):
        self.must, self.should_words, self.should, self.must_not = must, should_words, should, must_not
        self.boost = boost
        # a document that failed a clause keeps no partial score (dense arrays need masking)
        self.masks = len(must) > 1 or bool(must_not) or bool(must and (should_words or should))


Weighted = WeightedTerm | WeightedPhrase | WeightedFields | WeightedExpansion | ConstantScore | WeightedBool


def weigh(node: Node, stats: Stats, expansions: list[Expansion], variant: str = "bm25") -> Weighted:
    """The weighted form of a compiled node for these statistics, with the idf of the BM25
    `variant`; the expansions of its prefix, wildcard and fuzzy clauses are appended to
    `expansions`, in query order."""
    kind = type(node)
    if kind is TermLeaf:
        return WeightedTerm(node, stats.idf(node.field, node.term, variant) * node.boost)
    if kind is BoolNode:
        must = [weigh(c, stats, expansions, variant) for c in node.must]
        words: dict[str, list[WeightedTerm]] = {}
        others = []
        for child in node.should:
            if type(child) is TermLeaf:
                term = WeightedTerm(child, stats.idf(child.field, child.term, variant) * child.boost)
                words.setdefault(child.field, []).append(term)
            else:
                others.append(weigh(child, stats, expansions, variant))
        return WeightedBool(must, list(words.items()), others, [weigh(c, stats, expansions, variant) for c in node.must_not],
                            node.boost)
    if kind is PhraseLeaf:
        weight = sum(stats.idf(node.field, t, variant) for _, t in node.terms) * node.boost
        dfs = [stats.doc_freq(node.field, t) for _, t in node.terms] if node.slop else []
        return WeightedPhrase(node, weight, dfs)
    if kind is FieldsLeaf:
        return WeightedFields(node, np.float32(stats.fields_idf(node.terms, variant) * node.boost))
    if kind is ExpandLeaf:
        expansion, idfs = stats.expansion_idf(node, variant)
        expansions.append(expansion)
        return WeightedExpansion(node, expansion, idfs * node.boost)
    if kind is TermRangeLeaf or kind is ColumnLeaf or kind is AllLeaf:
        return ConstantScore(node)
    raise TypeError(f"cannot weigh {node!r}")


def weighted_leaves(w: Weighted, negated: bool = False):
    """(leaf, negated) for every weighted leaf, excluded clauses marked."""
    if type(w) is WeightedBool:
        for child in w.must + [t for _, ts in w.should_words for t in ts] + w.should:
            yield from weighted_leaves(child, negated)
        for child in w.must_not:
            yield from weighted_leaves(child, not negated)
    else:
        yield w, negated
