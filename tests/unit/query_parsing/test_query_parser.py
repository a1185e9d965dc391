"""The full query syntax (issue 3): every construct parses to the expected query objects, malformed
text gets a QuerySyntaxError pointing at the right column, lenient parsing never raises, parsing
is linear (counted in steps, never timed) and printing a parsed query reads back the same query.
An index, its writers and its searchers parse a text alike.
"""
from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager

import pytest

from searchlib.errors import InvalidArgumentError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from searchlib import ID, TEXT, Index, Schema
from searchlib.errors import QuerySyntaxError
from searchlib.query import parser as parser_module
from searchlib.query.ast import Boolean, Every, Fuzzy, Nothing, Phrase, Prefix, Query, Range, Term, Wildcard
from searchlib.query.parser import MAX_DEPTH, QueryParser, parse_query

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FIELDS = {"title", "body", "tags", "year", "date", "id"}
STEP_FACTOR = 12  # steps allowed per character; the parser needs about 7 in the worst cases below


def parse(text: str, **kw) -> Query:
    return parse_query(text, fields=FIELDS, **kw)


def T(text, field=None, boost=1.0):
    return Term(field, text, boost)


# -- each construct ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # phrases and proximity
    ('"a b"', Phrase(None, ("a", "b"))),
    ('"a b"~3', Phrase(None, ("a", "b"), slop=3)),
    ('"a b"~0', Phrase(None, ("a", "b"))),
    ('title:"a b"~2', Phrase("title", ("a", "b"), slop=2)),
    ('"a b"~2^3', Phrase(None, ("a", "b"), boost=3.0, slop=2)),
    ('"a b" ~2', Phrase(None, ("a", "b"), slop=2)),
    ('""~4', Nothing()),
    ('"one"~1', Phrase(None, ("one",), slop=1)),
    # prefix and wildcards
    ("stor*", Prefix(None, "stor")),
    ("title:stor*", Prefix("title", "stor")),
    ("stor*^2", Prefix(None, "stor", 2.0)),
    ("s?ory*", Wildcard(None, "s?ory*")),
    ("*ing", Wildcard(None, "*ing")),
    ("te*t", Wildcard(None, "te*t")),
    ("te?t", Wildcard(None, "te?t")),
    ("?", Wildcard(None, "?")),
    ("**", Wildcard(None, "**")),
    ("title:*", Wildcard("title", "*")),
    ("*", Wildcard(None, "*")),
    ("title:*^0.5", Wildcard("title", "*", 0.5)),
    ("*:*", Every()),
    ("title:*:*", Every()),
    # escaped wildcard characters are literal
    (r"a\*", T("a*")),
    (r"\*", T("*")),
    (r"a\?b*", Prefix(None, "a?b")),
    (r"a\*b", T("a*b")),
    (r"\*\:\*", T("*:*")),
    # fuzzy
    ("word~", Fuzzy(None, "word")),
    ("word~1", Fuzzy(None, "word", max_dist=1)),
    ("word~2", Fuzzy(None, "word", max_dist=2)),
    ("word~0", T("word")),
    ("title:word~2^4", Fuzzy("title", "word", 4.0, max_dist=2)),
    ("word~^2", Fuzzy(None, "word", 2.0)),
    (r"word\~2", T("word~2")),
    (r"\AND~", Fuzzy(None, "AND")),
    # ranges
    ("title:[a TO b]", Range("title", "a", "b")),
    ("title:{a TO b}", Range("title", "a", "b", False, False)),
    ("title:[a TO b}", Range("title", "a", "b", True, False)),
    ("title:{a TO b]", Range("title", "a", "b", False, True)),
    ("year:[2010 TO *]", Range("year", "2010", None)),
    ("year:{* TO 2010}", Range("year", None, "2010", False, False)),
    ("year:[* TO *]", Range("year", None, None)),
    ('title:["a b" TO c]', Range("title", "a b", "c")),
    ('title:["*" TO "TO"]', Range("title", "*", "TO")),
    (r"title:[\* TO c\ d]", Range("title", "*", "c d")),
    ('title:[ a  TO  b ]', Range("title", "a", "b")),
    ('title:["a"TO"b"]', Range("title", "a", "b")),
    ("year:[-5 TO 5]^2", Range("year", "-5", "5", boost=2.0)),
    ("[a TO b]", Range(None, "a", "b")),
    ("year:[2010 TO]", Range("year", "2010", None)),  # Whoosh's open ends
    ("year:{TO 2010}", Range("year", None, "2010", False, False)),
    ("title:[TO]", Range("title", None, None)),
    ('title:[TO "TO"]', Range("title", None, "TO")),
    (r"title:[\TO TO TO\ ]", Range("title", "TO", "TO ")),
    ("title:[a:b TO c^d]", Range("title", "a:b", "c^d")),
    ("date:[2020-01-01 TO 2021-06-30T12:00:00]", Range("date", "2020-01-01", "2021-06-30T12:00:00")),
    ("date:{2020-01-01T00:00:00Z TO 2021-06-30T12:00:00+02:00]",
     Range("date", "2020-01-01T00:00:00Z", "2021-06-30T12:00:00+02:00", False, True)),
    # comparisons
    ("year:>=2010", Range("year", "2010", None, True, True)),
    ("year:>2010", Range("year", "2010", None, False, True)),
    ("year:<=2010", Range("year", None, "2010", True, True)),
    ("year:<2010", Range("year", None, "2010", True, False)),
    ("year:>=2010^3", Range("year", "2010", None, boost=3.0)),
    ("title:<m", Range("title", None, "m", True, False)),
    ('title:>"a b"', Range("title", "a b", None, False, True)),
    ("date:>=2021-06-30T12:00:00", Range("date", "2021-06-30T12:00:00", None)),
    ("date:<2021-06-30T12:00:00.5Z", Range("date", None, "2021-06-30T12:00:00.5Z", True, False)),
    ("year:>-1.5", Range("year", "-1.5", None, False, True)),
    ("(year:<5)", Range("year", None, "5", True, False)),
    ("a>b", T("a>b")),  # a comparison needs `field:` before it
    (">b", T(">b")),
    # unquoted ISO datetimes are one word
    ("date:2021-06-30T12:00:00", T("2021-06-30T12:00:00", "date")),
    ("date:2021-06-30T12:00", T("2021-06-30T12:00", "date")),
    ("date:2021-06-30", T("2021-06-30", "date")),
    ("2021-06-30T12:00:00Z^2", T("2021-06-30T12:00:00Z", boost=2.0)),
    # boosts on every construct
    ("a^2", T("a", boost=2.0)),
    ("a^10.25", T("a", boost=10.25)),
    ("(a b)^0.5", Boolean(should=(T("a"), T("b")), boost=0.5)),
    ("title:(a b)^2", Boolean(should=(T("a", "title"), T("b", "title")), boost=2.0)),
    ("*:*^3", Every(3.0)),
    ('""^2', Nothing(2.0)),
    ("((a)^2)^3", T("a", boost=6.0)),
    # operators with the new constructs
    ("a AND -b", Boolean(must=(T("a"),), must_not=(T("b"),))),
    ("a AND +b", Boolean(must=(T("a"), T("b")))),
    ("stor* AND NOT year:[* TO 2000}", Boolean(must=(Prefix(None, "stor"),),
                                                must_not=(Range("year", None, "2000", True, False),))),
    ("-title:* +body:x~", Boolean(must=(Fuzzy("body", "x"),), must_not=(Wildcard("title", "*"),))),
    ("title:(stor* OR te?t OR x~2 OR [a TO b] OR title:>=c OR >=d)",  # a comparison needs `field:` right before
     Boolean(should=(Prefix("title", "stor"), Wildcard("title", "te?t"), Fuzzy("title", "x", max_dist=2),
                     Range("title", "a", "b"), Range("title", "c", None), T(">=d", "title")))),
    ('title:("a b"~1 c)', Boolean(should=(Phrase("title", ("a", "b"), slop=1), T("c", "title")))),
    ("a TO b", Boolean(should=(T("a"), T("TO"), T("b")))),  # TO outside a range is a word
])
def test_constructs(text, expected):
    assert parse(text) == expected


