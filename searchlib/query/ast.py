"""Query objects: what the parser produces and what Python code can build and combine directly.

Words in a query are the user's words, not index terms: they go through the field's analyzer
when the query runs, so `Term("body", "Running")` finds documents containing "run" in a stemmed
field, exactly like the query string `body:Running`. `field=None` means the default fields.

Operators compose queries: `a & b` (both), `a | b` (either), `~a` (not a), `a.boosted(2)`.
`str(query)` prints query-language text: for every query the parser builds it parses back to an
equal query. Queries built in Python that the syntax cannot express do not round-trip: a Fuzzy
prints without its `prefix_length` (the parser reads 1) and with a `max_dist` above 2 that the
parser refuses; a Boolean of one required clause reads back as that clause.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

_SPECIAL = re.compile(r'([\\"():+\-^~*?\[\]{}!&|/\s])')
KEYWORDS = frozenset(("AND", "OR", "NOT", "TO"))  # words the parser reads as operators


def quote_word(word: str) -> str:
    """Escape a word so the parser reads it back as this single word (a leading `<` or `>` is
    escaped too: after `field:` it would start a comparison)."""
    escaped = _SPECIAL.sub(r"\\\1", word)
    if escaped in KEYWORDS or escaped[:1] in ("<", ">"):
        return "\\" + escaped
    return escaped


def _number_text(x: float) -> str:
    """`x` in plain positional notation with every digit needed to read back the same float
    (the query syntax has no exponents, and `:g` would round to 6 digits)."""
    from decimal import Decimal  # here: few queries print a number, and decimal takes milliseconds to import

    text = format(Decimal(repr(float(x))), "f")
    return text[:-2] if text.endswith(".0") else text


def _field_prefix(field: str | None) -> str:
    return f"{field}:" if field else ""


def _boost_suffix(boost: float) -> str:
    return "" if boost == 1.0 else f"^{_number_text(boost)}"


class Query:
    """Base class of query objects."""

    boost: float = 1.0

    def __and__(self, other: "Query") -> "Query":
        must: list[Query] = []
        must_not: list[Query] = []
        for q in (self, other):
            if isinstance(q, Boolean) and not q.should and q.boost == 1.0:
                must += q.must
                must_not += q.must_not
            else:
                must.append(q)
        return Boolean(must=tuple(must), must_not=tuple(must_not))

    def __or__(self, other: "Query") -> "Query":
        return Boolean(should=(*_as_should(self), *_as_should(other)))

    def __invert__(self) -> "Query":
        return Boolean(must_not=(self,))

    def boosted(self, boost: float) -> "Query":
        return replace(self, boost=self.boost * float(boost))


def _as_should(q: Query) -> tuple:
    if isinstance(q, Boolean) and not q.must and not q.must_not and q.boost == 1.0:
        return q.should
    return (q,)


@dataclass(frozen=True)
class Term(Query):
    """A word in one field (or the default fields when `field` is None)."""

    field: str | None
    text: str
    boost: float = 1.0

    def __str__(self) -> str:
        prefix = _field_prefix(self.field)
        return f"{prefix}{quote_word(self.text)}{_boost_suffix(self.boost)}"


@dataclass(frozen=True)
class Phrase(Query):
    """Words in order next to each other; with `slop` > 0, words within that many position moves
    of the exact phrase (query syntax `"a b"~3`)."""

    field: str | None
    words: tuple[str, ...]
    boost: float = 1.0
    slop: int = 0

    def __init__(self, field: str | None, words: Sequence[str] | str, boost: float = 1.0, slop: int = 0):
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "words", tuple(words.split() if isinstance(words, str) else words))
        object.__setattr__(self, "boost", float(boost))
        object.__setattr__(self, "slop", int(slop))

    def __str__(self) -> str:
        prefix = _field_prefix(self.field)
        inner = " ".join(w.replace("\\", "\\\\").replace('"', '\\"') for w in self.words)
        slop = f"~{self.slop}" if self.slop else ""
        return f'{prefix}"{inner}"{slop}{_boost_suffix(self.boost)}'


@dataclass(frozen=True)
class Prefix(Query):
    """Every term that starts with `text` (query syntax `stor*`). The prefix is lower-cased and
    ASCII-folded when the field's analyzer does that, never stemmed, as in Lucene and Whoosh."""

    field: str | None
    text: str
    boost: float = 1.0

    def __str__(self) -> str:
        prefix = _field_prefix(self.field)
        return f"{prefix}{quote_word(self.text)}*{_boost_suffix(self.boost)}"


