"""Property tests for snippets (searchlib.highlight) on arbitrary text: unicode, combining marks,
emoji sequences, CJK, control characters and escape sequences; marks from an analyzer or given as
spans. The data (fragments and marks) first, then what each formatter renders of it."""
from __future__ import annotations

import html
import re
import unicodedata

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from searchlib.analysis import get_analyzer
from searchlib.highlight import ELLIPSIS, AnsiFormatter, Formatter, HtmlFormatter, PlainFormatter, make_snippet

STD = get_analyzer("standard")
EN = get_analyzer("english")

# Pieces texts are made of: words, spaces, sentence ends, letters with combining marks, emoji
# sequences (ZWJ, skin tone, flags), CJK, an astral letter, a surrogate pair, controls and escapes.
PIECES = ["a", "bc", "word", "longerword", "Zoë", "İ", "ß", " ", "  ", "\n", "\n\n", "\t", ". ", "! ", ", ", "-",
          "'", "e\u0301", "\u0301", "\u0308\u0301", "\u093e", "हिन्दी", "\U0001f469\u200d\U0001f4bb",
          "\U0001f44d\U0001f3fd", "\U0001f1eb\U0001f1f7", "\ud83d\ude00", "\ufe0f", "\u200d", "中文", "我们研究", "。",
          "，", "\U0001d400", "_", "3", "\x00", "\x07", "\x1b", "\x1b[31m", "\x1b]0;t\x07", "\x9b2J", "\x85", "\x7f",
          "<b>", "&"]
texts = st.one_of(st.lists(st.sampled_from(PIECES), max_size=80).map("".join), st.text(max_size=200),
                  st.lists(st.sampled_from(["a", " ", "\u0301", "\u200d", "\U0001f469"]), max_size=120).map("".join))

_WORD_CHAR = re.compile(r"\w")


def word_char(c: str) -> bool:
    """A character of a word: \\w, or a combining mark (Python's \\w leaves those out)."""
    return bool(_WORD_CHAR.match(c)) or unicodedata.category(c).startswith("M")


def word_around(text: str, p: int) -> int:
    """The length of the word (run of word characters) that position p falls inside."""
    a = p
    while a > 0 and word_char(text[a - 1]):
        a -= 1
    b = p
    while b < len(text) and word_char(text[b]):
        b += 1
    return b - a


def splits_a_character(text: str, p: int) -> bool:
    """Whether p falls between a character and a combining mark, variation selector, ZWJ or
    emoji modifier after it, just after a ZWJ, or between the halves of a surrogate pair."""
    c, b = text[p], text[p - 1]
    return (unicodedata.category(c).startswith("M") or c == "\u200d" or "\U0001f3fb" <= c <= "\U0001f3ff"
            or (b == "\u200d" and not c.isspace()) or ("\ud800" <= b <= "\udbff" and "\udc00" <= c <= "\udfff"))


def cluster_around(text: str, p: int) -> int:
    """The length of the run of characters joined as one (see splits_a_character) around p."""
    a = p
    while a > 1 and splits_a_character(text, a - 1):
        a -= 1
    b = p
    while b + 1 < len(text) and splits_a_character(text, b + 1):
        b += 1
    return b - a + 2


def strip(text: str, a: int, b: int, keep_base: bool = True) -> tuple[int, int]:
    """text[a:b] without leading and trailing whitespace, but (if `keep_base`) with the space a
    combining mark sits on."""
    piece = text[a:b]
    if not piece.strip():
        return a, a
    start = a + len(piece) - len(piece.lstrip())
    keep = keep_base and start > a and splits_a_character(text, start)
    return (start - 1 if keep else start), start + len(piece.strip())


def expected_marks(text: str, spans, lo: int, hi: int) -> list[tuple[int, int]]:
    """Spans clipped to [lo, hi], stripped, the empty ones dropped, overlapping ones merged."""
    out = []
    for a, b in sorted(strip(text, max(a, lo), min(b, hi), keep_base=False) for a, b in spans):
        if a >= b:
            continue
        if out and a < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@st.composite
def cases(draw):
    text = draw(texts)
    span = None
    if draw(st.booleans()):
        a = draw(st.integers(0, len(text)))
        span = (a, draw(st.integers(a, len(text))))
    if draw(st.booleans()):
        analyzer = draw(st.sampled_from([STD, EN]))
        present = sorted({t.term for t in analyzer(text)})
        terms = {t: draw(st.floats(0.1, 5.0)) for t in draw(st.lists(st.sampled_from(present), unique=True,
                                                                      max_size=4))} if present else {}
        return text, span, {"analyzer": analyzer, "terms": terms}
    bounds = st.integers(0, len(text))
    spans = draw(st.lists(st.tuples(bounds, bounds).map(sorted).map(tuple), max_size=8))
    return text, span, {"marks": spans}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 80), st.integers(1, 4))