def test_precedence_with_new_constructs():
    a, p, f, r = T("a"), Prefix(None, "p"), Fuzzy(None, "f"), Range("year", "1", "2")
    assert parse("a OR p* AND f~") == Boolean(should=(a, Boolean(must=(p, f))))
    assert parse("NOT p* AND year:[1 TO 2]") == Boolean(must=(r,), must_not=(p,))
    assert parse("a p* OR f~") == Boolean(should=(Boolean(should=(a, p)), f))
    assert parse("a p*", default_operator="AND") == Boolean(must=(a, p))
    # + and - bind to one clause like NOT, tighter than AND (as in Lucene and Whoosh)
    b, c = T("b"), T("c")
    assert parse("-a AND b") == parse("NOT a AND b") == Boolean(must=(b,), must_not=(a,))
    assert parse("+a AND -b") == Boolean(must=(a,), must_not=(b,))
    assert parse("+a AND b c") == Boolean(should=(Boolean(must=(a, b)), c))
    assert parse("-a b OR c") == Boolean(should=(Boolean(should=(b,), must_not=(a,)), c))
    assert parse("+a OR b") == Boolean(should=(a, b))
    assert parse("(a OR p*) AND (f~ OR year:[1 TO 2])") == Boolean(
        must=(Boolean(should=(a, p)), Boolean(should=(f, r))))


def test_whitespace_kinds_separate_words():
    assert parse("a\u00a0b\u2028c\td") == Boolean(should=(T("a"), T("b"), T("c"), T("d")))
    assert parse("a\u200bb") == T("a\u200bb")  # a zero-width space is not whitespace
    assert parse("a\x00b") == T("a\x00b")


