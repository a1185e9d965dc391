"""Odd and hostile documents: each is indexed correctly or refused with a DocumentError naming the
document and the field -- and neither the committed documents nor the other documents of the same
batch are affected.

The huge-field and many-distinct-words cases run at a few megabytes by default; SEARCHLIB_BIG_TESTS=1
runs them at full size (a 100 MB field, ten million distinct words; minutes and several GB of RAM).
"""
from __future__ import annotations

import datetime as dt
import os

import pytest

from searchlib import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, DocumentError, Index, Schema
import searchlib.indexing.buffer as buffer_module

BIG = os.environ.get("SEARCHLIB_BIG_TESTS") == "1"


def doc_schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), tags=KEYWORD(stored=True), n=NUMERIC(), when=DATETIME(),
                  extra=STORED(), title=TEXT(analyzer="standard", stored=True),
                  body=TEXT(analyzer="standard", stored=True, passages="paragraph"))


BASE = [{"id": f"base{i}", "tags": "old", "n": i, "title": f"committed {i}", "body": "kept before the batch"}
        for i in range(5)]
BEFORE = {"id": "before", "tags": "new", "n": 100, "title": "neighbour before", "body": "same batch earlier"}
AFTER = {"id": "after", "tags": "new", "n": 101, "title": "neighbour after", "body": "same batch later"}


def stored_view(doc: dict) -> dict:
    """The stored fields a document comes back with (NUMERIC and DATETIME values are stored too)."""
    return {k: v for k, v in doc.items() if v is not None}


@pytest.fixture
def index(tmp_path) -> Index:
    ix = Index.create(tmp_path / "ix", doc_schema())
    with ix.writer() as w:
        for doc in BASE:
            w.add(doc)
    return ix


def add_in_batch(ix: Index, odd: dict, **writer_options) -> DocumentError | None:
    """Add BEFORE, the odd document and AFTER in one batch; commit; return the error for the odd one."""
    error = None
    with ix.writer(**writer_options) as w:
        w.add(BEFORE)
        try:
            w.add(odd)
        except DocumentError as exc:
            error = exc
        w.add(AFTER)
    return error


def documents(ix: Index) -> dict[str, dict]:
    with ix.searcher() as s:
        return {d.get("id"): d for d in s.documents()}


def assert_rest_untouched(ix: Index, odd_id: str | None = None) -> dict[str, dict]:
    """The committed documents and both neighbours are there, exactly; return every document."""
    docs = documents(ix)
    for doc in BASE + [BEFORE, AFTER]:
        assert docs[doc["id"]] == stored_view(doc)
    with ix.searcher() as s:
        assert sorted(h.id for h in s.search("tags:old", limit=50)) == sorted(d["id"] for d in BASE)
        assert sorted(h.id for h in s.search("neighbour", limit=50)) == ["after", "before"]
        assert sorted(h.id for h in s.search("kept", limit=50)) == sorted(d["id"] for d in BASE)
    extra = set(docs) - {d["id"] for d in BASE + [BEFORE, AFTER]}
    assert extra <= {odd_id}
    return docs


def assert_names_document_and_field(error: DocumentError, doc_id: str, field: str) -> None:
    message = str(error)
    assert repr(doc_id) in message or doc_id in message, message
    assert repr(field) in message, message


# -- missing fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("odd", [
    {"id": "only-id"},
    {"id": "only-title", "title": "lonely walrus"},
    {"id": "nones", "tags": None, "n": None, "when": None, "extra": None, "title": None, "body": "walrus body"},
    {"title": "no key at all walrus"},
    {"id": "empty-text", "title": "", "body": ""},
], ids=["only-id", "only-title", "none-values", "no-key", "empty-strings"])
def test_missing_fields_are_indexed(index, odd):
    assert add_in_batch(index, odd) is None
    docs = documents(index)
    with index.searcher() as s:
        assert s.doc_count() == len(BASE) + 3
        stored = [d for d in docs.values() if d.get("id") == odd.get("id")] if "id" in odd else \
            [d for d in s.documents() if "id" not in d]
    assert stored == [stored_view(odd)]
    if "walrus" in str(odd):
        with index.searcher() as s:
            assert s.search("walrus").total == 1
    assert_rest_untouched(index, odd.get("id"))


