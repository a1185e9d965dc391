"""Highlighted snippets: the best few fragments of a stored text, with the query's words marked.

A snippet is data first, then text. `make_snippet()` returns a `Snippet`: fragments in text order,
each a character span of the original text with the spans it marks (offsets into that text, as
Lucene's FieldHighlighter keeps its passages); `Snippet.render()` turns it into text through a
Formatter, as tantivy's `Snippet::to_html()` does. `highlight()` is the two in one call.

`make_snippet()` re-analyses the text once, so every match carries offsets into the original
string and is marked in its surface form ("Miscarriages"), never as its stem. Matches become
*hits*: non-overlapping character spans, one per matched word, or one per phrase match covering
the words between (stop words included). A candidate fragment is a window of about
`fragment_chars` characters starting at each hit; it scores the summed weight (idf) of the
distinct query terms it holds plus a bonus per phrase match, so two different query words beat
one word seen twice. The best fragments that do not overlap are snapped to sentence or word
boundaries and kept in text order. Everything is linear in the length of the text apart from two
sorts: of the matched spans (into hits) and of the candidate fragments (by score).

A search knows its marks before it reads the text (search/marks.py: positions from the postings,
spans from the offsets the index keeps), so it calls `rendered_from_arrays()` for all its hits at
once: the same ranking of candidate fragments, vectorised over every hit with numpy, and the same
placement, with edges at ". " or a space nearby (the careful rules below where there is none);
then every hit's fragments are marked and escaped as one string (`snippets_from_arrays()` gives
the same as Snippets).

A Formatter decides how document text and marked spans are rendered; it is also the one place
where document text is made safe for its medium: every formatter removes the document's control
characters and escape sequences, and HTML escapes it before marking.
"""
from __future__ import annotations

import html
import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import Container, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from .analysis import Analyzer, Token
from .errors import ConfigError
from .passages import BLANK_LINE, SENTENCE_BREAK, SENTENCE_TAIL

ELLIPSIS = "…"

# -- formatters --------------------------------------------------------------------------------


# The control functions of ECMA-48 (the terminal's escape codes) a document may hold, in their
# 7-bit (ESC ...) and 8-bit (C1) forms: a CSI sequence (colours, cursor moves, clearing the screen)
# with its parameters; a command string (OSC, DCS, SOS, PM, APC: a window title, say) up to the BEL
# or ST that ends it; any other escape sequence; and every other C0 or C1 control character but tab
# and newline. Removed whole, a sequence's parameters do not show as text ("[31m").
_CONTROLS = re.compile(r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
                       r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)"
                       r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
                       r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a quick test: most text has none
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # the same, tab and newline aside


def _clean(s: str) -> str:
    """Document text without control characters and escape sequences; tabs and newlines as spaces."""
    if s.isprintable() or not _ANY_CONTROL.search(s):  # isprintable() is the quicker test
        return s
    return _CONTROLS.sub("", s).replace("\t", " ").replace("\n", " ")


class Formatter:
    """How a snippet is rendered: `text()` for unmatched document text, `mark()` for a matched span.

    Both receive raw document text and are responsible for making it safe for the output medium:
    none passes a control character of the document. The base class removes control characters
    and escape sequences (tabs and newlines become spaces) and marks nothing; a subclass builds on
    its `text()`.
    """

    def text(self, s: str) -> str:
        """Render document text that is not part of a match."""
        return _clean(s)

    def mark(self, s: str) -> str:
        """Render a matched span (raw document text)."""
        return self.text(s)


_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*\Z")


class HtmlFormatter(Formatter):
    """HTML: document text is cleaned and escaped first, then matches are wrapped in `<tag class="...">`.

    Escaping before wrapping is what keeps a document's own markup ("<script>") inert.
    """

    def __init__(self, tag: str = "mark", css_class: str | None = None):
        if not isinstance(tag, str) or not _TAG_NAME.match(tag):
            raise ValueError(f"HTML tag must be a plain element name like 'mark' or 'b', got {tag!r}")
        self.tag = tag
        self.css_class = css_class
        attr = f' class="{html.escape(css_class, quote=True)}"' if css_class else ""
        self._open = f"<{tag}{attr}>"
        self._close = f"</{tag}>"

    def text(self, s: str) -> str:
        return html.escape(_clean(s), quote=True)

    def mark(self, s: str) -> str:
        return f"{self._open}{self.text(s)}{self._close}"


class PlainFormatter(Formatter):
    """Plain text: matches between `start` and `end` ("[word]"); document control characters removed."""

    def __init__(self, start: str = "[", end: str = "]"):
        self.start = start
        self.end = end

    def mark(self, s: str) -> str:
        return f"{self.start}{self.text(s)}{self.end}"


class AnsiFormatter(PlainFormatter):
    """Terminal colour: plain text with matches between the `start` and `end` escape codes."""

    def __init__(self, start: str = "\x1b[1;33m", end: str = "\x1b[0m"):
        super().__init__(start, end)


# One class per name in config.FORMATTER_NAMES, the names a configuration may use.
FORMATTERS: dict[str, type[Formatter]] = {"html": HtmlFormatter, "ansi": AnsiFormatter, "plain": PlainFormatter}


def get_formatter(spec: "str | Formatter") -> Formatter:
    """A formatter from its name in FORMATTERS (default options), or a Formatter returned as is."""
    if isinstance(spec, Formatter):
        return spec
    if isinstance(spec, str):
        cls = FORMATTERS.get(spec)
        if cls is None:
            raise ConfigError("formatter", f"unknown formatter {spec!r}; choose one of {', '.join(sorted(FORMATTERS))}")
        return cls()
    raise TypeError(f"a formatter is a name ({', '.join(sorted(FORMATTERS))}) or a Formatter, "
                    f"not {type(spec).__name__}")


# -- finding the matches -----------------------------------------------------------------------


class _Hit(NamedTuple):
    """A span to mark: one matched word, or one phrase match (possibly several merged)."""

    start: int
    end: int
    terms: frozenset  # the query terms inside the span
    bonus: float  # summed weight of the phrase matches it stands for (0 for a single word)


