"""Token filters. Each filter is small and does one thing; analyzers chain them.

Most filters transform one word at a time without looking at its neighbours (`TermFilter`): an
analyzer fuses a chain of them into one function and caches its result per distinct word, which
is what makes indexing fast. Dropping a word (stop words, length limits) leaves a gap in the
positions, as Lucene does, so phrase queries stay exact.

Two class attributes tell an analyzer how to read a word that the query does not analyse in full
(see Analyzer.normalize and Analyzer.analyze_word): `normalizes` marks a filter that only
normalises characters (case, accents), and `drops_words` one that may remove a word (stop words,
length limits).
"""
from __future__ import annotations

import unicodedata
from typing import Iterable, Iterator

from .stemming import check_stemmer, get_stemmer
from .stopwords import stopwords
from .tokenizers import Token


class Filter:
    """A stream filter: takes tokens, yields tokens."""

    # True for a filter that only normalises the characters of a word (lower-casing, accent
    # folding, a Unicode normal form): it also applies to the words a query reads without
    # tokenizing or stemming them (prefixes, wildcards, range ends), as Lucene's
    # Analyzer.normalize does. Such a filter must be a TermFilter (normalising is word by word).
    normalizes = False
    # True for a filter that may remove a word (stop words, length limits): a fuzzy query's word
    # goes through the other term filters only, so it is never dropped.
    drops_words = False
    registered_spec: dict | None = None  # set when built by name from the registry (analysis.registry)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        raise NotImplementedError

    def spec(self) -> dict:
        """A JSON-able description, enough to rebuild this filter (see analyzers.from_spec)."""
        if self.registered_spec is not None:
            return self.registered_spec
        raise NotImplementedError(f"{type(self).__name__} has no spec(): register it "
                                  "(searchlib.analysis.register) and build it by name, or define spec()")


class TermFilter(Filter):
    """A filter that maps each term on its own: `map(term)` returns the new term, or None to drop it."""

    def map(self, term: str) -> str | None:
        raise NotImplementedError

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        fn = self.map
        for tok in tokens:
            term = fn(tok.term)
            if term is not None:
                yield tok._replace(term=term)


class LowercaseFilter(TermFilter):
    """Lower-cases (Unicode casefold-free `str.lower`, as Lucene does)."""

    normalizes = True

    def map(self, term: str) -> str:
        return term.lower()

    def spec(self) -> dict:
        return {"type": "lowercase"}


# Letters that NFKD does not decompose into base + accent.
_FOLD_SPECIAL = str.maketrans({
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i",
    "’": "'", "‘": "'",
})


class AsciiFoldingFilter(TermFilter):
    """Folds accented Latin letters to their ASCII base (café -> cafe, Straße -> Strasse).

    Letters of other scripts are kept as they are.
    """

    normalizes = True

    def map(self, term: str) -> str:
        if term.isascii():
            return term
        decomposed = unicodedata.normalize("NFKD", term.translate(_FOLD_SPECIAL))
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    def spec(self) -> dict:
        return {"type": "asciifold"}


class PossessiveFilter(TermFilter):
    """Removes an English possessive 's (or ’s): "Marsh's" -> "Marsh"."""

    def map(self, term: str) -> str:
        if len(term) > 2 and term[-2] in "'’" and term[-1] in "sS":
            return term[:-2]
        return term

    def spec(self) -> dict:
        return {"type": "possessive"}


class StopFilter(TermFilter):
    """Drops stop words: a language's list, an explicit list, or both."""

    drops_words = True

    def __init__(self, language: str | None = "english", words: Iterable[str] = ()):
        self.language = language
        self.extra = sorted(set(words))
        self.words = frozenset(stopwords(language) if language else ()) | frozenset(self.extra)

    def map(self, term: str) -> str | None:
        return None if term in self.words else term

    def spec(self) -> dict:
        return {"type": "stop", "language": self.language, "words": self.extra}


class LengthFilter(TermFilter):
    """Drops terms shorter than `min` or longer than `max` characters."""

    drops_words = True

    def __init__(self, min: int = 1, max: int = 255):
        if min < 0 or max < min:
            raise ValueError(f"length filter needs 0 <= min <= max, got min={min} max={max}")
        self.min, self.max = min, max

    def map(self, term: str) -> str | None:
        return term if self.min <= len(term) <= self.max else None

    def spec(self) -> dict:
        return {"type": "length", "min": self.min, "max": self.max}


class StemFilter(TermFilter):
    """Reduces words to their stem with an nltk stemmer (see stemming.STEMMERS)."""

    def __init__(self, stemmer: str = "porter"):
        check_stemmer(stemmer)  # a bad name fails here; the stemmer itself loads at the first word
        self.stemmer = stemmer
        self._stem = None

    def map(self, term: str) -> str:
        stem = self._stem
        if stem is None:
            stem = self._stem = get_stemmer(self.stemmer) or str
        return stem(term)

    def spec(self) -> dict:
        return {"type": "stem", "stemmer": self.stemmer}


FILTERS = {
    "lowercase": LowercaseFilter,
    "asciifold": AsciiFoldingFilter,
    "possessive": PossessiveFilter,
    "stop": StopFilter,
    "length": LengthFilter,
    "stem": StemFilter,
}
