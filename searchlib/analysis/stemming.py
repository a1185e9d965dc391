"""Stemmers from nltk, each memoised so a distinct word is stemmed once per process.

The memo is bounded: past STEM_CACHE_LIMIT distinct words it starts over (cleared, not evicted
one by one: frequent words come back after a few lookups, and clearing costs nothing per hit), so
a stream of ever-new words cannot make a long-running process grow without limit.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

STEM_CACHE_LIMIT = 1_000_000  # distinct words memoised per stemmer before the memo starts over

SNOWBALL_LANGUAGES = (
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "hungarian",
    "italian", "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish",
)

# name -> human description; "snowball-<language>" names are added below.
STEMMERS = {
    "none": "no stemming",
    "porter": "Porter, with NLTK's extensions (nltk PorterStemmer default mode)",
    "porter-original": "Porter's original 1980 algorithm (nltk ORIGINAL_ALGORITHM)",
    "porter-martin": "Porter, Martin's extensions (nltk MARTIN_EXTENSIONS)",
    "lancaster": "Lancaster (Paice/Husk)",
}
STEMMERS.update({f"snowball-{lang}": f"Snowball, {lang}" for lang in SNOWBALL_LANGUAGES})


def _build(name: str) -> Callable[[str], str] | None:
    if name == "none":
        return None
    if name.startswith("porter"):
        from nltk.stem.porter import PorterStemmer

        mode = {
            "porter": PorterStemmer.NLTK_EXTENSIONS,
            "porter-original": PorterStemmer.ORIGINAL_ALGORITHM,
            "porter-martin": PorterStemmer.MARTIN_EXTENSIONS,
        }[name]
        return PorterStemmer(mode=mode).stem
    if name == "lancaster":
        from nltk.stem.lancaster import LancasterStemmer

        return LancasterStemmer().stem
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer(name[len("snowball-"):]).stem


@lru_cache(maxsize=None)
def get_stemmer(name: str) -> Callable[[str], str] | None:
    """The memoised stem function called `name` (see STEMMERS), or None for "none".

    One instance and one cache per name and process: every analyzer using "porter" shares them.
    The cache holds at most STEM_CACHE_LIMIT words (read at each miss, so tests can lower it).
    """
    if name in SNOWBALL_LANGUAGES:
        name = f"snowball-{name}"
    if name not in STEMMERS:
        raise ValueError(f"unknown stemmer {name!r}; choose one of {', '.join(sorted(STEMMERS))}")
    stem = _build(name)
    if stem is None:
        return None
    cache: dict[str, str] = {}

    def memo_stem(word: str) -> str:
        try:
            return cache[word]
        except KeyError:
            if len(cache) >= STEM_CACHE_LIMIT:
                cache.clear()
            result = cache[word] = stem(word)
            return result

    memo_stem.cache = cache  # type: ignore[attr-defined]  # for memory accounting and tests
    return memo_stem