# -- strict errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, column, fragment", [
    ("title:[a TO", 7, "unclosed range"),
    ("title:[a TO b", 7, "unclosed range"),
    ("x [a", 3, "unclosed range"),
    ("title:[a b]", 10, "TO"),
    ("title:[a TOb]", 10, "TO"),
    ("title:[a TO b c]", 15, "close the range"),
    ("title:[a TO b TO c]", 15, "close the range"),
    ("title:[TO TO b]", 14, "close the range"),
    ("title:[]", 8, "needs 'TO'"),
    ("title:[TO", 7, "unclosed range"),
    ("title:[a TO [b]]", 13, "inside the range"),
    ('title:["a TO b]', 8, "quote"),
    ("a ] b", 3, "range"),
    ("a }", 3, "range"),
    ("word~3", 5, "too large"),
    ("word~9999999", 5, "too large"),
    ("word~1.5", 5, "whole number"),
    ("word~x", 6, "after '~'"),
    ("word~2x", 7, "after '~2'"),
    ('"a b"~', 6, "whole number"),
    ('"a b"~1.5', 6, "whole number"),
    ('"a b"~9999999999', 6, "too large"),
    ("(a b)~2", 6, "'~' must follow"),
    ("~2", 1, "'~' must follow"),
    ("stor*~1", 6, "'~' must follow"),
    ("[a TO b]~1", 9, "'~' must follow"),
    ("a^", 2, "boost"),
    ("a^x", 2, "boost"),
    ("a^2b", 4, "after '^2'"),
    ("a^2~1", 4, "after '^2'"),
    ("a^2^3", 4, "after '^2'"),
    ("^2 a", 1, "boost"),
    ("^2", 1, "boost"),
    ("a b^x", 4, "boost"),
    ("a ^2 ^3", 6, "boost"),
    ("(a b", 1, "parenthesis"),
    ("a b)", 4, "parenthesis"),
    ("((a) b", 1, "parenthesis"),
    ("a (b OR (c d)", 3, "parenthesis"),
    ("a b) c", 4, "parenthesis"),
    ('a "b c', 3, "quote"),
    ('"a" "b', 5, "quote"),
    ("nope:x", 1, "unknown field"),
    ("a nope:[1 TO 2]", 3, "unknown field"),
    ("a title:b nope:(c)", 11, "unknown field"),
    ("year:", 6, "year"),
    ("title:", 7, "title"),
    ("title:body:x", 7, "title"),
    ("title:)", 7, "title"),
    ("year:>", 7, "'>' needs a value"),
    ("year:>= b", 8, "'>=' needs a value"),
    ("a :b", 3, ":"),
    ("a AND", 6, "AND"),
    ("AND a", 1, "AND"),
    ("a OR", 5, "OR"),
    ("OR a", 1, "OR"),
    ("a OR AND b", 6, "OR"),
    ("(OR a)", 2, "OR"),
    ("a AND OR b", 7, "AND"),
    ("NOT", 4, "NOT"),
    ("NOT NOT a", 5, "NOT"),
    ("a +)", 4, "'+' needs a clause"),
    ("a AND -)", 8, "'-' needs a clause"),
    ("NOT -a", 5, "'-' cannot follow"),
    ("-+a", 2, "'+' cannot follow"),
    ("+NOT a", 2, "NOT cannot follow"),
    ("(a -) b", 5, "'-' needs a clause"),
    ("()", 1, "empty"),
    ("a\\", 2, "backslash"),
    (r"a\*b?", 1, "escaped"),
    ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1, "nested"),
])
def test_strict_errors_point_at_the_problem(text, column, fragment):
    with pytest.raises(QuerySyntaxError) as info:
        parse(text)
    err = info.value
    assert err.column == column, str(err)
    assert fragment in err.reason, err.reason
    assert err.query == text
    assert f"column {column}" in str(err)


def test_lenient_reads_broken_queries_as_words():
    assert parse("title:[a TO", lenient=True) == Boolean(should=(T("title"), T("a"), T("TO")))
    assert parse("word~3 x", lenient=True) == Boolean(should=(T("word"), T("3"), T("x")))
    assert parse("nope:stor*", lenient=True) == Boolean(should=(T("nope"), T("stor")))
    assert parse("a^ b", lenient=True, default_operator="AND") == Boolean(must=(T("a"), T("b")))
    assert parse("~~~ ^^^ ]]]", lenient=True) == Nothing()
    # what parses strictly is read the same way in lenient mode
    for text in ("title:[a TO b] stor* x~2", 'year:>=2010 "a b"~2^3', "te?t OR -*ing"):
        assert parse(text, lenient=True) == parse(text)


def test_parse_query_arguments():
    with pytest.raises(InvalidArgumentError):
        QueryParser(default_operator="NAND")
    with pytest.raises(InvalidArgumentError):
        parse_query(b"bytes")  # type: ignore[arg-type]
    assert parse_query("anything:x") == T("x", "anything")  # no field list: every name is accepted


