"""Tests for searchlib.loaders: folders of .txt/.md files, JSONL, CSV, errors, indexing what was loaded
and fingerprints."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import REPO
from searchlib import ID, NUMERIC, TEXT, Index, Schema
from searchlib.errors import DocumentError
from searchlib.loaders import corpus_fingerprint, index_documents, load_documents

SAMPLE_CORPUS = REPO / "examples" / "corpus"


def write(path: Path, data: "str | bytes") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


# -- folders ---------------------------------------------------------------------------------


def test_folder_titles_bodies_ids_and_order(tmp_path: Path):
    write(tmp_path / "b.txt", "A Title\n\nFirst paragraph.\n\nSecond paragraph.\n")
    write(tmp_path / "a" / "z.md", "# Markdown Title\n\nSome *markdown* body.\n")
    write(tmp_path / "c.txt", "x" * 130 + "\n\nThe first line is too long to be a title.\n")
    write(tmp_path / "d.txt", "No blank line after this one\nso it is all body.\n")
    write(tmp_path / "e.md", "## Not stripped\n\nbody\n")
    write(tmp_path / ".hidden.txt", "skipped\n")
    write(tmp_path / ".git" / "x.txt", "skipped\n")
    write(tmp_path / "data.json", "{}")

    docs = list(load_documents(tmp_path))

    assert [d["id"] for d in docs] == ["a/z", "b", "c", "d", "e"]
    by_id = {d["id"]: d for d in docs}
    assert by_id["b"] == {"id": "b", "title": "A Title", "body": "First paragraph.\n\nSecond paragraph."}
    assert by_id["a/z"] == {"id": "a/z", "title": "Markdown Title", "body": "Some *markdown* body."}
    assert "title" not in by_id["c"] and by_id["c"]["body"].startswith("x" * 130 + "\n\nThe first line")
    assert by_id["d"] == {"id": "d", "body": "No blank line after this one\nso it is all body."}
    assert by_id["e"]["title"] == "## Not stripped"


def test_title_needs_a_line_shorter_than_120_characters(tmp_path: Path):
    write(tmp_path / "short.txt", "t" * 119 + "\n\nbody\n")
    write(tmp_path / "long.txt", "t" * 120 + "\n\nbody\n")
    docs = {d["id"]: d for d in load_documents(tmp_path)}
    assert docs["short"]["title"] == "t" * 119 and docs["short"]["body"] == "body"
    assert "title" not in docs["long"]


def test_windows_line_endings_and_bom(tmp_path: Path):
    write(tmp_path / "w.txt", "\ufeffTitle\r\n\r\nBody line\r\n".encode("utf-8"))
    (doc,) = load_documents(tmp_path)
    assert doc == {"id": "w", "title": "Title", "body": "Body line"}


def test_custom_field_names(tmp_path: Path):
    write(tmp_path / "a.txt", "Title\n\nBody\n")
    (doc,) = load_documents(tmp_path, id_field="key", text_field="content", title_field="headline")
    assert doc == {"key": "a", "headline": "Title", "content": "Body"}


def test_single_text_file(tmp_path: Path):
    path = write(tmp_path / "note.md", "# Note\n\nText.\n")
    assert list(load_documents(path)) == [{"id": "note", "title": "Note", "body": "Text."}]


def test_exclude_patterns(tmp_path: Path):
    write(tmp_path / "README.md", "# About\n\nnot a document\n")
    write(tmp_path / "sub" / "README.md", "# About\n\nnot a document\n")
    write(tmp_path / "drafts" / "x.txt", "draft\n")
    write(tmp_path / "keep.txt", "kept\n")
    ids = [d["id"] for d in load_documents(tmp_path, exclude=["README.md", "drafts/*"])]
    assert ids == ["keep"]


def test_same_id_from_two_files_is_an_error(tmp_path: Path):
    write(tmp_path / "a.txt", "one\n")
    write(tmp_path / "a.md", "two\n")
    with pytest.raises(DocumentError, match="same document id 'a'"):
        list(load_documents(tmp_path))


def test_sample_corpus():
    docs = list(load_documents(SAMPLE_CORPUS, exclude=["README.md"]))
    assert len(docs) == 25
    seed = docs[0]
    assert seed["id"] == "000_b3c9b5d00b27d6df"
    assert "title" not in seed and "late miscarriage storyline" in seed["body"]
    assert docs[1]["title"].startswith("Harbour Lane Tops Weekday Ratings")
    assert all(d.get("title") for d in docs[1:])


# -- JSONL -------------------------------------------------------------------------------------


def test_jsonl_beir_mapping(tmp_path: Path):
    lines = [
        {"_id": "d1", "title": "First", "text": "Body one", "metadata": {"year": 2020}},
        {"id": 7, "text": "Numeric id"},
        {"_id": "d3", "id": "ignored-not", "text": "Both ids"},
        {"text": "No id at all"},
    ]
    path = write(tmp_path / "corpus.jsonl", "\n".join(json.dumps(x) for x in lines[:2]) + "\n\n"
                 + "\n".join(json.dumps(x) for x in lines[2:]) + "\n")
    docs = list(load_documents(path, ids="content"))
    assert docs[0] == {"id": "d1", "title": "First", "body": "Body one", "metadata": {"year": 2020}}
    assert docs[1] == {"id": "7", "body": "Numeric id"}
    assert docs[2]["id"] == "d3" and docs[2]["body"] == "Both ids"
    assert docs[3]["body"] == "No id at all" and docs[3]["id"].startswith("sha256:")


# -- issue 14, item 4: records without an id --------------------------------------------------


def keyless(tmp_path: Path, suffix: str, texts: list) -> Path:
    """A JSONL or CSV file whose first record has the id "a" and the others none."""
    if suffix == "jsonl":
        lines = [json.dumps({"id": "a", "text": texts[0]})] + [json.dumps({"text": t}) for t in texts[1:]]
        return write(tmp_path / "c.jsonl", "\n".join(lines) + "\n")
    return write(tmp_path / "c.csv", "id,text\n" + f"a,{texts[0]}\n" + "".join(f",{t}\n" for t in texts[1:]))


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_record_without_an_id_is_refused_with_its_line(tmp_path: Path, suffix):
    path = keyless(tmp_path, suffix, ["one", "two"])
    line = 2 if suffix == "jsonl" else 3  # a CSV's header is its line 1
    with pytest.raises(DocumentError, match=rf"c.{suffix}, line {line}: no id .*--ids content"):
        list(load_documents(path))


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_indexing_a_file_again_never_duplicates(tmp_path: Path, suffix):
    path = keyless(tmp_path, suffix, ["one", "two", "three"])
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    for _ in range(3):
        with ix.writer() as w:
            index_documents(w, load_documents(path, ids="content"))
        assert ix.doc_count() == 3
    first = list(load_documents(path, ids="content"))
    assert [d["id"] for d in first] == [d["id"] for d in load_documents(path, ids="content")]


# -- issue 14, item 8: encodings and skipping what cannot be read -------------------------------


def test_folder_with_a_file_in_another_encoding(tmp_path: Path):
    write(tmp_path / "a.txt", "Caf\u00e9 one\n\nbody\n")
    write(tmp_path / "b.txt", "Caf\u00e9 two\n\nbody\n".encode("latin-1"))
    with pytest.raises(DocumentError, match=r"b.txt: not valid UTF-8 .*--encoding.*--on-error skip"):
        list(load_documents(tmp_path))
    docs = load_documents(tmp_path, on_error="skip")
    assert [d["id"] for d in docs] == ["a"]
    assert len(docs.skipped) == 1 and "b.txt: not valid UTF-8" in docs.skipped[0]
    latin = list(load_documents(tmp_path / "b.txt", encoding="latin-1"))
    assert latin[0]["title"] == "Caf\u00e9 two"
    with pytest.raises(DocumentError, match="unknown encoding 'klingon'"):
        load_documents(tmp_path, encoding="klingon")


def test_skip_bad_jsonl_lines_and_csv_rows(tmp_path: Path):
    path = write(tmp_path / "c.jsonl", b'{"id": "a"}\nnot json\n{"id": "\xff"}\n[1]\n{"text": "no id"}\n{"id": "b"}\n')
    docs = load_documents(path, on_error="skip")
    assert [d["id"] for d in docs] == ["a", "b"]
    assert [m.split(": ", 1)[0].rsplit(", ", 1)[-1] for m in docs.skipped] == ["line 2", "line 3", "line 4", "line 5"]
    path = write(tmp_path / "c.csv", "id,text\na,one\nb,two,three\n,no id\nc,four\n")
    docs = load_documents(path, on_error="skip")
    assert [d["id"] for d in docs] == ["a", "c"] and len(docs.skipped) == 2


def test_index_documents_skips_documents_the_writer_refuses(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), n=NUMERIC()))
    skipped: list = []
    with ix.writer() as w:
        assert index_documents(w, [{"id": "a", "n": 1}, {"id": "b", "n": "many"}, {"id": "c"}], skipped=skipped) == 2
    assert ix.doc_count() == 2 and len(skipped) == 1 and "'n'" in skipped[0]


def test_jsonl_custom_fields(tmp_path: Path):
    path = write(tmp_path / "c.jsonl", json.dumps({"_id": "x", "title": "T", "text": "B"}) + "\n")
    assert list(load_documents(path, id_field="key", text_field="content", title_field="name")) == [
        {"key": "x", "name": "T", "content": "B"}]


def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path):
    path = write(tmp_path / "bad.jsonl", '{"_id": "a", "text": "ok"}\n\n{"_id": "b", "text": \n')
    docs = load_documents(path)
    assert next(docs)["id"] == "a"
    with pytest.raises(DocumentError) as info:
        next(docs)
    assert "bad.jsonl" in str(info.value) and "line 3" in str(info.value)


def test_jsonl_line_that_is_not_an_object(tmp_path: Path):
    path = write(tmp_path / "list.jsonl", "[1, 2]\n")
    with pytest.raises(DocumentError, match=r"list\.jsonl, line 1: expected a JSON object"):
        list(load_documents(path))


# -- CSV ---------------------------------------------------------------------------------------


def test_csv(tmp_path: Path):
    path = write(tmp_path / "docs.csv", '\ufeff_id,title,text,lang\n'
                 'a,Alpha,"Line one\nline two, with a comma",en\n'
                 'b,,Only a body,\n')
    docs = list(load_documents(path))
    assert docs == [{"id": "a", "title": "Alpha", "body": "Line one\nline two, with a comma", "lang": "en"},
                    {"id": "b", "body": "Only a body"}]


def test_csv_row_with_too_many_values(tmp_path: Path):
    path = write(tmp_path / "wide.csv", "id,text\na,b\nc,d,e\n")
    with pytest.raises(DocumentError, match=r"wide\.csv, line 3"):
        list(load_documents(path))


# -- errors ------------------------------------------------------------------------------------


def test_invalid_utf8_text_file_names_file_and_byte_offset(tmp_path: Path):
    write(tmp_path / "good.txt", "fine\n")
    write(tmp_path / "bad.txt", b"Title\n\ncaf\xe9 au lait\n")
    with pytest.raises(DocumentError) as info:
        list(load_documents(tmp_path))
    message = str(info.value)
    assert "bad.txt" in message and "byte 10" in message


def test_invalid_utf8_in_jsonl_counts_bytes_from_the_start_of_the_file(tmp_path: Path):
    first = b'{"_id": "a", "text": "ok"}\n'
    path = write(tmp_path / "bad.jsonl", first + b'{"_id": "b", "text": "\xff"}\n')
    with pytest.raises(DocumentError) as info:
        list(load_documents(path))
    assert "bad.jsonl" in str(info.value) and f"byte {len(first) + 22}" in str(info.value)


def test_invalid_utf8_in_csv(tmp_path: Path):
    path = write(tmp_path / "bad.csv", b"id,text\na,\xc3(\n")
    with pytest.raises(DocumentError, match=r"bad\.csv: not valid UTF-8 .* at byte 10"):
        list(load_documents(path))


def test_missing_path_raises_file_not_found_eagerly(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        load_documents(missing)  # not only when iterated
    assert str(missing) in str(info.value)
    with pytest.raises(FileNotFoundError):
        corpus_fingerprint(missing)


def test_unsupported_file_type(tmp_path: Path):
    path = write(tmp_path / "data.xml", "<x/>")
    with pytest.raises(DocumentError, match="cannot read documents"):
        load_documents(path)


# -- indexing what was loaded: one policy for the command and the example ----------------------

def keyed_index(tmp_path, key="id"):
    return Index.create(tmp_path / "ix", Schema(**{key: ID(unique=True, stored=True)}, body=TEXT(stored=True)))


def test_index_documents_names_extra_keys_once_and_updates_by_key(tmp_path):
    from searchlib.loaders import index_documents

    ix = keyed_index(tmp_path)
    messages = []
    docs = [{"id": "a", "body": "one", "metadata": {}}, {"id": "b", "body": "two", "metadata": {}, "url": "x"},
            {"id": "a", "body": "three"}, {"body": "no key"}]
    with ix.writer() as w:
        assert index_documents(w, docs, warn=messages.append) == 4
    assert messages == ["ignoring key(s) not in the schema: metadata", "ignoring key(s) not in the schema: url"]
    with ix.searcher() as s:
        assert s.search("three").total == 1 and s.search("one").total == 0  # "a" was replaced
        assert ix.doc_count() == 3


def test_index_documents_warns_by_default(tmp_path):
    from searchlib.loaders import index_documents

    with keyed_index(tmp_path).writer() as w, pytest.warns(UserWarning, match="not in the schema: extra"):
        index_documents(w, [{"id": "a", "body": "x", "extra": 1}])


# -- fingerprints ------------------------------------------------------------------------------


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path):
    a = write(tmp_path / "a.txt", "Title\n\nBody\n")
    write(tmp_path / "sub" / "b.md", "text\n")
    first = corpus_fingerprint(tmp_path)
    assert len(first) == 64 and first == corpus_fingerprint(tmp_path)

    stat = a.stat()
    a.write_text("Title\n\nBodY\n", encoding="utf-8")  # same size: only the mtime tells
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = corpus_fingerprint(tmp_path)
    assert second != first

    write(tmp_path / "c.txt", "new file\n")
    third = corpus_fingerprint(tmp_path)
    assert third != second

    (tmp_path / "c.txt").rename(tmp_path / "d.txt")
    assert corpus_fingerprint(tmp_path) != third


def test_fingerprint_ignores_files_that_would_not_be_read(tmp_path: Path):
    write(tmp_path / "a.txt", "text\n")
    first = corpus_fingerprint(tmp_path)
    write(tmp_path / "notes.json", "{}")
    write(tmp_path / ".hidden.txt", "x")
    write(tmp_path / "README.md", "about")
    assert corpus_fingerprint(tmp_path, exclude=["README.md"]) == first
    assert corpus_fingerprint(tmp_path) != first


def test_fingerprint_of_a_single_file(tmp_path: Path):
    path = write(tmp_path / "c.jsonl", '{"_id": "a"}\n')
    first = corpus_fingerprint(path)
    path.write_text('{"_id": "a"}\n{"_id": "b"}\n', encoding="utf-8")
    assert corpus_fingerprint(path) != first


def test_fingerprint_describes_the_files_the_load_reads(tmp_path):
    from searchlib.loaders import corpus_fingerprint, index_documents, load_documents

    (tmp_path / "a.txt").write_text("alpha", encoding="utf-8")
    documents = load_documents(tmp_path)
    before = documents.fingerprint()
    assert before == corpus_fingerprint(tmp_path)
    (tmp_path / "b.txt").write_text("beta", encoding="utf-8")  # after the listing: neither read nor hashed
    assert [d["id"] for d in documents] == ["a"]
    assert documents.fingerprint() == before != corpus_fingerprint(tmp_path)
