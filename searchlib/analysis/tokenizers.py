"""Tokenizers: split text into Tokens whose offsets point into the original string."""
from __future__ import annotations

import re
from typing import Iterator, NamedTuple


class Token(NamedTuple):
    """One token: its term, its position in the field, and its span in the original text."""

    term: str
    position: int
    start_char: int
    end_char: int


# Words (letters, digits, underscore in any script) with inner apostrophes ("don't", "Archie’s"),
# and numbers with inner decimal/thousands separators ("3.5", "1,000").
WORD_PATTERN = r"\d+(?:[.,]\d+)+|\w+(?:['’]\w+)*"


class Tokenizer:
    """Base class. A tokenizer's `words(text)` is its fast path (no offsets) used at index time."""

    # True when a query word that this tokenizer splits into several tokens must match them as a
    # phrase (scripts without spaces: "搜索引擎" is the phrase of its bigrams or its words), rather
    # than as separate words combined with the query's default operator ("covid-19").
    phrase_words = False
    registered_spec: dict | None = None  # set when built by name from the registry (analysis.registry)

    def __call__(self, text: str) -> Iterator[Token]:
        raise NotImplementedError

    def words(self, text: str) -> list[str]:
        return [t.term for t in self(text)]

    def __or__(self, other):
        from .analyzers import Analyzer

        return Analyzer(self, [other])

    def spec(self) -> dict:
        """A JSON-able description, enough to rebuild this tokenizer (see analyzers.from_spec)."""
        if self.registered_spec is not None:
            return self.registered_spec
        raise NotImplementedError(f"{type(self).__name__} has no spec(): register it "
                                  "(searchlib.analysis.register) and build it by name, or define spec()")


class RegexTokenizer(Tokenizer):
    """Tokens are the matches of a regular expression (Unicode-aware by default)."""

    def __init__(self, pattern: str = WORD_PATTERN):
        self.pattern = pattern
        try:
            self._re = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid tokenizer pattern {pattern!r}: {exc}") from exc
        if self._re.groups:
            # findall() returns groups when the pattern has any: make them non-capturing.
            raise ValueError(f"tokenizer pattern {pattern!r} must not contain capturing groups; use (?:...)")

    def __call__(self, text: str) -> Iterator[Token]:
        for pos, m in enumerate(self._re.finditer(text)):
            yield Token(m.group(), pos, m.start(), m.end())

    def words(self, text: str) -> list[str]:
        return self._re.findall(text)

    def spec(self) -> dict:
        return {"type": "regex", "pattern": self.pattern}

    def __repr__(self) -> str:
        return f"RegexTokenizer({self.pattern!r})"


class WhitespaceTokenizer(RegexTokenizer):
    """Tokens are runs of non-space characters."""

    def __init__(self):
        super().__init__(r"\S+")

    def spec(self) -> dict:
        return {"type": "whitespace"}


class KeywordTokenizer(Tokenizer):
    """The whole (stripped) value is one token: for exact identifiers."""

    def __call__(self, text: str) -> Iterator[Token]:
        stripped = text.strip()
        if stripped:
            start = text.index(stripped)
            yield Token(stripped, 0, start, start + len(stripped))

    def words(self, text: str) -> list[str]:
        stripped = text.strip()
        return [stripped] if stripped else []

    def spec(self) -> dict:
        return {"type": "keyword"}


TOKENIZERS = {"regex": RegexTokenizer, "whitespace": WhitespaceTokenizer, "keyword": KeywordTokenizer}
