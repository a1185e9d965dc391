"""The query language: text in, query objects (ast.py) out.

    miscarriage storyline        words, combined with the default operator (OR unless set to AND)
    "late miscarriage"           a phrase
    +required -excluded          required and excluded clauses
    a AND b, a OR b, NOT a       operators, precedence NOT > AND > OR (juxtaposition sits between
                                 AND and OR and uses the default operator)
    (a OR b) c                   grouping
    title:word  title:"a b"  title:(a OR b)     field restriction
    word^2  "a b"^3  (group)^0.5                boosts
    *:*                          every document
    \\+word  "a \\" quote"        backslash escapes a special character

Strict mode raises QuerySyntaxError with a 1-based column; lenient mode never raises: what does
not parse is read as plain words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Container

from ..errors import QuerySyntaxError
from .ast import Boolean, Every, Nothing, Phrase, Query, Term

MAX_DEPTH = 64
_WORD_STOP = set(' \t\n\r\f\v()"^:')
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")


@dataclass
class Tok:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN PLUS MINUS AND OR NOT BOOST ALL
    text: str
    col: int  # 1-based
    boost: float = 1.0


def _lex(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c == "(":
            toks.append(Tok("LPAREN", c, col))
            i += 1
        elif c == ")":
            toks.append(Tok("RPAREN", c, col))
            i += 1
        elif c in "+-" and i + 1 < n and not text[i + 1].isspace() and (not toks or toks[-1].kind != "FIELD"):
            toks.append(Tok("PLUS" if c == "+" else "MINUS", c, col))
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise QuerySyntaxError(f"unclosed quote opened at column {col}", col, text)
            toks.append(Tok("PHRASE", "".join(buf), col))
            i = j + 1
        elif c == "^":
            m = _NUMBER.match(text, i + 1)
            if not m:
                raise QuerySyntaxError("a boost '^' must be followed by a number, as in word^2", col, text)
            if not toks or toks[-1].kind not in ("WORD", "PHRASE", "RPAREN", "ALL"):
                raise QuerySyntaxError("a boost '^' must follow a word, a phrase or a group", col, text)
            toks.append(Tok("BOOST", m.group(), col, float(m.group())))
            i = m.end()
        elif c == ":":
            raise QuerySyntaxError("':' must follow a field name, as in title:word", col, text)
        else:
            j, buf, escaped = i, [], False
            while j < n and text[j] not in _WORD_STOP:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                    escaped = True
                buf.append(text[j])
                j += 1
            word = "".join(buf)
            if text.startswith("*:*", i) and word == "*":
                toks.append(Tok("ALL", "*:*", col))
                i += 3
                continue
            if j < n and text[j] == ":" and not escaped:
                toks.append(Tok("FIELD", word, col))
                j += 1
            elif word in ("AND", "OR", "NOT") and not escaped:
                toks.append(Tok(word, word, col))
            else:
                toks.append(Tok("WORD", word, col))
            i = j
    return toks


class _Parser:
    def __init__(self, text: str, fields: Container[str] | None, default_and: bool):
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.fields = fields
        self.default_and = default_and
        self.depth = 0

    def error(self, message: str, col: int | None = None):
        if col is None:
            col = self.toks[self.i].col if self.i < len(self.toks) else len(self.text) + 1
        raise QuerySyntaxError(message, col, self.text)

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Query:
        if not self.toks:
            return Nothing()
        q = self.or_expr(None)
        tok = self.peek()
        if tok is not None:
            if tok.kind == "RPAREN":
                self.error("unbalanced parenthesis: ')' has no matching '('", tok.col)
            self.error(f"unexpected {tok.text!r}", tok.col)
        return q

    def or_expr(self, field: str | None) -> Query:
        parts = [self.sequence(field)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):
                self.error("OR needs a clause after it")
            parts.append(self.sequence(field))
        return parts[0] if len(parts) == 1 else Boolean(should=tuple(parts))

    def sequence(self, field: str | None) -> Query:
        must, should, must_not = [], [], []
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.error("AND needs a clause before it")
            modifier = None
            if tok.kind in ("PLUS", "MINUS"):
                modifier = self.take().kind
            clause, negated = self.and_expr(field)
            if negated:
                must_not.append(clause)
            elif modifier == "MINUS":
                must_not.append(clause)
            elif modifier == "PLUS" or self.default_and:
                must.append(clause)
            else:
                should.append(clause)
        if not (must or should or must_not):
            self.error("expected a word, a phrase or a group")
        if len(should) == 1 and not must and not must_not:
            return should[0]
        if len(must) == 1 and not should and not must_not:
            return must[0]
        return Boolean(must=tuple(must), should=tuple(should), must_not=tuple(must_not))

    def and_expr(self, field: str | None) -> tuple[Query, bool]:
        """An AND chain; returns (query, negated) where negated means a lone `NOT x`."""
        first, negated = self.unary(field)
        if (tok := self.peek()) is None or tok.kind != "AND":
            return first, negated
        must, must_not = [], []
        (must_not if negated else must).append(first)
        while (tok := self.peek()) is not None and tok.kind == "AND":
            self.take()
            if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):
                self.error("AND needs a clause after it")
            clause, neg = self.unary(field)
            (must_not if neg else must).append(clause)
        return Boolean(must=tuple(must), must_not=tuple(must_not)), False

    def unary(self, field: str | None) -> tuple[Query, bool]:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.take()
            if self.peek() is None or self.peek().kind in ("OR", "AND", "RPAREN"):
                self.error("NOT needs a clause after it")
            return self.primary(field), True
        return self.primary(field), False

    def primary(self, field: str | None) -> Query:
        tok = self.peek()
        if tok is None:
            self.error("the query ends where a word, a phrase or a group was expected")
        if tok.kind == "FIELD":
            self.take()
            if self.fields is not None and tok.text not in self.fields:
                self.error(f"unknown field {tok.text!r}", tok.col)
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LPAREN", "ALL"):
                self.error(f"field {tok.text!r} needs a word, a phrase or a group after ':'")
            return self.primary(tok.text)
        if tok.kind == "LPAREN":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                self.error(f"parentheses nested more than {MAX_DEPTH} deep", tok.col)
            if (nxt := self.peek()) is not None and nxt.kind == "RPAREN":
                self.error("empty parentheses", tok.col)
            q = self.or_expr(field)
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                self.error("unbalanced parenthesis: '(' has no matching ')'", tok.col)
            self.take()
            self.depth -= 1
            return self.boost(q)
        if tok.kind == "WORD":
            self.take()
            return self.boost(Term(field, tok.text))
        if tok.kind == "PHRASE":
            self.take()
            words = tok.text.split()
            if not words:
                return self.boost(Nothing())
            return self.boost(Phrase(field, words))
        if tok.kind == "ALL":
            self.take()
            return self.boost(Every())
        if tok.kind in ("PLUS", "MINUS"):
            self.error(f"'{tok.text}' must come before a clause, not inside one", tok.col)
        if tok.kind == "RPAREN":
            self.error("unbalanced parenthesis: ')' has no matching '('", tok.col)
        self.error(f"unexpected {tok.text!r}", tok.col)

    def boost(self, q: Query) -> Query:
        tok = self.peek()
        if tok is not None and tok.kind == "BOOST":
            self.take()
            return q.boosted(tok.boost)
        return q


_LENIENT_WORD = re.compile(r"\w+(?:['’.,\-]\w+)*")


def parse_query(text: str, fields: Container[str] | None = None, default_operator: str = "OR",
                lenient: bool = False) -> Query:
    """Parse query text into a Query.

    `fields` (if given) are the field names `name:` may use. `default_operator` ("OR" or "AND")
    combines juxtaposed clauses. Strict mode raises QuerySyntaxError; lenient mode reads what does
    not parse as plain words and never raises.
    """
    if default_operator not in ("OR", "AND"):
        raise ValueError(f"default_operator must be 'OR' or 'AND', got {default_operator!r}")
    if not isinstance(text, str):
        raise TypeError(f"a query is text or a Query object, not {type(text).__name__}")
    try:
        return _Parser(text, fields, default_operator == "AND").parse()
    except QuerySyntaxError:
        if not lenient:
            raise
    words = [Term(None, w) for w in _LENIENT_WORD.findall(text)]
    if not words:
        return Nothing()
    if len(words) == 1:
        return words[0]
    return Boolean(must=tuple(words)) if default_operator == "AND" else Boolean(should=tuple(words))