@dataclass(frozen=True)
class Wildcard(Query):
    """Terms matching a pattern where `?` is one character and `*` any run of characters
    (query syntax `s?ory*`, `*ing`). Other characters match themselves."""

    field: str | None
    pattern: str
    boost: float = 1.0

    def __str__(self) -> str:
        prefix = _field_prefix(self.field)
        body = "".join(c if c in "*?" else quote_word(c) for c in self.pattern)
        return f"{prefix}{body}{_boost_suffix(self.boost)}"


@dataclass(frozen=True)
class Fuzzy(Query):
    """Terms within `max_dist` edits of `text` (insert, delete, substitute, or swap two adjacent
    characters), sharing its first `prefix_length` characters (query syntax `word~`, `word~2`)."""

    field: str | None
    text: str
    boost: float = 1.0
    max_dist: int = 1
    prefix_length: int = 1

    def __str__(self) -> str:
        prefix = _field_prefix(self.field)
        return f"{prefix}{quote_word(self.text)}~{self.max_dist}{_boost_suffix(self.boost)}"


@dataclass(frozen=True)
class Range(Query):
    """Values between `low` and `high` (None: open end), bounds included or not (query syntax
    `year:[2010 TO 2020]`, `title:{a TO m}`, `date:[2020-01-01 TO *]`, `year:>=2010`). NUMERIC and
    DATETIME fields compare values; text fields compare terms in code-point order."""

    field: str | None
    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True
    boost: float = 1.0

    def __str__(self) -> str:
        prefix = _field_prefix(self.field)
        low = "*" if self.low is None else _range_value(self.low)
        high = "*" if self.high is None else _range_value(self.high)
        opening = "[" if self.include_low else "{"
        closing = "]" if self.include_high else "}"
        return f"{prefix}{opening}{low} TO {high}{closing}{_boost_suffix(self.boost)}"


def _range_value(value: str) -> str:
    if value == "" or re.search(r'[\s"\[\]{}*\\]', value) or value == "TO":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


@dataclass(frozen=True)
class Boolean(Query):
    """must: all required; should: optional, scored (at least one required when there is no
    must clause); must_not: excluded. A query of only must_not clauses matches everything else."""

    must: tuple[Query, ...] = ()
    should: tuple[Query, ...] = ()
    must_not: tuple[Query, ...] = ()
    boost: float = 1.0

    def __str__(self) -> str:
        if self.should and not self.must and not self.must_not:
            # OR, not juxtaposition: reads back the same whatever the default operator
            text = " OR ".join(_group(q) for q in self.should)
        else:
            parts = [f"+{_group(q)}" for q in self.must] + [_group(q) for q in self.should]
            parts += [f"-{_group(q)}" for q in self.must_not]
            text = " ".join(parts)
        if self.boost != 1.0:
            return f"({text}){_boost_suffix(self.boost)}"
        return text


def _group(q: Query) -> str:
    if isinstance(q, Boolean) and q.boost == 1.0:
        return f"({q})"
    if isinstance(q, Nothing):
        return f'""{_boost_suffix(q.boost)}'  # an empty phrase: what the parser reads as Nothing
    return str(q)


@dataclass(frozen=True)
class Every(Query):
    """Matches every document, with a constant score."""

    boost: float = 1.0

    def __str__(self) -> str:
        return f"*:*{_boost_suffix(self.boost)}"


@dataclass(frozen=True)
class Nothing(Query):
    """Matches no document (what a query of only stop words or punctuation becomes)."""

    boost: float = 1.0

    def __str__(self) -> str:
        return f'""{_boost_suffix(self.boost)}' if self.boost != 1.0 else ""
