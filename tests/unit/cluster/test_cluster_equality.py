"""A sharded index answers like one index holding the same documents: the same documents with the
same float32 scores (only equal scores may come in another order), the same totals, fields,
passages and snippets, for generated queries of every kind and every search option, on 2, 3 and 7
shards. Both indexes are written the same way (adds, updates and deletes in several commits),
the sharded one through the ShardedWriter; these shards are searched in this process (the same
phases that Dask actors answer: test_cluster_dask.py)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from searchlib import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Index, Schema
from searchlib.cluster import ShardedIndex, shard_of
from searchlib.cluster.layout import TopManifest, shard_dir_name, write_top

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey", "kiwi", "lemon", "mango",
         "nut", "olive", "pear", "quince", "the", "of", "apricot", "cherries", "grapes"]
TAGS = ["red", "green", "blue"]


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True, boost=2.0),
                  body=TEXT(analyzer="english", stored=True, passages="paragraph"), tags=KEYWORD(lowercase=True),
                  year=NUMERIC(stored=True), when=DATETIME())


def _text(rng: random.Random, n: int) -> str:
    return " ".join(WORDS[min(int(rng.expovariate(0.2)), len(WORDS) - 1)] for _ in range(n))


def document(rng: random.Random, i: int) -> dict:
    doc = {"id": f"d{i}", "title": _text(rng, rng.randint(1, 4)),
           "body": "\n\n".join(_text(rng, rng.randint(2, 25)) for _ in range(rng.randint(1, 3))),
           "tags": " ".join(rng.sample(TAGS, rng.randint(0, 2))), "year": 1990 + rng.randrange(30)}
    if i % 3:
        doc["when"] = f"20{10 + i % 10}-0{1 + i % 9}-1{i % 10}"
    return doc


def write(writer_factory, seed: int = 11, n: int = 360) -> None:
    """The same adds, updates and deletes in three commits, whatever the writer."""
    rng = random.Random(seed)
    for batch in range(3):
        with writer_factory() as w:
            for i in range(batch * n // 3, (batch + 1) * n // 3):
                w.add(document(rng, i))
            for _ in range(15):
                w.update(document(rng, rng.randrange((batch + 1) * n // 3)))
            for _ in range(10):
                w.delete(f"d{rng.randrange((batch + 1) * n // 3)}")


def create_sharded(path, schema: Schema, shards: int) -> ShardedIndex:
    """An empty sharded index (what build() makes from no documents, without Dask)."""
    path.mkdir()
    dirs = [shard_dir_name(1, i) for i in range(shards)]
    gens = [Index.create(path / d, schema).generation for d in dirs]
    write_top(path, TopManifest(1, 1, dirs, gens))
    return ShardedIndex(path)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("one") / "ix", schema())
    write(ix.writer)
    with ix.searcher() as s:
        yield s


def sharded_searcher(tmp_path_factory, shards: int):
    ix = create_sharded(tmp_path_factory.mktemp(f"sharded{shards}") / "ix", schema(), shards)
    write(ix.writer)
    return ix.searcher()


@pytest.fixture(scope="module", params=[2, 3, 7])
def sharded(request, tmp_path_factory):
    s = sharded_searcher(tmp_path_factory, request.param)
    yield s
    s.close()


def generated_queries(seed: int, count: int) -> list[str]:
    """Query text of every kind: words (OR, AND), fielded words, phrases (exact, sloppy), prefix,
    wildcard, fuzzy, ranges (numeric, dates, terms), keywords, field:*, boosts, negation, groups."""
    rng = random.Random(seed)
    w = lambda: rng.choice(WORDS)  # noqa: E731
    kinds = [
        lambda: w(),
        lambda: f"{w()} {w()} {w()}",
        lambda: f"{w()} AND {w()}",
        lambda: f"title:{w()} body:{w()}",
        lambda: f'"{w()} {w()}"',
        lambda: f'"{w()} {w()} {w()}"~3',
        lambda: f"{rng.choice(['a', 'ch', 'gr', 'pe', 'q'])}*",
        lambda: f"body:{rng.choice(['?ig', 'm*o', '*e', 'ap*t'])}",
        lambda: f"{rng.choice(['apl', 'lemmon', 'kiwi', 'grap'])}~{rng.choice([1, 2])}",
        lambda: f"{w()} year:[{rng.randint(1985, 2015)} TO {rng.randint(2000, 2025)}]",
        lambda: f"{w()} when:[2012-01-01 TO 2016-12-31]",
        lambda: f"title:[c TO k] {w()}",
        lambda: f"tags:{rng.choice(TAGS)} {w()}",
        lambda: f"{w()}^3 {w()} -{w()}",
        lambda: f"({w()} OR {w()}) AND NOT tags:red",
        lambda: f"tags:* {w()}",
        lambda: f"+{w()} {w()}~1 {rng.choice(['a', 'g'])}*",
    ]
    return [kinds[i % len(kinds)]() for i in range(count)]


OPTIONS = [
    {},
    {"limit": 25},
    {"offset": 7, "limit": 6},
    {"group": False, "limit": 15},
    {"filter": {"tags": "green"}},
    {"filter": "year:[1995 TO 2010]", "limit": 12},
    {"sort_by": "year", "limit": 12},
    {"sort_by": "year", "reverse": True, "offset": 3},
    {"sort_by": "id", "limit": 9},
    {"sort_by": "when", "reverse": True},
    {"operator": "AND"},
    {"fields": {"title": 3.0, "body": 1.0}},
    {"k1": 0.9, "b": 0.4},
    {"max_expansions": 3},
    {"passages": 3, "formatter": "plain"},
    {"highlight": {"fragment_chars": 40, "max_fragments": 2, "separator": " | "}},
    {"highlight": False, "limit": 12},
    {"proximity": 0.2, "fields": {"title": 2.0, "body": 1.0}},
]


def assert_same(one, many, options: dict) -> None:
    """Same total, same float32 scores rank by rank, the same documents except among equal
    scores (or equal sort values) at the page's edges, and identical hits where both have them."""
    assert many.total == one.total
    assert many.warnings == one.warnings
    assert len(many) == len(one)
    assert np.array_equal(np.float32([h.score for h in one]), np.float32([h.score for h in many])) or \
        options.get("sort_by"), ([(h.id, h.score) for h in one], [(h.id, h.score) for h in many])
    assert [h.rank for h in many] == [h.rank for h in one]
    if options.get("sort_by") == "id":
        assert [h.id for h in many] == [h.id for h in one]
    elif options.get("sort_by") == "year":
        assert [h.fields.get("year") for h in many] == [h.fields.get("year") for h in one]
    elif options.get("collapse"):  # a group's best hit may be another of equal score: compared by group
        pass
    elif not options.get("sort_by") and len(one):
        edge = {one[0].score, one[-1].score}  # ties can cross these cuts
        assert {(h.id, h.score) for h in one if h.score not in edge} == \
            {(h.id, h.score) for h in many if h.score not in edge}
    theirs = {(h.id, h.passages[0].index if h.passages and not options.get("group", True) else 0): h for h in one}
    for h in many:
        key = (h.id, h.passages[0].index if h.passages and not options.get("group", True) else 0)
        if key in theirs:
            mine = theirs[key]
            assert np.float32(h.score) == np.float32(mine.score)
            assert (h.fields, h.snippet, [p.to_dict() for p in h.passages]) == \
                (mine.fields, mine.snippet, [p.to_dict() for p in mine.passages]), h.id


