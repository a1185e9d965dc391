"""Running a query: compile query objects against a schema, then evaluate them segment by segment.

Compiling analyses each word with its field's analyzer and expands unfielded words over the
default fields (with their boosts). Evaluation is vectorised: a term's postings are scored in one
numpy expression; clauses combine as dense arrays over the segment's documents and passages.
Matching is decided per document (a required word may be anywhere in the document); scores are
computed per passage for fields split into passages, so the best passage decides the rank.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import QuerySyntaxError, SchemaError
from ..scoring import idf
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema
from ..storage.segment import SegmentReader
from .ast import Boolean, Every, Nothing, Phrase, Query, Term

_STRIDE = np.int64(1) << np.int64(32)


# -- compiled nodes ---------------------------------------------------------------------------
@dataclass
class TermLeaf:
    field: str
    term: str
    boost: float = 1.0


@dataclass
class PhraseLeaf:
    field: str
    terms: list[tuple[int, str]]  # (relative position, term)
    boost: float = 1.0


@dataclass
class ValueLeaf:
    """Exact match on a NUMERIC or DATETIME column."""

    field: str
    value: float
    boost: float = 1.0


@dataclass
class AllLeaf:
    boost: float = 0.0  # an implicit match-all (under a pure negation) adds nothing to scores


@dataclass
class BoolNode:
    must: list = field(default_factory=list)
    should: list = field(default_factory=list)
    must_not: list = field(default_factory=list)
    boost: float = 1.0


Node = TermLeaf | PhraseLeaf | ValueLeaf | AllLeaf | BoolNode


class Compiler:
    """Turns Query objects into nodes for one schema, default fields and default operator."""

    def __init__(self, schema: Schema, default_fields: Mapping[str, float], default_and: bool = False,
                 lenient: bool = False):
        self.schema = schema
        self.default_fields = dict(default_fields)
        self.default_and = default_and
        self.lenient = lenient
        for name in self.default_fields:
            ft = schema[name]
            if not isinstance(ft, (TEXT, KEYWORD, ID)):
                raise SchemaError(f"default field {name!r} is {ft.kind}, not a searchable text field")

    def compile(self, q: Query) -> Node | None:
        """The node for `q`, or None when it can match nothing (e.g. only stop words)."""
        if isinstance(q, Term):
            return self._word(q.field, q.text, q.boost, phrase=False)
        if isinstance(q, Phrase):
            return self._word(q.field, " ".join(q.words), q.boost, phrase=True)
        if isinstance(q, Boolean):
            must = [n for n in map(self.compile, q.must) if n is not None]
            should = [n for n in map(self.compile, q.should) if n is not None]
            must_not = [n for n in map(self.compile, q.must_not) if n is not None]
            if not must and not should:
                if not must_not or q.should or (q.must and not must):
                    return None  # everything positive was dropped (stop words): match nothing
                must = [AllLeaf()]
            if len(must) + len(should) == 1 and not must_not and q.boost == 1.0:
                return (must or should)[0]
            return BoolNode(must, should, must_not, q.boost)
        if isinstance(q, Every):
            return AllLeaf(q.boost)
        if isinstance(q, Nothing):
            return None
        raise TypeError(f"not a query: {q!r}")

    def _word(self, fname: str | None, text: str, boost: float, phrase: bool) -> Node | None:
        if fname is None:
            nodes = [self._word(f, text, boost * fb, phrase) for f, fb in self.default_fields.items()]
            nodes = [n for n in nodes if n is not None]
            if len(nodes) <= 1:
                return nodes[0] if nodes else None
            return BoolNode(should=nodes)
        if fname not in self.schema:
            if self.lenient:
                return None
            raise QuerySyntaxError(f"unknown field {fname!r}", 1)
        ft = self.schema.fields[fname]
        if isinstance(ft, TEXT):
            tokens = [(t.position, t.term) for t in ft.analyzer(text)]
            if not tokens:
                return None
            weight = boost * ft.boost
            if len(tokens) == 1:
                return TermLeaf(fname, tokens[0][1], weight)
            if phrase and ft.positions:
                first = tokens[0][0]
                return PhraseLeaf(fname, [(p - first, t) for p, t in tokens], weight)
            leaves = [TermLeaf(fname, t, weight) for _, t in tokens]
            return BoolNode(must=leaves) if phrase or self.default_and else BoolNode(should=leaves)
        if isinstance(ft, ID):
            return TermLeaf(fname, text, boost) if text else None
        if isinstance(ft, KEYWORD):
            words = ft.split(text)
            if not words:
                return None
            leaves = [TermLeaf(fname, w, boost) for w in words]
            return leaves[0] if len(leaves) == 1 else BoolNode(must=leaves)
        if isinstance(ft, (NUMERIC, DATETIME)):
            try:
                return ValueLeaf(fname, ft.to_value(text), boost)
            except ValueError as exc:
                if self.lenient:
                    return None
                raise QuerySyntaxError(f"field {fname!r}: {exc}", 1) from None
        if self.lenient:
            return None
        raise QuerySyntaxError(f"field {fname!r} is stored only and cannot be searched", 1)


def leaves(node: Node | None, negated: bool = False):
    """(leaf, negated) for every leaf of a compiled tree, to highlight and explain matches."""
    if node is None:
        return
    if isinstance(node, BoolNode):
        for child in node.must + node.should:
            yield from leaves(child, negated)
        for child in node.must_not:
            yield from leaves(child, not negated)
    else:
        yield node, negated


# -- evaluation -------------------------------------------------------------------------------
class Stats:
    """Index-wide statistics over a searcher's segments: unit counts, average lengths, document
    frequencies. Deleted documents count until their segment is merged, as in Lucene."""

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

    def avg_length(self, fname: str) -> float:
        units = self.units.get(fname, 0)
        return self.tokens.get(fname, 0) / units if units else 0.0

    def doc_freq(self, fname: str, term: str) -> int:
        key = (fname, term)
        if key not in self._df:
            self._df[key] = sum(r.fields[fname].doc_freq(term) for r in self.readers if fname in r.fields)
        return self._df[key]

    def idf(self, fname: str, term: str) -> float:
        return float(idf(max(self.units.get(fname, 0), 1), self.doc_freq(fname, term)))


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
    """Evaluates compiled nodes on one segment with index-wide statistics."""

    def __init__(self, reader: SegmentReader, stats: Stats, norms: Mapping[str, np.ndarray], k1: float):
        self.reader = reader
        self.stats = stats
        self.norms = norms
        self.k1 = np.float32(k1)
        self.n = reader.doc_count

    def _empty(self) -> Matches:
        return Matches(np.zeros(self.n, dtype=bool))

    def evaluate(self, node: Node) -> Matches:
        if isinstance(node, TermLeaf):
            return self._term(node)
        if isinstance(node, PhraseLeaf):
            return self._phrase(node)
        if isinstance(node, BoolNode):
            return self._bool(node)
        if isinstance(node, AllLeaf):
            score = np.full(self.n, node.boost, dtype=np.float32) if node.boost else None
            return Matches(np.ones(self.n, dtype=bool), score)
        if isinstance(node, ValueLeaf):
            col = self.reader.columns.get(node.field)
            if col is None:
                return self._empty()
            docs = np.asarray(col) == node.value
            return Matches(docs, np.where(docs, np.float32(node.boost), np.float32(0)))
        raise TypeError(f"cannot evaluate {node!r}")

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

    def _scores(self, fname: str, units: np.ndarray, tf: np.ndarray, weight: float) -> np.ndarray:
        norm = self.norms.get(fname)
        tf = np.asarray(tf, dtype=np.float32)
        if norm is None:  # ID and KEYWORD fields: no length, tf saturates at once
            return np.full(len(units), np.float32(weight), dtype=np.float32)
        return np.float32(weight) * tf * (self.k1 + np.float32(1)) / (tf + norm[units])

    def _term(self, leaf: TermLeaf) -> Matches:
        fr = self.reader.fields.get(leaf.field)
        tid = fr.term_id(leaf.term) if fr is not None else -1
        if tid < 0:
            return self._empty()
        units, tf = fr.postings(tid)
        weight = self.stats.idf(leaf.field, leaf.term) * leaf.boost
        return self._place(leaf.field, units, self._scores(leaf.field, units, tf, weight))

    def phrase_units(self, leaf: PhraseLeaf) -> tuple[np.ndarray, np.ndarray]:
        """(units, phrase frequency) where the phrase occurs in this segment."""
        fr = self.reader.fields.get(leaf.field)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if fr is None:
            return empty
        tids = [fr.term_id(t) for _, t in leaf.terms]
        if min(tids) < 0:
            return empty
        plists = [np.asarray(fr.postings(t)[0], dtype=np.int64) for t in tids]
        cand = plists[0]
        for pl in sorted(plists[1:], key=len):
            cand = np.intersect1d(cand, pl, assume_unique=True)
            if not len(cand):
                return empty
        keys = None
        for (rel, _), tid, pl in zip(leaf.terms, tids, plists):
            idx = np.searchsorted(pl, cand)
            pos, owner = fr.positions(tid, idx)
            k = cand[owner] * _STRIDE + (pos - rel)
            keys = np.unique(k) if keys is None else np.intersect1d(keys, k)
            if not len(keys):
                return empty
        return np.unique(keys // _STRIDE, return_counts=True)

    def _phrase(self, leaf: PhraseLeaf) -> Matches:
        units, freq = self.phrase_units(leaf)
        if not len(units):
            return self._empty()
        weight = sum(self.stats.idf(leaf.field, t) for _, t in leaf.terms) * leaf.boost
        return self._place(leaf.field, units, self._scores(leaf.field, units, freq, weight))

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
            for child in node.should:
                m = self.evaluate(child)
                any_should |= m.docs
                acc.add_scores(m)
            if result is None:
                result = acc
            else:
                result.add_scores(acc)
        for child in node.must_not:
            result.docs &= ~self.evaluate(child).docs
        result.scale(node.boost)
        return result
