"""The batch path of the writer's analysis (analysis.distinct + SpanFinder.tokens, used by
FieldAnalysis when analyze.BATCH_TOKENS is on) against the per-text regex paths it replaces:
same words, same ids in the same numbering, same offsets, same index bytes."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchlib import ID, TEXT, Index, Schema
from searchlib.analysis import Analyzer, LowercaseFilter, RegexTokenizer, WhitespaceTokenizer
from searchlib.analysis.analyzers import PRESETS, _build_analyzer
from searchlib.analysis.distinct import MAX_COLUMNS, distinct_words
from searchlib.analysis.spans import SpanFinder
from searchlib.analysis.tokenizers import WORD_PATTERN
from searchlib.indexing import analyze, buffer
from searchlib.indexing.analyze import FieldAnalysis

# word characters of several scripts, digits, apostrophes, separators, spaces, combining marks,
# astral and lone-surrogate code points, NUL; plus runs of one letter long enough for every key width
_PIECES = st.one_of(
    st.text(st.sampled_from(list("ab1 9.,'’_-\n\t\0") + ["é", "ß", "Ω", "ж", "٣", "१", "中", "\u0301", "\u00a0",
                                                          "\U0001d400", "\U0001f600", "\ud800", "²", "ǅ"]),
            max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "Ж", "中", "\U0001d400", "9"]), st.integers(1, 70)),
    st.sampled_from(["Don't", "don’t", "1.5a", "a1.5", "x'1.5", "3,000.25", "1..2", "THE", "The", "the", "running"]),
)
_TEXTS = st.lists(st.lists(_PIECES, max_size=6).map(" ".join), max_size=8)


def _found_words(pattern: str, texts: list[str]) -> list[str]:
    return [w for t in texts for w in re.findall(pattern, t)]


def _check_distinct(found, expected: list[str]) -> None:
    words, which = distinct_words(found)
    assert words == list(dict.fromkeys(expected))  # distinct, in order of first occurrence
    assert [words[i] for i in which.tolist()] == expected


@pytest.mark.parametrize("pattern", [WORD_PATTERN, r"\S+"])
@settings(max_examples=300, deadline=None)
@given(texts=_TEXTS)
def test_distinct_words_are_the_tokens_words_in_order_of_first_occurrence(pattern, texts):
    found = SpanFinder.for_pattern(pattern).tokens(texts)
    expected = _found_words(pattern, texts)
    _check_distinct(found, expected)
    _check_distinct(dataclasses.replace(found, units=None), expected)  # every token as a string


def test_keys_of_every_width_and_longer_tokens():
    words = ["a" * n for n in range(1, 8 * MAX_COLUMNS + 12)] + ["ab" * 20, "ab" * 20 + "c", "Ж" * 5, "Ж" * 6]
    texts = [" ".join(words), " ".join(reversed(words)), " ".join(words[::3])]
    found = SpanFinder.for_pattern(WORD_PATTERN).tokens(texts)
    assert found.units.dtype == np.uint8
    _check_distinct(found, _found_words(WORD_PATTERN, texts))


def test_many_distinct_characters_take_two_byte_units_or_strings():
    wide = "".join(chr(0x4E00 + i) for i in range(400))  # CJK letters: 400 distinct non-ASCII word characters
    texts = [" ".join(wide[i:i + 7] for i in range(0, 400, 7)), wide[::-1][:9] + " " + wide[:9] + " abc"]
    found = SpanFinder.for_pattern(WORD_PATTERN).tokens(texts)
    assert found.units.dtype == np.uint16
    _check_distinct(found, _found_words(WORD_PATTERN, texts))
    letters = [chr(c) for c in range(0x20000, 0x30000)]  # more distinct code points than two bytes number
    texts = [" ".join("".join(letters[i:i + 3]) for i in range(0, len(letters), 3))]
    found = SpanFinder.for_pattern(WORD_PATTERN).tokens(texts)
    assert found.units is None
    _check_distinct(found, _found_words(WORD_PATTERN, texts))


def test_nul_inside_whitespace_tokens_is_compared_as_strings():
    texts = ["a\0 a a\0\0 \0a a", "\0 \0\0"]
    found = SpanFinder.for_pattern(r"\S+").tokens(texts)
    assert found.units is None
    _check_distinct(found, _found_words(r"\S+", texts))
    assert SpanFinder.for_pattern(WORD_PATTERN).tokens(texts).units is not None  # NUL is in no word


_ANALYZERS = {"english": lambda: _build_analyzer(PRESETS["english"]),
              "standard": lambda: _build_analyzer(PRESETS["standard"]),
              "whitespace": lambda: Analyzer(WhitespaceTokenizer(), [LowercaseFilter()])}


def _runs(analyzer: str, stored: bool, batches: list[list[str]], batch_tokens: bool, mp, passages=None) -> list:
    """Every field of the TextBatches a new FieldAnalysis makes of `batches`, and the stems it logs."""
    mp.setattr(analyze, "BATCH_TOKENS", batch_tokens)
    fa = FieldAnalysis(TEXT(analyzer=_ANALYZERS[analyzer](), stored=stored, passages=passages))
    assert fa._spans is not None
    fa.analyzer.log_stems()
    out = []
    for texts in batches:
        b = fa.run(texts)
        out.append((b.source[1], b.first_term, b.new_terms, b.ids.dtype, b.ids.tolist(), b.counts.dtype,
                    b.counts.tolist(), b.owner.dtype, b.owner.tolist(),
                    None if b.spans is None else (b.spans.dtype, b.spans.tolist()), b.last,
                    None if b.offsets is None else (b.offsets.dtype, b.offsets.tolist()), fa.analyzer.logged_stems()))
    return out


@pytest.mark.parametrize("stored", [True, False])
@pytest.mark.parametrize("analyzer", sorted(_ANALYZERS))
@settings(max_examples=120, deadline=None)
@given(batches=st.lists(_TEXTS, min_size=1, max_size=4), limit=st.sampled_from([5, 40, 1_000_000]))
def test_batches_equal_the_per_text_paths(analyzer, stored, batches, limit):
    """ids, counts, offsets, new terms, numbering epochs and the stems handed to other processes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analyze, "WORD_CACHE_LIMIT", limit)
        assert _runs(analyzer, stored, batches, True, mp) == _runs(analyzer, stored, batches, False, mp)