def test_generated_queries_score_as_one_index(single, sharded):
    queries = generated_queries(5, 68)
    for i, q in enumerate(queries):
        options = OPTIONS[i % len(OPTIONS)]
        assert_same(single.search(q, **options), sharded.search(q, **options), options)


def test_search_many_answers_as_search_one_by_one(single, sharded):
    queries = generated_queries(9, 30)
    for options in ({}, {"group": False, "limit": 5}, {"sort_by": "id", "offset": 2}):
        for q, res in zip(queries, sharded.search_many(queries, **options)):
            assert_same(single.search(q, **options), res, options)


def test_every_document_lives_in_the_shard_its_key_routes_to(single, sharded):
    assert sharded.doc_count() == single.doc_count()
    docs = sorted(sharded.documents(), key=lambda d: d["id"])
    assert docs == sorted(single.documents(), key=lambda d: d["id"])
    n = sharded.top.shards
    for shard, count in enumerate(sharded.shard_counts()):
        with Index(count["path"]).searcher() as s:
            assert all(shard_of(d["id"], n) == shard for d in s.documents())


def test_pages_and_expansion_warnings_match(single, sharded):
    for page in (1, 2, 5):
        a = single.search_page("apple OR pear", page, page_size=7)
        b = sharded.search_page("apple OR pear", page, page_size=7)
        assert (a.page_count, a.total) == (b.page_count, b.total)
        assert np.array_equal(np.float32([h.score for h in a]), np.float32([h.score for h in b]))
    with pytest.warns(UserWarning, match="max_expansions=1"):
        res = sharded.search("a*", max_expansions=1)
    assert res.warnings == single.search("a*", max_expansions=1).warnings


def test_index_open_of_a_sharded_directory_has_the_index_api(sharded, single):
    ix = Index.open(sharded.path)
    assert isinstance(ix, ShardedIndex)
    res = ix.search("cherry pie", limit=3)
    assert np.array_equal(np.float32([h.score for h in res]),
                          np.float32([h.score for h in single.search("cherry pie", limit=3)]))
    stats = ix.stats()
    assert stats["documents"] == single.doc_count() and len(stats["shards"]) == sharded.top.shards


