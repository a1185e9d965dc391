"""The writer's lexicon (indexing/lexicon.py) orders a segment's terms exactly as sorting them as
Python strings does (code-point order), whatever arrives in which batch and flush, and its
dictionary bytes are termdict.encode's; shrinking keeps the live numberings' terms."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from searchlib.indexing.analyze import TextBatch
from searchlib.indexing.lexicon import Lexicon
from searchlib.storage.termdict import encode

# Terms of any valid code points (surrogates excluded: a term is valid Unicode), biased to shared
# prefixes so that order is decided late in the string, past the 8 bytes of a dictionary key.
_CHARS = st.characters(blacklist_categories=("Cs",))
_HEADS = st.sampled_from(["", "a", "abcdefgh", "é", "\U0001F600", "\uffff"])
_TAILS = st.text(st.sampled_from("a\x00\x7f\x80é\u0800\uffff\U00010000z"), min_size=0, max_size=10)
_TERMS = st.one_of(st.text(_CHARS, min_size=1, max_size=12), st.builds(lambda head, tail: head + tail, _HEADS, _TAILS))


def _batch(source, ids: list[int], last: bool = False) -> TextBatch:
    return TextBatch(source, 0, [], np.asarray(ids, dtype=np.int32), np.asarray([len(ids)], dtype=np.uint32),
                     np.zeros(1, dtype=np.uint32), None, last=last)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.lists(_TERMS, min_size=0, max_size=15), min_size=1, max_size=3), min_size=1, max_size=4),
       st.integers(0, 30))
def test_segments_are_ordered_as_sorted_strings(flushes, limit):
    """Each flush: batches from two numberings (sources) of terms; the segment's dictionary must be
    the sorted distinct terms its tokens use, and each token's term id its term's rank there."""
    lexicon = Lexicon()
    sources = {0: [], 1: []}  # source -> its terms by local id
    for f, batches in enumerate(flushes):
        tokens, words = [], []
        for b, terms in enumerate(batches):
            source_terms = sources[b % 2]
            local = []
            for t in terms:
                if t not in source_terms:
                    source_terms.append(t)
                local.append(source_terms.index(t))
            dropped = [-1] if b == 0 else []  # a dropped word keeps its position
            tokens.append(lexicon.token_ids(_batch((b % 2, 0), dropped + local), list(source_terms)))
            words.extend(terms)
        ids = np.concatenate(tokens)
        ids = ids[ids >= 0]
        ranked, tid = lexicon.segment(ids)
        expected = sorted(set(words))
        assert len(ranked) == len(expected)
        got = encode(ranked)
        for component, value in encode(expected).items():
            assert np.array_equal(np.asarray(got[component]), np.asarray(value)) if not isinstance(value, bytes) \
                else got[component] == value
        assert [expected[i] for i in tid.tolist()] == words
        lexicon.shrink(limit)
        assert len(lexicon) <= max(limit, sum(map(len, sources.values())))


def test_shrink_keeps_the_live_numberings_terms():
    lexicon = Lexicon()
    lexicon.token_ids(_batch((1, 0), [0, 1]), ["zeta", "alpha"])
    lexicon.token_ids(_batch((2, 0), [0], last=True), ["mu"])  # numbering (2, 0) ends
    lexicon.segment(np.array([0, 1, 2]))
    lexicon.shrink(2)
    assert sorted(lexicon.ids) == ["alpha", "zeta"]
    ids = lexicon.token_ids(_batch((1, 0), [1, 2, 0]), ["zeta", "alpha", "beta"])
    ranked, tid = lexicon.segment(ids)
    assert ranked.data == b"alpha\nbeta\nzeta\n"
    assert tid.tolist() == [0, 1, 2]
