"""Issue 14, item 7: a query error names the field, the value and what the field accepts, at the
column of the value, whether the parser or the compiler finds it."""
import pytest

from searchlib import DATETIME, ID, NUMERIC, TEXT, Index, QuerySyntaxError, Schema


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "ix"
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), year=NUMERIC(),
                                   date=DATETIME()))
    with ix.writer() as w:
        w.add({"id": "a", "title": "foo:bar baz", "year": 2000, "date": "2020-01-01"})
    return ix


@pytest.mark.parametrize("query, column, words", [
    ("year:abc", 6, ["field 'year' is NUMERIC", "'abc' is not a valid value", "numbers"]),
    ("foo year:abc", 10, ["'abc'"]),
    ("a (year:>abc)", 10, ["'abc'"]),
    ("year:[1990 TO abc]", 15, ["'abc'", "[2010 TO 2020]"]),
    ("date:yesterday", 6, ["field 'date' is DATETIME", "'yesterday'", "ISO 8601"]),
    ("title:x date:>=2021-13-01", 16, ["'2021-13-01'"]),
])
def test_a_value_the_field_cannot_take(ix, query, column, words):
    with ix.searcher() as s, pytest.raises(QuerySyntaxError) as info:
        s.search(query)
    assert info.value.column == column
    message = str(info.value)
    assert "could not convert" not in message
    for word in words:
        assert word in message
    with ix.searcher() as s:
        s.search(query, lenient=True)  # lenient: never raises


def test_the_same_column_from_a_filter(ix):
    with ix.searcher() as s, pytest.raises(QuerySyntaxError) as info:
        s.search("foo", filter="title:foo AND year:zz")
    assert info.value.column == 20 and "'zz'" in str(info.value)


def test_a_colon_inside_a_value_says_how_to_write_it(ix):
    with pytest.raises(QuerySyntaxError) as info:
        ix.parse_query("title:foo:bar")
    message = str(info.value)
    assert info.value.column == 7 and "needs a word" not in message
    assert "'foo:bar' holds a ':'" in message and 'title:"foo:bar"' in message and "title:foo\\:bar" in message
    with ix.searcher() as s:
        assert [h.id for h in s.search('title:"foo:bar"')] == ["a"]
        assert [h.id for h in s.search("title:foo\\:bar")] == ["a"]