# -- wrong types ----------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("title", 42), ("title", ["a", "b"]), ("body", {"text": "x"}), ("body", object()),
    ("tags", {"a": 1}), ("tags", ["ok", 3]), ("n", "many"), ("n", [1]), ("n", 10 ** 400),
    ("when", "yesterday"), ("when", 10 ** 30), ("extra", {1, 2}), ("extra", b"bytes"), ("extra", float("nan")),
])
def test_wrong_types_are_refused_naming_document_and_field(index, field, value):
    error = add_in_batch(index, {"id": "odd", field: value, "title": "odd one"} if field != "title"
                         else {"id": "odd", field: value})
    assert error is not None, f"{field}={value!r} was accepted"
    assert_names_document_and_field(error, "odd", field)
    docs = assert_rest_untouched(index)
    assert "odd" not in docs


@pytest.mark.parametrize("field, value, stored, query, hits", [
    ("n", 1e308, 1e308, "n:>=1e308", {"edge"}),  # infinity is refused (tests/test_hostile_input.py)
    ("n", -0.0, -0.0, "n:[-0 TO 0]", {"edge", "base0"}),  # -0.0 == 0.0
    ("when", dt.datetime(1, 1, 1), dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), "when:<=0001-01-01T00:00:00",
     {"edge"}),
    ("when", "9999-12-31T23:59:59Z", dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc),
     "when:>=9999-12-31T23:59:59Z", {"edge"}),
], ids=["1e308", "minus-zero", "year-1", "year-9999"])
def test_edge_values_are_indexed_and_findable(index, field, value, stored, query, hits):
    # Each is a valid value of its type, far below any size limit: refusing it would be a bug.
    error = add_in_batch(index, {"id": "edge", field: value, "title": "edge value"})
    assert error is None, f"{field}={value!r} was refused: {error}"
    docs = assert_rest_untouched(index, "edge")
    assert docs["edge"] == {"id": "edge", field: stored, "title": "edge value"}
    with index.searcher() as s:
        assert {h.id for h in s.search(query, limit=50)} == hits
        assert [h.id for h in s.search("title:edge")] == ["edge"]


# -- text encodings -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, reason", [
    (b"caf\xe9 au lait", "UTF-8"), (b"\xff\xfe\x00t\x00i", "UTF-8"), (b"ok then \xc3", "UTF-8"),
    ("lone \ud800 high surrogate", "Unicode"), ("lone \udfff low surrogate", "Unicode"),
    ("pair \ud83d\ude00 as two surrogates", "Unicode"),
])
@pytest.mark.parametrize("field", ["title", "body", "tags", "id"])
def test_invalid_text_is_refused_naming_document_and_field(index, field, value, reason):
    odd = {"id": "bad-text", "title": "fine", field: value}
    error = add_in_batch(index, odd)
    assert error is not None
    assert reason in str(error) or field == "id"  # an ID refuses bytes whatever they hold
    assert repr(field) in str(error)
    if field != "id":
        assert_names_document_and_field(error, "bad-text", field)
    docs = assert_rest_untouched(index)
    assert "bad-text" not in docs
    with index.searcher() as s:
        assert s.search("lait OR surrogate OR lone OR pair").total == 0


def test_valid_utf8_bytes_and_unusual_unicode_round_trip(index):
    odd = {"id": "unicode", "title": "Ünïcödé 😀 İstanbul ﬁne", "body": "ß straße\u200b zero width",
           "tags": ["日本語", "emoji😀"]}
    as_bytes = dict(odd, title=odd["title"].encode("utf-8"))
    assert add_in_batch(index, as_bytes) is None
    docs = assert_rest_untouched(index, "unicode")
    assert docs["unicode"] == odd
    with index.searcher() as s:
        assert [h.id for h in s.search("İstanbul")] == ["unicode"]
        assert [h.id for h in s.search('tags:"日本語"')] == ["unicode"]


def test_nul_bytes_in_text_are_indexed_searchable_and_round_trip(index):
    odd = {"id": "nul", "title": "alpha\x00beta", "body": "first\x00\x00paragraph\n\n\x00second gamma\x00",
           "extra": {"k": "v\x00w"}}
    assert add_in_batch(index, odd) is None
    docs = assert_rest_untouched(index, "nul")
    assert docs["nul"] == odd
    with index.searcher() as s:
        for word in ("alpha", "beta", "gamma", "paragraph"):
            hits = s.search(word)
            assert [h.id for h in hits] == ["nul"], word
        assert "\x00" in s.search("gamma")[0].fields["body"]