# texts of paragraphs and sentences: pieces joined by spaces, sentence ends and blank lines
_SPLIT_TEXTS = st.lists(st.lists(st.tuples(st.lists(_PIECES, max_size=5).map(" ".join),
                                           st.sampled_from([" ", ". ", "! ", "\n\n", "\n \n", "\n"])),
                                 max_size=6).map(lambda parts: "".join(a + b for a, b in parts)), max_size=6)


@pytest.mark.parametrize("passages", ["paragraph", "sentences"])
@pytest.mark.parametrize("analyzer", ["english", "whitespace"])
@settings(max_examples=100, deadline=None)
@given(batches=st.lists(_SPLIT_TEXTS, min_size=1, max_size=3), stored=st.booleans(),
       limit=st.sampled_from([5, 1_000_000]))
def test_split_fields_batches_equal_the_per_passage_paths(analyzer, passages, batches, stored, limit):
    """A field split into paragraphs or sentences: its passages analysed as one batch give the
    per-passage path's ids, counts, owners, spans, offsets, terms and stems."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analyze, "WORD_CACHE_LIMIT", limit)
        assert _runs(analyzer, stored, batches, True, mp, passages) == _runs(analyzer, stored, batches, False, mp, passages)


def test_other_tokenizers_keep_the_per_text_path():
    fa = FieldAnalysis(TEXT(analyzer=Analyzer(RegexTokenizer(r"\w+"), [LowercaseFilter()])))
    assert fa._spans is None
    assert fa.run(["Ab cd ab"]).ids.tolist() == [0, 1, 0]


def _corpus() -> list[dict]:
    rng = np.random.default_rng(13)
    pieces = ["the", "The", "of", "running", "runs", "Don't", "don’t", "1.5", "1.5a", "a1.5", "3,000", "x'1.5",
              "ωmega", "Straße", "naïve", "nai\u0308ve", "中文", "日本語テキスト", "é\u0301", "\U0001d400bc",
              "supercalifragilisticexpialidocious" * 2, "pneumonoultramicroscopicsilicovolcanoconiosis", "", "\t\n"]
    docs = []
    for i in range(400):
        words = rng.choice(pieces, size=int(rng.integers(0, 40)))
        body = " ".join(words) + " " + " ".join(f"w{int(x)}" for x in rng.zipf(1.3, size=int(rng.integers(0, 30))))
        paras = "\n\n".join(" ".join(words[j:j + 5]) for j in range(0, len(words), 5))
        docs.append({"id": f"d{i}", "title": " ".join(words[:3]), "body": body, "plain": body.upper(), "paras": paras})
    return docs


def _index_bytes(path: Path, docs: list[dict]) -> dict[str, bytes]:
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(stored=True), plain=TEXT(analyzer="english"),
                    paras=TEXT(analyzer="english", stored=True, passages="paragraph"))
    ix = Index.create(path, schema)
    with ix.writer(workers=1, buffer_tokens=4000) as w:
        for doc in docs:
            w.add(doc)
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f.name != "write.lock"}


def test_index_files_are_byte_identical_with_the_per_text_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer.SegmentBuffer, "DRAIN_CHARS", 3000)  # many batches per segment
    monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 200)  # and numberings that start over
    docs = _corpus()
    fast = _index_bytes(tmp_path / "fast", docs)
    monkeypatch.setattr(analyze, "BATCH_TOKENS", False)
    slow = _index_bytes(tmp_path / "slow", docs)
    assert sum(name.endswith("meta.json") for name in fast) > 1  # several segments
    assert fast.keys() == slow.keys()
    assert [name for name in fast if fast[name] != slow[name]] == []
