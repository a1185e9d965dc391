"""Bad arguments to a search, and a closed searcher, give a SearchlibError that names the problem
(never a bare ValueError, TypeError or an empty result)."""
from __future__ import annotations

import math

import pytest

from searchlib import ID, TEXT, Index, Schema, SearchlibError
from searchlib.errors import InvalidArgumentError


@pytest.fixture
def ix(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "a", "body": "apple pie"})
    return ix


@pytest.mark.parametrize("options, named", [
    ({"limit": -1}, "limit"), ({"offset": -5}, "offset"), ({"limit": True}, "limit"), ({"limit": 2.5}, "limit"),
    ({"k1": -1}, "k1"), ({"k1": math.nan}, "k1"), ({"k1": True}, "k1"), ({"b": 2}, "b"),
    ({"filter": 42}, "filter"), ({"max_expansions": 0}, "max_expansions"),
])
def test_bad_search_arguments_are_named(ix, options, named):
    with ix.searcher() as s:
        with pytest.raises(InvalidArgumentError, match=named) as info:
            s.search("apple", **options)
    assert isinstance(info.value, SearchlibError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("page, page_size", [(0, 10), (1, 0), (True, 10), (1, -3)])
def test_bad_pages_are_named(ix, page, page_size):
    with ix.searcher() as s:
        with pytest.raises(InvalidArgumentError, match="page"):
            s.search_page("apple", page=page, page_size=page_size)


def test_a_closed_searcher_raises_instead_of_finding_nothing(ix):
    s = ix.searcher()
    assert s.search("apple").total == 1
    s.close()
    for call in (lambda: s.search("apple"), lambda: s.explain("apple", "a"), lambda: list(s.documents())):
        with pytest.raises(SearchlibError, match="closed"):
            call()


# -- the work one query may ask for (issue 10, item 6) ---------------------------------------------
from searchlib import QuerySyntaxError  # noqa: E402


@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize("query, setting", [
    ("apple " * 6000, "max_query_chars"),                                  # 36,000 characters
    (" ".join(f"*a{i}" for i in range(65)), "max_expanding_clauses"),     # leading wildcards
    (" ".join(f"w{i}~" for i in range(65)), "max_expanding_clauses"),     # fuzzy words
    (" OR ".join(f"w{i}" for i in range(1025)), "max_clauses"),
])
def test_query_work_is_bounded_lenient_or_not(ix, query, setting, lenient):
    with ix.searcher() as s:
        with pytest.raises(QuerySyntaxError, match=f"search.{setting}"):
            s.search(query, lenient=lenient)
        with pytest.raises(QuerySyntaxError, match=f"search.{setting}"):
            s.search("apple", filter=query.replace("~", "") if setting == "max_clauses" else query)
        with pytest.raises(QuerySyntaxError, match=f"search.{setting}"):
            s.explain(query, "a", lenient=True)
    with ix.writer() as w, pytest.raises(QuerySyntaxError, match=f"search.{setting}"):
        w.delete_by_query(query)


def test_query_limits_are_settings(tmp_path):
    from searchlib import ConfigError, Settings
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT()),
                      settings={"max_clauses": 3, "max_query_chars": 20, "max_expanding_clauses": 1})
    with ix.writer() as w:
        w.add({"id": "a", "body": "apple pie"})
    with ix.searcher() as s:
        assert s.search("apple pie cake").total == 1
        with pytest.raises(QuerySyntaxError, match="max_clauses"):
            s.search("apple pie cake tart")
        with pytest.raises(QuerySyntaxError, match="max_query_chars"):
            s.search("a" * 21)
        with pytest.raises(QuerySyntaxError, match="max_expanding_clauses"):
            s.search("ap* pi*")
    with pytest.raises(ConfigError, match="max_clauses"):
        Settings.from_json({"max_clauses": 0})
