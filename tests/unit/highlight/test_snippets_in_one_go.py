"""Tests for the batched snippet paths a search takes: rendering every hit's snippet in one go
(highlight.rendered_from_arrays) and gathering every word's postings at once (search/marks.py)."""
from __future__ import annotations

import random

import numpy as np
import pytest

import searchlib.search.marks as marks_module
from searchlib import ID, TEXT, Index, Schema
from searchlib.highlight import AnsiFormatter, Formatter, HtmlFormatter, rendered_from_arrays, snippets_from_arrays

WORDS = ["alpha", "beta", "gamma", "delta", "épsilon", "zeta", "eta", "theta", "<b>", "a&b", "x'y"]
GAPS = [" ", " ", " ", ". ", "\n", "  ", " \n ", "\t", "\x1b[31m", "\x07 ", "\u00a0", "\u2028"]


def _texts_and_marks(seed: int):
    """Random texts of words and odd whitespace (newlines, runs, tabs, escape sequences, controls),
    and marks on some of their words, as the arrays a search gives."""
    rng = random.Random(seed)
    texts, hit, starts, ends, keys = [], [], [], [], []
    for t in range(12):
        parts, at = [], 0
        for _ in range(rng.randrange(0, 120)):
            word = rng.choice(WORDS)
            if rng.random() < 0.2:
                hit.append(t)
                starts.append(at)
                ends.append(at + len(word))
                keys.append(1 << WORDS.index(word))
            gap = rng.choice(GAPS)
            parts += (word, gap)
            at += len(word) + len(gap)
        texts.append("".join(parts))
    n = len(hit)
    return texts, (np.array(hit, np.int64), np.array(starts, np.int64), np.array(ends, np.int64),
                   np.array(keys, np.uint64), np.zeros(n), np.linspace(1.0, 2.0, len(WORDS)))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("formatter, separator", [
    ("html", " … "), ("plain", " | "), (AnsiFormatter(), " … "), (Formatter(), "\n"),
    (HtmlFormatter("b", "hit"), "\x03"),  # a separator the one-go path cannot use
])
def test_rendered_in_one_go_equals_each_snippet_rendered(seed, formatter, separator):
    texts, arrays = _texts_and_marks(seed)
    for fragment_chars, max_fragments in [(200, 3), (40, 2), (15, 5)]:
        options = dict(fragment_chars=fragment_chars, max_fragments=max_fragments)
        expected = [s.render(formatter, separator) for s in snippets_from_arrays(texts, *arrays, **options)]
        assert rendered_from_arrays(texts, *arrays, **options, formatter=formatter, separator=separator) == expected


def test_rendered_in_one_go_with_spans():
    texts, arrays = _texts_and_marks(99)
    spans = [(0, len(t)) if i % 2 else (0, len(t) // 2 + 1) for i, t in enumerate(texts)]
    hit, starts, ends = arrays[:3]
    inside = ends <= np.array([spans[h][1] for h in hit.tolist()], dtype=np.int64)
    arrays = tuple(a[inside] for a in arrays[:5]) + (arrays[5],)
    expected = [s.render() for s in snippets_from_arrays(texts, *arrays, spans=spans)]
    assert rendered_from_arrays(texts, *arrays, spans=spans) == expected


def test_marks_are_the_same_gathered_or_word_by_word(tmp_path, monkeypatch):
    """FieldMarks.of gathers the postings of all query words when they are few, else searches each
    word's list: the same marks either way (in any order)."""
    rng = random.Random(5)
    vocab = ["w%d" % i for i in range(30)]
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        for d in range(200):
            words = [rng.choice(vocab[: 5 + d % 25]) for _ in range(rng.randrange(1, 40))]
            w.add({"id": str(d), "body": " ".join(words)})
    found = {}
    with ix.searcher() as s:
        for limit in (0, 10**9):
            monkeypatch.setattr(marks_module, "_GATHERED_POSTINGS", limit)
            got = []
            for query in ["w1 w7 w20", "w0", "w3 w4 w5 w6 w28 w29", "w2 -w3"]:
                hits = s.search(query, limit=20)
                fm = hits[0]._source.field_marks(0, "body")
                for units in ([h._row[2] for h in hits], list(range(0, 200, 7)), [199, 3, 150, 0]):
                    which, marks = fm.of(np.array(units, dtype=np.int64))
                    got.append(sorted(zip(which.tolist(), *(m.tolist() for m in marks))))
            found[limit] = got
    assert found[0] == found[10**9]
    assert all(found[0])
