"""The numpy tokens of a batch (analysis.spans) against the regex they stand for."""
from __future__ import annotations

import re
from array import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchlib import TEXT
from searchlib.analysis import Analyzer, LowercaseFilter, RegexTokenizer, WhitespaceTokenizer
from searchlib.analysis.spans import PADDING, SpanFinder
from searchlib.analysis.tokenizers import WORD_PATTERN
from searchlib.indexing.analyze import FieldAnalysis

# characters that stress the pattern: word chars of several scripts, digits (ASCII and others),
# apostrophes, separators, spaces, combining marks, an astral letter, a lone surrogate
_ALPHABET = st.sampled_from(list("ab1 9.,'’_-\n\t") + ["é", "ß", "Ω", "ж", "٣", "१", "中", "\u0301", "\u00a0",
                                                         "\U0001d400", "\U0001f600", "\ud800", "²", "ǅ"])
_TEXTS = st.lists(st.text(_ALPHABET, max_size=40), max_size=8)


def _regex_spans(pattern: str, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(pattern, text)]


def _finditer_batch(fa: FieldAnalysis, texts: list[str]):
    """ids, counts and offsets of the per-token path (`_ids_offsets`), for comparison."""
    ids, starts, ends, counts = [], array("I"), array("I"), []
    for text in texts:
        unit = fa._ids_offsets(text, starts, ends)
        ids.extend(unit)
        counts.append(len(unit))
    return ids, counts, np.stack([np.frombuffer(starts, np.uint32), np.frombuffer(ends, np.uint32)], axis=1)


@pytest.mark.parametrize("pattern", [WORD_PATTERN, r"\S+"])
@settings(max_examples=300, deadline=None)
@given(texts=_TEXTS)
def test_batch_tokens_are_the_regex_matches(pattern, texts):
    found = SpanFinder.for_pattern(pattern).tokens(texts)
    assert found.text == "\n".join(texts) + "\n" * PADDING
    assert found.counts.tolist() == [len(_regex_spans(pattern, t)) for t in texts]
    assert found.offsets().tolist() == [list(span) for t in texts for span in _regex_spans(pattern, t)]
    base = np.repeat(found.bases, found.counts)
    assert [found.text[s:e] for s, e in zip(found.starts.tolist(), found.ends.tolist())] == \
        [w for t in texts for w in re.findall(pattern, t)]
    assert ((found.starts - base) >= 0).all()


@pytest.mark.parametrize("tokenizer", [RegexTokenizer, WhitespaceTokenizer])
@settings(max_examples=300, deadline=None)
@given(texts=_TEXTS)
def test_batch_offsets_equal_the_per_token_path(tokenizer, texts):
    fast = FieldAnalysis(TEXT(analyzer=Analyzer(tokenizer(), [LowercaseFilter()]), stored=True))
    slow = FieldAnalysis(TEXT(analyzer=Analyzer(tokenizer(), [LowercaseFilter()]), stored=True))
    assert fast._spans is not None
    batch = fast.run(texts)
    ids, counts, offsets = _finditer_batch(slow, texts)
    assert batch.counts.tolist() == counts
    assert batch.offsets.dtype == np.uint32 and batch.offsets.tolist() == offsets.tolist()
    terms_fast, terms_slow = list(fast.vocab), list(slow.vocab)
    assert [terms_fast[i] if i >= 0 else None for i in batch.ids.tolist()] == \
        [terms_slow[i] if i >= 0 else None for i in ids]


def test_texts_the_runs_cannot_describe_fall_back_to_the_regex():
    texts = ["pH 1.5a and a1.5", "plain words here", "x'1.5 ok", "", "don't 3,000"]
    fa = FieldAnalysis(TEXT(stored=True))
    batch = fa.run(texts)
    expected = [span for t in texts for span in _regex_spans(WORD_PATTERN, t)]
    assert batch.offsets.tolist() == [list(s) for s in expected]
    assert batch.counts.tolist() == [len(_regex_spans(WORD_PATTERN, t)) for t in texts]


def test_other_patterns_keep_the_regex_path():
    fa = FieldAnalysis(TEXT(analyzer=Analyzer(RegexTokenizer(r"\w+"), [LowercaseFilter()]), stored=True))
    assert fa._spans is None and SpanFinder.for_pattern(r"[a-z]+") is None
    assert fa.run(["ab cd"]).offsets.tolist() == [[0, 2], [3, 5]]
