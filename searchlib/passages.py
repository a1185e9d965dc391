"""Splitting a field's text into passages, each a character span of the original text."""
from __future__ import annotations

import re

from .analysis import Analyzer
from .schema import PassageSpec

# The sentence and paragraph rules, shared with highlight (which snaps fragments to them), so a
# passage and a snippet agree on where a sentence ends.
# A paragraph break: a line break, a blank line (spaces only), and the whitespace after it.
BLANK_LINE = r"\n[ \t\r\f\v]*\n"
PARAGRAPH_BREAK = BLANK_LINE + r"\s*"
# A sentence ends at . ! ? (or their CJK forms) and any closing quotes or brackets after them
# (which stay in the sentence), when whitespace follows; the text after the whitespace starts a
# new sentence. A paragraph break ends one too.
SENTENCE_TAIL = "[.!?。！？][\"'”’)\\]]*"
# Matches the break between two sentences; group "gap" is the whitespace of a sentence-ending one
# (the tail before it belongs to the sentence). A match's end is where the next sentence starts.
SENTENCE_BREAK = re.compile(SENTENCE_TAIL + r"(?P<gap>\s+)|" + PARAGRAPH_BREAK)

_PARAGRAPH_BREAK = re.compile(PARAGRAPH_BREAK)


def _units(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    """Spans of the non-empty pieces of `text` between matches of `pattern` (only the match's
    group "gap" when it has matched), whitespace trimmed."""
    spans, start = [], 0
    gap = "gap" in pattern.groupindex
    for m in pattern.finditer(text):
        spans.append((start, m.start("gap") if gap and m.start("gap") >= 0 else m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        piece = text[a:b]
        stripped = piece.strip()
        if stripped:
            a += len(piece) - len(piece.lstrip())
            out.append((a, a + len(stripped)))
    return out


def window_ranges(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """The [start, end) index ranges of windows of `size` units over `n` units, each starting
    `size - overlap` after the previous one; the last window ends at the last unit."""
    if n <= size:
        return [(0, n)] if n else []
    step = size - overlap
    out = []
    for i in range(0, n, step):
        out.append((i, min(i + size, n)))
        if i + size >= n:
            break
    return out


def _group(units: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    return [(units[i][0], units[j - 1][1]) for i, j in window_ranges(len(units), size, overlap)]


def split_passages(text: str, spec: PassageSpec, analyzer: Analyzer | None = None) -> list[tuple[int, int]]:
    """The (start_char, end_char) spans of the passages of `text`, in text order.

    Text with no content yields no passage. Window mode counts the tokens of `analyzer`'s tokenizer.
    """
    if spec.mode == "paragraph":
        units = _units(text, _PARAGRAPH_BREAK)
    elif spec.mode == "sentences":
        units = _units(text, SENTENCE_BREAK)
    else:
        if analyzer is None:
            raise ValueError("window passages need the field's analyzer")
        units = [(t.start_char, t.end_char) for t in analyzer.tokenizer(text)]
    return _group(units, spec.size, spec.overlap)