def _phrase_spans(tokens: list[Token], offset: int, weights: Mapping[str, float],
                  phrases: Sequence[Sequence[tuple[int, str]]]) -> list[_Hit]:
    """One hit per occurrence of each phrase: tokens at the phrase's relative positions carry its terms."""
    phrases = [list(p) for p in phrases if len(p) > 0]
    if not phrases:
        return []
    first_terms = {p[0][1] for p in phrases}
    phrase_terms = {term for p in phrases for _, term in p}
    by_term: dict[str, list[Token]] = {}
    by_position: dict[int, list[Token]] = {}
    for tok in tokens:
        if tok.term in phrase_terms:
            by_position.setdefault(tok.position, []).append(tok)
            if tok.term in first_terms:
                by_term.setdefault(tok.term, []).append(tok)
    found = []
    for phrase in phrases:
        rel0, term0 = phrase[0]
        bonus = math.fsum(weights.get(term, 0.0) for _, term in phrase)
        terms = frozenset(term for _, term in phrase)
        for anchor in by_term.get(term0, ()):
            base = anchor.position - rel0
            start, end = anchor.start_char, anchor.end_char
            for rel, term in phrase[1:]:
                tok = next((t for t in by_position.get(base + rel, ()) if t.term == term), None)
                if tok is None:
                    break
                start, end = min(start, tok.start_char), max(end, tok.end_char)
            else:
                found.append(_Hit(start + offset, end + offset, terms, bonus))
    return found


def find_hits(tokens: list[Token], offset: int, weights: Mapping[str, float],
               phrases: Sequence[Sequence[tuple[int, str]]], phrase_only: Container[str] = ()) -> list[_Hit]:
    """The spans to mark (token offsets shifted by `offset`), sorted and non-overlapping.

    Overlapping spans are merged (a word inside a phrase match joins the phrase's span rather
    than being marked on its own; two overlapping phrase matches become one span). Terms in
    `phrase_only` are marked only inside phrase matches.
    """
    spans = _phrase_spans(tokens, offset, weights, phrases)
    singletons = {term: frozenset((term,)) for term in weights if term not in phrase_only}
    spans.extend(_Hit(t.start_char + offset, t.end_char + offset, singletons[t.term], 0.0)
                 for t in tokens if t.term in singletons and t.end_char > t.start_char)
    return _merged(spans)


def _merged(spans: list[_Hit]) -> list[_Hit]:
    """`spans` sorted, overlapping ones merged into one hit (their terms and bonuses summed)."""
    spans.sort(key=lambda h: (h.start, -h.end))
    hits: list[_Hit] = []
    for span in spans:
        if hits and span.start < hits[-1].end:
            last = hits[-1]
            hits[-1] = _Hit(last.start, max(last.end, span.end), last.terms | span.terms, last.bonus + span.bonus)
        else:
            hits.append(span)
    return hits


class Mark(NamedTuple):
    """A span of the text a query matched, known before the snippet is made (search/marks.py):
    `terms` are the query terms it stands for (a phrase match: its words), `bonus` what it adds
    to a fragment beyond their weights (a phrase match: the phrase's weight)."""

    start: int
    end: int
    terms: tuple = ()
    bonus: float = 0.0


def _hits_from_marks(text: str, marks: Iterable, lo: int, hi: int,
                     weights: Mapping[str, float] | None) -> tuple[list[_Hit], dict]:
    """Hits for spans the caller marked, and their weights: each span clipped to [lo, hi] and
    stripped of whitespace (dropped when nothing is left), overlapping spans merged. A Mark with
    terms stands for them (weighed by `weights`, 1 where missing) plus its bonus; a bare
    (start, end) pair stands for its text, case-folded, of weight 1: a fragment with more
    different marked words wins."""
    spans = []
    for mark in marks:
        start, end = mark[0], mark[1] if len(mark) > 1 else None
        if not (len(mark) in (2, 4) and isinstance(start, int) and isinstance(end, int)
                and 0 <= start <= end <= len(text)) or (len(mark) == 4 and not (
                isinstance(mark[2], tuple) and all(isinstance(t, str) for t in mark[2])
                and isinstance(mark[3], (int, float)))):
            raise ValueError(f"mark {mark!r} is not a (start, end) span within the text (length {len(text)}) "
                             "nor a Mark(start, end, terms, bonus)")
        start, end = _strip(text, max(start, lo), min(end, hi), keep_base=False)
        if start < end:
            if len(mark) == 4 and mark[2]:
                spans.append(_Hit(start, end, frozenset(mark[2]), float(mark[3])))
            else:
                spans.append(_Hit(start, end, frozenset((_SPACES.sub(" ", text[start:end]).casefold(),)), 0.0))
    hits = _merged(spans)
    given = weights or {}
    return hits, {term: given.get(term, 1.0) for hit in hits for term in hit.terms}


# -- choosing fragments ------------------------------------------------------------------------


def _rank_candidates(hits: list[_Hit], weights: Mapping[str, float], fragment_chars: int) -> list[tuple[int, int]]:
    """Candidate clusters `(first_hit, end_hit)` (end exclusive), best first.

    The cluster anchored at hit i holds the hits that end within `fragment_chars` of hit i's
    start (at least hit i itself). A sliding window keeps per-term counts, so this is linear in
    the number of hits times the number of distinct query terms in a window. Ranking: summed
    weight of distinct terms plus phrase bonuses, then repeated occurrences, then earlier start.
    """
    counts: dict[str, int] = {}
    occurrences = 0
    bonus = 0.0
    j, n = 0, len(hits)
    scored = []
    for i, hit in enumerate(hits):
        limit = hit.start + fragment_chars
        while j < n:
            added = hits[j]
            if j != i and added.end > limit:  # hit i is always in its own window
                break
            for term in added.terms:
                counts[term] = counts.get(term, 0) + 1
            occurrences += len(added.terms)
            bonus += added.bonus
            j += 1
        # fsum is exact whatever the order; rounding absorbs the drift of the running bonus sum.
        main = round(math.fsum([weights.get(term, 0.0) for term in counts]) + bonus, 9)
        scored.append((-main, -(occurrences - len(counts)), hit.start, i, j))
        for term in hit.terms:
            counts[term] -= 1
            if not counts[term]:
                del counts[term]
        occurrences -= len(hit.terms)
        bonus -= hit.bonus
    scored.sort()
    return [(i, j) for *_, i, j in scored]


# Sentences as passages.py splits them: one starts where a SENTENCE_BREAK match ends (after the
# punctuation, closing quotes or brackets, and whitespace, or after a paragraph break); one ends
# after that punctuation and closers (before the whitespace), or at the last character before a
# paragraph break.
_SENTENCE_START = SENTENCE_BREAK
_SENTENCE_END = re.compile(SENTENCE_TAIL + r"(?=\s)|\S(?=[ \t\r\f\v]*" + BLANK_LINE + ")")
_SENTENCE_TAIL_END = re.compile(SENTENCE_TAIL + r"(?=\s)")  # the same where no line breaks (4x quicker)
_SPACE = re.compile(r"\s")
_SPACES = re.compile(r"\s+")
_COLLAPSIBLE = re.compile(r"\s{2,}|[^\S ]")  # whitespace that is not one space


