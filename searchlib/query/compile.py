"""Compiling queries: query objects (ast.py) become nodes for one schema.

Each word goes through its field's analyzer; an unfielded word expands over the default fields
with their boosts (BM25F over the TEXT ones: see search/leaves.py for the scoring); prefix, wildcard,
fuzzy and range clauses become leaves that expand.py resolves against the dictionary; words that
analyse to nothing (stop words) drop out, so a query of only stop words compiles to None.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import QuerySyntaxError, SchemaError
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, TEXT, FieldType, Schema
from .ast import Boolean, Every, Fuzzy, Nothing, Phrase, Prefix, Query, Range, Term, Wildcard

_DAY = 86_400_000_000  # microseconds
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


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
    slop: int = 0


@dataclass
class FieldsLeaf:
    """One word over several TEXT fields, scored BM25F: each field's own term and weight."""

    terms: dict[str, str]  # field -> the word analysed by that field
    weights: dict[str, float]  # field -> w_f (default-field boost times the field's boost)
    boost: float = 1.0


@dataclass(frozen=True)
class ExpandLeaf:
    """A prefix, wildcard or fuzzy query on one field, expanded against the dictionary when run."""

    field: str
    kind: str  # "prefix", "wildcard" or "fuzzy"
    text: str  # normalised like the field's terms
    boost: float = 1.0
    max_dist: int = 1
    prefix_length: int = 1
    max_expansions: int | None = None


@dataclass
class TermRangeLeaf:
    """Terms of a TEXT, ID or KEYWORD field between two terms (None: open end); constant score."""

    field: str
    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True
    boost: float = 1.0


@dataclass
class ColumnLeaf:
    """Values of a NUMERIC or DATETIME column in a range (an exact value is [v, v]); constant score."""

    field: str
    low: float | int | None
    high: float | int | None
    include_low: bool = True
    include_high: bool = True
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


Node = TermLeaf | PhraseLeaf | FieldsLeaf | ExpandLeaf | TermRangeLeaf | ColumnLeaf | AllLeaf | BoolNode


# -- normalising words that are not analysed --------------------------------------------------
def normalize(ft: FieldType, text: str) -> str:
    """`text` as the field would case-fold it, without tokenizing or stemming (how prefixes,
    wildcards and range ends are read, as in Lucene): the field's Analyzer.normalize; as it is
    for a field without an analyzer."""
    analyzer = getattr(ft, "analyzer", None)
    return analyzer.normalize(text) if analyzer is not None else text


def analyze_word(ft: FieldType, text: str) -> str:
    """`text` as one word of the field, stemmed like the index's terms but never dropped as a stop
    word (how a fuzzy word is read, as in Whoosh): the field's Analyzer.analyze_word."""
    return ft.analyzer.analyze_word(text)


def _value_range(ft: FieldType, low: Any, high: Any, include_low: bool, include_high: bool
                 ) -> tuple[Any, Any, bool, bool]:
    """Column bounds for a NUMERIC/DATETIME range. A DATETIME bound written as a date
    (2020-01-31) stands for that whole day: [a TO b] takes in all of day b, {a TO ...} starts
    after day a."""
    if isinstance(ft, DATETIME):
        if low is not None and _DATE_ONLY.match(str(low).strip()):
            low, include_low = ft.to_value(str(low).strip()) + (0 if include_low else _DAY), True
        elif low is not None:
            low = ft.to_value(low)
        if high is not None and _DATE_ONLY.match(str(high).strip()):
            high, include_high = ft.to_value(str(high).strip()) + (_DAY if include_high else 0), False
        elif high is not None:
            high = ft.to_value(high)
        return low, high, include_low, include_high
    return (None if low is None else ft.to_value(low), None if high is None else ft.to_value(high),
            include_low, include_high)


def locate(exc: QuerySyntaxError, text: "str | None") -> QuerySyntaxError:
    """`exc`, found while compiling the query parsed from `text`, with the column of the value it
    is about (else of its field) in `text`: the first `field:` followed by that value."""
    field, value = getattr(exc, "field", None), getattr(exc, "value", None)
    if not text or field is None:
        return exc
    column = None
    for m in re.finditer(rf"(?<![\w.\\]){re.escape(field)}\s*:", text):
        at = text.find(str(value), m.end()) if value is not None else -1
        if at >= 0:
            column = at + 1
            break
        if column is None:
            column = m.start() + 1
    if column is None:
        return exc
    located = QuerySyntaxError(exc.reason, column, text)
    located.field, located.value = field, value
    return located