def test_primary_falls_through_to_one_error_on_tokens_its_callers_stop_at():
    from searchlib.errors import QuerySyntaxError
    from searchlib.query.parser import Lexer, TokenParser

    for text in (")", "AND", "OR"):  # never reach primary() through the grammar; called directly
        parser = TokenParser(text, Lexer(text).run(), None, False)
        with pytest.raises(QuerySyntaxError, match="expected a word, a phrase or a group") as err:
            parser.primary(None)
        assert err.value.column == 1


# -- linear work and bounded recursion ---------------------------------------------------------

@contextmanager
def counting_lexer():
    """Record every text the grammar's lexer is built for: a text a fast path answers never reaches
    it, so an empty record means the fast path was taken."""
    lexed: list[str] = []
    original = parser_module.Lexer

    class CountingLexer(original):
        def __init__(self, text: str):
            lexed.append(text)
            super().__init__(text)

    parser_module.Lexer = CountingLexer
    try:
        yield lexed
    finally:
        parser_module.Lexer = original


@contextmanager
def grammar_only():
    """Turn the fast paths off (their regexes never match), so every text goes through the lexer
    and the grammar; yields the record of counting_lexer."""
    names = ("PLAIN_WORDS", "PLAIN_PHRASE", "PLAIN_RANGE")
    originals = [getattr(parser_module, name) for name in names]
    try:
        for name in names:
            setattr(parser_module, name, parser_module.re.compile(r"(?!)"))
        with counting_lexer() as lexed:
            yield lexed
    finally:
        for name, original in zip(names, originals):
            setattr(parser_module, name, original)


def steps_for(text: str, **kw) -> int:
    parser = QueryParser(fields=FIELDS, **kw)
    try:
        parser.parse(text)
    except QuerySyntaxError:
        pass
    return parser.steps


ADVERSARIAL = [
    "(" * 5000, ")" * 5000, "(" * 60 + "a" + ")" * 60, "[" * 5000, "{" * 5000, '"' * 5001, "\\" * 5001,
    "title:" * 3000 + "x", "a:" * 3000, "NOT " * 2000 + "a", "-" * 5000 + "a", "+-" * 2500 + "a",
    "a AND " * 1000 + "b", "a OR " * 1000 + "b", "a " * 3000, "a^2 " * 1000, "a~2 " * 1000, "*" * 5000,
    "?" * 5000, "a*" * 2500, "title:[a TO b] " * 500, "[a TO " * 1000, "year:>=" * 1000, ":" * 5000,
    "~" * 5000, "^" * 5000, "2021-06-30T12:00:00 " * 300, "2021-06-30T12:00:" * 300, '"a b"~2 ' * 600,
    "((((a OR b) AND c) OR d)^2) " * 100, "x" * 10000, "é" * 10000, "\x00" * 5000,
]
OPTIONS = ({}, {"lenient": True}, {"default_operator": "AND"})


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:20]))
def test_steps_are_linear_and_recursion_is_bounded(text):
    for kw in OPTIONS:  # as parse() runs: some of these take a fast path
        assert steps_for(text, **kw) <= STEP_FACTOR * (len(text) + 1)
    # the fast paths set steps = len(text) + 1 without counting anything: bound the grammar too
    with grammar_only() as lexed:
        for kw in OPTIONS:
            assert steps_for(text, **kw) <= STEP_FACTOR * (len(text) + 1)
    assert lexed == [text] * len(OPTIONS)  # every run above went through the lexer and the grammar
    assert isinstance(parse(text, lenient=True), Query)


def test_step_counter_counts_work():
    parser = QueryParser()
    with counting_lexer() as lexed:  # boosts need the grammar: steps are counted, not assigned
        parser.parse("a^2")
        small = parser.steps
        parser.parse("a^2 " * 100)
    assert lexed == ["a^2", "a^2 " * 100]
    assert 1 <= small < parser.steps <= STEP_FACTOR * 401
    assert parser.steps >= 100  # at least a step per clause
    with grammar_only() as lexed:  # plain words, counted by the grammar instead of the fast path
        parser.parse("a")
        small = parser.steps
        parser.parse("a " * 100)
    assert lexed == ["a", "a " * 100]
    assert 1 <= small < parser.steps <= STEP_FACTOR * 201
    assert parser.steps >= 100


def test_deep_nesting_never_reaches_the_recursion_limit():
    depth = sys.getrecursionlimit() * 2
    for text in ("(" * depth + "a" + ")" * depth, "title:(" * depth + "a", "NOT (" * depth, "-(" * depth):
        with pytest.raises(QuerySyntaxError):
            parse(text)
        assert isinstance(parse(text, lenient=True), Query)
    ok = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(ok) == T("a")


# -- round trips --------------------------------------------------------------------------------