@pytest.mark.parametrize("field, value", [("id", "key\x00with-nul"), ("tags", "tag\x00with-nul"),
                                          ("id", "line\nbreak"), ("tags", ["ok", "carriage\rreturn"])])
def test_nul_and_line_breaks_in_exact_values_are_refused(index, field, value):
    # The term dictionary cannot hold NUL and the sorted term list keeps a term per line, so an
    # ID or KEYWORD value with either is refused at add(), naming the document and the field.
    odd = {"id": "odd-term", "title": "exact", field: value} if field != "id" else {"id": value, "title": "exact"}
    error = add_in_batch(index, odd)
    assert error is not None
    assert_names_document_and_field(error, odd["id"], field)
    docs = assert_rest_untouched(index, odd["id"])
    assert odd["id"] not in docs


# -- size ------------------------------------------------------------------------------------------

def huge_text(megabytes: int) -> str:
    paragraph = " ".join(f"word{i % 5000}" for i in range(2000))  # ~18 KB
    count = megabytes * 1024 * 1024 // (len(paragraph) + 2) + 1
    return "\n\n".join([paragraph] * count) + "\n\nfinalmarker"


def assert_refused_for_size(error: DocumentError, doc_id: str, field: str) -> None:
    assert_names_document_and_field(error, doc_id, field)
    assert "over the limit" in str(error), str(error)


@pytest.mark.parametrize("limit", ["as-is", "over-the-limit"])
def test_huge_field_is_indexed_unless_over_the_size_limit(index, monkeypatch, limit):
    megabytes = 100 if BIG else 4
    if limit == "over-the-limit":
        monkeypatch.setattr(buffer_module, "MAX_FIELD_BYTES", 1024 * 1024)  # refuse our few megabytes
    text = huge_text(megabytes)
    # refused exactly when over the limit: always with the lowered limit; as-is, only the 100 MB of
    # SEARCHLIB_BIG_TESTS (over the default 32 MiB), never the default run's 4 MB
    refused = len(text.encode("utf-8")) > buffer_module.MAX_FIELD_BYTES
    assert refused == (limit == "over-the-limit" or BIG)
    error = add_in_batch(index, {"id": "huge", "title": "huge document", "body": text})
    docs = assert_rest_untouched(index, "huge")
    if refused:
        assert error is not None, "a field over the size limit was accepted"
        assert_refused_for_size(error, "huge", "body")
        assert "huge" not in docs
    else:
        assert error is None, f"a {megabytes} MB field under the size limit was refused: {error}"
        assert docs["huge"]["body"] == text
        with index.searcher() as s:
            assert [h.id for h in s.search("finalmarker")] == ["huge"]
            assert s.search("word1999").total == 1


@pytest.mark.parametrize("distinct", [3_000_000, 10_000_000] if BIG else [200_000])
def test_field_with_very_many_distinct_words_is_indexed_unless_over_the_size_limit(index, distinct):
    text = " ".join(f"w{i:x}" for i in range(distinct))
    # refused only for its size: 200,000 words (1.3 MB) and 3 million (23 MB) are indexed, the 10
    # million of SEARCHLIB_BIG_TESTS (79 MB) are over the 32 MiB limit
    refused = len(text.encode("utf-8")) > buffer_module.MAX_FIELD_BYTES
    assert refused == (distinct == 10_000_000)
    error = add_in_batch(index, {"id": "vocabulary", "title": "many words", "body": text}, buffer_chars=10 ** 9)
    docs = assert_rest_untouched(index, "vocabulary")
    if refused:
        assert error is not None, "a field over the size limit was accepted"
        assert_refused_for_size(error, "vocabulary", "body")
        assert "vocabulary" not in docs
        return
    assert error is None, f"{distinct:,} distinct words under the size limit were refused: {error}"
    assert len(docs["vocabulary"]["body"]) == len(text)
    with index.searcher() as s:
        for i in (0, 1, distinct // 2, distinct - 1):
            assert [h.id for h in s.search(f"w{i:x}")] == ["vocabulary"]
        terms = sum(r.fields["body"].info["terms"] for r in s.readers)
        assert terms >= distinct  # every distinct word is a term of the body field
