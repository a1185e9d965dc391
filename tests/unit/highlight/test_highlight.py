"""Tests for searchlib.highlight: marking, escaping, fragment choice, formatters, spans."""
from __future__ import annotations

import html
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import searchlib.highlight as highlight_module
from searchlib.analysis import get_analyzer
from searchlib.config import FORMATTER_NAMES
from searchlib.errors import ConfigError
from searchlib.highlight import (FORMATTERS, AnsiFormatter, Formatter, HtmlFormatter, PlainFormatter, get_formatter,
                                 highlight)

EN = get_analyzer("english")
STD = get_analyzer("standard")
MARK = re.compile(r"<mark>(.*?)</mark>")
FILLER = "Nothing relevant is said in this sentence at all. "


def marks(out: str) -> list[str]:
    return MARK.findall(out)


def plain(out: str) -> str:
    """HTML output without our tags, unescaped."""
    return html.unescape(re.sub(r"</?mark>", "", out))


# -- marking ------------------------------------------------------------------------------------

def test_stemmed_match_marks_the_surface_form():
    out = highlight("Late Miscarriages are rare.", EN, {"miscarriag": 1.0})
    assert marks(out) == ["Miscarriages"]
    assert "miscarriag<" not in out


def test_every_occurrence_in_the_fragment_is_marked():
    out = highlight("Cats chase cats; a cat is a cat.", EN, {"cat": 1.0})
    assert marks(out) == ["Cats", "cats", "cat", "cat"]


def test_possessive_and_case_variants_match():
    out = highlight("Marsh's report on MARSHES.", EN, {"marsh": 1.0})
    assert marks(out) == ["Marsh&#x27;s", "MARSHES"]


def test_html_escapes_document_text():
    text = "Before <script>alert(1)</script> the storyline & \"quotes\" continue."
    out = highlight(text, EN, {"storylin": 1.0})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<script>" not in out
    assert "&amp;" in out and "&quot;quotes&quot;" in out
    assert marks(out) == ["storyline"]


def test_marked_text_is_escaped_inside_the_tag():
    text = "The AT&T merger"
    out = highlight(text, STD, {"at&t": 1.0, "at": 1.0})
    # the standard tokenizer splits "AT&T" into "AT" and "T"; the mark holds escaped text only
    assert "<mark>AT</mark>&amp;T" in out


def test_phrase_is_one_span_including_stop_words():
    text = "By the end of the year, sales had doubled."
    out = highlight(text, EN, {"end": 1.0, "year": 1.0}, [[(0, "end"), (3, "year")]])
    assert marks(out) == ["end of the year"]


def test_phrase_needs_the_relative_positions():
    text = "The end came, and a year later it was the end of the year."
    out = highlight(text, EN, {}, [[(0, "end"), (3, "year")]])
    assert marks(out) == ["end of the year"]


def test_phrase_terms_outside_a_phrase_are_marked_singly():
    text = "A late start. Late miscarriage was observed. One miscarriage only."
    out = highlight(text, EN, {"late": 1.0, "miscarriag": 2.0}, [[(0, "late"), (1, "miscarriag")]])
    assert marks(out) == ["late", "Late miscarriage", "miscarriage"]


def test_overlapping_phrase_matches_merge_into_one_mark():
    out = highlight("go go go now", STD, {}, [[(0, "go"), (1, "go")]])
    assert marks(out) == ["go go go"]


def test_non_ascii_offsets_come_from_the_original_text():
    # "İ".lower() is two characters: offsets computed on lowercased text would drift.
    text = "İİİİ İstanbul café Zoë"
    out = highlight(text, STD, {"i̇stanbul": 1.0, "zoë": 2.0})
    assert marks(out) == ["İstanbul", "Zoë"]
    assert plain(out) == text


def test_whitespace_runs_are_collapsed():
    text = "alpha\n\n   beta\t\tgamma\r\n delta"
    out = highlight(text, STD, {"gamma": 1.0})
    assert out == "alpha beta <mark>gamma</mark> delta"


