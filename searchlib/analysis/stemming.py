"""Stemmers from nltk, one instance per name and process.

Stemmers are not memoised here: the callers cache whole chains per word instead (a fused
analyzer's word cache, `Analyzer.term`, shared with every field using the same preset or spec;
an index writer's word numbering, indexing.analyze.FieldAnalysis), so a second cache of the same
words would only cost memory.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

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
    """The stem function called `name` (see STEMMERS), or None for "none"; one per name and process."""
    if name in SNOWBALL_LANGUAGES:
        name = f"snowball-{name}"
    if name not in STEMMERS:
        raise ValueError(f"unknown stemmer {name!r}; choose one of {', '.join(sorted(STEMMERS))}")
    return _build(name)
