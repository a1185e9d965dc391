"""The analyzer's readings of a word a query does not analyse in full.

`Analyzer.normalize` (prefixes, wildcards, range ends: the normalising filters only) and
`Analyzer.analyze_word` (fuzzy words: the term filters that never drop a word), per preset, for
custom chains and for analyzers rebuilt from Whoosh ones; and the query compiler reading those
words through them, whatever the filters are.
"""
from __future__ import annotations

import unicodedata

import pytest

from conftest import UpperFirst
from searchlib import NUMERIC, TEXT, Schema, parse_query
from searchlib.analysis import (Analyzer, AsciiFoldingFilter, Filter, LengthFilter, LowercaseFilter, RegexTokenizer,
                                StemFilter, StopFilter, TermFilter, get_analyzer)
from searchlib.query import compile as compile_module
from searchlib.query.compile import Compiler, ExpandLeaf, TermRangeLeaf

CUSTOM = RegexTokenizer() | AsciiFoldingFilter() | LowercaseFilter() | StopFilter("english") | LengthFilter(3, 5) \
    | StemFilter("porter")

# analyzer -> [(word, normalize(word), analyze_word(word))]
CASES = {
    "english": [
        ("Running's", "running's", "run"),  # normalize neither strips the possessive nor stems
        ("The", "the", "the"),  # a stop word is kept by both
        ("Connections", "connections", "connect"),
        ("Café", "café", "café"),  # no folding in this preset
    ],
    "standard": [
        ("Café", "café", "café"),
        ("The", "the", "the"),  # no stop words here either
        ("X" * 300, "x" * 300, "x" * 300),  # longer than the length filter's 255: not dropped
    ],
    "keyword": [
        ("Foo Bar", "Foo Bar", "Foo Bar"),  # no filters: the text as it is, not split
        ("Café", "Café", "Café"),
    ],
    "german": [  # a Snowball language
        ("Häuser", "häuser", "haus"),
        ("und", "und", "und"),  # a German stop word, kept
        ("STRASSE", "strasse", "strass"),
    ],
    "custom": [
        ("CAFÉS", "cafes", "cafe"),  # folded and lower-cased in chain order; stemmed by analyze_word only
        ("The", "the", "the"),
        ("Connections", "connections", "connect"),  # longer than LengthFilter(3, 5): kept
        ("ab", "ab", "ab"),  # shorter: kept
    ],
}


def _analyzer(name: str) -> Analyzer:
    return CUSTOM if name == "custom" else get_analyzer(name)


@pytest.mark.parametrize("name, word, normalized, analyzed",
                         [(name, *case) for name, cases in CASES.items() for case in cases])
def test_normalize_and_analyze_word_per_analyzer(name, word, normalized, analyzed):
    analyzer = _analyzer(name)
    assert analyzer.normalize(word) == normalized
    assert analyzer.analyze_word(word) == analyzed


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_compiler_reads_words_through_the_fields_analyzer(name):
    ft = TEXT(analyzer=_analyzer(name))
    for word, normalized, analyzed in CASES[name]:
        assert compile_module.normalize(ft, word) == normalized
        assert compile_module.analyze_word(ft, word) == analyzed


def test_a_field_without_an_analyzer_keeps_the_text():
    assert compile_module.normalize(NUMERIC(), "ABC") == "ABC"


def test_a_stream_filter_is_left_out_of_both_readings():
    analyzer = Analyzer(RegexTokenizer(), [LowercaseFilter(), UpperFirst()])
    assert [t.term for t in analyzer("Abc")] == ["ABC"]
    assert analyzer.normalize("Abc") == "abc"
    assert analyzer.analyze_word("Abc") == "abc"


class CaseFoldNfkc(TermFilter):
    """A normalising filter the query compiler has never heard of: NFKC, then casefold."""

    normalizes = True

    def map(self, term):
        return unicodedata.normalize("NFKC", term).casefold()

    def spec(self):
        return {"type": "nfkc-casefold"}


def test_a_new_normalising_filter_says_so_itself_and_queries_follow():
    analyzer = Analyzer(RegexTokenizer(), [CaseFoldNfkc(), StemFilter("porter")])
    assert analyzer.normalize("ＳＴＲＡßE") == "strasse"  # full-width letters and ß, not stemmed
    assert analyzer.analyze_word("Ｃｏｎｎｅｃｔｉｏｎｓ") == "connect"
    compiler = Compiler(Schema(body=TEXT(analyzer=analyzer)), {"body": 1.0})
    assert compiler.compile(parse_query("ＳＴＲＡß*")) == ExpandLeaf("body", "prefix", "strass")
    assert compiler.compile(parse_query("Ｓ?RA*E")) == ExpandLeaf("body", "wildcard", "s?ra*e")
    assert compiler.compile(parse_query("Ｃｏｎｎｅｃｔｉｏｎｓ~1")) == ExpandLeaf("body", "fuzzy", "connect")
    assert compiler.compile(parse_query("body:[ＡＢ TO ＣＤ]")) == TermRangeLeaf("body", "ab", "cd")


def test_a_normalising_filter_must_map_words():
    class StreamNormalizer(Filter):
        normalizes = True

        def __call__(self, tokens):
            yield from tokens

    with pytest.raises(TypeError, match="StreamNormalizer"):
        Analyzer(RegexTokenizer(), [StreamNormalizer()])


def test_readings_leave_the_fused_path_and_word_cache_alone():
    analyzer = Analyzer(RegexTokenizer(), [LowercaseFilter(), StopFilter("english"), StemFilter("porter")])
    assert analyzer.fused
    assert analyzer.normalize("Running") == "running"
    assert analyzer.analyze_word("The") == "the"
    assert analyzer._cache == {}  # the cache maps a word to its whole-chain term only
    assert analyzer.term("The") is None and analyzer.term("Running") == "run"
    assert analyzer.index_terms("The Running") == (["run"], [1])
    assert analyzer.analyze_word("The") == "the" and analyzer.normalize("Running") == "running"


def test_composed_analyzers_have_the_readings_of_their_chain():
    base = RegexTokenizer() | LowercaseFilter()
    longer = base | AsciiFoldingFilter()
    assert base.normalize("Café") == "café"
    assert longer.normalize("Café") == "cafe"


def test_analyzers_rebuilt_from_whoosh():
    wa = pytest.importorskip("whoosh.analysis")
    from whoosh.support.charset import accent_map

    from searchlib.compat.whoosh_analysis import translate_analyzer

    cases = [
        (wa.StemmingAnalyzer(), [("Running", "running", "run"), ("The", "the", "the")]),
        (wa.StandardAnalyzer(), [("Running", "running", "running"), ("A", "a", "a")]),
        (wa.RegexTokenizer() | wa.LowercaseFilter() | wa.CharsetFilter(accent_map),
         [("Café", "cafe", "cafe")]),
        (wa.KeywordAnalyzer(lowercase=True), [("Café", "café", "café")]),
    ]
    for whoosh_analyzer, words in cases:
        analyzer = get_analyzer(translate_analyzer(whoosh_analyzer).spec)
        for word, normalized, analyzed in words:
            assert analyzer.normalize(word) == normalized, (whoosh_analyzer, word)
            assert analyzer.analyze_word(word) == analyzed, (whoosh_analyzer, word)