def test_fragments_are_ordered_whole_and_cut_between_words(case, fragment_chars, max_fragments):
    text, span, how = case
    snippet = make_snippet(text, **how, fragment_chars=fragment_chars, max_fragments=max_fragments, span=span)
    lo, hi = span or (0, len(text))
    region = text[lo:hi]
    if not region.strip():
        assert snippet.fragments == ()
        return
    fragments = snippet.fragments
    assert fragments and len(fragments) <= max_fragments
    content_lo, content_hi = strip(text, lo, hi)
    assert snippet.ellipsis_before == (fragments[0].start > content_lo)
    assert snippet.ellipsis_after == (fragments[-1].end < content_hi)
    for f in fragments:
        assert content_lo <= f.start < f.end <= content_hi
        assert text[f.start:f.end].strip()
    for f, g in zip(fragments, fragments[1:]):
        assert text[f.end:g.start].strip()  # in order, not overlapping, not merely whitespace apart

    # Marks: the given spans (clipped, stripped, merged) or the analyzer's matches, never cut.
    marks = [m for f in fragments for m in f.marks]
    assert all(f.start <= a < b <= f.end for f in fragments for a, b in f.marks)
    assert all(m[1] <= n[0] for m, n in zip(marks, marks[1:]))
    if "marks" in how:
        given_marks = expected_marks(text, how["marks"], content_lo, content_hi)
        shown = [m for m in given_marks if any(f.start <= m[0] and m[1] <= f.end for f in fragments)]
        assert marks == shown
        for f in fragments:
            assert not any(a < edge < b for edge in (f.start, f.end) for a, b in given_marks)
    else:
        wanted = set(how["terms"])
        for a, b in marks:
            assert {t.term for t in how["analyzer"](text[a:b])} & wanted

    # Edges: never inside a word, unless it is longer than a fragment; never inside a character
    # (unless it runs on past Unicode's stream-safe limit of 30 combining marks).
    for f in fragments:
        for edge in (f.start, f.end):
            if content_lo < edge < content_hi:
                assert not splits_a_character(text, edge) or cluster_around(text, edge) > 32, (edge, text)
                if word_char(text[edge - 1]) and word_char(text[edge]):
                    assert word_around(text, edge) > fragment_chars, (edge, text)


# -- rendering ----------------------------------------------------------------------------------

START, END, SEP = "\ue000", "\ue001", "\ue002"  # delimiters no generated text holds (assumed below)
CONTROL_CHARS = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}


def clean(s: str) -> str:
    """What the formatters' documented sanitising makes of document text, worked out a character
    at a time (ECMA-48): CSI sequences, command strings up to BEL or ST, other escape sequences and
    all other C0 and C1 controls removed; tab and newline become spaces."""
    out, i, n = [], 0, len(s)

    def csi_end(j):
        while j < n and "\x30" <= s[j] <= "\x3f":
            j += 1
        while j < n and "\x20" <= s[j] <= "\x2f":
            j += 1
        return j + 1 if j < n and "\x40" <= s[j] <= "\x7e" else j

    def string_end(j):  # past the terminator, or None when there is none
        while j < n and s[j] not in CONTROL_CHARS:
            j += 1
        if j < n and s[j] in "\x07\x9c":
            return j + 1
        return j + 2 if s[j:j + 2] == "\x1b\\" else None

    while i < n:
        c = s[i]
        if c == "\x1b" and s[i + 1:i + 2] == "[":
            i = csi_end(i + 2)
        elif c == "\x9b":
            i = csi_end(i + 1)
        elif c == "\x1b" and s[i + 1:i + 2] in ("]", "P", "X", "^", "_") and string_end(i + 2) is not None:
            i = string_end(i + 2)
        elif c in "\x90\x98\x9d\x9e\x9f" and string_end(i + 1) is not None:
            i = string_end(i + 1)
        elif c == "\x1b":
            i += 1
            while i < n and "\x20" <= s[i] <= "\x2f":
                i += 1
            i += 1 if i < n and "\x30" <= s[i] <= "\x7e" else 0
        elif c in "\t\n":
            out.append(" ")
            i += 1
        else:
            out.append("" if c in CONTROL_CHARS else c)
            i += 1
    return "".join(out)


def collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 80), st.integers(1, 4), st.sampled_from(["plain", "ansi", "html"]))
def test_rendered_fragments_are_the_cleaned_text_with_marks(case, fragment_chars, max_fragments, kind):
    text, span, how = case
    assume(not {START, END, SEP} & set(text))
    snippet = make_snippet(text, **how, fragment_chars=fragment_chars, max_fragments=max_fragments, span=span)
    formatter = {"plain": PlainFormatter(START, END), "ansi": AnsiFormatter(), "html": HtmlFormatter()}[kind]
    out = snippet.render(formatter, SEP)
    if kind == "ansi":
        assert out.count("\x1b") == 2 * out.count("\x1b[1;33m")  # the formatter's own codes only
        out = out.replace("\x1b[1;33m", START).replace("\x1b[0m", END)
    if kind == "html":
        assert "<" not in re.sub("</?mark>", "", out)
        out = html.unescape(out.replace("<mark>", START).replace("</mark>", END))
    assert not CONTROL_CHARS & set(out)
    if not snippet.fragments:
        assert out == ""
        return
    out = out.removeprefix(ELLIPSIS) if snippet.ellipsis_before else out
    out = out.removesuffix(ELLIPSIS) if snippet.ellipsis_after else out
    rendered = out.split(SEP)
    assert len(rendered) == len(snippet.fragments)
    for piece, f in zip(rendered, snippet.fragments):
        assert piece.replace(START, "").replace(END, "") == collapse(clean(text[f.start:f.end]))
        assert re.fullmatch(f"[^{START}{END}]*(?:{START}[^{START}{END}]*{END}[^{START}{END}]*)*", piece)
        assert piece.count(START) <= len(f.marks)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_formatter_cleans_like_the_reference(text):
    assert Formatter().text(text) == clean(text)
    assert PlainFormatter().mark(text) == f"[{clean(text)}]"
    assert AnsiFormatter().text(text) == clean(text)
    assert HtmlFormatter().text(text) == html.escape(clean(text), quote=True)
