"""Stop word lists, available offline.

English uses the classic 33-word list of Lucene's EnglishAnalyzer (the list the published BM25
baselines use). Two longer English lists can be chosen by name to compare or to suit verbose
queries: "english-nltk" (the 179 words of nltk's English stopwords corpus, kept here so that no
nltk data is needed) and "english-large" (the `stop-words` package's merged English list, 1,333
words, some of them content words such as "computer" and "system"). The other languages come
from the `stop-words` package, which ships its lists as files inside the package: nothing is
downloaded, no nltk data is needed.
"""
from __future__ import annotations

from functools import lru_cache

ENGLISH = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)


# nltk's English stopwords corpus (the list bm25s calls STOPWORDS_EN_PLUS), as data.
ENGLISH_NLTK = frozenset("""
a about above after again against ain all am an and any are aren aren't as at be because been before
being below between both but by can couldn couldn't d did didn didn't do does doesn doesn't doing don
don't down during each few for from further had hadn hadn't has hasn hasn't have haven haven't having
he her here hers herself him himself his how i if in into is isn isn't it it's its itself just ll m ma
me mightn mightn't more most mustn mustn't my myself needn needn't no nor not now o of off on once only
or other our ours ourselves out over own re s same shan shan't she she's should should've shouldn
shouldn't so some such t than that that'll the their theirs them themselves then there these they this
those through to too under until up ve very was wasn wasn't we were weren weren't what when where
which while who whom why will with won won't wouldn wouldn't y you you'd you'll you're you've your
yours yourself yourselves""".split())

# The names stopwords() knows besides the `stop-words` package's languages.
ENGLISH_LISTS = ("english", "english-nltk", "english-large")


@lru_cache(maxsize=None)
def stopwords(language: str) -> frozenset[str]:
    """The stop word set for `language` ("english", "german", ...; "none" is empty)."""
    if language == "none":
        return frozenset()
    if language == "english":
        return ENGLISH
    if language == "english-nltk":
        return ENGLISH_NLTK
    import stop_words

    if language == "english-large":
        language = "english"

    try:
        words = stop_words.get_stop_words(language)
    except stop_words.StopWordError as exc:
        raise ValueError(f"no stop word list for {language!r}: {exc}") from None
    return frozenset(w.lower() for w in words)
