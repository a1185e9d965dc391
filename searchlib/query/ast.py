"""Query objects: what the parser produces and what Python code can build and combine directly.

Words in a query are the user's words, not index terms: they go through the field's analyzer
when the query runs, so `Term("body", "Running")` finds documents containing "run" in a stemmed
field, exactly like the query string `body:Running`. `field=None` means the default fields.

Operators compose queries: `a & b` (both), `a | b` (either), `~a` (not a), `a.boosted(2)`.
`str(query)` prints query-language text that parses back to an equal query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

_SPECIAL = re.compile(r'([\\"():+\-^~*?\[\]{}!&|/\s])')
_KEYWORDS = {"AND", "OR", "NOT", "TO"}


def quote_word(word: str) -> str:
    """Escape a word so the parser reads it back as this single word."""
    escaped = _SPECIAL.sub(r"\\\1", word)
    return "\\" + escaped if escaped in _KEYWORDS else escaped


def _boost_suffix(boost: float) -> str:
    return "" if boost == 1.0 else f"^{boost:g}"


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
        prefix = f"{self.field}:" if self.field else ""
        return f"{prefix}{quote_word(self.text)}{_boost_suffix(self.boost)}"


@dataclass(frozen=True)
class Phrase(Query):
    """Words that must appear next to each other, in order."""

    field: str | None
    words: tuple[str, ...]
    boost: float = 1.0

    def __init__(self, field: str | None, words: Sequence[str] | str, boost: float = 1.0):
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "words", tuple(words.split() if isinstance(words, str) else words))
        object.__setattr__(self, "boost", float(boost))

    def __str__(self) -> str:
        prefix = f"{self.field}:" if self.field else ""
        inner = " ".join(w.replace("\\", "\\\\").replace('"', '\\"') for w in self.words)
        return f'{prefix}"{inner}"{_boost_suffix(self.boost)}'


@dataclass(frozen=True)
class Boolean(Query):
    """must: all required; should: optional, scored (at least one required when there is no
    must clause); must_not: excluded. A query of only must_not clauses matches everything else."""

    must: tuple[Query, ...] = ()
    should: tuple[Query, ...] = ()
    must_not: tuple[Query, ...] = ()
    boost: float = 1.0

    def __str__(self) -> str:
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