ROUND_TRIP = [
    '"a b"~3', 'title:"a b"~2^1.5', "stor* s?ory* *ing te*t title:*", "word~ word~2 word~0", r"a\*b a\?b* a\~ a\:b",
    "title:[a TO b] title:{a TO b} title:[a TO b} title:{* TO b]", 'title:["a b" TO "*"]', "year:>=2010 year:<2020",
    "year:>2010 year:<=2020", "date:[2020-01-01 TO 2021-06-30T12:00:00]", "date:2021-06-30T12:00:00",
    "title:(stor* OR x~2^3) AND NOT [a TO b]^2", "a^0.1 b^1.23456789 c^100000000000000000000 d^0.0000001",
    "title:\\>x", "title:(\\<x)", "a OR (b c)", "a AND -b", "*", "?", "title:[\\\\ TO \\\"]", "(a OR b)^0",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
@pytest.mark.parametrize("op", ["OR", "AND"])
def test_str_reads_back_the_same_query(text, op):
    q = parse(text, default_operator=op)
    assert parse(str(q), default_operator=op) == q, str(q)


# -- property tests on generated strings ---------------------------------------------------------

SYNTAX = ['"', "(", ")", "[", "]", "{", "}", ":", "+", "-", "^", "~", "*", "?", "\\", " ", "  ", "<", ">", "=",
          " AND ", " OR ", " NOT ", " TO ", "AND", "OR", "NOT", "TO", "\\\\", '\\"']
FRAGMENTS = ["title:", "body:", "year:", "nope:", "*:*", "^2", "^0.5", "^", "~", "~1", "~2", "~3", "~0.5",
             "[a TO b]", "{* TO 5]", '["x y" TO *}', "[a TO", "TO b]", ">=", "<", '"a b"~2', "stor*", "te?t", "*ing",
             "\\*", "\\:", "2021-06-30T12:00:00", "2021-06-30", "12:00", "((((", "))))", "e-mail", "x&y"]
LETTERS = st.characters(categories=("Lu", "Ll", "Lo", "Nd", "Mn", "No"))
CONTROL = st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u200b", "\u00a0", "\u2028", "\ufeff", "\n",
                           "\t", "\r", "\x1c", "\x1f", "\U0001f600", "\ud7ff", "İ"])
PIECE = st.one_of(st.sampled_from(SYNTAX), st.sampled_from(FRAGMENTS), LETTERS, CONTROL,
                  st.text(LETTERS, min_size=1, max_size=6))
MIXED = st.lists(PIECE, max_size=30).map("".join)
NESTED = st.builds(lambda opens, inner, closes, k: opens * k + inner + closes * (k // 2 + len(inner) % 3),
                   st.sampled_from(["(", "[", "{", '"', "title:(", "NOT (", "-(", "+(", "(a OR ", "\\("]),
                   MIXED, st.sampled_from([")", "]", "}", '"', ") ", ")^2", "] TO x]"]), st.integers(1, 400))
QUERY_TEXT = st.one_of(st.text(max_size=60), MIXED, NESTED)


def check_text(text: str, op: str) -> None:
    """Every property a query string must have: lenient never raises and returns a Query; strict
    raises only QuerySyntaxError with a column inside the text (or just after it); both do at most
    STEP_FACTOR steps per character; lenient agrees with strict when strict succeeds; printing
    the strict result reads back the same query."""
    lenient = QueryParser(fields=FIELDS, default_operator=op, lenient=True)
    q = lenient.parse(text)
    assert isinstance(q, Query)
    assert lenient.steps <= STEP_FACTOR * (len(text) + 1)
    strict = QueryParser(fields=FIELDS, default_operator=op)
    try:
        sq = strict.parse(text)
    except QuerySyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1
        assert exc.reason and exc.query == text
    else:
        assert sq == q
        printed = str(sq)
        assert strict.parse(printed) == sq, printed
    assert strict.steps <= STEP_FACTOR * (len(text) + 1)


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=QUERY_TEXT, op=st.sampled_from(["OR", "AND"]))
def test_generated_strings(text, op):
    check_text(text, op)


# well-formed queries built from the grammar, so that the round trip sees every construct often
WORD = st.one_of(st.lists(st.sampled_from(list("abcé中") + ["\\*", "\\:", "\\~", "\\ ", "\\\\", "\\(", "\\\"", "-"]),
                          min_size=1, max_size=4).map("".join).filter(lambda w: not w.startswith("-")),
                 st.sampled_from(["x", "\\AND", "TO", "2021-06-30T12:00:00", "12\\:00"]))
FIELD = st.sampled_from(["", "", "title:", "year:", "tags:"])
BOOST = st.sampled_from(["", "", "^2", "^0.5", "^1.25", "^0"])
VALUE = st.one_of(st.sampled_from(["*", "a", "2010", "-1.5", "2020-01-01T00:00:00Z", "a:b", "x^y"]),
                  st.text(st.sampled_from(list('ab "*\\]{'))).map(lambda v: '"' + v.replace("\\", "\\\\")
                                                                 .replace('"', '\\"') + '"'))
