"""Arrays forged behind valid checksums are refused when a segment opens (issue item 12, storage part).

Each forgery below replaced a file by a well-formed array of the right type and size, signed in
a new manifest: 0.1 opened the segment and the first search that touched it raised a bare
ValueError or IndexError from numpy (found by tests/unit/hostile/test_fuzz_index_files.py). A
searcher now refuses it with IndexCorruptError naming the file, and `check` reports the same file
in the same words.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import edit_manifest, rewrite
from searchlib import ID, KEYWORD, TEXT, Index, IndexCorruptError, Schema, SearchlibError
from searchlib.storage import validate
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest


def _index(path: Path) -> Index:
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True),
                                   body=TEXT(analyzer="standard", stored=True, index_phrases=True),
                                   notes=TEXT(analyzer="standard", stored=True, passages="paragraph")))
    with ix.writer() as w:
        for i in range(12):
            w.add({"id": f"d{i}", "body": f"quick brown fox number{i % 3} quick brown",
                   "notes": f"first paragraph {i}\n\nsecond paragraph here"})
    return ix


def _array(ix: Index, fname: str) -> np.ndarray:
    entry = read_manifest(ix.path).segments[0]
    return np.load(ix.path / SEGMENTS_DIR / entry.name / fname, allow_pickle=False).copy()


def _decreasing_pointers(a):
    a[2], a[3] = a[3], a[2]  # two terms' pointers swapped: a term with a negative posting count


def _swap_first_two(a):
    a[0], a[1] = a[1].copy(), a[0].copy()


def _last_to(value):
    def forge(a):
        a[-1] = value
    return forge


def _first_to(value):
    def forge(a):
        a[0] = value
    return forge


def _second_up(a):
    a[1] += 1  # the first document takes the second's term


def _reverse(a):
    a[:] = a[::-1].copy()  # every list of two postings or more now descends


def _span_backwards(a):
    a[0] = a[0][::-1] + [5, 0]


FORGERIES = [  # (file, forgery in place, what the error says)
    ("body.ptr.npy", _decreasing_pointers, "posting pointers do not start at 0 and increase"),
    ("body.unit.npy", _last_to(2 ** 31), "a unit number reaches 2147483648, but there are 12 units"),
    ("body.unit.npy", _reverse, "units of a term are not in ascending order"),
    ("body.tf.npy", _first_to(0), "a term frequency is 0"),
    ("body.pptr.npy", _last_to(0), "position pointers"),
    ("notes.udoc.npy", _last_to(4_000_000_000), "passage documents are out of range or out of order"),
    ("notes.uspan.npy", _span_backwards, "a passage ends before it starts"),
    ("notes.len.npy", _first_to(0), "lengths sum to"),
    ("body.pairkey.npy", _swap_first_two, "pair keys are not ascending"),
    ("body.pairunit.npy", _last_to(99), "a unit number reaches 99"),
    ("id.docterm.npy", _swap_first_two, "terms per document are not those of the postings"),
]


@pytest.mark.parametrize("fname, forge, message", FORGERIES, ids=[f"{f}-{m[:20]}" for f, _, m in FORGERIES])
def test_forged_array_is_refused_on_open_and_reported_by_check(tmp_path, fname, forge, message):
    ix = _index(tmp_path / "ix")
    array = _array(ix, fname)
    forge(array)
    path = rewrite(ix, 0, fname, array)
    with pytest.raises(IndexCorruptError, match=message) as info:
        with Index.open(ix.path, verify=True).searcher() as s:  # contents are judged with verification
            [h.fields for h in s.search('"quick brown" OR notes:paragraph', limit=20, sort_by="id")]
    assert info.value.path == str(path)
    report = check_index(ix.path)
    assert any(p.path == str(path) and message in p.message for p in report.problems), report.format()


@pytest.mark.parametrize("fname, forge, message", [
    ("tags.docptr.npy", _last_to(3), "document pointers do not run from 0 to the 16 postings"),
    ("tags.docptr.npy", _second_up, "document pointers do not match the postings"),
    ("tags.docterm.npy", _reverse, "terms per document are not those of the postings"),
])
def test_forged_terms_per_document_are_refused(tmp_path, fname, forge, message):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), tags=KEYWORD()))
    with ix.writer() as w:
        for i in range(12):
            w.add({"id": f"d{i}", "tags": ["a", "b c", "d"][i % 3]})  # 1 or 2 tags: pointers are written
    array = _array(ix, fname)
    forge(array)
    path = rewrite(ix, 0, fname, array)
    with pytest.raises(IndexCorruptError, match=message) as info:
        with Index.open(ix.path, verify=True).searcher() as s:
            s.search("*:*", facets=["tags"])
    assert info.value.path == str(path)
    report = check_index(ix.path)
    assert any(p.path == str(path) and message in p.message for p in report.problems), report.format()


def test_contents_are_validated_once_per_process_for_the_same_files(tmp_path, monkeypatch):
    ix = _index(tmp_path / "ix")
    calls = []
    real = validate.content_problems
    monkeypatch.setattr(validate, "content_problems", lambda *args: calls.append(1) or real(*args))
    ix.searcher().close()
    assert not calls  # opening without verification reads no array whole
    verified = Index.open(ix.path, verify=True)
    for _ in range(3):
        verified.searcher().close()
    assert len(calls) == 3  # id, body and notes, the first time
    with ix.writer() as w:
        w.add({"id": "new", "body": "text", "notes": "more"})  # a new segment: its fields, once
    for _ in range(3):
        verified.searcher().close()
    assert len(calls) == 6


def test_passage_span_beyond_its_stored_text_is_refused_when_read(tmp_path):
    # Only the stored text says how long a passage may be: 0.1's highlighter raised ValueError.
    ix = _index(tmp_path / "ix")
    span = _array(ix, "notes.uspan.npy")
    span[:, 1] += 1000  # every passage ends past its text; starts and order unchanged
    path = rewrite(ix, 0, "notes.uspan.npy", span)
    with ix.searcher() as s:
        assert s.search("notes:paragraph", highlight=False).total == 12  # scoring never reads the text
        with pytest.raises(IndexCorruptError, match=r"spans characters .* whose stored 'notes' has") as info:
            s.search("notes:paragraph")[0].passages
    assert info.value.path == str(path)


@pytest.mark.parametrize("entry", [{"size": {}, "crc32": 0}, {"size": 10, "crc32": [1]}, {"size": 10},
                                   {"size": 10, "crc32": 1 << 32}, "10", None])
def test_manifest_file_entry_that_is_no_size_and_checksum_is_refused(tmp_path, entry):
    # 0.1: TypeError ("unhashable type") from the first verification of the file.
    ix = _index(tmp_path / "ix")
    edit_manifest(ix.path, lambda manifest: manifest.segments[0].files.__setitem__("body.tf.npy", entry))
    with pytest.raises(IndexCorruptError, match=r"the entry of body\.tf\.npy is no size and CRC-32"):
        ix.searcher().close()
    assert not check_index(ix.path).ok


# -- a forged schema or settings in a manifest -----------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda m: m.schema["body"].update(boosX=1),         # an option the field type does not take
    lambda m: m.schema.__setitem__("body", 5),          # a field spec that is no mapping
    lambda m: m.schema.__setitem__("body", [1]),
    lambda m: m.schema["body"].update(type=["text"]),   # a type that is no name
    lambda m: setattr(m, "schema", [1]),                 # a schema that is no mapping
    lambda m: setattr(m, "settings", 7),                 # settings that are no mapping
    lambda m: setattr(m, "settings", [[1]]),
], ids=["option", "spec-int", "spec-list", "type-list", "schema-list", "settings-int", "settings-list"])
def test_forged_schema_or_settings_in_a_manifest_is_a_searchlib_error(tmp_path, change):
    # 0.1: TypeError or AttributeError from Index(path) (found by the fuzz test).
    ix = _index(tmp_path / "ix")
    edit_manifest(ix.path, change)
    with pytest.raises(SearchlibError, match=r"body|schema|settings"):
        Index(ix.path).searcher().close()