class Compiler:
    """Turns Query objects into nodes for one schema, default fields and default operator."""

    def __init__(self, schema: Schema, default_fields: Mapping[str, float], default_and: bool = False,
                 lenient: bool = False, max_expansions: int | None = None):
        self.schema = schema
        self.default_fields = dict(default_fields)
        self.default_and = default_and
        self.lenient = lenient
        self.max_expansions = max_expansions
        for name in self.default_fields:
            ft = schema[name]
            if not isinstance(ft, (TEXT, KEYWORD, ID)):
                raise SchemaError(f"default field {name!r} is {ft.kind}, not a searchable text field")
        self._text_defaults = [f for f in self.default_fields if isinstance(schema.fields[f], TEXT)]
        self._only_default = next(iter(self.default_fields.items())) if len(self.default_fields) == 1 else None

    def compile(self, q: Query) -> Node | None:
        """The node for `q`, or None when it can match nothing (e.g. only stop words)."""
        if isinstance(q, Term):
            return self._word(q.field, q.text, q.boost, phrase=False)
        if isinstance(q, Phrase):
            return self._word(q.field, " ".join(q.words), q.boost, phrase=True, slop=q.slop)
        if isinstance(q, (Prefix, Wildcard, Fuzzy, Range)):
            if q.field is None:
                nodes = [self._multi(f, q, q.boost * fb) for f, fb in self.default_fields.items()]
                return _any([n for n in nodes if n is not None])
            return self._multi(q.field, q, q.boost)
        if isinstance(q, Boolean):
            must = [n for n in map(self.compile, q.must) if n is not None]
            should = [n for n in map(self.compile, q.should) if n is not None]
            must_not = [n for n in map(self.compile, q.must_not) if n is not None]
            return _boolean(must, should, must_not, q.boost, bool(q.must), bool(q.should))
        if isinstance(q, Every):
            return AllLeaf(q.boost)
        if isinstance(q, Nothing):
            return None
        raise TypeError(f"not a query: {q!r}")

    def compile_words(self, words: list[str], all_required: bool) -> Node | None:
        """What compile() gives for the query the parser builds from plain unfielded words (see
        parser.plain_words): one word's Term, or a Boolean of all required or all optional words,
        without building the query objects."""
        nodes = [n for n in (self._word(None, w, 1.0, False) for w in words) if n is not None]
        if len(words) == 1:
            return nodes[0] if nodes else None
        if all_required:
            return _boolean(nodes, [], [], 1.0, True, False)
        return _boolean([], nodes, [], 1.0, False, True)

    def compile_phrase(self, words: list[str], slop: int) -> Node | None:
        """What compile() gives for Phrase(None, words, slop=slop) (see parser.plain_phrase),
        without building the query object."""
        return self._word(None, " ".join(words), 1.0, True, slop)

    def compile_text(self, q: Query, text: "str | None") -> Node | None:
        """compile(q) for the query parsed from `text`: an error found while compiling (a value
        the field cannot take) gets the column of that value in `text`."""
        try:
            return self.compile(q)
        except QuerySyntaxError as exc:
            raise locate(exc, text) from None

    def _error(self, message: str, field: str | None = None, value: Any = None) -> None:
        """Raise in strict mode; in lenient mode the clause is dropped (the caller returns None).
        `field` and `value` say what the error is about, for `locate`."""
        if not self.lenient:
            exc = QuerySyntaxError(message, 1)
            exc.field, exc.value = field, value
            raise exc

    def _value_error(self, ft: FieldType, fname: str, low: Any, high: Any) -> None:
        """The error for a NUMERIC or DATETIME value (or range bound) the field cannot take: it
        names the field, the value and what the field accepts."""
        bad = low
        for bound in (low, high):
            if bound is None:
                continue
            try:
                ft.to_value(str(bound).strip() if isinstance(ft, DATETIME) else bound)
            except (ValueError, OverflowError):
                bad = bound
                break
        if isinstance(ft, DATETIME):
            accepts = ("ISO 8601 dates and times, such as 2021-06-30 or 2021-06-30T14:00:00Z, and ranges of them "
                       "([2020-01-01 TO 2020-12-31], >=2021-06-30)")
        else:
            accepts = "numbers, such as 2017 or -3.5, and ranges of them ([2010 TO 2020], >=2010)"
        return self._error(f"field {fname!r} is {ft.kind.upper()}: {str(bad)!r} is not a valid value; it accepts "
                           f"{accepts}", fname, bad)

    def _field(self, fname: str) -> FieldType | None:
        ft = self.schema.fields.get(fname)
        if ft is None:
            self._error(f"unknown field {fname!r}; the schema has {', '.join(self.schema.fields)}", fname)
        return ft

    # -- words and phrases --------------------------------------------------------------------
    def _word(self, fname: str | None, text: str, boost: float, phrase: bool, slop: int = 0) -> Node | None:
        if fname is None:
            if self._only_default is None:
                if not phrase and len(self._text_defaults) >= 2:
                    return self._fields_word(text, boost)
                nodes = [self._word(f, text, boost * fb, phrase, slop) for f, fb in self.default_fields.items()]
                return _any([n for n in nodes if n is not None])
            fname, field_boost = self._only_default  # the common case: one default field
            boost *= field_boost
        ft = self._field(fname)
        if ft is None:
            return None
        if isinstance(ft, TEXT):
            terms, positions = ft.analyzer.index_terms(text)
            if not terms:
                return None
            weight = boost * ft.boost
            if len(terms) == 1:
                return TermLeaf(fname, terms[0], weight)
            phrase = phrase or ft.analyzer.phrase_words  # a CJK word split in bigrams or words is a phrase
            if phrase and ft.positions:
                first = positions[0]
                return PhraseLeaf(fname, [(p - first, t) for p, t in zip(positions, terms)], weight, slop)
            leaves = [TermLeaf(fname, t, weight) for t in terms]
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
                low, high, inc_low, inc_high = _value_range(ft, text, text, True, True)
            except (ValueError, OverflowError):
                return self._value_error(ft, fname, text, None)
            return ColumnLeaf(fname, low, high, inc_low, inc_high, boost)
        return self._error(f"field {fname!r} is stored only and cannot be searched", fname)

    def _fields_word(self, text: str, boost: float) -> Node | None:
        """An unfielded word over the default fields: BM25F over the TEXT fields (one leaf per
        token when the word splits into several), plus plain clauses for ID and KEYWORD fields."""
        tokens = {}
        for f in self._text_defaults:
            terms = self.schema.fields[f].analyzer.index_terms(text)[0]
            if terms:
                tokens[f] = terms
        others = [self._word(f, text, boost * fb, False) for f, fb in self.default_fields.items()
                  if f not in self._text_defaults]
        others = [n for n in others if n is not None]
        if len({len(t) for t in tokens.values()}) > 1 or any(  # split differently, or as a phrase: per field
                len(t) > 1 and self.schema.fields[f].analyzer.phrase_words for f, t in tokens.items()):
            nodes = [self._word(f, text, boost * self.default_fields[f], False) for f in tokens]
            return _any(nodes + others)
        if not tokens:
            return _any(others)
        weights = {f: self.default_fields[f] * self.schema.fields[f].boost for f in tokens}
        width = len(next(iter(tokens.values())))
        leaves = [FieldsLeaf({f: t[i] for f, t in tokens.items()}, weights, boost) for i in range(width)]
        text_node = leaves[0] if width == 1 else BoolNode(must=leaves) if self.default_and else BoolNode(should=leaves)
        return _any([text_node] + others)

    # -- prefix, wildcard, fuzzy and ranges ---------------------------------------------------
    def _multi(self, fname: str, q: Query, boost: float) -> Node | None:
        ft = self._field(fname)
        if ft is None:
            return None
        if isinstance(q, Range):
            return self._range(fname, ft, q, boost)
        if not isinstance(ft, (TEXT, ID, KEYWORD)):
            return self._error(f"field {fname!r} is {ft.kind}: {type(q).__name__.lower()} queries need a text field", fname)
        weight = boost * ft.boost if isinstance(ft, TEXT) else boost
        if isinstance(q, Fuzzy):
            return ExpandLeaf(fname, "fuzzy", analyze_word(ft, q.text), weight, int(q.max_dist),
                              int(q.prefix_length), self.max_expansions)
        if isinstance(q, Prefix):
            text = normalize(ft, q.text)
            kind = "prefix"
        else:
            text = normalize(ft, q.pattern)
            kind = "wildcard"
            rest = text.rstrip("*")
            if "*" not in rest and "?" not in rest and rest != text:
                text, kind = rest, "prefix"  # `stor*` is a prefix
        if kind == "prefix" and not text or kind == "wildcard" and not text.strip("*"):
            return TermRangeLeaf(fname, None, None, True, True, weight)  # `field:*`: any term
        return ExpandLeaf(fname, kind, text, weight, max_expansions=self.max_expansions)

    def _range(self, fname: str, ft: FieldType, q: Range, boost: float) -> Node | None:
        if isinstance(ft, (NUMERIC, DATETIME)):
            try:
                low, high, inc_low, inc_high = _value_range(ft, q.low, q.high, q.include_low, q.include_high)
            except (ValueError, OverflowError):
                return self._value_error(ft, fname, q.low, q.high)
            return ColumnLeaf(fname, low, high, inc_low, inc_high, boost)
        if isinstance(ft, (TEXT, ID, KEYWORD)):
            low = None if q.low is None else normalize(ft, q.low)
            high = None if q.high is None else normalize(ft, q.high)
            return TermRangeLeaf(fname, low, high, q.include_low, q.include_high, boost)
        return self._error(f"field {fname!r} is stored only and cannot be searched", fname)


def _boolean(must: list, should: list, must_not: list, boost: float, had_must: bool, had_should: bool) -> Node | None:
    """A Boolean's node from its compiled clauses (`had_must`/`had_should`: whether the query had
    such clauses before stop words dropped some)."""
    if not must and not should:
        if not must_not or had_should or had_must:
            return None  # everything positive was dropped (stop words): match nothing
        must = [AllLeaf()]
    if len(must) + len(should) == 1 and not must_not and boost == 1.0:
        return (must or should)[0]
    return BoolNode(must, should, must_not, boost)


def _any(nodes: list) -> Node | None:
    if len(nodes) <= 1:
        return nodes[0] if nodes else None
    return BoolNode(should=nodes)


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