LEAF = st.one_of(
    st.tuples(FIELD, WORD, st.sampled_from(["", "~", "~1", "~2", "~0", "*"]), BOOST).map("".join),
    st.tuples(FIELD, st.lists(WORD, min_size=0, max_size=3).map(lambda ws: '"' + " ".join(
        w.replace('\\"', "").replace("\\ ", "") for w in ws) + '"'),
        st.sampled_from(["", "~1", "~5"]), BOOST).map("".join),
    st.tuples(FIELD, st.sampled_from(["*", "s?o*", "*ing", "te*t", "?"]), BOOST).map("".join),
    st.tuples(FIELD, st.sampled_from(["[", "{"]), VALUE, st.just(" TO "), VALUE, st.sampled_from(["]", "}"]),
              BOOST).map("".join),
    st.tuples(st.sampled_from(["title:", "year:"]), st.sampled_from([">", ">=", "<", "<="]),
              st.sampled_from(["5", "a", '"a b"', "2021-06-30T12:00:00"]), BOOST).map("".join),
    st.sampled_from(["*:*", "*:*^2", '""']),
)
WELL_FORMED = st.recursive(LEAF, lambda kids: st.one_of(
    st.tuples(kids, st.sampled_from([" ", " AND ", " OR ", " AND NOT ", " -", " +", " AND -"]), kids).map(
        lambda t: t[0] + t[1] + (f"({t[2]})" if t[1].endswith(("NOT ", "-", "+")) else t[2])),
    st.tuples(st.sampled_from(["", "NOT ", "-", "+", "title:"]), kids, BOOST).map(
        lambda t: f"{t[0]}({t[1]}){t[2]}"),
), max_leaves=8)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=WELL_FORMED, op=st.sampled_from(["OR", "AND"]))
def test_generated_well_formed_queries_parse_and_round_trip(text, op):
    q = parse(text, default_operator=op)  # must not raise: the grammar above only builds valid text
    assert parse(str(q), default_operator=op) == q
    check_text(text, op)


# query objects built in Python: whatever the parser could produce prints and reads back equal
TEXTS = st.text(st.sampled_from(list('ab:+-"\\()^*! &|/~?[]{}<>é\u00a0')), min_size=1, max_size=5)
FIELDS_OR_NONE = st.sampled_from([None, "title", "body"])
BOOSTS = st.sampled_from([1.0, 2.0, 0.5, 0.1 * 3, 1e-7, 1e20, 0.0])
LEAVES = st.one_of(
    st.builds(Term, FIELDS_OR_NONE, st.one_of(TEXTS, st.sampled_from(["AND", "TO", "*:*", ">=1"])), BOOSTS),
    st.builds(Phrase, FIELDS_OR_NONE, st.lists(TEXTS.filter(lambda w: w.split() == [w]), min_size=1, max_size=3),
              BOOSTS, st.integers(0, 10)),
    st.builds(Prefix, FIELDS_OR_NONE, TEXTS, BOOSTS),
    st.builds(Wildcard, FIELDS_OR_NONE, st.text(st.sampled_from(list("ab:*?é\\ ")), min_size=1, max_size=5).filter(
        lambda p: ("*" in p or "?" in p) and not (p.endswith("*") and "*" not in p[:-1] and "?" not in p)), BOOSTS),
    st.builds(Fuzzy, FIELDS_OR_NONE, TEXTS, BOOSTS, st.sampled_from([1, 2])),
    st.builds(Range, FIELDS_OR_NONE, st.one_of(st.none(), TEXTS, st.just("")), st.one_of(st.none(), TEXTS),
              st.booleans(), st.booleans(), BOOSTS),
    st.builds(Every, BOOSTS),
)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=LEAVES)
def test_query_objects_print_and_read_back(q):
    assert parse_query(str(q)) == q, str(q)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=st.recursive(LEAVES, lambda kids: st.builds(
    lambda m, s, n, b: Boolean(tuple(m), tuple(s), tuple(n), b),
    st.lists(kids, max_size=2), st.lists(kids, max_size=2), st.lists(kids, max_size=2),
    st.sampled_from([1.0, 2.0]),
).filter(lambda b: b.must or b.should or b.must_not), max_leaves=6), op=st.sampled_from(["OR", "AND"]))
def test_composed_objects_print_to_parseable_text(q, op):
    once = parse_query(str(q), default_operator=op)
    assert parse_query(str(once), default_operator=op) == once


# -- the plain-words fast path must build exactly what the grammar builds -------------------------
from hypothesis import given as _given, settings as _settings, strategies as _st  # noqa: E402


def _fast_and_grammar(text: str, op: str, fields=None):
    """(what parse() gives with its fast paths, what the full grammar gives): a Query or the error."""
    def outcome():
        try:
            return parser_module.QueryParser(fields, op).parse(text)
        except QuerySyntaxError as exc:
            return ("error", str(exc))

    fast = outcome()
    with grammar_only():
        slow = outcome()
    return fast, slow


def _takes_fast_path(text: str, op: str, fields=None) -> bool:
    """Whether parse() answers `text` without running the lexer (a fast path)."""
    with counting_lexer() as lexed:
        try:
            parser_module.QueryParser(fields, op).parse(text)
        except QuerySyntaxError:
            pass
    return not lexed