def test_a_phrase_across_a_stop_word_keeps_its_positions():
    """Only the query's tokens are built, but at the positions of the full analysis: a phrase
    with a stop word inside still matches where the words are that far apart, and only there."""
    en = get_analyzer("english")
    text = "The end of the year came. The end year came."
    out = highlight(text, en, {"end": 1.0, "year": 1.0}, [[(0, "end"), (3, "year")]], formatter="plain")
    assert out == "The [end of the year] came. The [end] [year] came."


# -- choosing fragments -------------------------------------------------------------------------

def _doc(*sentences: str, filler: int = 8) -> str:
    """Sentences separated by enough filler that each lands in its own fragment."""
    return (FILLER * filler).join(sentences)


def test_more_distinct_terms_beat_repeats():
    text = _doc("Cats cats cats cats everywhere.", "Cats and dogs together.", filler=6)
    out = highlight(text, EN, {"cat": 1.0, "dog": 1.0}, max_fragments=1, fragment_chars=60)
    assert "<mark>dogs</mark>" in out
    assert out.count("<mark>") == 2


def test_higher_weight_wins():
    text = _doc("A common word here.", "A rare word there.")
    out = highlight(text, EN, {"common": 0.5, "rare": 3.0}, max_fragments=1, fragment_chars=60)
    assert marks(out) == ["rare"]


def test_phrase_match_beats_scattered_terms():
    text = _doc("Miscarriage rates were late to fall.", "Late miscarriage studied here.")
    out = highlight(text, EN, {"late": 1.0, "miscarriag": 1.0}, [[(0, "late"), (1, "miscarriag")]],
                    max_fragments=1, fragment_chars=60)
    assert marks(out) == ["Late miscarriage"]


def test_repeats_break_ties():
    text = _doc("One cat here.", "A cat, another cat, a third cat.")
    out = highlight(text, EN, {"cat": 1.0}, max_fragments=1, fragment_chars=60)
    assert len(marks(out)) == 3


def test_earlier_fragment_wins_an_exact_tie():
    text = _doc("First cat here.", "Second cat here.")
    out = highlight(text, EN, {"cat": 1.0}, max_fragments=1, fragment_chars=40)
    assert "First" in out and "Second" not in out


def test_fragments_come_out_in_text_order():
    text = _doc("Alpha appears first.", "Beta and gamma and delta appear later.")
    out = highlight(text, EN, {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "delta": 1.0}, fragment_chars=60)
    found = marks(out)
    assert found[0] == "Alpha" and found[1:] == ["Beta", "gamma", "delta"]


def test_max_fragments_and_separator():
    text = _doc("Apple one.", "Apple two.", "Apple three.", "Apple four.")
    out = highlight(text, EN, {"appl": 1.0}, max_fragments=2, fragment_chars=30, separator=" || ")
    assert out.count(" || ") == 1
    assert len(marks(out)) == 2
    out = highlight(text, EN, {"appl": 1.0}, max_fragments=3, fragment_chars=30, separator=" || ")
    assert out.count(" || ") == 2
    assert marks(out) == ["Apple"] * 3


def test_default_separator_and_ellipses():
    text = _doc("Intro words.", "Apple one.", "Apple two.", "Closing words.")
    out = highlight(text, EN, {"appl": 1.0}, fragment_chars=30)
    assert out.startswith("…") and out.endswith("…")
    assert out.count(" … ") == 1


def test_no_ellipsis_when_the_whole_text_fits():
    out = highlight("  A short text about cats.  ", EN, {"cat": 1.0})
    assert out == "A short text about <mark>cats</mark>."


