"""Tests that no formatter (searchlib.highlight) passes a control character of a document: ESC, BEL,
C1 controls and whole escape sequences are removed from document text, inside marks too."""
from __future__ import annotations

import html
import re

import pytest

from searchlib.analysis import get_analyzer
from searchlib.highlight import (AnsiFormatter, Formatter, HtmlFormatter, PlainFormatter, get_formatter, highlight,
                                 make_snippet)

EN = get_analyzer("english")
DOC = "alert \x1b[31mred\x1b[0m text \x07 bell <script>x</script>"
TERMS = {"red": 1.0, "31mred": 1.0, "0m": 1.0, "bell": 1.0, "script": 1.0}  # "31mred": the tokenizer's word
C0_C1 = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def own_codes_removed(out: str, formatter: str) -> str:
    """`out` without the colour codes the ANSI formatter adds itself."""
    return out.replace("\x1b[1;33m", "").replace("\x1b[0m", "") if formatter == "ansi" else out


@pytest.mark.parametrize("formatter", ["html", "ansi", "plain"])
def test_no_escape_bell_or_c1_of_the_document_in_any_formatter(formatter):
    for out in (highlight(DOC, EN, TERMS, formatter=formatter),
                highlight(DOC, EN, {"zebra": 1.0}, formatter=formatter),  # no match: the leading fragment
                highlight(DOC, marks=[(0, len(DOC))], formatter=formatter),  # all one mark
                highlight(DOC, marks=[(8, 12), (15, 18)], formatter=formatter),  # marks inside sequences
                get_formatter(formatter).text(DOC), get_formatter(formatter).mark(DOC)):
        out = own_codes_removed(out, formatter)
        assert C0_C1.findall(out) == [], out
        assert "[31m" not in out and "[0m" not in out  # a sequence goes whole, parameters too
    if formatter == "html":
        assert "<script>" not in out and "&lt;script&gt;" in out


def test_the_marks_show_what_the_document_shows():
    # The tokenizer reads "\x1b[31mred" as "31mred": the data keeps that span, the text marks "red".
    snippet = make_snippet(DOC, EN, TERMS)
    assert [DOC[a:b] for a, b in snippet.fragments[0].marks] == ["31mred", "0m", "bell", "script", "script"]
    assert snippet.to_plain() == "alert [red] text [bell] <[script]>x</[script]>"
    assert highlight(DOC, EN, TERMS, formatter="ansi") == (
        "alert \x1b[1;33mred\x1b[0m text \x1b[1;33mbell\x1b[0m <\x1b[1;33mscript\x1b[0m>x</\x1b[1;33mscript\x1b[0m>")
    assert highlight(DOC, EN, TERMS) == ("alert <mark>red</mark> text <mark>bell</mark> &lt;<mark>script</mark>&gt;x"
                                         "&lt;/<mark>script</mark>&gt;")


@pytest.mark.parametrize("raw, clean", [
    ("a\x1b[1;31mb\x1b[0mc", "abc"),  # CSI: parameters and final byte
    ("a\x9b2Jb", "ab"),  # the 8-bit CSI
    ("a\x1b[?25lb", "ab"),  # private parameters
    ("title\x1b]0;pwned\x07 here", "title here"),  # OSC to BEL
    ("title\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "titlelink"),  # OSC hyperlinks, to ST
    ("a\x1bP1$r\x1b\\b", "ab"),  # DCS to ST
    ("a\x9dtitle\x9cb", "ab"),  # 8-bit OSC to 8-bit ST
    ("a\x1b]unterminated text", "aunterminated text"),  # no terminator: the introducer only
    ("a\x1bcb", "ab"),  # ESC c (reset): a whole two-character sequence
    ("a\x1b(Bb", "ab"),  # a character set designation (intermediate and final)
    ("tab\there\nnewline", "tab here newline"),  # tab and newline become spaces
    ("cr\r\nlf\x00nul\x7fdel\x85nel\x0bvt", "cr lfnuldelnelvt"),  # every other control removed
    ("emoji \U0001f469\u200d\U0001f4bb caf\u00e9 \u4e2d\u6587",) * 2,  # nothing to remove
])
def test_control_characters_and_sequences_removed(raw, clean):
    assert Formatter().text(raw) == clean
    assert PlainFormatter().text(raw) == clean and PlainFormatter().mark(raw) == f"[{clean}]"
    assert AnsiFormatter().text(raw) == clean and AnsiFormatter().mark(raw) == f"\x1b[1;33m{clean}\x1b[0m"
    assert HtmlFormatter().text(raw) == html.escape(clean)


def test_a_snippet_is_cleaned_before_whitespace_is_collapsed():
    # ESC then a newline is no sequence: the newline stays a space, the "b" after it stays text.
    assert highlight("a \x1b\nb c", marks=[(4, 5)], formatter="plain") == "a [b] c"
    assert highlight("one \x07 two", marks=[(6, 9)], formatter="plain") == "one [two]"
    # a mark that shows nothing once cleaned is not rendered
    assert highlight("x \x1b[0m y", marks=[(4, 6)], formatter="plain") == "x y"