def _snap_start(text: str, ws: int, first: int, lo: int, lo_is_edge: bool, near: int) -> int:
    """A fragment start close to `ws`, in [lo, first]: the sentence start nearest to `ws`, if one lies
    between `near` characters before it and the first hit; else the start of a word (moving forward
    first, so the fragment does not grow)."""
    if ws <= lo or (lo_is_edge and ws - lo <= near):
        return lo
    best = None
    for m in _SENTENCE_START.finditer(text, max(lo, ws - 2 * near), first):
        pos = m.end()
        if pos >= ws - near and (best is None or abs(pos - ws) < abs(best - ws)):
            best = pos
    if best is not None:
        return best
    if ws >= first or text[ws - 1].isspace() or text[ws].isspace():
        return ws
    m = _SPACE.search(text, ws, min(first, ws + near))
    if m:
        return m.start()
    i, stop = ws, max(lo, ws - near)
    while i > stop and not text[i - 1].isspace():
        i -= 1
    return i if i == lo or text[i - 1].isspace() else ws


def _snap_end(text: str, we: int, last: int, hi: int, hi_is_edge: bool, near: int) -> int:
    """A fragment end close to `we`, in [last, hi]: a sentence end within `near` characters if there
    is one, else the end of a word (moving backward first, so the fragment does not grow)."""
    if we >= hi or (hi_is_edge and hi - we <= near):
        return hi
    low, high = max(last, we - near), min(hi, we + near)
    best = None
    scan = max(0, low - 4), min(len(text), high + 2 * near)
    ends = _SENTENCE_END if text.find("\n", *scan) >= 0 else _SENTENCE_TAIL_END
    for m in ends.finditer(text, *scan):
        pos = m.end()
        if low <= pos <= high and (best is None or abs(pos - we) < abs(best - we)):
            best = pos
    if best is not None:
        return best
    if we <= last or text[we - 1].isspace() or text[we].isspace():
        return we
    i, stop = we, max(last, we - near)
    while i > stop and not text[i].isspace():
        i -= 1
    if text[i].isspace() or i == last:
        return i
    m = _SPACE.search(text, we, high)
    return m.start() if m else we


def _uncut(ws: int, we: int, lo: int, hi: int, starts: list[int], hits: list[_Hit]) -> tuple[int, int]:
    """Move the fragment edges off any hit they would cut: widen when that stays in [lo, hi], else narrow."""
    k = bisect_right(starts, ws) - 1
    if k >= 0 and hits[k].start < ws < hits[k].end:
        ws = hits[k].start if hits[k].start >= lo else hits[k].end
    k = bisect_left(starts, we) - 1
    if k >= 0 and hits[k].start < we < hits[k].end:
        we = hits[k].end if hits[k].end <= hi else hits[k].start
    return ws, we


def _strip(text: str, ws: int, we: int, keep_base: bool = True) -> tuple[int, int]:
    """The span without its leading and trailing whitespace (but with the whitespace character a
    combining mark sits on, should the span start with one, unless not `keep_base`)."""
    piece = text[ws:we]
    core = piece.strip()
    if not core:
        return ws, ws
    start = ws + len(piece) - len(piece.lstrip())
    end = start + len(core)
    if keep_base and start > ws and core[0] >= "\u0300" and joins_previous(text, start):
        start -= 1
    return start, end


# Where a fragment may start or end: not inside a word (a run of \w characters and the combining
# marks on them), nor inside one user-perceived character (a base and its combining marks, an
# emoji sequence joined by ZWJ or with a modifier, a surrogate pair), nor inside a mark. Python
# indexes code points, so without this a cut could fall between "e" and U+0301.
_ZWJ = "\u200d"
_REGIONAL, _REGIONAL_END = "\U0001f1e6", "\U0001f1ff"  # regional indicators: two make a flag
# Letters that extend the character before them, though not marks: half-width Katakana voiced
# sound marks (ｶﾞ), Thai and Lao SARA AM (ำ).
_EXTENDING_LETTERS = frozenset("\uff9e\uff9f\u0e33\u0eb3")
# Unicode's stream-safe text has at most 30 combining marks in a row: a longer cluster may be cut.
_LONGEST_CLUSTER = 32
_MARK_CATEGORIES = frozenset(("Mn", "Mc", "Me"))
_NON_WORD = re.compile(r"\W")
_WORD_PREFIX = re.compile(r"\w*")


def joins_previous(text: str, p: int) -> bool:
    """Whether the characters on both sides of position p (0 < p < len(text)) are one grapheme:
    what follows extends what precedes (a combining mark, a variation selector, ZWJ, an emoji
    modifier or tag, the low half of a surrogate pair), or a ZWJ precedes something visible."""
    if not 0 < p < len(text):
        return False
    c, b = text[p], text[p - 1]
    if b == _ZWJ:
        return not c.isspace()
    if c < "\u0300":  # nothing below U+0300 extends a character
        return False
    if "\udc00" <= c <= "\udfff":
        return "\ud800" <= b <= "\udbff"
    if _REGIONAL <= c <= _REGIONAL_END and _REGIONAL <= b <= _REGIONAL_END:  # a flag is a pair of them
        run, stop = p - 1, max(0, p - 1 - _LONGEST_CLUSTER)  # bounded: a cut may pair a long run wrongly
        while run > stop and _REGIONAL <= text[run - 1] <= _REGIONAL_END:
            run -= 1
        return (p - run) % 2 == 1
    return (unicodedata.category(c) in _MARK_CATEGORIES or c in _EXTENDING_LETTERS or c == _ZWJ
            or "\U0001f3fb" <= c <= "\U0001f3ff" or "\U000e0020" <= c <= "\U000e007f")


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_" or (c >= "\u0300" and unicodedata.category(c) in _MARK_CATEGORIES)


def _is_edge(text: str, p: int, lo: int, hi: int) -> bool:
    """Whether a fragment may start or end at p, with [lo, hi] the region the snippet is made from
    (whose edges are always allowed): not inside a word or a grapheme."""
    if p <= lo or p >= hi:
        return True
    return not joins_previous(text, p) and not (_is_word_char(text[p - 1]) and _is_word_char(text[p]))


def _cuttable(text: str, p: int, limit: int, lo: int, hi: int) -> bool:
    """Whether a fragment may start or end at p: an edge (see _is_edge), or a place inside a run of
    \\w longer than `limit` (too long for a fragment of `limit` characters) that is not inside a
    grapheme."""
    if _is_edge(text, p, lo, hi):
        return True
    if joins_previous(text, p):
        return False
    m = _NON_WORD.search(text, p, p + limit + 1)
    after = (m.start() if m else min(len(text), p + limit + 1)) - p
    return after + _WORD_PREFIX.match(text[max(0, p - limit - 1):p][::-1]).end() > limit