def test_fragment_length_is_about_fragment_chars():
    text = " ".join(f"word{i}" for i in range(2000)) + " target " + " ".join(f"word{i}" for i in range(2000))
    out = highlight(text, STD, {"target": 1.0}, fragment_chars=100)
    body = plain(out).strip("…")
    assert 60 <= len(body) <= 160
    assert "<mark>target</mark>" in out
    # snapped to word boundaries: every piece is a whole word of the text
    assert all(re.fullmatch(r"word\d+|target", w) for w in body.split())
    assert body.split()[0] in text.split() and body.split()[-1] in text.split()


def test_fragment_prefers_a_sentence_start():
    text = ("x " * 300) + "x. The cat sat on the mat. " + "y " * 300
    out = highlight(text, EN, {"cat": 1.0}, fragment_chars=80)
    assert plain(out).startswith("…The cat sat")
    assert len(plain(out)) >= 70  # the room freed at the start is used at the end


def test_a_long_phrase_is_never_cut():
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    text = "Start. " + " ".join(words) + " finish."
    phrase = [(i, w) for i, w in enumerate(words)]
    out = highlight(text, STD, {}, [phrase], fragment_chars=20)
    assert marks(out) == [" ".join(words)]


def test_no_match_returns_the_escaped_leading_fragment():
    text = "<b>Bold</b> opening words, " + "and more words " * 40
    out = highlight(text, EN, {"zebra": 1.0}, fragment_chars=50)
    assert out.startswith("&lt;b&gt;Bold&lt;/b&gt; opening")
    assert out.endswith("…")
    assert "<mark>" not in out and "<b>" not in out
    assert len(out) < 80


def test_no_match_short_text_has_no_ellipsis():
    assert highlight("Just a line.", EN, {"zebra": 1.0}) == "Just a line."


def test_empty_and_blank_text():
    assert highlight("", EN, {"cat": 1.0}) == ""
    assert highlight(" \n\t ", EN, {"cat": 1.0}) == ""


# -- span restriction ---------------------------------------------------------------------------

def test_span_restricts_the_snippet_to_the_passage():
    first = "A cat in the first paragraph."
    second = "Another cat in the second paragraph."
    text = first + "\n\n" + second + "\n\nA third cat."
    start = text.index(second)
    out = highlight(text, EN, {"cat": 1.0}, span=(start, start + len(second)))
    assert out == "Another <mark>cat</mark> in the second paragraph."


def test_span_edges_get_ellipses_only_when_cut():
    text = FILLER * 10 + "The dog barked. " + FILLER * 10
    start = text.index("The dog")
    span = (start - 20, start + 36)  # "is sentence at all. The dog barked. Nothing relevant is"
    out = highlight(text, EN, {"dog": 1.0}, span=span)
    assert out == "is sentence at all. The <mark>dog</mark> barked. Nothing relevant is"
    out = highlight(text, EN, {"dog": 1.0}, span=span, fragment_chars=20)
    assert out.startswith("…") and out.endswith("…") and "<mark>dog</mark>" in out
    assert "said" not in out


def test_bad_arguments():
    with pytest.raises(ValueError):
        highlight("text", EN, {}, span=(3, 100))
    with pytest.raises(ValueError):
        highlight("text", EN, {}, fragment_chars=0)
    with pytest.raises(ValueError):
        highlight("text", EN, {}, max_fragments=0)


# -- formatters ---------------------------------------------------------------------------------

def test_ansi_strips_injected_escapes_and_uses_colour_codes():
    text = "Evil \x1b[31mred\x1b[0m text\x07 about\nthe cat\x9b2J here."
    out = highlight(text, EN, {"cat": 1.0}, formatter="ansi")
    assert "\x1b[31m" not in out and "\x07" not in out and "\x9b" not in out and "\n" not in out
    assert out.count("\x1b") == 2
    assert "\x1b[1;33mcat\x1b[0m" in out


def test_ansi_formatter_custom_codes_and_newlines():
    fmt = AnsiFormatter(start="<<", end=">>")
    assert fmt.mark("a\nb\x1bc") == "<<a b>>"  # ESC c is a whole escape sequence (terminal reset)
    assert fmt.text("x\ty\r\n") == "x y "  # tabs and newlines become spaces


