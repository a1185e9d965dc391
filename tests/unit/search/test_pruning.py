"""Dynamic pruning (search/prune.py) against exhaustive evaluation: on generated multi-segment
indexes with deletions and generated queries, a pruned search returns the same top k with the
same float32 scores as `exact_total=True` (which scores every posting), reports its total as a
lower bound only beyond the threshold, and the block bounds written at flush and merge are those
of the postings."""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from searchlib import ID, KEYWORD, TEXT, Index, Schema
from searchlib.search import prune
from searchlib.storage.blocks import BLOCK, block_bounds

WORDS = [f"w{i}" for i in range(40)]
WEIGHTS = [1 / (i + 1) ** 1.1 for i in range(40)]


def _index(path, seed: int, commits: int, docs: int, merge: bool):
    """`commits` commits of `docs` documents each (Zipf-like words, long and short documents),
    each deleting some documents of the one before; merged into one segment with `merge`."""
    rng = random.Random(seed)
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="standard", boost=1.5),
                    body=TEXT(analyzer="standard"), tags=KEYWORD())
    ix = Index.create(path, schema)
    for c in range(commits):
        with ix.writer(merge_factor=100) as w:
            for i in range(docs):
                w.add({"id": f"{c}-{i}", "title": " ".join(rng.choices(WORDS, WEIGHTS, k=rng.randint(1, 6))),
                       "body": " ".join(rng.choices(WORDS, WEIGHTS, k=rng.choice([3, 20, 120]))),
                       "tags": rng.choice(["a", "b", "a b"])})
            for i in range(0, docs, rng.randint(3, 9)):
                w.delete(f"{max(c - 1, 0)}-{i}")
    if merge:
        ix.optimize()
    return ix


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    base = tmp_path_factory.mktemp("pruning")
    return [_index(base / "segments", 3, 4, 700, False), _index(base / "merged", 5, 3, 900, True)]


@pytest.fixture(autouse=True)
def prune_small_lists(monkeypatch):
    # the generated indexes are small: prune them anyway, in windows small enough to skip some
    monkeypatch.setattr(prune, "MIN_POSTINGS", 50)
    monkeypatch.setattr(prune, "WINDOW", 16)
    monkeypatch.setattr(prune, "MOST_READ", 1.0)


QUERY = st.lists(st.sampled_from(WORDS + ["absent"]), min_size=1, max_size=8).map(" ".join)
FIELDS = st.sampled_from([None, ["body"], ["title"], {"title": 3.0, "body": 0.5}])


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 1), words=QUERY, fields=FIELDS, limit=st.sampled_from([1, 3, 10, 50]),
       offset=st.sampled_from([0, 0, 5]), params=st.sampled_from([(None, None), (0.0, None), (2.0, 0.0), (0.9, 1.0)]),
       boost=st.sampled_from(["", "^2"]), threshold=st.sampled_from([0, 100, 1000]),
       scoring=st.sampled_from(["bm25", "bm25", "robertson", "bm25l", "bm25+"]))
def test_pruned_search_equals_exhaustive(indexes, words, which, fields, limit, offset, params, boost, threshold,
                                         scoring):
    ix = indexes[which]
    q = f"({words}){boost}" if boost else words
    k1, b = params
    with ix.searcher() as s:
        # proximity off: its pairs are phrases, which are scored in full (search/prune.py)
        pruned = s.search(q, limit=limit, offset=offset, fields=fields, k1=k1, b=b, highlight=False,
                          exact_total=False, total_threshold=threshold, scoring=scoring, proximity=0)
        full = s.search(q, limit=limit, offset=offset, fields=fields, k1=k1, b=b, highlight=False, exact_total=True,
                        scoring=scoring, proximity=0)
    assert [(h.id, h.score) for h in pruned] == [(h.id, h.score) for h in full]
    assert full.total_is_exact
    if pruned.total_is_exact:
        assert pruned.total == full.total
    else:
        assert threshold <= pruned.total <= full.total


def test_pruning_happens_and_skips_postings(indexes, monkeypatch):
    """Not a vacuous equality: on frequent words most searches prune, and read fewer documents."""
    ix = indexes[1]
    pruned = 0
    with ix.searcher() as s:
        for q in ["w0", "w0 w1", "w0 w1 w2 w5", "w1 w30"]:
            res = s.search(q, limit=5, highlight=False, exact_total=False, total_threshold=10, proximity=0)
            pruned += not res.total_is_exact
            assert res.total <= s.search(q, limit=5, highlight=False, exact_total=True, proximity=0).total
        # with proximity's pairs a query of several words is scored in full
        assert s.search("w0 w1", limit=5, highlight=False, exact_total=False, total_threshold=10,
                        proximity=0.1).total_is_exact
    assert pruned >= 3


def test_filters_sorting_and_exact_totals_do_not_prune(indexes):
    ix = indexes[0]
    with ix.searcher() as s:
        for options in ({"filter": "tags:a", "exact_total": False}, {"sort_by": "id", "exact_total": False},
                        {}):  # {}: exact totals are the default
            res = s.search("w0 w1", limit=3, highlight=False, total_threshold=0, **options)
            assert res.total_is_exact


def test_block_bounds_are_those_of_the_postings(indexes):
    """What flush and merge wrote, against the bounds recomputed one posting at a time."""
    for ix in indexes:
        with ix.searcher() as s:
            for reader in s.readers:
                fr = reader.fields["body"]
                bptr, bmax = block_bounds(fr.ptr, fr.unit, fr.tf, fr.lengths)
                assert np.array_equal(bptr, fr.block_ptr) and np.array_equal(bmax, fr.block_max)
                for tid in range(0, len(fr.dictionary), 7):
                    a, b = int(fr.ptr[tid]), int(fr.ptr[tid + 1])
                    for j, start in enumerate(range(a, b, BLOCK)):
                        end = min(start + BLOCK, b)
                        row = fr.block_max[int(fr.block_ptr[tid]) + j]
                        assert row[0] == fr.tf[start:end].max()
                        assert row[1] == fr.lengths[fr.unit[start:end]].min()