def _inside(p: int, starts: list[int], hits: list[_Hit]) -> _Hit | None:
    """The hit p falls strictly inside, if any."""
    k = bisect_right(starts, p) - 1
    return hits[k] if k >= 0 and hits[k].start < p < hits[k].end else None


def _edge_after(text: str, p: int, stop: int, limit: int, lo: int, hi: int, starts: list[int],
                hits: list[_Hit]) -> int | None:
    """The first position in [p, stop] where a fragment may start or end (see _cuttable), not
    inside a hit, crossing at most `limit` characters of \\w runs outside hits and at most
    `limit` + _LONGEST_CLUSTER other characters (a hit is crossed freely)."""
    budget, others = limit, limit + _LONGEST_CLUSTER
    while p <= stop:
        k = bisect_right(starts, p) - 1  # the last hit starting at p or before
        if k >= 0 and p < hits[k].end and (p > hits[k].start or not _cuttable(text, p, limit, lo, hi)):
            p = hits[k].end
        elif _cuttable(text, p, limit, lo, hi):
            return p
        elif text[p].isalnum() or text[p] == "_":  # inside a run of \w: the next chance is where it ends
            reach = min(stop, p + budget, starts[k + 1] if k + 1 < len(starts) else stop)
            if reach <= p:
                return None
            m = _NON_WORD.search(text, p + 1, reach)
            budget -= (m.start() if m else reach) - p
            p = m.start() if m else reach
        elif others:
            others -= 1
            p += 1
        else:
            return None
    return None


def _edge_before(text: str, p: int, stop: int, limit: int, lo: int, hi: int, starts: list[int],
                 hits: list[_Hit]) -> int | None:
    """The last position in [stop, p] where a fragment may start or end (see _cuttable), not
    inside a hit, crossing at most `limit` characters of \\w runs outside hits and at most
    `limit` + _LONGEST_CLUSTER other characters."""
    budget, others = limit, limit + _LONGEST_CLUSTER
    while p >= stop:
        k = bisect_left(starts, p) - 1  # the last hit starting before p
        if k >= 0 and p <= hits[k].end and (p < hits[k].end or not _cuttable(text, p, limit, lo, hi)):
            p = hits[k].start
        elif _cuttable(text, p, limit, lo, hi):
            return p
        elif text[p - 1].isalnum() or text[p - 1] == "_":  # after a run of \w: back to where it starts
            reach = max(stop, p - budget, hits[k].end if k >= 0 else stop)
            if reach >= p:
                return None
            run = _WORD_PREFIX.match(text[reach:p][::-1]).end()  # the run read backwards
            budget -= run
            p -= run
        elif others:
            others -= 1
            p -= 1
        else:
            return None
    return None


def _settle(text: str, p: int, low: int, high: int, widen_down: bool, limit: int, lo: int, hi: int,
            starts: list[int], hits: list[_Hit]) -> int:
    """p moved to the nearest position in [low, high] where a fragment may start or end (see
    _cuttable), not inside a hit, reached without crossing more than `limit` characters of words;
    ties go to the side that narrows the fragment (down for an end, up for a start). With none so
    near, p moved off the hits and the grapheme (of at most _LONGEST_CLUSTER characters) it is
    inside: down for a start (`widen_down`), up for an end."""
    if _cuttable(text, p, limit, lo, hi) and _inside(p, starts, hits) is None:
        return p
    before = _edge_before(text, p, low, limit, lo, hi, starts, hits)
    after = _edge_after(text, p, high, limit, lo, hi, starts, hits)
    if before is not None and after is not None:
        nearer_after = (after - p, not widen_down) < (p - before, widen_down)
        return after if nearer_after else before
    if before is not None or after is not None:
        return before if after is None else after
    step, others = (-1 if widen_down else 1), _LONGEST_CLUSTER
    while True:
        hit = _inside(p, starts, hits)
        if hit is not None:
            p = hit.start if widen_down else hit.end
        elif others and joins_previous(text, p) and low <= p + step <= high:
            others -= 1
            p += step
        else:
            return p


# -- the chosen fragments ----------------------------------------------------------------------


def _window(chosen_starts: list[int], chosen_ends: list[int], first: int, last: int, content_start: int,
            content_end: int, fragment_chars: int) -> "tuple[int, int, int, int, int] | None":
    """Where a cluster of marks spanning [first, last] would go among the fragments already
    chosen (kept sorted, as two lists of edges): None when it overlaps one; else (k, lo, hi, ws,
    we): its place k among them, the room [lo, hi] between its neighbours, and a window of
    `fragment_chars` (or the cluster's length) centred on it, shifted to stay inside the room."""
    k = bisect_left(chosen_starts, last)  # chosen fragments before k start before the cluster ends
    if k and chosen_ends[k - 1] > first:
        return None
    lo = chosen_ends[k - 1] if k else content_start
    hi = chosen_starts[k] if k < len(chosen_starts) else content_end
    length = max(fragment_chars, last - first)
    ws = first - (length - (last - first)) // 2
    we = ws + length
    if ws < lo:
        ws, we = lo, we + (lo - ws)
    if we > hi:
        ws, we = max(lo, ws - (we - hi)), hi
    return k, lo, hi, ws, we


def _joined(text: str, chosen_starts: list[int], chosen_ends: list[int]) -> list[tuple[int, int]]:
    """The chosen fragments in text order, two with only whitespace between them made one."""
    merged = [(chosen_starts[0], chosen_ends[0])]
    for ws, we in zip(chosen_starts[1:], chosen_ends[1:]):
        if not text[merged[-1][1]:ws].strip():
            merged[-1] = (merged[-1][0], we)
        else:
            merged.append((ws, we))
    return merged