@_settings(max_examples=400, deadline=None)
@_given(words=_st.lists(_st.text(alphabet=_st.characters(categories=("Lu", "Ll", "Nd", "Lo")), min_size=1,
                                  max_size=8), min_size=0, max_size=6),
        sep=_st.sampled_from([" ", "  ", "\t", " \n "]), op=_st.sampled_from(["OR", "AND"]))
def test_plain_words_fast_path_equals_grammar(words, sep, op):
    fast, slow = _fast_and_grammar(sep.join(words), op)
    assert fast == slow


@_settings(max_examples=600, deadline=None)
@_given(words=_st.lists(_st.text(alphabet=_st.sampled_from(list("ab9é.,;%/'!<>=&|#@$-+_*?:()[]{}~^\"\\")),
                                  min_size=1, max_size=5), min_size=1, max_size=5),
        sep=_st.sampled_from([" ", "  ", "\t"]), op=_st.sampled_from(["OR", "AND"]))
def test_punctuated_words_fast_path_equals_grammar(words, sep, op):
    """Words holding punctuation ("properties.", "40mg/day", "c++"), syntax characters among
    them: text the fast path takes builds exactly the grammar's query, and text holding syntax
    is left to the grammar."""
    text = sep.join(words)
    fast, slow = _fast_and_grammar(text, op)
    assert fast == slow
    if parser_module.plain_words(text) is not None:
        assert not any(c in text for c in '()"^:~[]{}\\*?') and not any(w[0] in "+-" for w in text.split())


def test_sentence_punctuation_takes_the_fast_path():
    for text in ("0-dimensional biomaterials lack inductive properties.", "40mg/day dosage, 5% of c++"):
        assert _takes_fast_path(text, "OR")
    for text in ("a (b)", "a -b", "+a b", "a:b", "a*", "a\\b", '"a" b', "a~ b"):
        assert not _takes_fast_path(text, "OR")


@_settings(max_examples=400, deadline=None)
@_given(words=_st.lists(_st.one_of(_st.sampled_from(["AND", "OR", "NOT", "TO", "and", "a", "b"]),
                                   _st.text(alphabet=_st.characters(categories=("Lu", "Ll", "Nd")), min_size=1,
                                            max_size=4)), min_size=0, max_size=7),
        sep=_st.sampled_from([" ", "  ", "\t"]), op=_st.sampled_from(["OR", "AND"]))
def test_operator_chain_fast_path_equals_grammar(words, sep, op):
    """Plain words mixed with AND, OR, NOT and TO: the fast path (chains of one operator) builds
    exactly what the grammar builds, or the same error."""
    fast, slow = _fast_and_grammar(sep.join(words), op)
    assert fast == slow


@_settings(max_examples=400, deadline=None)
@_given(words=_st.lists(_st.text(alphabet=_st.characters(categories=("Lu", "Ll", "Nd", "Lo")), min_size=1,
                                  max_size=6), min_size=0, max_size=5),
        sep=_st.sampled_from([" ", "  ", "\t"]), pad=_st.sampled_from(["", " ", "  "]),
        slop=_st.sampled_from(["", "~", "~0", "~3", "~12", "~x", "~1234567890", "^2", " x"]),
        op=_st.sampled_from(["OR", "AND"]))
def test_phrase_fast_path_equals_grammar(words, sep, pad, slop, op):
    """A lone quoted phrase with or without slop: the fast path builds exactly the grammar's
    Phrase; anything else around it reaches the grammar and gets its query or error."""
    fast, slow = _fast_and_grammar(f'{pad}"{pad}{sep.join(words)}{pad}"{slop}{pad}', op)
    assert fast == slow


_RANGE_VALUES = _st.one_of(_st.sampled_from(["TO", "*", "2020-01-31", "1.5", "-3", "a-b", "x.", "\\a", '"q"', ""]),
                           _st.text(alphabet="aZ09.-_:*", min_size=1, max_size=5))


@_settings(max_examples=600, deadline=None)
@_given(field=_st.sampled_from(["year", "title", "nope", "_x", "a.b", "9a", ""]), low=_RANGE_VALUES,
        high=_RANGE_VALUES, opener=_st.sampled_from("[{"), closer=_st.sampled_from("]}"),
        sep=_st.sampled_from([" ", "  ", "\t", ""]), to=_st.sampled_from(["TO", "to", "TO TO"]),
        tail=_st.sampled_from(["", " ", "^2", " x", "~1"]), op=_st.sampled_from(["OR", "AND"]))
def test_range_fast_path_equals_grammar(field, low, high, opener, closer, sep, to, tail, op):
    """A lone range on a field: the fast path builds exactly the grammar's Range (or leaves the
    text to the grammar, which gives its query or error), with and without known field names."""
    text = f"{field}:{opener}{sep}{low} {to} {high}{sep}{closer}{tail}"
    for fields in (None, {"year", "title"}):
        fast, slow = _fast_and_grammar(text, op, fields)
        assert fast == slow, text