def test_plain_formatter_brackets():
    out = highlight("A cat & a <dog>.", EN, {"cat": 1.0, "dog": 1.0}, formatter="plain")
    assert out == "A [cat] & a <[dog]>."
    out = highlight("A cat.", EN, {"cat": 1.0}, formatter=PlainFormatter("**", "**"))
    assert out == "A **cat**."


def test_html_formatter_tag_and_class():
    fmt = HtmlFormatter(tag="b", css_class='hit "x"')
    assert fmt.mark("<a>") == '<b class="hit &quot;x&quot;">&lt;a&gt;</b>'
    assert fmt.text("'q'") == "&#x27;q&#x27;"
    with pytest.raises(ValueError):
        HtmlFormatter(tag="b onclick=alert(1)")


def test_get_formatter():
    assert set(FORMATTERS) == {"html", "ansi", "plain"}
    assert tuple(FORMATTERS) == FORMATTER_NAMES  # what settings accept is what the highlighter has
    assert isinstance(get_formatter("html"), HtmlFormatter)
    fmt = PlainFormatter()
    assert get_formatter(fmt) is fmt
    with pytest.raises(ValueError, match="ansi, html, plain"):
        get_formatter("latex")
    with pytest.raises(ConfigError):
        get_formatter("latex")
    with pytest.raises(TypeError):
        get_formatter(3)  # type: ignore[arg-type]


def test_base_formatter_renders_unmarked():
    assert highlight("A cat.", EN, {"cat": 1.0}, formatter=Formatter()) == "A cat."


# -- scale --------------------------------------------------------------------------------------

class _Work:
    """What one highlight() call reads: characters of the text (by indexing, slicing or a regex
    scan), elements of its hit list, and the texts handed to the analyzer."""

    def __init__(self):
        self.chars = 0
        self.hit_reads = 0
        self.hits = 0
        self.analysed: list[int] = []


def _count_work(monkeypatch) -> _Work:
    """Count the work of highlight() (see _Work) through proxies: no clock involved."""
    work = _Work()

    class CountedHits(list):
        def __getitem__(self, k):
            work.hit_reads += 1
            return list.__getitem__(self, k)

        def __iter__(self):
            for hit in list.__iter__(self):
                work.hit_reads += 1
                yield hit

    class CountedPattern:
        def __init__(self, pattern):
            self.pattern = pattern

        def __getattr__(self, name):
            method = getattr(self.pattern, name)

            def counted(*args, **kwargs):
                if name in ("sub", "subn"):
                    work.chars += len(args[1])
                else:  # search, match, finditer...: (string, pos, endpos)
                    string, pos, endpos = (*args, 0, sys.maxsize)[:3]
                    work.chars += max(0, min(endpos, len(string)) - max(pos, 0))
                return method(*args, **kwargs)
            return counted

    original = highlight_module.find_hits

    def counted_find_hits(*args, **kwargs):
        hits = CountedHits(original(*args, **kwargs))
        work.hits += len(hits)
        return hits

    monkeypatch.setattr(highlight_module, "find_hits", counted_find_hits)
    for name, value in list(vars(highlight_module).items()):
        if isinstance(value, re.Pattern):
            monkeypatch.setattr(highlight_module, name, CountedPattern(value))
    return work


class _CountedText(str):
    """A text that adds the length of every piece read from it by indexing or slicing to `work`."""

    work: _Work

    def __getitem__(self, key):
        piece = str.__getitem__(self, key)
        self.work.chars += len(piece)
        return piece


