"""The core of the query language: what each construct parses to (words, phrases, + and -, AND, OR
and NOT with their precedence, groups, fields, boosts, escapes), the nesting limit, lenient parsing,
printing a query back, and composing queries in Python. The rest of the syntax, the error columns and
the parser's work: test_query_parser.py."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchlib import Boolean, Every, Nothing, Phrase, Query, QuerySyntaxError, Term, parse_query

FIELDS = {"title", "body", "id"}


def parse(text, **kw):
    return parse_query(text, fields=FIELDS, **kw)


def T(text, field=None, boost=1.0):
    return Term(field, text, boost)


# -- parser: each construct -------------------------------------------------------------------

def test_bare_words_or_by_default_and_selectable():
    assert parse("a") == T("a")
    assert parse("a b c") == Boolean(should=(T("a"), T("b"), T("c")))
    assert parse("a b", default_operator="AND") == Boolean(must=(T("a"), T("b")))
    with pytest.raises(ValueError):
        parse("a b", default_operator="XOR")


def test_phrases():
    assert parse('"late miscarriage"') == Phrase(None, ["late", "miscarriage"])
    assert parse('"one"') == Phrase(None, ("one",))
    assert parse('"a  b\tc"') == Phrase(None, ("a", "b", "c"))
    assert parse('x "a b" y') == Boolean(should=(T("x"), Phrase(None, ("a", "b")), T("y")))
    assert parse('""') == Nothing()


def test_required_and_excluded():
    assert parse("+a b -c") == Boolean(must=(T("a"),), should=(T("b"),), must_not=(T("c"),))
    assert parse("-a") == Boolean(must_not=(T("a"),))
    assert parse('+"a b" -"c d"') == Boolean(must=(Phrase(None, "a b"),), must_not=(Phrase(None, "c d"),))
    # a lone + or - or one before a space is a plain word, and a hyphen inside a word stays in it
    assert parse("a - b") == Boolean(should=(T("a"), T("-"), T("b")))
    assert parse("e-mail") == T("e-mail")


def test_operator_precedence_not_and_or():
    a, b, c, d = T("a"), T("b"), T("c"), T("d")
    assert parse("a AND b") == Boolean(must=(a, b))
    assert parse("a OR b") == Boolean(should=(a, b))
    assert parse("a OR b AND c") == Boolean(should=(a, Boolean(must=(b, c))))
    assert parse("a AND b OR c AND d") == Boolean(should=(Boolean(must=(a, b)), Boolean(must=(c, d))))
    assert parse("NOT a AND b") == Boolean(must=(b,), must_not=(a,))
    assert parse("a AND NOT b OR c") == Boolean(should=(Boolean(must=(a,), must_not=(b,)), c))
    assert parse("NOT a") == Boolean(must_not=(a,))
    assert parse("a NOT b") == Boolean(should=(a,), must_not=(b,))
    # juxtaposition sits between AND and OR
    assert parse("a b OR c") == Boolean(should=(Boolean(should=(a, b)), c))
    assert parse("a b AND c") == Boolean(should=(a, Boolean(must=(b, c))))
    # lower-case operators are words
    assert parse("a and b") == Boolean(should=(a, T("and"), b))


def test_parentheses():
    a, b, c = T("a"), T("b"), T("c")
    assert parse("(a OR b) AND c") == Boolean(must=(Boolean(should=(a, b)), c))
    assert parse("a AND (b OR c)") == Boolean(must=(a, Boolean(should=(b, c))))
    assert parse("((a))") == a
    assert parse("-(a b)") == Boolean(must_not=(Boolean(should=(a, b)),))
    assert parse("NOT (a OR b) c") == Boolean(should=(c,), must_not=(Boolean(should=(a, b)),))


def test_fields():
    assert parse("title:word") == T("word", "title")
    assert parse('title:"a phrase"') == Phrase("title", ("a", "phrase"))
    assert parse("title:(a OR b)") == Boolean(should=(T("a", "title"), T("b", "title")))
    assert parse("title:(a -b)") == Boolean(should=(T("a", "title"),), must_not=(T("b", "title"),))
    assert parse("title:(a body:b)") == Boolean(should=(T("a", "title"), T("b", "body")))
    assert parse("-title:x +body:y") == Boolean(must=(T("y", "body"),), must_not=(T("x", "title"),))
    assert parse("title:-x") == T("-x", "title")
    # without a field list any name is accepted
    assert parse_query("whatever:x") == T("x", "whatever")


def test_boosts():
    assert parse("a^2") == T("a", boost=2.0)
    assert parse("a^0.5 b") == Boolean(should=(T("a", boost=0.5), T("b")))
    assert parse('"a b"^3') == Phrase(None, ("a", "b"), 3.0)
    assert parse("(a b)^.25") == Boolean(should=(T("a"), T("b")), boost=0.25)
    assert parse("title:a^4") == T("a", "title", 4.0)
    assert parse("*:*^2") == Every(2.0)


def test_match_all_and_escapes():
    assert parse("*:*") == Every()
    assert parse("*:* -a") == Boolean(should=(Every(),), must_not=(T("a"),))
    assert parse(r"\+word") == T("+word")
    assert parse(r"\-word") == T("-word")
    assert parse(r"a\:b") == T("a:b")
    assert parse(r"\(x\)") == T("(x)")
    assert parse(r"\AND") == T("AND")
    assert parse(r"x\ y") == T("x y")
    assert parse(r'"say \"hi\" now"') == Phrase(None, ("say", '"hi"', "now"))
    assert parse(r'"back\\slash"') == Phrase(None, ("back\\slash",))


def test_empty_query_is_nothing():
    assert parse("") == Nothing()
    assert parse("   \t\n") == Nothing()


# -- parser: errors (each error's column and reason: test_query_parser.py) ----------------------

def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(QuerySyntaxError, match="nested"):
        parse("(" * 200 + "a" + ")" * 200)
    assert parse("(" * 30 + "a" + ")" * 30) == T("a")


def test_lenient_reads_words():
    assert parse("(a b", lenient=True) == Boolean(should=(T("a"), T("b")))
    assert parse('title:"unclosed', lenient=True) == Boolean(should=(T("title"), T("unclosed")))
    assert parse("AND OR", lenient=True) == Boolean(should=(T("AND"), T("OR")))
    assert parse("((", lenient=True) == Nothing()
    assert parse("(x y", lenient=True, default_operator="AND") == Boolean(must=(T("x"), T("y")))


QUERY_ALPHABET = st.sampled_from(list('ab  ()"+-^:*\\\x00\x1b\x7f\u200b\u00a0\n\t€é') +
                                 ["AND ", "OR ", "NOT ", "title:", "nope:", "^2", "((((((((", "))))", "*:*"])


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(st.text(max_size=60), st.lists(QUERY_ALPHABET, max_size=40).map("".join),
                      st.integers(1, 300).map(lambda n: "(" * n + "x" + ")" * (n // 2))),
       op=st.sampled_from(["OR", "AND"]))
def test_lenient_never_raises(text, op):
    q = parse(text, lenient=True, default_operator=op)
    assert isinstance(q, Query)
    try:
        strict = parse(text, default_operator=op)
    except QuerySyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1
    else:
        assert strict == q  # lenient agrees with strict whenever strict succeeds


ROUND_TRIP = [
    "a", "a b c", "+a -b c", '"late miscarriage" storyline -film', 'title:storyline "late miscarriage" -film',
    "a AND b", "a OR b AND c", "NOT a AND b", "a AND NOT b OR c", "(a OR b) AND (c OR d)", "title:(a OR b) c",
    'body:"x y"^2 z^0.5', "(a b)^3", "*:*", "*:* -a", r"\+plus \-minus a\:b \(p\)", r'"say \"hi\""', r"\AND \OR",
    "a -(b c)", "e-mail x&y", "NOT (a OR NOT b)", '"" a', 'title:"" b', "x OR NOT y", "+(a b) +(c d)",
    "a b OR c d", "é ü 中文", "a^2 (b c)^0.5 \"d e\"^4",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_str_parses_back_to_an_equal_query(text):
    q = parse(text)
    assert parse(str(q)) == q, str(q)
    assert parse(str(q), default_operator="OR") == q


WORDS = st.one_of(st.text(alphabet=st.sampled_from(list('ab:+-"\\()^*! &|/~?[]{}é')), min_size=1, max_size=5),
                  st.sampled_from(["AND", "OR", "NOT", "TO", "*", "a*"]))
LEAVES = st.one_of(
    st.builds(Term, st.sampled_from([None, "title", "body"]), WORDS, st.sampled_from([1.0, 2.0, 0.5])),
    st.builds(Phrase, st.sampled_from([None, "title"]),
              st.lists(WORDS.filter(lambda w: w.strip() == w and " " not in w), min_size=1, max_size=3),
              st.sampled_from([1.0, 3.0])),
    st.builds(Every, st.sampled_from([1.0, 2.0])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=LEAVES)
def test_leaf_str_round_trips_exactly(q):
    assert parse(str(q)) == q


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=st.recursive(LEAVES, lambda kids: st.builds(
    lambda m, s, n, b: Boolean(tuple(m), tuple(s), tuple(n), b),
    st.lists(kids, min_size=1, max_size=2), st.lists(kids, max_size=2), st.lists(kids, max_size=2),
    st.sampled_from([1.0, 2.0])), max_leaves=6))
def test_composed_query_str_parses(q):
    once = parse(str(q))
    assert parse(str(once)) == once


def test_python_composition():
    q = Term("body", "cat") & ~Phrase("body", "black dog") | Term("body", "fish")
    assert q == parse('body:cat AND NOT body:"black dog" OR body:fish')
    assert (T("a") & T("b")) & T("c") == Boolean(must=(T("a"), T("b"), T("c")))
    assert T("a") | T("b") | T("c") == Boolean(should=(T("a"), T("b"), T("c")))
    assert ~T("a") == Boolean(must_not=(T("a"),))
    assert T("a").boosted(2).boosted(3) == T("a", boost=6.0)
    assert Phrase("f", "x y") == Phrase("f", ["x", "y"])