def test_explain_on_the_shard_that_holds_the_document_gives_its_score(single, sharded):
    for q in ("apple pear", '"cherry date"~2 fig', "gr*", "title:lemon kiwi"):
        for hit in sharded.search(q, limit=3):
            explained = sharded.explain(q, hit.id)
            assert np.float32(explained.value) == np.float32(hit.score)
            assert np.float32(explained.value) == np.float32(single.explain(q, hit.id).value)


MERGED_OPTIONS = [
    {"facets": ["tags", "year"]},
    {"facets": ["tags", "id"], "facet_limit": 2, "limit": 5},
    {"facets": {"year": [(None, 2000), (2000, 2010), (2010, None), (2000, 2010)], "when": "month"}},
    {"facets": {"year": 5, "when": "quarter", "tags": None}, "filter": "year:[1995 TO 2015]"},
    {"facets": {"when": None, "year": None}, "facet_limit": 3},
    {"facets": ["tags", "year"], "post_filter": {"tags": "red"}},
    {"facets": {"tags": None, "year": 10}, "post_filter": {"tags": ["red", "blue"], "year": (1995, 2005)}},
    {"post_filter": "title:apple OR body:pear", "limit": 8},
    {"collapse": "tags"},
    {"collapse": "tags", "offset": 1, "limit": 2, "facets": ["tags"]},
    {"collapse": "id", "limit": 7},
    {"collapse": "tags", "filter": {"year": (2000, None)}, "post_filter": {"tags": "green"}},
    {"collapse": "tags", "sort_by": "year", "limit": 6},
    {"collapse": "tags", "sort_by": "year", "reverse": True, "offset": 1, "limit": 4},
    {"collapse": "tags", "group": False, "limit": 8},
    {"suggest": True},
    {"suggest": 50, "limit": 3},
]


def assert_same_extras(one, many) -> None:
    """Facets, groups, each hit's group and size, and the suggestion as one index's."""
    assert many.facets == one.facets
    assert many.groups == one.groups
    assert many.suggestion == one.suggestion
    sizes = {h.group_value: h.group_size for h in one}
    alone = {h.id: h.group_size for h in one if h.group_value is None}  # a group of one document
    for h in many:
        assert (h.group_size is None) == (one.groups is None)
        if h.group_value is not None and h.group_value in sizes:
            assert h.group_size == sizes[h.group_value]
        elif h.group_value is None and h.id in alone:
            assert h.group_size == alone[h.id]


def test_facets_post_filter_collapse_and_suggest_merge_as_one_index(single, sharded):
    queries = generated_queries(13, 42) + ["lemmon", "aple pear", "title:banan", "zzzz", "chery~1", "apple"]
    suggested = grouped = 0
    for i, q in enumerate(queries):
        for options in MERGED_OPTIONS[i % 3::3]:
            one, many = single.search(q, **options), sharded.search(q, **options)
            assert_same(one, many, options)
            assert_same_extras(one, many)
            if options.get("collapse") and len(one):
                edge = {one[0].score, one[-1].score}  # equal scores may come in another order
                assert sorted((h.score, str(h.group_value), h.group_size) for h in many if h.score not in edge) \
                    == sorted((h.score, str(h.group_value), h.group_size) for h in one if h.score not in edge)
                grouped += 1
            suggested += one.suggestion is not None
    assert suggested and grouped  # the checks above compared something


def test_search_many_merges_facets_and_groups(single, sharded):
    queries = generated_queries(17, 20)
    for options in ({"facets": ["tags"], "collapse": "tags", "limit": 4}, {"facets": {"year": 10}, "suggest": True}):
        for q, res in zip(queries, sharded.search_many(queries, **options)):
            one = single.search(q, **options)
            assert_same(one, res, options)
            assert_same_extras(one, res)


def test_sharded_suggest_ranks_by_summed_frequencies(single, sharded):
    for text in ("lemmon pie", "aple", "title:banan grapes", "chery"):
        assert sharded.suggest(text) == single.suggest(text)


def test_bad_facet_and_suggest_options_are_refused_as_on_one_index(sharded):
    from searchlib import InvalidArgumentError, SchemaError
    with pytest.raises(InvalidArgumentError, match="facet_limit"):
        sharded.search("apple", facets=["tags"], facet_limit=0)
    with pytest.raises(InvalidArgumentError, match="suggest"):
        sharded.search("apple", suggest=0)
    with pytest.raises(SchemaError, match="cannot collapse on 'title'"):
        sharded.search("apple", collapse="title")
    with pytest.raises(SchemaError, match="cannot facet on 'title'"):
        sharded.search("apple", facets=["title"])
