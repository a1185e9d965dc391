"""The query language: text in, query objects (ast.py) out.

    miscarriage storyline        words, combined with the default operator (OR unless set to AND)
    "late miscarriage"           a phrase;  "late miscarriage"~3  words within 3 moves (proximity)
    stor*   s?ory*   *ing  te*t  prefix and wildcards (`?` one character, `*` any run)
    title:*                      any term in the field
    colour~  colour~2            fuzzy: within 1 (default) or 2 edits; `~0` is the plain word
    year:[2010 TO 2020]          ranges: `[ ]` include the end, `{ }` exclude it, `*` or nothing
    title:{a TO m]  date:[2020-01-01 TO *]  name:["van der" TO z]  year:[2010 TO]  (Whoosh style)
                                 leaves it open
    year:>=2010  year:<2020      comparisons (after `field:`); also `>` and `<=`
    +required -excluded          required and excluded clauses
    a AND b, a OR b, NOT a       operators, precedence NOT > AND > OR (juxtaposition sits between
                                 AND and OR and uses the default operator); `-x` is `NOT x`, `-a AND b` = `b -a`
    (a OR b) c                   grouping
    title:word  title:"a b"  title:(a OR b)     field restriction
    word^2  "a b"~2^3  (group)^0.5  [a TO b]^2  boosts (after any `~`)
    *:*                          every document
    \\+word  a\\*  "a \\" quote"   a backslash makes the next character literal

Grammar (tokens come from `Lexer`; whitespace separates tokens and is otherwise ignored):

    query     := or_expr?
    or_expr   := sequence ("OR" sequence)*
    sequence  := and_expr+                            clauses joined by the default operator
    and_expr  := unary ("AND" unary)*
    unary     := ("NOT" | "-" | "+")? primary         a prefix binds to one clause, tighter than AND
    primary   := FIELD primary | "(" or_expr ")" boost? | WORD fuzzy? boost? | PHRASE slop? boost?
               | PREFIX boost? | WILDCARD boost? | RANGE boost? | "*:*" boost?

Lexing decisions: a word ends at whitespace or one of `( ) " ^ : ~ [ ] { }` (unless escaped); a
word directly followed by `:` is a field name; `[`/`{` start a range, read as one token up to its
closing `]`/`}` (inside it `:` and `^` are ordinary characters); `<`, `<=`, `>`, `>=` directly after
`field:` start a comparison whose value runs to the next space or bracket; a word shaped like an
ISO 8601 datetime (`2021-06-30T12:00:00`, optional seconds, fraction and zone) is one word even
though it contains `:`. Other values with a `:` (such as a bare time `12:00`) need quotes or `\\:`.

Strict mode raises QuerySyntaxError with a 1-based column; lenient mode never raises: a query that
does not parse is read as plain words.

The parser is linear: every loop in the lexer consumes a character per iteration and every parser
function consumes a token or stops, and both count their work in `steps`, so tests can assert
`steps <= C * (len(text) + 1)` without timing anything. Parentheses may nest `MAX_DEPTH` deep;
deeper nesting is a syntax error rather than a RecursionError.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Container

from ..errors import InvalidArgumentError, QuerySyntaxError
from .ast import KEYWORDS, Boolean, Every, Fuzzy, Nothing, Phrase, Prefix, Query, Range, Term, Wildcard

MAX_DEPTH = 64
MAX_FUZZY_DISTANCE = 2  # as in Lucene: more edits match too much and expand too slowly
_MAX_SLOP_DIGITS = 9  # keeps int() far from Python's digit limit; a slop of 10**9 is "anything"

_WORD_STOP = frozenset('()"^:~[]{}')  # plus whitespace
_RANGE_STOP = frozenset('[]{}"')  # plus whitespace: what ends an unquoted range value
_COMPARE_STOP = frozenset('()[]{}"^~')  # plus whitespace: what ends an unquoted comparison value
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
# Characters a word is made of that need no decision: not whitespace, a stop, an escape or a wildcard.
_PLAIN_RUN = re.compile(r'[^\s()"^:~\[\]{}\\*?]+')
# ISO 8601 datetimes keep their ':' (no field name can start with a digit); bounded length, so
# trying it costs a constant per word.
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?",
                           re.ASCII)
_FIELD_VALUES = ("WORD", "PREFIX", "WILDCARD", "PHRASE", "LPAREN", "RANGE", "ALL")


@dataclass
class Tok:
    """One token. `text` is the literal (unescaped) text of a word, phrase, field name or pattern,
    or the digits after `^`/`~`; `value` is the parsed boost or the range ends."""

    kind: str  # WORD PREFIX WILDCARD PHRASE FIELD RANGE LPAREN RPAREN PLUS MINUS AND OR NOT BOOST TILDE ALL
    text: str
    col: int  # 1-based column of the token's first character
    value: object = None


class Lexer:
    """Splits query text into tokens in one left-to-right pass; `steps` counts characters read."""

    def __init__(self, text: str):
        self.text = text
        self.n = len(text)
        self.toks: list[Tok] = []
        self.steps = 0

    def error(self, message: str, col: int):
        raise QuerySyntaxError(message, col, self.text)

    def run(self) -> list[Tok]:
        text, n = self.text, self.n
        i = 0
        while i < n:
            self.steps += 1
            c = text[i]
            prev = self.toks[-1].kind if self.toks else None
            if c.isspace():
                i += 1
            elif c == "(":
                self.toks.append(Tok("LPAREN", c, i + 1))
                i += 1
            elif c == ")":
                self.toks.append(Tok("RPAREN", c, i + 1))
                i += 1
            elif c == '"':
                value, end = self.quoted(i, "phrase")
                self.toks.append(Tok("PHRASE", value, i + 1))
                i = end
            elif c == "^":
                i = self.boost(i)
            elif c == "~":
                i = self.tilde(i)
            elif c in "[{":
                i = self.range(i)
            elif c in "]}":
                self.error(f"'{c}' closes a range that was not opened (a range looks like [a TO b])", i + 1)
            elif c == ":":
                self.error("':' must follow a field name, as in title:word", i + 1)
            elif prev == "FIELD" and c in "<>":
                i = self.comparison(i)
            elif c in "+-" and i + 1 < n and not text[i + 1].isspace() and prev != "FIELD":
                self.toks.append(Tok("PLUS" if c == "+" else "MINUS", c, i + 1))
                i += 1
            elif text.startswith("*:*", i):
                self.toks.append(Tok("ALL", "*:*", i + 1))
                i += 3
            else:
                i = self.word(i)
        return self.toks

    # -- pieces ------------------------------------------------------------------------------

    def quoted(self, i: int, what: str) -> tuple[str, int]:
        """The text between the quote at `i` and its closing quote (backslash escapes the next
        character), and the index after the closing quote."""
        text, n = self.text, self.n
        j, buf = i + 1, []
        while j < n and text[j] != '"':
            self.steps += 1
            if text[j] == "\\" and j + 1 < n:
                j += 1
            buf.append(text[j])
            j += 1
        if j >= n:
            self.error(f"unclosed quote opened at column {i + 1}" + ("" if what == "phrase" else f" in a {what}"),
                       i + 1)
        return "".join(buf), j + 1

    def number_end(self, i: int, after: str, allowed: str) -> int:
        """Checks that the number (or bare `~`) ending before `i` is followed by a token boundary."""
        if i < self.n and not (self.text[i].isspace() or self.text[i] in allowed):
            self.error(f"unexpected {self.text[i]!r} after {after!r}: expected a space or ')'", i + 1)
        return i

    def boost(self, i: int) -> int:
        m = _NUMBER.match(self.text, i + 1)
        if not m:
            self.error("a boost '^' must be followed by a number, as in word^2", i + 1)
        self.steps += m.end() - m.start()
        value = float(m.group())
        if not math.isfinite(value):
            self.error(f"the boost {m.group()} is too large", i + 1)
        self.toks.append(Tok("BOOST", m.group(), i + 1, value))
        return self.number_end(m.end(), "^" + m.group(), ")")

    def tilde(self, i: int) -> int:
        m = _NUMBER.match(self.text, i + 1)
        digits = m.group() if m else ""
        self.steps += len(digits)
        self.toks.append(Tok("TILDE", digits, i + 1))
        return self.number_end(i + 1 + len(digits), "~" + digits, ")^")

    def bare(self, i: int, stop: frozenset) -> tuple[str, bool, int]:
        """An unquoted value starting at `i`, ending at whitespace or a character in `stop`:
        (literal text, whether it is exactly an unescaped '*', index after it)."""
        text, n = self.text, self.n
        j, buf, escaped = i, [], False
        while j < n:
            self.steps += 1
            ch = text[j]
            if ch == "\\":
                if j + 1 >= n:
                    self.error("a backslash at the end of the query escapes nothing", j + 1)
                buf.append(text[j + 1])
                escaped = True
                j += 2
                continue
            if ch.isspace() or ch in stop:
                break
            buf.append(ch)
            j += 1
        value = "".join(buf)
        return value, value == "*" and not escaped, j

    def skip_space(self, j: int) -> int:
        while j < self.n and self.text[j].isspace():
            self.steps += 1
            j += 1
        return j

    def range(self, i: int) -> int:
        """`[low TO high]` with `[`/`{` and `]`/`}` choosing inclusive/exclusive ends. An end is
        open when it is `*` (Lucene) or left out (Whoosh: `[a TO]`, `[TO b]`)."""
        text, n = self.text, self.n
        col = i + 1

        def unclosed():
            self.error(f"unclosed range: '{text[i]}' at column {col} has no closing ']' or '}}'", col)

        def is_to(k: int) -> bool:  # the keyword TO, followed by a space, a quote, a closer or the end
            return text.startswith("TO", k) and (k + 2 == n or text[k + 2].isspace() or text[k + 2] in '"]}')

        def value(j: int) -> tuple[str | None, int]:
            if text[j] == '"':
                return self.quoted(j, "range")
            if text[j] in "[{":
                self.error(f"unexpected {text[j]!r} inside the range opened at column {col}", j + 1)
            raw, is_star, end = self.bare(j, _RANGE_STOP)
            return (None if is_star else raw), end

        j = self.skip_space(i + 1)
        if j >= n:
            unclosed()
        if is_to(j):
            low, after = None, j + 2
        else:
            if text[j] in "]}":
                self.error(f"the range opened at column {col} needs 'TO', as in [a TO b]", j + 1)
            low, j = value(j)
            k = self.skip_space(j)
            if k >= n:
                unclosed()
            if not is_to(k) or (k == j and text[j - 1] != '"'):  # `aTO` is one value, `"a"TO` is fine
                self.error(f"expected 'TO' between the two ends of the range opened at column {col}", k + 1)
            after = k + 2
        k = self.skip_space(after)
        if k >= n:
            unclosed()
        high = None
        if text[k] not in "]}":
            high, j = value(k)
            k = self.skip_space(j)
            if k >= n:
                unclosed()
        if text[k] not in "]}":
            self.error(f"expected ']' or '}}' to close the range opened at column {col} "
                       f"(a range has two values: [a TO b])", k + 1)
        self.toks.append(Tok("RANGE", text[i:k + 1], col, (low, high, text[i] == "[", text[k] == "]")))
        return k + 1

    def comparison(self, i: int) -> int:
        """`field:>=x` and friends, read as a range with one open end."""
        text = self.text
        op = text[i:i + 2] if text.startswith(("<=", ">="), i) else text[i]
        j = i + len(op)
        if j < self.n and text[j] == '"':
            raw, j = self.quoted(j, "comparison")
            open_end = False
        else:
            raw, open_end, j = self.bare(j, _COMPARE_STOP)
            if not raw:
                self.error(f"'{op}' needs a value after it, as in year:{op}2010", j + 1)
        v = None if open_end else raw
        value = {">=": (v, None, True, True), ">": (v, None, False, True),
                 "<=": (None, v, True, True), "<": (None, v, True, False)}[op]
        self.toks.append(Tok("RANGE", text[i:j], i + 1, value))
        return j

    def word(self, i: int) -> int:
        """A word, a field name (word + ':'), an operator, a prefix or a wildcard pattern."""
        text, n = self.text, self.n
        j, buf = i, []
        if "0" <= text[i] <= "9" and (m := _ISO_DATETIME.match(text, i)):
            buf.extend(m.group())  # its ':' are part of the word; the word may go on (`...T12:00*`)
            self.steps += m.end() - i
            j = m.end()
        wild: list[int] = []  # positions of unescaped * and ? in the word
        length = len(buf)  # characters in the word so far (buf holds pieces)
        escaped_any = escaped_wild = False
        while j < n:
            m = _PLAIN_RUN.match(text, j)  # a run of ordinary characters in one step
            if m is not None:
                piece = m.group()
                buf.append(piece)
                length += len(piece)
                self.steps += len(piece)
                j = m.end()
                continue
            self.steps += 1
            ch = text[j]
            if ch == "\\":
                if j + 1 >= n:
                    self.error("a backslash at the end of the query escapes nothing", j + 1)
                ch = text[j + 1]
                escaped_any = True
                escaped_wild = escaped_wild or ch in "*?"
                buf.append(ch)
                length += 1
                j += 2
                continue
            if ch.isspace() or ch in _WORD_STOP:
                break
            wild.append(length)  # only * and ? are left: a wildcard
            buf.append(ch)
            length += 1
            j += 1
        word = "".join(buf)
        col = i + 1
        if j < n and text[j] == ":" and not escaped_any:
            self.toks.append(Tok("FIELD", word, col))
            return j + 1
        if not wild:
            kind = word if word in ("AND", "OR", "NOT") and not escaped_any else "WORD"
            self.toks.append(Tok(kind, word, col))
        elif wild == [len(word) - 1] and word[-1] == "*" and len(word) > 1:
            self.toks.append(Tok("PREFIX", word[:-1], col))
        elif escaped_wild:
            self.error("a pattern with '*' or '?' cannot also contain an escaped '*' or '?'", col)
        else:
            self.toks.append(Tok("WILDCARD", word, col))
        return j


class TokenParser:
    """Recursive descent over the tokens of one query; `steps` counts tokens peeked and taken."""

    def __init__(self, text: str, toks: list[Tok], fields: Container[str] | None, default_and: bool):
        self.text = text
        self.toks = toks
        self.steps = 0
        self.i = 0
        self.fields = fields
        self.default_and = default_and
        self.depth = 0

    def error(self, message: str, col: int | None = None):
        if col is None:
            col = self.toks[self.i].col if self.i < len(self.toks) else len(self.text) + 1
        raise QuerySyntaxError(message, col, self.text)

    def peek(self) -> Tok | None:
        self.steps += 1
        return self.toks[self.i] if self.i < len(self.toks) else None

    def peek_kind(self) -> str | None:
        tok = self.peek()
        return None if tok is None else tok.kind

    def take(self) -> Tok:
        self.steps += 1
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Query:
        if not self.toks:
            return Nothing()
        q = self.or_expr(None)
        tok = self.peek()
        if tok is not None:  # only a ')' can stop or_expr at the top level
            self.error("unbalanced parenthesis: ')' has no matching '('", tok.col)
        return q

    def or_expr(self, field: str | None) -> Query:
        parts = [self.sequence(field)]
        while self.peek_kind() == "OR":
            self.take()
            if self.peek_kind() in (None, "OR", "AND", "RPAREN"):
                self.error("OR needs a clause after it")
            parts.append(self.sequence(field))
        return parts[0] if len(parts) == 1 else Boolean(should=tuple(parts))

    def sequence(self, field: str | None) -> Query:
        must, should, must_not = [], [], []
        while (kind := self.peek_kind()) is not None and kind not in ("OR", "RPAREN"):
            if kind == "AND":
                self.error("AND needs a clause before it")
            clause, modifier = self.and_expr(field)
            if modifier == "-":
                must_not.append(clause)
            elif modifier == "+" or self.default_and:
                must.append(clause)
            else:
                should.append(clause)
        if not (must or should or must_not):
            if kind == "OR":
                self.error("OR needs a clause before it")
            self.error("expected a word, a phrase or a group")
        if len(should) == 1 and not must and not must_not:
            return should[0]
        if len(must) == 1 and not should and not must_not:
            return must[0]
        return Boolean(must=tuple(must), should=tuple(should), must_not=tuple(must_not))

    def and_expr(self, field: str | None) -> tuple[Query, str | None]:
        """An AND chain; returns (query, modifier): a lone clause keeps its modifier ('+', '-' for
        `-x` and `NOT x`, or None); a chain is one clause whose operands were required or excluded."""
        first, modifier = self.unary(field)
        if self.peek_kind() != "AND":
            return first, modifier
        must, must_not = [], []
        (must_not if modifier == "-" else must).append(first)
        while self.peek_kind() == "AND":
            self.take()
            if self.peek_kind() in (None, "OR", "AND", "RPAREN"):
                self.error("AND needs a clause after it")
            clause, modifier = self.unary(field)
            (must_not if modifier == "-" else must).append(clause)
        return Boolean(must=tuple(must), must_not=tuple(must_not)), None

    def unary(self, field: str | None) -> tuple[Query, str | None]:
        """A clause with its optional prefix: `NOT x` and `-x` exclude, `+x` requires. They bind to
        the one clause after them, tighter than AND (`-a AND b` is `b` without `a`, as in Lucene)."""
        kind = self.peek_kind()
        if kind in ("NOT", "PLUS", "MINUS"):
            op = self.take()
            if self.peek_kind() in (None, "OR", "AND", "RPAREN"):
                shown = op.text if kind == "NOT" else f"'{op.text}'"
                self.error(f"{shown} needs a clause after it")
            return self.primary(field), "+" if kind == "PLUS" else "-"
        return self.primary(field), None

    def primary(self, field: str | None) -> Query:
        """One clause. Every caller has already stopped at the end of the query, ')', AND and OR,
        so the token here is another one."""
        tok = self.peek()
        kind = tok.kind
        if kind == "FIELD":
            self.take()
            if self.fields is not None and tok.text not in self.fields:
                self.error(f"unknown field {tok.text!r}", tok.col)
            following = self.peek()
            if following is not None and following.kind == "FIELD":  # title:foo:bar
                rest = self.toks[self.i + 1].text if self.i + 1 < len(self.toks) else ""
                value = f"{following.text}:{rest}"
                self.error(f"field {tok.text!r}: the value {value!r} holds a ':', which would start another field; "
                           f"put the value in quotes ({tok.text}:\"{value}\") or escape the colon "
                           f"({tok.text}:{following.text}\\:{rest})", following.col)
            if self.peek_kind() not in _FIELD_VALUES:
                self.error(f"field {tok.text!r} needs a word, a phrase, a range or a group after ':'")
            return self.primary(tok.text)  # the next token is not a FIELD: recursion depth 1
        if kind == "LPAREN":
            return self.boost(self.group(field))
        self.take()
        if kind == "WORD":
            return self.boost(self.fuzzy(Term(field, tok.text)))
        if kind == "PHRASE":
            words = tok.text.split()
            q = self.slop(Phrase(field, words)) if words else self.slop(Nothing())
            return self.boost(q)
        if kind == "PREFIX":
            return self.boost(Prefix(field, tok.text))
        if kind == "WILDCARD":
            return self.boost(Wildcard(field, tok.text))
        if kind == "RANGE":
            low, high, include_low, include_high = tok.value
            return self.boost(Range(field, low, high, include_low, include_high))
        if kind == "ALL":
            return self.boost(Every())
        if kind in ("PLUS", "MINUS"):  # only a prefix can lead here: a field needs a value after it
            self.error(f"'{tok.text}' cannot follow another NOT, '+' or '-'", tok.col)
        if kind == "BOOST":
            self.error("a boost '^' must follow a word, a phrase, a range or a group", tok.col)
        if kind == "TILDE":
            self.error("'~' must follow a word (fuzzy, as in word~1) or a phrase (proximity, as in \"a b\"~3)",
                       tok.col)
        if kind == "NOT":
            self.error("NOT cannot follow another NOT, '+' or '-'", tok.col)
        self.error("expected a word, a phrase or a group", tok.col)

    def group(self, field: str | None) -> Query:
        tok = self.take()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"parentheses nested more than {MAX_DEPTH} deep", tok.col)
        if self.peek_kind() == "RPAREN":
            self.error("empty parentheses", tok.col)
        q = self.or_expr(field)
        if self.peek_kind() != "RPAREN":
            self.error(f"unbalanced parenthesis opened at column {tok.col} has no matching ')'", tok.col)
        self.take()
        self.depth -= 1
        return q

    def fuzzy(self, term: Term) -> Query:
        """`word~` (1 edit), `word~N` (N edits, at most MAX_FUZZY_DISTANCE), `word~0` (the word)."""
        if self.peek_kind() != "TILDE":
            return term
        tok = self.take()
        if not tok.text:
            return Fuzzy(term.field, term.text)
        if not tok.text.isdigit():
            self.error(f"fuzzy '~' takes a whole number of edits (0 to {MAX_FUZZY_DISTANCE}), as in word~2, "
                       f"not {tok.text}", tok.col)
        if len(tok.text) > 3 or int(tok.text) > MAX_FUZZY_DISTANCE:
            self.error(f"fuzzy edit distance {tok.text} is too large: at most {MAX_FUZZY_DISTANCE} edits",
                       tok.col)
        dist = int(tok.text)
        return term if dist == 0 else Fuzzy(term.field, term.text, max_dist=dist)

    def slop(self, q: Query) -> Query:
        """`"a b"~N`: the phrase's words may be up to N position moves away from the exact phrase."""
        if self.peek_kind() != "TILDE":
            return q
        tok = self.take()
        if not tok.text or not tok.text.isdigit():
            self.error('a phrase\'s \'~\' needs a whole number of moves, as in "a b"~3', tok.col)
        if len(tok.text) > _MAX_SLOP_DIGITS:
            self.error(f"the phrase slop {tok.text} is too large", tok.col)
        if isinstance(q, Phrase):
            return Phrase(q.field, q.words, q.boost, int(tok.text))
        return q  # an empty phrase matches nothing, however sloppy

    def boost(self, q: Query) -> Query:
        if self.peek_kind() == "BOOST":
            return q.boosted(self.take().value)
        return q


