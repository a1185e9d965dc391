"""Stop word lists, available offline.

English uses the classic 33-word list of Lucene's EnglishAnalyzer (the list the published BM25
baselines use). The other languages come from the `stop-words` package, which ships its lists as
files inside the package: nothing is downloaded, no nltk data is needed.
"""
from __future__ import annotations

from functools import lru_cache

ENGLISH = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)


@lru_cache(maxsize=None)
def stopwords(language: str) -> frozenset[str]:
    """The stop word set for `language` ("english", "german", ...; "none" is empty)."""
    if language == "none":
        return frozenset()
    if language == "english":
        return ENGLISH
    import stop_words

    try:
        words = stop_words.get_stop_words(language)
    except stop_words.StopWordError as exc:
        raise ValueError(f"no stop word list for {language!r}: {exc}") from None
    return frozenset(w.lower() for w in words)