# The generated texts above rarely have the exact shape a fast path answers (about one range in
# fifty, one operator chain in hundreds), so the two tests below build that shape directly and
# check that most of their examples really took the fast path.
FAST_SHARE = 0.8  # of the examples below that must take the fast path (about 0.99 do)
_FAST_RANGE_BOUND = _st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,7}", fullmatch=True)
_FAST_WORD = _st.text(alphabet=_st.characters(categories=("Lu", "Ll", "Nd", "Lo")), min_size=1, max_size=6)


def test_range_shaped_texts_take_the_fast_path_and_equal_grammar():
    taken: Counter = Counter()

    @_settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
    @_given(field=_st.sampled_from(["year", "title"]), low=_FAST_RANGE_BOUND, high=_FAST_RANGE_BOUND,
            opener=_st.sampled_from("[{"), closer=_st.sampled_from("]}"), pad=_st.sampled_from(["", " ", "\t"]),
            gap=_st.sampled_from([" ", "  ", "\t", " \n "]), fields=_st.sampled_from([None, ("year", "title")]),
            op=_st.sampled_from(["OR", "AND"]))
    def check(field, low, high, opener, closer, pad, gap, fields, op):
        text = f"{pad}{field}:{opener}{pad}{low}{gap}TO{gap}{high}{pad}{closer}{pad}"
        fast_path = _takes_fast_path(text, op, fields)
        event(f"fast path: {fast_path}")
        taken[fast_path] += 1
        fast, slow = _fast_and_grammar(text, op, fields)
        assert fast == slow, text
        if fast_path:
            assert isinstance(fast, Range)

    check()
    assert taken[True] >= FAST_SHARE * sum(taken.values()), taken


def test_operator_chain_shaped_texts_take_the_fast_path_and_equal_grammar():
    taken: Counter = Counter()

    @_settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
    @_given(operands=_st.lists(_FAST_WORD, min_size=2, max_size=6), chain=_st.sampled_from(["AND", "OR"]),
            sep=_st.sampled_from([" ", "  ", "\t", " \n "]), pad=_st.sampled_from(["", " ", "\t"]),
            op=_st.sampled_from(["OR", "AND"]))
    def check(operands, chain, sep, pad, op):
        text = pad + f"{sep}{chain}{sep}".join(operands) + pad
        fast_path = _takes_fast_path(text, op)
        event(f"fast path: {fast_path}")
        taken[fast_path] += 1
        fast, slow = _fast_and_grammar(text, op)
        assert fast == slow, text
        if fast_path:  # the chain's own operator, whatever the default operator
            assert fast == Boolean(**{"must" if chain == "AND" else "should": tuple(T(w) for w in operands)})

    check()
    assert taken[True] >= FAST_SHARE * sum(taken.values()), taken


@pytest.mark.parametrize("text", ['"a b"', ' "a  b c"~3 ', '"x"~0', "year:[1990 TO 2000]", "d:{2020-01-01 TO z]"])
def test_phrases_and_ranges_take_the_fast_path(text, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the lexer ran")

    expected = parser_module.QueryParser(None, "OR").parse(text)
    monkeypatch.setattr(parser_module, "Lexer", fail)
    assert parser_module.QueryParser(None, "OR").parse(text) == expected
    assert isinstance(expected, (Phrase, Range))


@pytest.mark.parametrize("text", ["a AND b", "a AND b AND c", "a OR b", "x OR y OR z"])
def test_operator_chains_take_the_fast_path(text, monkeypatch):
    """Uniform AND/OR chains of plain words never reach the lexer."""
    def fail(*args, **kwargs):
        raise AssertionError("the lexer ran")

    words = text.split()[0::2]
    terms = tuple(Term(None, w) for w in words)
    expected = Boolean(must=terms) if " AND " in text else Boolean(should=terms)
    monkeypatch.setattr(parser_module, "Lexer", fail)
    assert parser_module.QueryParser(None, "AND").parse(text) == expected


# -- one parsing rule for an index, its writers and its searchers -----------------------------

def test_index_writer_and_searcher_parse_alike(tmp_path):
    from searchlib import QuerySyntaxError
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), title=TEXT(), body=TEXT()),
                      settings={"operator": "AND"})
    with ix.writer() as w:
        w.add({"id": "1", "title": "snow ice", "body": "glacier"})
        w.add({"id": "2", "title": "snow", "body": "river"})
    with ix.searcher() as s:
        for text in ["snow ice", "title:snow body:river", "snow OR river", "-ice", '"snow ice"']:
            assert ix.parse_query(text) == s.parse(text)
        assert s.parse("snow ice", operator="OR") != s.parse("snow ice")  # the index's AND by default
        with pytest.raises(QuerySyntaxError):
            ix.parse_query("nosuch:snow")
        with pytest.raises(QuerySyntaxError):
            s.parse("nosuch:snow")
        assert ix.parse_query("nosuch:snow", lenient=True) == s.parse("nosuch:snow", lenient=True)
    with ix.writer() as w:
        assert w.delete_by_query("snow ice") == 1  # AND, as the index says
    with ix.searcher() as s:
        assert [h.id for h in s.search("snow")] == ["2"]
