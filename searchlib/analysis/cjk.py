"""Text written without spaces, searchable with no dictionary: overlapping character bigrams.

A run of Han, Hiragana, Katakana or Hangul characters (and of Thai, Lao, Khmer or Myanmar ones,
whose words are not separated by spaces either) becomes its overlapping pairs of characters —
"全文搜索" -> 全文 文搜 搜索 — and a run of one character that character, as Lucene's CJKAnalyzer
does. A query word goes through the same tokenizer, so "搜索引擎" is the phrase of 搜索 索引 引擎
(see `Tokenizer.phrase_words`) and matches wherever those characters stand together, whatever the
words around them. Between runs, words in other scripts are read as the `standard` tokenizer reads
them ("Python", "3.5", "don't"), so the filters after the tokenizer treat them as usual.

A run is bigrammed in its NFKC form, grapheme by grapheme: half-width Katakana "ｶﾞ" is the one
character "ガ", a Thai consonant keeps its vowel and tone marks. Offsets always point at the original characters, so highlighting marks whole characters
of the stored text. A single character never matches inside a longer run (its bigrams hold it),
as in Lucene and Elasticsearch; the dictionary presets (`chinese`, `japanese`, `korean`, `thai`)
index single-character words.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterator, Sequence

import regex

from .tokenizers import WORD_PATTERN, Token, Tokenizer

# Scripts bigrammed by default, by the Unicode Script_Extensions property (so that the Kana
# prolonged sound mark "ー" and the iteration mark "々" belong to the run around them).
SCRIPTS = {
    "han": "Han", "hiragana": "Hiragana", "katakana": "Katakana", "hangul": "Hangul",
    "thai": "Thai", "lao": "Lao", "khmer": "Khmer", "myanmar": "Myanmar",
}

_CLUSTER = regex.compile(r"\X")
# In text of characters up to U+02FF (Latin) but for the six that `regex` does not count as word
# characters while `re` does, and for any that belong to a run (U+02BC, whose Script_Extensions
# include Thai), there is no run, mark or joiner, and the `re` pattern of the regex tokenizer finds
# exactly the words of the `regex` pattern below, three times quicker.
_LATIN_WORDS = re.compile(WORD_PATTERN)


def _not_latin(run_char: regex.Pattern) -> re.Pattern:
    in_runs = "".join(chr(c) for c in range(0x300) if run_char.match(chr(c)))
    return re.compile(rf"[^\x00-\u02ff]|[²³¹¼½¾{re.escape(in_runs)}]")


# Characters that make a run need the grapheme-by-grapheme reading: marks, joiners, conjoining
# Hangul jamo (a syllable typed as its letters).
_COMPLEX = regex.compile(r"[\p{M}\u200c\u200d\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]")


def _patterns(scripts: Sequence[str]) -> tuple[regex.Pattern, regex.Pattern, regex.Pattern]:
    """A run of the scripts or another word: with the run as a group, and without (for findall);
    and one character of a run."""
    run = "".join(rf"\p{{scx={SCRIPTS[s]}}}" for s in scripts)
    other = rf"[\w--[{run}\u200c\u200d]]"  # a word character of the other scripts (joiners are not)
    first = rf"[\w--[{run}\p{{M}}\u200c\u200d]]"  # ... that can start a word (a lone mark, say U+FE0F, is none)
    digit = rf"[\d--[{run}]]"
    others = rf"{digit}+(?:[.,]{digit}+)+|{first}{other}*(?:['’]{other}+)*"
    return (regex.compile(rf"(?V1)([[{run}]&&\w]+)|{others}"), regex.compile(rf"(?V1)[[{run}]&&\w]+|{others}"),
            regex.compile(rf"(?V1)[[{run}]&&\w]"))


def _simple(run: str) -> bool:
    """Whether each character of a run is a unit of its own, as it is (most Han, Kana, Hangul)."""
    return unicodedata.is_normalized("NFKC", run) and not _COMPLEX.search(run)


def _units(run: str, start: int) -> list[tuple[str, int, int]]:
    """The characters of a run in NFKC form, each with the span of the original grapheme it comes
    from (a grapheme whose normal form is several characters gives each of them its span)."""
    units = []
    for m in _CLUSTER.finditer(run):
        s, e = m.span()
        norm = unicodedata.normalize("NFKC", m.group())
        parts = [norm] if len(norm) == 1 else _CLUSTER.findall(norm)
        units.extend((part, start + s, start + e) for part in parts)
    return units


class CJKTokenizer(Tokenizer):
    """Overlapping bigrams over runs of the scripts written without spaces; other words as the
    `standard` tokenizer reads them. `scripts` chooses the bigrammed scripts (default: all of
    SCRIPTS; `["han", "hiragana", "katakana"]` leaves Korean as space-separated words)."""

    phrase_words = True  # a query word split into several bigrams is a phrase of them

    def __init__(self, scripts: Sequence[str] = tuple(SCRIPTS)):
        if isinstance(scripts, str) or not scripts or any(s not in SCRIPTS for s in scripts):
            raise ValueError(f"scripts must be a non-empty list of {', '.join(SCRIPTS)}; got {scripts!r}")
        self.scripts = [s for s in SCRIPTS if s in scripts]
        self._re, self._plain, self._run_char = _patterns(self.scripts)
        self._not_latin = _not_latin(self._run_char)

    def _pieces(self, text: str) -> Iterator[tuple[str, int, int]]:
        if not self._not_latin.search(text):
            for m in _LATIN_WORDS.finditer(text):
                yield m.group(), m.start(), m.end()
            return
        for m in self._re.finditer(text):
            run = m.group(1)
            start, end = m.span()
            if run is None:
                yield m.group(), start, end
            elif _simple(run):  # one character per unit
                if len(run) == 1:
                    yield run, start, end
                for i in range(start, end - 1):
                    yield text[i:i + 2], i, i + 2
            else:
                units = _units(run, start)
                if len(units) == 1:
                    yield units[0]
                for (a, s, _), (b, _, e) in zip(units, units[1:]):
                    yield a + b, s, e

    def __call__(self, text: str) -> Iterator[Token]:
        for pos, (term, start, end) in enumerate(self._pieces(text)):
            yield Token(term, pos, start, end)

    def words(self, text: str) -> list[str]:
        """The terms of `__call__`, without offsets: what indexing needs, built a run at a time."""
        if not self._not_latin.search(text):
            return _LATIN_WORDS.findall(text)
        words = self._plain.findall(text)
        if not self._run_char.search(text):  # no run: the words as they are (most text of other scripts)
            return words
        out: list[str] = []
        is_run = self._run_char.match
        for run in words:
            if not is_run(run):
                out.append(run)
            elif len(run) == 1 and _simple(run):
                out.append(run)
            elif _simple(run):
                out.extend([run[i:i + 2] for i in range(len(run) - 1)])
            else:
                units = _units(run, 0)
                out.extend([a + b for (a, _, _), (b, _, _) in zip(units, units[1:])] or [units[0][0]])
        return out

    def spec(self) -> dict:
        if self.scripts == list(SCRIPTS):
            return {"type": "cjk"}
        return {"type": "cjk", "scripts": self.scripts}

    def __repr__(self) -> str:
        return f"CJKTokenizer({self.scripts!r})"
