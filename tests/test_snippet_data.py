"""Tests for the snippet as data (searchlib.highlight.Snippet, make_snippet), before any formatter."""
from __future__ import annotations

import pytest

from searchlib.analysis import get_analyzer
from searchlib.highlight import Fragment, HtmlFormatter, Snippet, highlight, make_snippet

EN = get_analyzer("english")
STD = get_analyzer("standard")
FILLER = "Nothing relevant is said in this sentence at all. "


def test_fragments_hold_offsets_into_the_original_text():
    text = "  Late Miscarriages are rare; a miscarriage is not.  "
    snippet = make_snippet(text, EN, {"miscarriag": 1.0})
    assert snippet.text is text
    (fragment,) = snippet.fragments
    assert text[fragment.start:fragment.end] == text.strip()
    assert [text[a:b] for a, b in fragment.marks] == ["Miscarriages", "miscarriage"]
    assert not snippet.ellipsis_before and not snippet.ellipsis_after


def test_a_span_keeps_offsets_absolute():
    first = "A cat in the first paragraph."
    second = "Another cat in the second paragraph."
    text = first + "\n\n" + second
    start = text.index(second)
    snippet = make_snippet(text, EN, {"cat": 1.0}, span=(start, len(text)))
    assert snippet.fragments == (Fragment(start, len(text), ((start + 8, start + 11),)),)


def test_phrase_is_one_mark():
    text = "By the end of the year, sales had doubled."
    snippet = make_snippet(text, EN, {"end": 1.0, "year": 1.0}, [[(0, "end"), (3, "year")]])
    assert [text[a:b] for f in snippet.fragments for a, b in f.marks] == ["end of the year"]


def test_fragments_in_text_order_with_ellipses():
    text = (FILLER * 8).join(["Intro words.", "Apple one.", "Apple two.", "Closing words."])
    snippet = make_snippet(text, EN, {"appl": 1.0}, fragment_chars=30)
    assert len(snippet.fragments) == 2
    (a, b) = snippet.fragments
    assert a.end < b.start
    assert snippet.ellipsis_before and snippet.ellipsis_after
    for f in snippet.fragments:
        assert all(f.start <= s < e <= f.end for s, e in f.marks)


def test_render_is_what_highlight_returns():
    text = (FILLER * 5).join(["Cats <and> dogs.", "A cat & a dog again.", "Dogs only."])
    args = (text, EN, {"cat": 1.0, "dog": 2.0})
    snippet = make_snippet(*args, fragment_chars=40)
    for formatter in ("html", "ansi", "plain"):
        assert snippet.render(formatter, " | ") == highlight(*args, fragment_chars=40, formatter=formatter,
                                                             separator=" | ")
    assert snippet.render() == highlight(*args, fragment_chars=40)
    assert snippet.to_html() == snippet.render("html")
    assert snippet.to_html("b", "hit") == snippet.render(HtmlFormatter("b", "hit"))
    assert snippet.to_plain() == snippet.render("plain")
    assert snippet.to_plain("*", "*", separator=" / ").count("*cat*") == 1


def test_no_match_is_the_leading_fragment_unmarked():
    text = "Opening words, " + "and more words " * 40
    snippet = make_snippet(text, EN, {"zebra": 1.0}, fragment_chars=50)
    (fragment,) = snippet.fragments
    assert fragment.start == 0 and fragment.marks == () and fragment.end <= 60
    assert snippet.ellipsis_after and not snippet.ellipsis_before


def test_blank_text_has_no_fragments():
    snippet = make_snippet(" \n ", EN, {"cat": 1.0})
    assert snippet == Snippet(" \n ", ())
    assert snippet.render() == "" and snippet.to_plain() == ""


def test_bad_arguments():
    with pytest.raises(ValueError):
        make_snippet("text", EN, {}, span=(3, 100))
    with pytest.raises(ValueError):
        make_snippet("text", EN, {}, fragment_chars=0)
    with pytest.raises(ValueError):
        make_snippet("text", EN, {}, max_fragments=0)
