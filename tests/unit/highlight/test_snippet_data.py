"""Tests for the snippet as data (searchlib.highlight.Snippet, make_snippet), before any formatter."""
from __future__ import annotations

import re

import pytest

import searchlib.highlight as highlight_module
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


# -- marks given directly -----------------------------------------------------------------------

def _marked(snippet: Snippet) -> list[str]:
    return [snippet.text[a:b] for f in snippet.fragments for a, b in f.marks]


def test_marks_choose_the_fragments_the_terms_would():
    # One surface form per term, every weight 1: the two entries see the same hits and scores.
    text = (FILLER * 6).join(["Apples and pears.", "One pear here.", "Plums, apples, pears and figs.", "Figs."])
    terms = {"appl": 1.0, "pear": 1.0, "fig": 1.0}
    by_terms = make_snippet(text, EN, {"appl": 1.0, "pear": 1.0, "fig": 1.0}, fragment_chars=50, max_fragments=2)
    spans = [(t.start_char, t.end_char) for t in EN(text) if t.term in terms]
    by_marks = make_snippet(text, marks=spans, fragment_chars=50, max_fragments=2)
    assert by_marks == by_terms
    assert highlight(text, marks=spans, fragment_chars=50, max_fragments=2) == by_terms.render()


def test_marks_are_sorted_merged_clipped_and_stripped():
    text = "zero one two three four five"
    # "three", "ee four " (stripped, then merged with "three"), a space, an empty span
    snippet = make_snippet(text, marks=[(13, 19), (5, 8), (5, 12), (16, 24), (12, 13), (0, 0)])
    assert _marked(snippet) == ["one two", "three four"]
    start = text.index("two")
    snippet = make_snippet(text, marks=[(4, 12), (text.index("five"), len(text))], span=(start, start + 9))
    assert _marked(snippet) == ["two"]  # clipped to the span; "five" lies outside it
    assert make_snippet(text, marks=[(4, 5)]).fragments[0].marks == ()  # only whitespace: no mark


def test_more_different_marked_words_win():
    text = (FILLER * 6).join(["Cat cat cat cat.", "Cat and dog."])
    spans = [(m.start(), m.end()) for m in re.finditer(r"(?i)cat|dog", text)]
    out = highlight(text, marks=spans, fragment_chars=30, max_fragments=1, formatter="plain")
    assert out == "…[Cat] and [dog]."


def test_a_mark_is_never_cut_even_inside_words():
    text = FILLER * 2 + "betagammadelta eps and then a few more words to go on with " + FILLER * 2
    start = text.index("gamma")
    snippet = make_snippet(text, marks=[(start, start + 12)], fragment_chars=8)  # "gammadelta e"
    (fragment,) = snippet.fragments
    assert fragment.marks == ((start, start + 12),)
    # "eps" is shorter than the fragment, so the fragment ends after it, not after the mark
    assert text[fragment.start:fragment.end] == "betagammadelta eps"


def test_bad_marks_and_mixed_entries():
    with pytest.raises(ValueError):
        make_snippet("text", marks=[(2, 9)])
    with pytest.raises(ValueError):
        make_snippet("text", marks=[(3, 2)])
    with pytest.raises(ValueError):
        make_snippet("text", marks=[(1, 2, 3)])
    with pytest.raises(TypeError):
        make_snippet("text", EN, {"text": 1.0}, marks=[(0, 4)])
    with pytest.raises(TypeError):
        make_snippet("text")


# -- where fragments may be cut -----------------------------------------------------------------

def test_fragments_in_text_without_spaces_end_at_punctuation():
    clause = "我们研究了这个问题"
    text = "，".join([clause] * 30) + "。猫在这里。" + "，".join([clause] * 30)
    at = text.index("猫")
    (fragment,) = make_snippet(text, marks=[(at, at + 1)], fragment_chars=40).fragments
    assert text[fragment.start - 1] in "，。" and text[fragment.end] in "，。"


def test_words_shorter_than_the_fragment_are_never_cut():
    text = " ".join(f"w{i:03d}" + "x" * (i % 17) for i in range(300)) + " target " + "y" * 30 + " tail"
    for chars in (5, 12, 40, 90):
        out = highlight(text, STD, {"target": 1.0}, fragment_chars=chars, formatter="plain")
        words = out.strip("…").replace("[target]", "target").split()
        assert all(w in text.split() for w in words), (chars, out)


def test_combining_marks_stay_on_their_letters():
    text = "cafe\u0301 " * 40 + "target " + "nai\u0308ve " * 40
    for chars in (7, 20, 33):
        for f in make_snippet(text, STD, {"target": 1.0}, fragment_chars=chars).fragments:
            assert text[f.end:f.end + 1] not in ("\u0301", "\u0308")
            assert text[f.start:f.start + 1] not in ("\u0301", "\u0308")


def test_a_word_longer_than_the_fragment_is_cut_between_characters():
    text = "e\u0301" * 100 + "TARGET" + "e\u0301" * 100  # one word: letters and combining marks
    at = text.index("TARGET")
    (fragment,) = make_snippet(text, marks=[(at, at + 6)], fragment_chars=20).fragments
    assert fragment.start <= at and fragment.end >= at + 6
    assert text[fragment.start] == "e" and text[fragment.end - 1] != "e"  # "é" whole at both ends
    (fragment,) = make_snippet("a\u0301" * 500, EN, {"zebra": 1.0}, fragment_chars=25).fragments
    assert fragment.end % 2 == 0 and 20 <= fragment.end <= 30


def test_emoji_sequences_are_not_split():
    text = "\U0001f469\u200d\U0001f4bb" * 30 + " hit " + "\U0001f44d\U0001f3fd" * 30
    at = text.index("hit")
    for chars in range(4, 40, 3):
        (fragment,) = make_snippet(text, marks=[(at, at + 3)], fragment_chars=chars).fragments
        assert text[fragment.end - 1] in " t\U0001f3fd", chars
        assert text[fragment.start] in "h\U0001f469", chars


def test_pathological_clusters_are_searched_a_bounded_way(monkeypatch):
    # A "character" of 200,000 combining marks, or a ZWJ chain as long: the search for a place to
    # cut looks at a bounded number of positions, then cuts inside (Unicode's stream-safe text
    # has at most 30 combining marks in a row).
    looked = []
    joins = highlight_module.joins_previous
    monkeypatch.setattr(highlight_module, "joins_previous", lambda text, p: looked.append(p) or joins(text, p))
    for text in ("a" + "\u0301" * 200_000 + "hit" + "\u0301" * 200_000,
                 "\U0001f469\u200d" * 100_000 + "hit" + "\u200d\U0001f469" * 100_000):
        at = text.index("hit")
        (fragment,) = make_snippet(text, marks=[(at, at + 3)], fragment_chars=50).fragments
        assert fragment.start <= at and fragment.end >= at + 3 and fragment.end - fragment.start < 200
    assert len(looked) < 2000
