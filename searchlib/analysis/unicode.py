"""Unicode text: normal forms and case folding as filters, and a tokenizer that follows Unicode's
word boundaries (UAX #29) for the scripts written with spaces.

The regular-expression tokenizer's `\\w` (Python's `re`) stops at a combining mark, so a word typed
with a decomposed accent ("e" + U+0301) falls apart; the `unicode` tokenizer uses the `regex`
package's UAX #29 word boundaries, where marks, joiners and apostrophes inside words belong to the
word, and where each Han or Hiragana character is a word of its own (as in Lucene's
StandardTokenizer: pair them with the `cjk` tokenizer when that text matters).
"""
from __future__ import annotations

import unicodedata
from typing import Iterator

import regex

from .filters import TermFilter
from .tokenizers import Token, Tokenizer

NORMAL_FORMS = ("NFC", "NFKC", "NFD", "NFKD")


class NormalizeFilter(TermFilter):
    """A Unicode normal form of each term: NFC (composed: "e" + U+0301 -> "é"), NFKC (also folds
    compatibility forms: full-width Latin "Ｐｙｔｈｏｎ" -> "Python", half-width Katakana "ｶﾞ" -> "ガ",
    the ligature "ﬁ" -> "fi"), NFD or NFKD."""

    normalizes = True

    def __init__(self, form: str = "NFKC"):
        if form not in NORMAL_FORMS:
            raise ValueError(f"normal form {form!r} is not one of {', '.join(NORMAL_FORMS)}")
        self.form = form

    def map(self, term: str) -> str:
        if term.isascii():
            return term
        return unicodedata.normalize(self.form, term)

    def spec(self) -> dict:
        return {"type": "normalize", "form": self.form}


class CaseFoldFilter(TermFilter):
    """Unicode case folding (`str.casefold`): like lower-casing, and also "ß" -> "ss", "ς" -> "σ",
    so that caseless matching follows Unicode's rules rather than one language's lower case."""

    normalizes = True

    def map(self, term: str) -> str:
        return term.casefold()

    def spec(self) -> dict:
        return {"type": "casefold"}


# A UAX #29 word segment that holds a letter, digit, mark or connector (the `regex` package's \w):
# segments of spaces, punctuation or symbols (emoji) are not words.
_UAX29_WORD = regex.compile(r"(?w)\b\w.*?\b", regex.DOTALL)


class UnicodeWordTokenizer(Tokenizer):
    """Words at Unicode's default word boundaries (UAX #29): "don't", "U.S.A", "3.5" and "é" typed
    as "e" + a combining accent are one word each; a Katakana or Hangul run is one word; each
    Han, Hiragana or Thai character is a word of its own. Emoji and punctuation are not words."""

    def __call__(self, text: str) -> Iterator[Token]:
        for pos, m in enumerate(_UAX29_WORD.finditer(text)):
            yield Token(m.group(), pos, m.start(), m.end())

    def words(self, text: str) -> list[str]:
        return _UAX29_WORD.findall(text)

    def spec(self) -> dict:
        return {"type": "unicode"}