def _choose(text: str, hits: list[_Hit], weights: Mapping[str, float], content_start: int, content_end: int,
            fragment_chars: int, max_fragments: int) -> list[tuple[int, int]]:
    """The spans of the best fragments of `text[content_start:content_end]` around `hits`, in text
    order, none overlapping and none cutting a hit; the leading fragment when there is no hit."""
    near = max(10, fragment_chars // 5)
    if not hits:
        we = _snap_end(text, min(content_start + fragment_chars, content_end), content_start, content_end, True, near)
        if _strip(text, content_start, we)[1] == content_start:  # the window held part of one long word
            we = content_start + fragment_chars
        we = _settle(text, we, content_start + 1, content_end, False, fragment_chars, content_start, content_end,
                     [], [])
        return [_strip(text, content_start, we)]

    starts = [h.start for h in hits]
    # The chosen fragments, kept sorted and non-overlapping, as two parallel lists of edges.
    chosen_starts: list[int] = []
    chosen_ends: list[int] = []
    for i, j in _rank_candidates(hits, weights, fragment_chars):
        first, last = hits[i].start, hits[j - 1].end
        placed = _window(chosen_starts, chosen_ends, first, last, content_start, content_end, fragment_chars)
        if placed is None:
            continue  # the cluster overlaps a fragment already chosen
        k, lo, hi, ws, we = placed
        snapped = _snap_start(text, ws, first, lo, lo == content_start, near)
        if snapped > ws:  # starting later (at a sentence or word start) frees room at the end
            we = min(hi, we + (snapped - ws))
        ws = snapped
        we = _snap_end(text, we, last, hi, hi == content_end, near)
        ws, we = _uncut(ws, we, lo, hi, starts, hits)
        # Next to whitespace (as the edges usually are by now) a fragment may start or end (see
        # _is_edge: "\u0300" is the first combining mark); elsewhere, find where it may.
        if content_start < ws < content_end and not (
                text[ws].isspace() or text[ws - 1].isspace() and text[ws] < "\u0300"):
            ws = _settle(text, ws, lo, first, True, fragment_chars, content_start, content_end, starts, hits)
        if content_start < we < content_end and not (
                text[we].isspace() or text[we - 1].isspace() and text[we] < "\u0300"):
            we = _settle(text, we, last, hi, False, fragment_chars, content_start, content_end, starts, hits)
        ws, we = _strip(text, ws, we)
        chosen_starts.insert(k, ws)
        chosen_ends.insert(k, we)
        if len(chosen_starts) == max_fragments:
            break

    return _joined(text, chosen_starts, chosen_ends)


# -- the quick path: marks known as arrays (a search's), fragments cut at spaces ------------------

_HIT_STRIDE = 1 << 40  # hit * _HIT_STRIDE + offset orders the marks of many texts at once


def _quick_start(text: str, ws: int, first: int, lo: int, near: int) -> int | None:
    """A fragment start close to `ws`, in [lo, first]: after the ". " nearest to it (within `near`
    characters), else after a space or newline, moving forward first (the fragment does not
    grow); None where there is none so near (the caller takes the careful path)."""
    if ws <= lo:
        return lo
    a = text.rfind(". ", max(lo, ws - near), ws)
    b = text.find(". ", ws, min(first - 1, ws + near))
    if a >= 0 or b >= 0:
        return min(first, (a if b < 0 or (a >= 0 and ws - a <= b - ws) else b) + 2)
    if text[ws - 1] in " \n" or text[ws] in " \n":
        return ws
    for space in (" ", "\n"):
        b = text.find(space, ws, first)
        if b >= 0:
            return b + 1
    a = max(text.rfind(" ", max(lo, ws - near), ws), text.rfind("\n", max(lo, ws - near), ws))
    if a >= 0:
        return a + 1
    return lo if ws - lo <= near else None


def _quick_end(text: str, we: int, last: int, hi: int, near: int) -> int | None:
    """A fragment end close to `we`, in [last, hi]: after the "." of the ". " nearest to it, else
    before a space or newline, moving backward first; None where there is none so near."""
    if we >= hi:
        return hi
    a = text.rfind(". ", max(last, we - near), we)
    b = text.find(". ", we, min(hi, we + near))
    if a >= 0 or b >= 0:
        return (a if b < 0 or (a >= 0 and we - a <= b - we) else b) + 1
    if text[we] in " \n" or text[we - 1] in " \n":
        return we
    a = max(text.rfind(" ", max(last, we - near), we), text.rfind("\n", max(last, we - near), we))
    if a >= last:
        return a
    for space in (" ", "\n"):
        b = text.find(space, we, min(hi, we + near))
        if b >= 0:
            return b
    return hi if hi - we <= near else None


def _choose_quick(text: str, starts: list, ends: list, order: list, j: list, content_start: int,
                  content_end: int, fragment_chars: int, max_fragments: int) -> list[tuple[int, int]] | None:
    """_choose for one text's sorted, merged marks (in `starts`, `ends`), candidates ranked by
    `order` (clusters i..j[i]): the same placement (the cluster centred in a window of
    `fragment_chars`, kept off the fragments already chosen), each edge at a sentence end or a
    space nearby; None when an edge has neither (a long word, text without spaces) or would sit
    on a combining mark: _choose knows those."""
    near = max(10, fragment_chars // 5)
    chosen_starts: list[int] = []
    chosen_ends: list[int] = []
    for i in order:
        first, last = starts[i], ends[j[i] - 1]
        # _window, inline (it runs for every candidate): skip a cluster overlapping a chosen
        # fragment, else centre a window on it within the room between its neighbours.
        if chosen_starts:
            k = bisect_left(chosen_starts, last)
            if k and chosen_ends[k - 1] > first:
                continue
            lo = chosen_ends[k - 1] if k else content_start
            hi = chosen_starts[k] if k < len(chosen_starts) else content_end
        else:
            k, lo, hi = 0, content_start, content_end
        span = last - first
        length = fragment_chars if fragment_chars > span else span
        ws = first - (length - span) // 2
        we = ws + length
        if ws < lo:
            ws, we = lo, we + (lo - ws)
        if we > hi:
            ws, we = max(lo, ws - (we - hi)), hi
        snapped = _quick_start(text, ws, first, lo, near)
        if snapped is None:
            return None
        if snapped > ws:
            we = min(hi, we + (snapped - ws))
        we = _quick_end(text, we, last, hi, near)
        if we is None:
            return None
        ws = snapped
        while ws < we and text[ws] in " \n":
            ws += 1
        while we > ws and text[we - 1] in " \n":
            we -= 1
        if ws < we and (text[ws] >= "\u0300" and joins_previous(text, ws)
                        or we < content_end and text[we] >= "\u0300" and joins_previous(text, we)):
            return None
        chosen_starts.insert(k, ws)
        chosen_ends.insert(k, we)
        if len(chosen_starts) == max_fragments:
            break
    return _joined(text, chosen_starts, chosen_ends)


def snippets_from_arrays(texts: Sequence[str], hit: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                         keys: np.ndarray, bonus: np.ndarray, weights: np.ndarray, *, fragment_chars: int = 200,
                         max_fragments: int = 3, spans: "Sequence[tuple[int, int]] | None" = None) -> list["Snippet"]:
    """make_snippet for many texts at once, with marks a search found (search/marks.py) given as
    arrays: mark m belongs to `texts[hit[m]]` and spans characters `starts[m]:ends[m]` inside that
    text's span (`spans`, default the whole text; token spans, with no whitespace at their edges);
    `keys[m]` is a bit set (uint64: bit b stands for a key of weight `weights[b]`, at most 64 keys)
    and `bonus[m]` what it adds beyond them. Overlapping marks merge and candidate fragments are
    ranked as make_snippet ranks them, vectorised over every text; fragments are placed the same
    way, each edge at a sentence end or a space nearby (where there is none, by make_snippet's
    careful rules)."""
    placed, s_list, e_list = _place_from_arrays(texts, hit, starts, ends, keys, bonus, weights, fragment_chars,
                                                max_fragments, spans)
    return [p if isinstance(p, Snippet) else _snippet_placed(text, p, s_list, e_list)
            for text, p in zip(texts, placed)]


def rendered_from_arrays(texts: Sequence[str], hit: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                         keys: np.ndarray, bonus: np.ndarray, weights: np.ndarray, *, fragment_chars: int = 200,
                         max_fragments: int = 3, spans: "Sequence[tuple[int, int]] | None" = None,
                         formatter: "str | Formatter" = "html", separator: str = " … ") -> list[str]:
    """`[s.render(formatter, separator) for s in snippets_from_arrays(...)]` (same arguments), the
    text made in one go for a built-in formatter: each text's fragments are marked straight from
    the arrays (see _quick_all), all texts joined by "\\x03" (which a fragment on that path
    cannot hold), escaped and marked as one string and split again. A text without marks, or
    with control characters in a fragment, is rendered on its own as a Snippet."""
    fmt = get_formatter(formatter)
    quick = _QUICK_MARKS.get(type(fmt))
    in_one_go = quick is not None and "\x03" not in separator
    placed, s_list, e_list = _place_from_arrays(texts, hit, starts, ends, keys, bonus, weights, fragment_chars,
                                                max_fragments, spans)
    marked: list = [None] * len(texts)
    if in_one_go:
        for t, p in enumerate(placed):
            if not isinstance(p, Snippet):
                marked[t] = _quick_all(texts[t], [(ws, we, zip(s_list[k:m], e_list[k:m]))
                                                  for ws, we, k, m in _fragment_marks(p[0], s_list, p[1], p[2])])
        rendered = quick(fmt, "\x03".join(m or "" for m in marked)).replace("\x02", separator).split("\x03")
    out = []
    for t, (text, p, m) in enumerate(zip(texts, placed, marked)):
        if m is not None:
            out.append((ELLIPSIS if p[3] else "") + rendered[t] + (ELLIPSIS if p[4] else ""))
        else:
            snippet = p if isinstance(p, Snippet) else _snippet_placed(text, p, s_list, e_list)
            out.append(snippet.render(fmt, separator))
    return out


def _fragment_marks(chosen: list[tuple[int, int]], s_list: list, a: int, b: int) -> "list[tuple[int, int, int, int]]":
    """Each chosen fragment (ws, we) with the range [k, m) of the marks (of a..b) inside it."""
    out = []
    for ws, we in chosen:
        k = bisect_left(s_list, ws, a, b)
        out.append((ws, we, k, bisect_left(s_list, we, k, b)))
    return out


def _snippet_placed(text: str, placed: tuple, s_list: list, e_list: list) -> "Snippet":
    """The Snippet of fragments placed by _place_from_arrays."""
    chosen, a, b, before, after = placed
    return Snippet(text, tuple(Fragment(ws, we, tuple(zip(s_list[k:m], e_list[k:m])))
                               for ws, we, k, m in _fragment_marks(chosen, s_list, a, b)), before, after)


def _place_from_arrays(texts: Sequence[str], hit: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                       keys: np.ndarray, bonus: np.ndarray, weights: np.ndarray, fragment_chars: int,
                       max_fragments: int, spans: "Sequence[tuple[int, int]] | None") -> tuple[list, list, list]:
    """snippets_from_arrays up to the fragments: `(placed, s_list, e_list)`, the merged marks'
    starts and ends (all texts, sorted by text then start) and per text a Snippet (no marks) or
    `(chosen, a, b, ellipsis_before, ellipsis_after)`: the chosen (start, end) spans in text
    order, the text's marks being s_list[a:b]."""
    hit = np.asarray(hit, dtype=np.int64)
    snippets: list = [None] * len(texts)
    s_list = e_list = []
    if len(hit):
        # sort by (text, start); merge overlapping marks of a text
        skey = hit * _HIT_STRIDE + starts
        order = np.argsort(skey, kind="stable")
        hit, skey, starts, ends = hit[order], skey[order], starts[order], ends[order]
        keys, bonus = keys[order], bonus[order]
        ekey = hit * _HIT_STRIDE + ends
        if len(hit) > 1:
            reach = np.maximum.accumulate(ekey)
            new = np.empty(len(hit), dtype=bool)
            new[0] = True
            np.greater_equal(skey[1:], reach[:-1], out=new[1:])
            if not new.all():
                at = np.flatnonzero(new)
                hit, skey, starts = hit[at], skey[at], starts[at]
                ekey = np.maximum.reduceat(ekey, at)
                ends = ekey - hit * _HIT_STRIDE
                keys = np.bitwise_or.reduceat(keys, at)
                bonus = np.add.reduceat(bonus, at)
        # rank every text's candidate clusters (mark i and those ending within fragment_chars)
        n = len(hit)
        arange = np.arange(n)
        j = np.maximum(np.searchsorted(ekey, skey + fragment_chars, side="right"), arange + 1)
        bounds2 = np.empty(2 * n, dtype=np.int64)  # [i, j[i]] pairs: reduceat over each cluster
        bounds2[0::2], bounds2[1::2] = arange, j
        held = np.bitwise_or.reduceat(np.concatenate([keys, np.zeros(1, np.uint64)]), bounds2)[::2]
        bits = (held[:, None] >> np.arange(len(weights), dtype=np.uint64)) & np.uint64(1)
        summed = np.concatenate([[0.0], np.cumsum(bonus)])
        score = np.round(bits.astype(np.float64) @ weights + (summed[j] - summed[:n]), 9)
        # best score first, then the most marks, then text order (the marks are in text order
        # and lexsort is stable)
        ranked = np.lexsort((-(j - arange), -score, hit))
        bounds = np.searchsorted(hit, np.arange(len(texts) + 1)).tolist()
        s_list, e_list, j_list, r_list = starts.tolist(), ends.tolist(), j.tolist(), ranked.tolist()
    for t, text in enumerate(texts):
        lo, hi = (0, len(text)) if spans is None else spans[t]
        if not len(hit) or bounds[t] == bounds[t + 1]:
            snippets[t] = make_snippet(text, marks=(), fragment_chars=fragment_chars, max_fragments=max_fragments,
                                       span=(lo, hi))
            continue
        if lo < hi and not (text[lo].isspace() or text[hi - 1].isspace()):
            content_start, content_end = lo, hi  # nothing to strip (the usual case), without copying the text
        else:
            content_start, content_end = _strip(text, lo, hi)
        a, b = bounds[t], bounds[t + 1]
        chosen = _choose_quick(text, s_list, e_list, r_list[a:b], j_list, content_start, content_end,
                               fragment_chars, max_fragments)
        if chosen is None:  # the careful path, on the same marks
            keyed = [frozenset(f"#{x}" for x in range(len(weights)) if (k >> x) & 1) for k in keys[a:b].tolist()]
            hits = [_Hit(s_, e_, ks, x)
                    for s_, e_, ks, x in zip(s_list[a:b], e_list[a:b], keyed, bonus[a:b].tolist())]
            chosen = _choose(text, hits, {f"#{x}": float(w) for x, w in enumerate(weights.tolist())},
                             content_start, content_end, fragment_chars, max_fragments)
        snippets[t] = (chosen, a, b, chosen[0][0] > content_start, chosen[-1][1] < content_end)
    return snippets, s_list, e_list


class Fragment(NamedTuple):
    """One piece of a snippet: `text[start:end]` of the stored text, with the marked spans in it.

    Offsets are character (code point) offsets into the original text; `marks` are `(start, end)`
    pairs in text order, each wholly inside the fragment."""

    start: int
    end: int
    marks: tuple[tuple[int, int], ...]


def _cuts(text: str, fragment: Fragment) -> tuple[str, list[int], bool]:
    """The fragment as it shows, and where to cut it: `(shown, cuts, collapse)`, with
    `shown[cuts[0]:cuts[1]]` text, `shown[cuts[1]:cuts[2]]` a mark, and so on, text last (any of
    them possibly empty). It shows the document text without control characters and escape
    sequences (tabs and newlines as spaces, see _clean), each whitespace run as one space, which
    is for the caller to do to each piece when `collapse` is true.

    The text is cleaned whole, before it is cut: a tokenizer reads "\\x1b[31mred" as the word
    "31mred", and a cut there would leave half a sequence to each piece. A mark that shows
    nothing is dropped. Most fragments hold no control character and are cut directly (their
    marks hold no whitespace at either end, so no whitespace run spans a cut)."""
    start, end = fragment.start, fragment.end
    raw = text[start:end]
    if raw.isprintable() and "  " not in raw:  # the usual case, quickly: nothing to clean or collapse
        return text, [start, *chain.from_iterable(fragment.marks), end], False
    if not _UNSAFE.search(raw):
        return text, [start, *chain.from_iterable(fragment.marks), end], bool(_COLLAPSIBLE.search(raw))
    # Where each offset of the fragment lands: first in the text without the removed sequences
    # (an offset inside one lands where it was), then in that text with whitespace collapsed
    # (an offset inside a run lands after its space for a mark's start, before it for its end).
    removed = [m.span() for m in _CONTROLS.finditer(raw)]
    removed_starts = [a for a, _ in removed]
    removed_before = list(accumulate((b - a for a, b in removed), initial=0))
    kept = "".join(raw[b:a] for (_, b), (a, _) in zip([(0, 0), *removed], [*removed, (len(raw), 0)]))
    kept = kept.replace("\t", " ").replace("\n", " ")
    runs = [m.span() for m in _SPACES.finditer(kept)]
    run_starts = [a for a, _ in runs]
    shrunk_before = list(accumulate((b - a - 1 for a, b in runs), initial=0))
    shown = _SPACES.sub(" ", kept)

    def land(offset: int, is_start: bool) -> int:
        k = bisect_right(removed_starts, offset) - 1
        if k >= 0:
            a, b = removed[k]
            offset = (a if offset < b else offset - (b - a)) - removed_before[k]
        k = bisect_right(run_starts, offset) - 1
        if k < 0:
            return offset
        a, b = runs[k]
        if offset >= b:
            return offset - shrunk_before[k + 1]
        return a - shrunk_before[k] + (offset > a and is_start)

    cuts = [0]
    for a, b in fragment.marks:
        a, b = max(cuts[-1], land(a - start, True)), land(b - start, False)
        if a < b:
            cuts += (a, b)
    cuts.append(len(shown))
    return shown, cuts, False


def _quick_all(text: str, fragments: "Iterable[tuple[int, int, Iterable[tuple[int, int]]]]") -> str | None:
    """The fragments (Fragments, or any (start, end, marks)) as they show, each mark between
    "\\x00" and "\\x01", joined by "\\x02" (for the separator); None when one holds a control
    character other than tab and newline (those go piece by piece), so none holds the three.

    Each whitespace run shows as one space. That is done to the whole string, as the fragment
    that needs most asks: nothing (a fragment of single spaces), newlines made spaces (a fragment
    whose other whitespace is single spaces), or runs collapsed; each changes nothing in a
    fragment that needs less (marks hold no whitespace at their edges, so the separators split
    no run)."""
    out = []
    need = 0
    for start, end, marks in fragments:
        raw = text[start:end]
        if not raw.isprintable():
            if _UNSAFE.search(raw):
                return None
            one_line = raw.replace("\n", " ")
            need = max(need, 1 if one_line.isprintable() and "  " not in one_line else 2)
        elif "  " in raw:
            need = 2
        at = start
        for a, b in marks:
            out += (text[at:a], "\x00", text[a:b], "\x01")
            at = b
        out += (text[at:end], "\x02")
    out.pop()
    marked = "".join(out)
    return marked if not need else marked.replace("\n", " ") if need == 1 else _SPACES.sub(" ", marked)


def _quick_html(fmt: "HtmlFormatter", marked: str) -> str:
    return html.escape(marked, quote=True).replace("\x00", fmt._open).replace("\x01", fmt._close)


def _quick_plain(fmt: "PlainFormatter", marked: str) -> str:
    return marked.replace("\x00", fmt.start).replace("\x01", fmt.end)


def _quick_unmarked(fmt: Formatter, marked: str) -> str:
    return marked.replace("\x00", "").replace("\x01", "")


@dataclass(frozen=True)
class Snippet:
    """A snippet as data: fragments of `text` in text order, not overlapping, with their marks.

    `ellipsis_before` / `ellipsis_after` say whether text (of the span the snippet was made
    from) precedes the first fragment / follows the last one. `render()` turns it into text; it
    has no fragments when that span holds only whitespace.
    """

    text: str
    fragments: tuple[Fragment, ...]
    ellipsis_before: bool = False
    ellipsis_after: bool = False

    def render(self, formatter: "str | Formatter" = "html", separator: str = " … ") -> str:
        """The fragments through `formatter`, joined by `separator`, with an ellipsis where text
        was left out before or after them. Each fragment shows its text without the document's
        control characters and escape sequences (removed whole, even where a mark starts or ends
        inside one), each whitespace run as one space."""
        fmt = get_formatter(formatter)
        text = self.text
        quick = _QUICK_MARKS.get(type(fmt))
        if quick is not None and self.fragments:  # a built-in formatter: all fragments in one go
            marked = _quick_all(text, self.fragments)
            if marked is not None:
                return ((ELLIPSIS if self.ellipsis_before else "") + quick(fmt, marked).replace("\x02", separator)
                        + (ELLIPSIS if self.ellipsis_after else ""))
        rendered = []
        for fragment in self.fragments:
            shown, cuts, collapse = _cuts(text, fragment)
            out = []
            for i in range(len(cuts) - 1):
                a, b = cuts[i], cuts[i + 1]
                if a < b:
                    piece = _SPACES.sub(" ", shown[a:b]) if collapse else shown[a:b]
                    out.append(fmt.mark(piece) if i % 2 else fmt.text(piece))
            rendered.append("".join(out))
        return ((ELLIPSIS if self.ellipsis_before else "") + separator.join(rendered)
                + (ELLIPSIS if self.ellipsis_after else ""))

    def to_html(self, tag: str = "mark", css_class: str | None = None, separator: str = " … ") -> str:
        """The snippet as HTML: document text escaped, marks wrapped in `<tag class="css_class">`."""
        return self.render(HtmlFormatter(tag, css_class), separator)

    def to_plain(self, start: str = "[", end: str = "]", separator: str = " … ") -> str:
        """The snippet as plain text, marks between `start` and `end`."""
        return self.render(PlainFormatter(start, end), separator)


# -- the entry points --------------------------------------------------------------------------


def make_snippet(
    text: str,
    analyzer: Analyzer | None = None,
    terms: Mapping[str, float] | None = None,
    phrases: Sequence[Sequence[tuple[int, str]]] = (),
    *,
    marks: Iterable[tuple[int, int]] | None = None,
    fragment_chars: int = 200,
    max_fragments: int = 3,
    span: tuple[int, int] | None = None,
) -> Snippet:
    """The best fragments of `text`, in text order, with query matches marked (as data).

    What to mark is given one of two ways. Either `analyzer` and `terms` (with `phrases`): `terms`
    maps analysed query terms to their weights (idf), and a token matches when its term is a key;
    each phrase is a list of `(relative_position, term)` and is marked as one span from its first
    word to its last. Or `marks`: the character spans of `text` that matched, already known (a
    search knows them from the positions where its query matched: search/marks.py), as Marks
    (weighed by `terms`, when given) or `(start, end)` pairs (each distinct marked text counting
    as one term of weight 1); the same fragments are chosen around them.

    `span` restricts the snippet to `text[span[0]:span[1]]` (a passage). Fragments are about
    `fragment_chars` long, at most `max_fragments` of them; one starts and ends neither inside a
    word (unless the word is longer than `fragment_chars`) nor inside a character with its
    combining marks, and never inside a mark. When nothing matches, the snippet is the leading
    fragment, unmarked.
    """
    if marks is None and analyzer is None:
        raise TypeError("make_snippet() needs an analyzer and terms, or marks")
    if marks is not None and (analyzer is not None or phrases):
        raise TypeError("make_snippet() takes an analyzer with terms and phrases, or marks (with terms to "
                        "weigh them), not both")
    if fragment_chars < 1:
        raise ValueError(f"fragment_chars must be at least 1, got {fragment_chars}")
    if max_fragments < 1:
        raise ValueError(f"max_fragments must be at least 1, got {max_fragments}")
    region_start, region_end = 0, len(text)
    if span is not None:
        region_start, region_end = span
        if not 0 <= region_start <= region_end <= len(text):
            raise ValueError(f"span {span!r} is not within the text (length {len(text)})")
    content_start, content_end = _strip(text, region_start, region_end)
    if content_start == content_end:
        return Snippet(text, ())

    if marks is not None:
        hits, terms = _hits_from_marks(text, marks, content_start, content_end, terms)
    else:
        terms = terms or {}
        wanted = set(terms).union(*([term for _, term in phrase] for phrase in phrases))
        tokens = analyzer.tokens_matching(text[content_start:content_end], wanted)  # all a match needs
        # A CJK bigram is no word of its own (索引 inside 倒排索引 for the query 搜索引擎): with an
        # analyzer whose split words are phrases, a phrase's terms are marked only where it matched.
        phrase_only = {t for phrase in phrases for _, t in phrase} if getattr(analyzer, "phrase_words", False) else ()
        hits = find_hits(tokens, content_start, terms, phrases, phrase_only)
    spans = _choose(text, hits, terms, content_start, content_end, fragment_chars, max_fragments)
    starts = [h.start for h in hits]
    ends = [h.end for h in hits]
    fragments = []
    for ws, we in spans:
        k, m = bisect_left(starts, ws), bisect_left(starts, we)
        fragments.append(Fragment(ws, we, tuple(zip(starts[k:m], ends[k:m]))))
    return Snippet(text, tuple(fragments), spans[0][0] > content_start, spans[-1][1] < content_end)


def highlight(
    text: str,
    analyzer: Analyzer | None = None,
    terms: Mapping[str, float] | None = None,
    phrases: Sequence[Sequence[tuple[int, str]]] = (),
    *,
    marks: Iterable[tuple[int, int]] | None = None,
    formatter: "str | Formatter" = "html",
    fragment_chars: int = 200,
    max_fragments: int = 3,
    separator: str = " … ",
    span: tuple[int, int] | None = None,
) -> str:
    """A snippet of `text` as text: `make_snippet()` (which see for the arguments) rendered by
    `formatter`, fragments joined by `separator`, with an ellipsis where the snippet starts after,
    or ends before, the edge of the text (span). Whitespace runs become one space."""
    fmt = get_formatter(formatter)
    snippet = make_snippet(text, analyzer, terms, phrases, marks=marks, fragment_chars=fragment_chars,
                           max_fragments=max_fragments, span=span)
    return snippet.render(fmt, separator)


# The built-in formatters' renderings of a fragment without control characters (but tab and
# newline), from _quick_all: what the piece-by-piece rendering of Snippet.render gives (marks
# hold no whitespace at their edges, so collapsing whitespace whole or piece by piece is the same);
# other formatters go piece by piece.
_QUICK_MARKS = {HtmlFormatter: _quick_html, PlainFormatter: _quick_plain, AnsiFormatter: _quick_plain,
                Formatter: _quick_unmarked}