_LENIENT_WORD = re.compile(r"\w+(?:['’.,\-]\w+)*")
# Text of words without syntax, separated by spaces, so the words are the query: no character the
# lexer stops a word at, no escape or wildcard, none starting with `+` or `-` (a required or
# excluded clause). Other punctuation ("properties.", "40mg/day", "5%") stays in the word, as in
# the grammar, for the analyzer to split.
_PLAIN_WORD = r'[^\s()"^:~\[\]{}\\*?+\-][^\s()"^:~\[\]{}\\*?]*'
PLAIN_WORDS = re.compile(r"\s*%s(?:\s+%s)*\s*\Z" % (_PLAIN_WORD, _PLAIN_WORD))
# One range of plain values on a plain field name: `year:[2010 TO 2020]`, `name:{a TO m]`.
PLAIN_RANGE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*):([\[{])\s*([A-Za-z0-9][A-Za-z0-9.\-]*)\s+TO\s+"
                          r"([A-Za-z0-9][A-Za-z0-9.\-]*)\s*([\]}])\s*\Z")
# One quoted phrase of such words, maybe with a slop: `"a b"` or `"a b"~3`.
PLAIN_PHRASE = re.compile(r'\s*"\s*([^\W_]+(?:\s+[^\W_]+)*)\s*"(?:~([0-9]{1,%d}))?\s*\Z' % _MAX_SLOP_DIGITS)


def _words_query(words: list[str], all_required: bool) -> Query:
    """Plain words combined as the parser combines them: one word is its Term; several are a
    Boolean, all required (AND) or all optional (OR)."""
    terms = tuple([Term(None, w) for w in words])
    if not terms:
        return Nothing()
    if len(terms) == 1:
        return terms[0]
    return Boolean(must=terms) if all_required else Boolean(should=terms)


def plain_words(text: str) -> tuple[list[str], str | None] | None:
    """The words of text made only of plain words, and how the grammar combines them: None (the
    default operator) for bare words, "AND" or "OR" for a uniform chain `w AND w ...` / `w OR w
    ...` (operands that are not operators). None for any other text, which needs the grammar."""
    if not PLAIN_WORDS.match(text):
        return None
    words = text.split()
    if KEYWORDS.isdisjoint(words):
        return words, None
    ops, operands = set(words[1::2]), words[0::2]
    if len(words) < 3 or len(words) % 2 == 0 or len(ops) != 1 or not KEYWORDS.isdisjoint(operands):
        return None
    op = next(iter(ops))
    return (operands, op) if op in ("AND", "OR") else None


def plain_phrase(text: str) -> tuple[list[str], int] | None:
    """The words and slop of text that is one quoted phrase of plain words (`"a b"`, `"a b"~3`),
    what the grammar reads as that Phrase; None for any other text."""
    m = PLAIN_PHRASE.match(text)
    return (m.group(1).split(), int(m.group(2) or 0)) if m else None


class QueryParser:
    """A reusable parser configuration. `parse(text)` returns a Query; afterwards `steps` holds
    the work the last parse did (characters lexed plus tokens examined), which is at most a
    constant times `len(text) + 1` whatever the text."""

    def __init__(self, fields: Container[str] | None = None, default_operator: str = "OR",
                 lenient: bool = False):
        if default_operator not in ("OR", "AND"):
            raise InvalidArgumentError(f"default_operator must be 'OR' or 'AND', got {default_operator!r}")
        self.fields = fields
        self.default_operator = default_operator
        self.lenient = lenient
        self.steps = 0

    def parse(self, text: str) -> Query:
        """Parse query text. Strict mode raises QuerySyntaxError; lenient mode reads a query that
        does not parse as plain words (so `(a b` is `a b`) and never raises."""
        if not isinstance(text, str):
            raise InvalidArgumentError(f"a query is text or a Query object, not {type(text).__name__}")
        plain = plain_words(text)
        if plain is not None:  # the common case: bare words or a uniform chain, as the grammar builds it
            self.steps = len(text) + 1
            words, op = plain
            return _words_query(words, (op or self.default_operator) == "AND")
        phrase = plain_phrase(text)
        if phrase is not None:  # a lone phrase: the Phrase the grammar builds
            self.steps = len(text) + 1
            return Phrase(None, phrase[0], 1.0, phrase[1])
        rng = PLAIN_RANGE.match(text)
        if rng and (self.fields is None or rng.group(1) in self.fields) and "TO" not in (rng.group(3), rng.group(4)):
            self.steps = len(text) + 1  # a lone range: the Range the grammar builds
            return Range(rng.group(1), rng.group(3), rng.group(4), rng.group(2) == "[", rng.group(5) == "]")
        lexer, parser = Lexer(text), None
        try:
            toks = lexer.run()
            parser = TokenParser(text, toks, self.fields, self.default_operator == "AND")
            return parser.parse()
        except QuerySyntaxError:
            if not self.lenient:
                raise
        finally:
            self.steps = lexer.steps + (parser.steps if parser is not None else 0)
        self.steps += len(text) + 1  # one regex pass for the words
        return _words_query(_LENIENT_WORD.findall(text), self.default_operator == "AND")


def parse_query(text: str, fields: Container[str] | None = None, default_operator: str = "OR",
                lenient: bool = False) -> Query:
    """Parse query text into a Query.

    `fields` (if given) are the field names `name:` may use. `default_operator` ("OR" or "AND")
    combines juxtaposed clauses. Strict mode raises QuerySyntaxError; lenient mode reads what does
    not parse as plain words and never raises.
    """
    return QueryParser(fields, default_operator, lenient).parse(text)