def test_a_megabyte_of_text_with_many_matches(monkeypatch):
    # Linear work, counted rather than timed: the text is read a bounded number of times and
    # every hit a bounded number of times; a pass over the hits (or a rescan of the text) per
    # candidate fragment would read them tens of thousands of times.
    work = _count_work(monkeypatch)
    text = _CountedText("the cat sat on a mat and then a dog came by. " * 23000)
    text.work = work
    size = len(text)
    assert size > 1_000_000

    class CountedAnalyzer:  # EN, recording the length of every text it is given, by any method
        def __call__(self, piece, *args, **kwargs):
            work.analysed.append(len(piece))
            return EN(piece, *args, **kwargs)

        def __getattr__(self, name):
            method = getattr(EN, name)

            def counted(piece, *args, **kwargs):
                work.analysed.append(len(piece))
                return method(piece, *args, **kwargs)
            return counted

    out = highlight(text, CountedAnalyzer(), {"cat": 1.0, "dog": 1.5}, [[(0, "cat"), (1, "sat")]])
    assert "<mark>cat sat</mark>" in out and "<mark>dog</mark>" in out
    assert work.analysed == [size - 1]  # analysed once (the trailing space stripped)
    assert work.hits == 2 * 23000  # "cat sat" and "dog" in every sentence
    assert work.chars <= 3 * size
    assert work.hit_reads <= 10 * work.hits


def test_a_megabyte_without_spaces():
    out = highlight("x" * 1_000_000, STD, {"y": 1.0}, fragment_chars=50)
    assert out == "x" * 50 + "…"


# -- properties ---------------------------------------------------------------------------------

ALPHABET = "abcdeAB İßéZ  \n\t.,!?<>&\"'’-0123"


@st.composite
def documents(draw):
    text = draw(st.text(alphabet=ALPHABET, max_size=400))
    tokens = list(STD(text))
    present = sorted({t.term for t in tokens})
    chosen = draw(st.lists(st.sampled_from(present), unique=True, max_size=4)) if present else []
    extra = draw(st.lists(st.text(alphabet="abc", min_size=1, max_size=3), max_size=2))
    terms = {t: draw(st.floats(0.0, 5.0)) for t in chosen + extra}
    phrases = []
    if len(tokens) >= 2 and draw(st.booleans()):
        i = draw(st.integers(0, len(tokens) - 2))
        n = draw(st.integers(2, min(3, len(tokens) - i)))
        base = tokens[i].position
        phrases.append([(t.position - base, t.term) for t in tokens[i:i + n]])
    span = None
    if draw(st.booleans()):
        a = draw(st.integers(0, len(text)))
        b = draw(st.integers(a, len(text)))
        span = (a, b)
    return text, terms, phrases, span


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(5, 120), st.integers(1, 4))
def test_marks_never_change_the_text(doc, fragment_chars, max_fragments):
    text, terms, phrases, span = doc
    out = highlight(text, STD, terms, phrases, fragment_chars=fragment_chars, max_fragments=max_fragments, span=span)
    region = text if span is None else text[span[0]:span[1]]
    collapsed = re.sub(r"\s+", " ", region)
    if not region.strip():
        assert out == ""
        return
    untagged = re.sub(r"</?mark>", "", out)
    assert "<" not in untagged and ">" not in untagged  # document markup is always escaped
    # every mark holds a whole match: analysing it yields a query or phrase term
    wanted = set(terms) | {term for p in phrases for _, term in p}
    for m in marks(out):
        assert {t.term for t in STD(html.unescape(m))} & wanted
    body = html.unescape(untagged)
    body = body.removeprefix("…").removesuffix("…")
    pos = 0
    for piece in body.split(" … "):
        assert piece and piece == piece.strip()
        found = collapsed.find(piece, pos)
        assert found >= 0, (piece, collapsed)
        pos = found + len(piece)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.lists(st.text(min_size=1, max_size=4), max_size=3),
       st.sampled_from(["html", "ansi", "plain"]))
def test_never_raises_on_arbitrary_text(text, terms, formatter):
    out = highlight(text, EN, {t: 1.0 for t in terms}, formatter=formatter, fragment_chars=40)
    assert isinstance(out, str)
    if formatter == "ansi":
        assert not set(out) & ({chr(c) for c in range(32) if c not in (9,)} - {"\x1b"} | {chr(c) for c in range(0x80, 0xA0)})
