"""Hostile input never crashes, hangs, escapes the index directory or leaks.

Each test here reproduces one attack on searchlib 0.1 (the issue of that title) and checks the
defence: a clear SearchlibError naming the file, line or field, and no hang. Hangs are detected
with a generous subprocess timeout only; no test asserts how fast something runs.
"""
from __future__ import annotations

import csv
import errno
import fnmatch
import json
import os
import random
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import edit_manifest, run_python
from searchlib import ID, NUMERIC, STORED, TEXT, DocumentError, Index, IndexCorruptError, Schema
from searchlib.cli import main
from searchlib.loaders import MAX_NESTING, index_documents, load_documents
from searchlib.query.expand import wildcard_regex
from searchlib.indexing import buffer
from searchlib.storage import stored
from searchlib.storage.check import check_index
from searchlib.storage.lock import WriteLock
from searchlib.storage.manifest import generations, manifest_name, read_manifest
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.files import write_array, write_bytes
from searchlib.storage.termdict import TermDictionary


# -- (3) wildcard expansion runs in linear time -----------------------------------------------------

def _fnmatch_terms(pattern: str, terms: list[str]) -> list[str]:
    """The terms `pattern` matches whole by fnmatch's rules, with `[` made literal (searchlib's
    wildcards know only `?` and `*`)."""
    return [t for t in terms if fnmatch.fnmatchcase(t, pattern.replace("[", "[[]"))]


def _wildcard_terms(pattern: str, terms: list[str]) -> list[str]:
    """The terms `pattern` matches, as a term dictionary of `terms` (in code-point order) finds them."""
    return TermDictionary.of(terms).matching(wildcard_regex(pattern))[0]


_TERM_CHARS = st.sampled_from("aab.[]\\^$é")
_PATTERN_CHARS = st.sampled_from("aab?**.[]\\^$é")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(_TERM_CHARS, min_size=1, max_size=8), min_size=1, max_size=12, unique=True),
       st.text(_PATTERN_CHARS, max_size=8))
def test_wildcard_matcher_agrees_with_fnmatch(terms, pattern):
    terms = sorted(terms)
    assert _wildcard_terms(pattern, terms) == _fnmatch_terms(pattern, terms)


def test_wildcard_matcher_on_terms_that_defeat_backtracking():
    rng = random.Random(7)
    dna = "".join(rng.choice("acgt") for _ in range(255))
    terms = sorted(["a" * 200, dna, "a" * 199 + "b", "acgtacgtz"])
    for pattern in ("*a*a*a*a*a*b", "*a*c*g*t*a*c*g*t*z", "a*a*a*a*a*", "*a?a*a??a*b", "**a**b"):
        assert _wildcard_terms(pattern, terms) == _fnmatch_terms(pattern, terms)


def test_wildcard_queries_on_long_repetitive_terms_do_not_hang(tmp_path):
    # 0.1 ran `^.*a.*a.*a.*a.*a.*b$`-style regexes: over 30 s for the first query, 60 s for the
    # second. The timeout only detects a hang; the queries take milliseconds.
    script = textwrap.dedent(f"""
        import random
        from searchlib import Index, Schema, ID, TEXT
        rng = random.Random(7)
        dna = "".join(rng.choice("acgt") for _ in range(255))
        ix = Index.create({str(tmp_path / "ix")!r}, Schema(id=ID(unique=True, stored=True),
                                                           body=TEXT(analyzer="standard")))
        with ix.writer() as w:
            w.add({{"id": "1", "body": "a" * 200}})
            w.add({{"id": "2", "body": dna}})
            w.add({{"id": "3", "body": "a" * 199 + "b"}})
        with ix.searcher() as s:
            print(sorted(h.id for h in s.search("*a*a*a*a*a*b")))
            print(sorted(h.id for h in s.search("*a*c*g*t*a*c*g*t*z")))
            print(sorted(h.id for h in s.search("*a*c*g*t*a*c*g*t*")))
    """)
    done = run_python("-c", script, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["['3']", "[]", "['2']"]


# -- (5) a failure while taking the write lock releases it ------------------------------------------

def _disk_full(fd, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_while_creating_an_index_leaves_it_unlocked(tmp_path, monkeypatch):
    path = tmp_path / "ix"
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT())
    with monkeypatch.context() as full:
        full.setattr(os, "write", _disk_full)  # the first write of Index.create is the lock's pid
        with pytest.raises(OSError) as info:
            Index.create(path, schema)
    assert info.value.errno == errno.ENOSPC
    ix = Index.create(path, schema)  # 0.1: IndexLockedError until the process exits
    with ix.writer(timeout=0) as w:
        w.add({"id": "1", "body": "hello"})
    assert ix.doc_count() == 1


def test_any_failure_inside_lock_acquire_closes_the_descriptor(tmp_path, monkeypatch):
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with monkeypatch.context() as full:
        full.setattr(os, "write", _disk_full)
        with pytest.raises(OSError):
            WriteLock(tmp_path).acquire()
    if before is not None:
        assert set(os.listdir("/proc/self/fd")) <= before
    lock = WriteLock(tmp_path).acquire(timeout=0)
    assert lock.held
    lock.release()


# -- (9) a CSV quote that is never closed ------------------------------------------------------------

def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("text, line", [
    # 0.1 read every following row into the quoted value: document 2 vanished and the import succeeded.
    ('id,text\n1,"hello world\n2,second doc\n3,third doc\n', 2),
    ('id,text\r\n1,"quoted\r\nacross lines"\r\n2,"open', 4),
    ('id,title,text\n1,"two\nlines","never\nclosed\n', 3),
], ids=["swallows-rows", "last-line-no-newline", "after-a-closed-multiline-value"])
def test_csv_with_an_unterminated_quote_names_the_line_it_opened(tmp_path, text, line):
    path = _write(tmp_path / "docs.csv", text)
    with pytest.raises(DocumentError, match=rf"docs\.csv, line {line}: .*quote.* never closed"):
        list(load_documents(path))


def test_csv_quoted_values_across_lines_still_load(tmp_path):
    path = _write(tmp_path / "docs.csv", 'id,text\n1,"first\nparagraph, ""quoted"""\n2,second\n')
    assert list(load_documents(path)) == [{"id": "1", "body": 'first\nparagraph, "quoted"'},
                                          {"id": "2", "body": "second"}]


def test_cli_index_of_a_csv_with_an_unterminated_quote_fails_and_commits_nothing(tmp_path, capsys):
    path = _write(tmp_path / "docs.csv", 'id,text\n1,"hello world\n2,second doc\n')
    assert main(["index", str(tmp_path / "ix"), str(path), "--no-progress"]) != 0
    assert "docs.csv, line 2" in capsys.readouterr().err
    assert not (tmp_path / "ix").exists()  # the index the failed first run created is removed


# -- (15) CSV cells up to the text limit ---------------------------------------------------------------

def test_csv_cell_over_128_kib_loads_and_the_csv_limit_is_restored(tmp_path):
    # 0.1: "field larger than field limit (131072)", though a text value may have 32 MiB.
    big = "word " * 60_000  # 300,000 characters
    path = _write(tmp_path / "docs.csv", f'id,text\n1,"{big}"\n2,small\n')
    before = csv.field_size_limit()
    assert list(load_documents(path)) == [{"id": "1", "body": big}, {"id": "2", "body": "small"}]
    assert csv.field_size_limit() == before


def test_csv_limit_is_the_csv_modules_own_while_a_load_is_paused(tmp_path):
    path = _write(tmp_path / "docs.csv", 'id,text\n1,one\n2,two\n')
    before = csv.field_size_limit()
    documents = load_documents(path)
    next(documents)
    assert csv.field_size_limit() == before


def test_csv_cell_over_the_text_limit_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer, "MAX_FIELD_BYTES", 100_000)
    before = csv.field_size_limit()
    path = _write(tmp_path / "docs.csv", f'id,text\n1,small\n2,{"x" * 150_000}\n')
    with pytest.raises(DocumentError, match=r"docs\.csv, line 3: .*over the limit of 100,000 bytes"):
        list(load_documents(path))
    assert csv.field_size_limit() == before
    # Fewer characters than the limit but more bytes: the writer's usual error, naming the field.
    path = _write(tmp_path / "wide.csv", f'id,text\n1,{"é" * 60_000}\n')
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT()))
    with ix.writer() as w, pytest.raises(DocumentError, match=r"body.*120,000 bytes of UTF-8, over the limit"):
        index_documents(w, load_documents(path))


# -- (12) deeply nested JSON ---------------------------------------------------------------------------

def _nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_jsonl_line_is_a_document_error_naming_the_line(tmp_path):
    # 0.1: a raw RecursionError, with a traceback from the command.
    path = _write(tmp_path / "docs.jsonl",
                  '{"id": "1", "text": "fine"}\n{"id": "2", "meta": ' + _nested_json(100_000) + '}\n')
    documents = load_documents(path)
    assert next(documents) == {"id": "1", "body": "fine"}
    with pytest.raises(DocumentError, match=r"docs\.jsonl, line 2: .*nested too deeply"):
        next(documents)


def test_cli_index_of_a_deeply_nested_jsonl_line_reports_the_line(tmp_path, capsys):
    path = _write(tmp_path / "docs.jsonl", _nested_json(100_000) + "\n")
    assert main(["index", str(tmp_path / "ix"), str(path), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "docs.jsonl, line 1" in err and "Traceback" not in err


def _nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 900, 100_000])
def test_deeply_nested_stored_value_is_a_document_error_naming_the_field(tmp_path, depth):
    # 0.1: RecursionError from json.dumps for 100,000 levels; 900 levels were stored, and every
    # search finding the document then failed reading it back.
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), meta=STORED()))
    with ix.writer() as w:
        with pytest.raises(DocumentError, match=rf"'meta'.*more than {MAX_NESTING} levels"):
            w.add({"id": "1", "meta": _nested_list(depth)})
        w.add({"id": "2", "meta": _nested_list(MAX_NESTING - 1)})  # MAX_NESTING levels: stored
    with ix.searcher() as s:
        assert [h.id for h in s.search("id:2")] == ["2"]


def test_index_holding_a_900_deep_stored_value_still_searches(tmp_path):
    # Written by 0.1 (which stored such values): reading it back recursed past Python's limit.
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), meta=STORED()))
    with ix.writer() as w:
        w.add({"id": "1", "meta": "shallow"})
    segment = ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[0].name
    for name in (stored.DATA, stored.POINTERS, stored.FIRSTS):
        (segment / name).unlink()
    deep = _nested_list(900)
    entries = stored.write_stored(segment, [{"id": "1", "meta": deep}])
    edit_manifest(ix.path, lambda manifest: manifest.segments[0].files.update(entries))
    with ix.searcher() as s:
        hit = s.search("id:1")[0]
        assert hit.fields["meta"] == deep
        assert [d["id"] for d in s.documents()] == ["1"]


# -- (14) no infinity in NUMERIC values, strict JSON from the command ----------------------------------

@pytest.mark.parametrize("value", [float("inf"), float("-inf"), "inf", "-Infinity", "1e999"])
def test_numeric_refuses_infinity_like_nan(tmp_path, value):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), n=NUMERIC()))
    with ix.writer() as w:
        with pytest.raises(DocumentError, match=r"'n'.*(infinity|finite)"):
            w.add({"id": "1", "n": value})
        w.add({"id": "2", "n": 1e308})
    assert ix.doc_count() == 1


def _strict_json(text: str):
    """`text` parsed as RFC 8259 JSON: NaN, Infinity and -Infinity are refused."""
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_cli_search_json_is_strict_json_for_an_index_holding_infinity(tmp_path, capsys):
    # An index written by 0.1, which accepted inf in a NUMERIC field: its stored block holds Infinity.
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True),
                                              n=NUMERIC()))
    with ix.writer() as w:
        w.add({"id": "1", "body": "hello", "n": 1.0})
    segment = ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[0].name
    for name in (stored.DATA, stored.POINTERS, stored.FIRSTS):
        (segment / name).unlink()
    entries = stored.write_stored(segment, [{"id": "1", "body": "hello", "n": float("inf")}])
    edit_manifest(ix.path, lambda manifest: manifest.segments[0].files.update(entries))

    assert main(["search", str(ix.path), "hello", "--json", "--show", "all"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert out["hits"][0]["fields"]["n"] is None
    assert main(["stats", str(ix.path), "--json"]) == 0
    _strict_json(capsys.readouterr().out)
    main(["check", str(ix.path), "--json"])  # exit 1: the replaced files differ from commit 2's entries
    _strict_json(capsys.readouterr().out)


# -- (13) impossible counts in a manifest ------------------------------------------------------------

def _fifty_documents(path: Path) -> Index:
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        for i in range(50):
            w.add({"id": str(i), "body": f"hello world {i}"})
    return ix


def _assert_open_refuses(path: Path, match: str) -> IndexCorruptError:
    """Opening the index at `path` (and so reading any count) raises IndexCorruptError naming
    the newest manifest and matching `match`."""
    manifest = path / manifest_name(generations(path)[-1])
    with pytest.raises(IndexCorruptError, match=match) as info:
        Index.open(path).doc_count()
    assert info.value.path == str(manifest) and manifest.name in str(info.value)
    return info.value


@pytest.mark.parametrize("counts, problem", [
    ({"deleted": 10 ** 12}, "1000000000000 deleted.* 50 documents"),  # 0.1: doc_count() == -999,999,999,950
    ({"deleted": 51}, "51 deleted.* 50 documents"),
    ({"deleted": -1}, "deleted.* negative"),
    ({"doc_count": -50, "deleted": 0}, "doc_count.* negative"),
    ({"deleted": True}, "deleted.* whole number.* True"),
    ({"doc_count": True}, "doc_count.* whole number.* True"),
    ({"doc_count": 50.0}, "doc_count.* whole number.* 50.0"),
    ({"deleted": "0"}, "deleted.* whole number.* '0'"),
    ({"deleted": None}, "deleted.* whole number.* None"),
])
def test_manifest_with_impossible_counts_is_refused(tmp_path, counts, problem):
    ix = _fifty_documents(tmp_path / "ix")
    edit_manifest(ix.path, lambda manifest: vars(manifest.segments[0]).update(counts))
    error = _assert_open_refuses(ix.path, problem)
    assert read_manifest(ix.path, 1).segments == []  # the first commit is still readable
    assert "seg-00000001" in str(error)  # the error names the segment too


def test_check_reports_a_manifest_with_impossible_counts(tmp_path):
    ix = _fifty_documents(tmp_path / "ix")
    edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[0], "deleted", 10 ** 12))
    report = check_index(ix.path)
    assert not report.ok
    assert any(p.path.endswith(manifest_name(generations(ix.path)[-1])) and "deleted" in p.message
               for p in report.problems)


# -- (12) a deeply nested manifest ---------------------------------------------------------------------

def _write_manifest_text(path: Path, text: str) -> Path:
    manifest = path / manifest_name(generations(path)[-1] + 1)
    manifest.write_text(text, encoding="utf-8")
    return manifest


def test_deeply_nested_manifest_is_refused_as_corrupt(tmp_path):
    ix = _fifty_documents(tmp_path / "ix")
    _write_manifest_text(ix.path, _nested_json(100_000))  # 0.1: RecursionError
    _assert_open_refuses(ix.path, "nested too deeply")


def test_deeply_nested_manifest_body_with_a_valid_checksum_is_refused_as_corrupt(tmp_path):
    ix = _fifty_documents(tmp_path / "ix")
    body = '{"format": "searchlib-1", "schema": ' + _nested_json(100_000) + "}"
    _write_manifest_text(ix.path, json.dumps({"crc32": zlib.crc32(body.encode()), "manifest": body}))
    _assert_open_refuses(ix.path, "nested too deeply")


# -- (7) a document count the segment's files cannot hold -----------------------------------------------

def test_manifest_declaring_more_documents_than_its_files_can_hold_is_refused(tmp_path):
    # 0.1 opened it and allocated 2.2 GiB (one int64 per declared document) on the first search.
    ix = _fifty_documents(tmp_path / "ix")
    edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[0], "doc_count", 300_000_000))
    _assert_open_refuses(ix.path, r"300000000 documents.*stored\.ptr\.npy")


def test_manifest_document_count_bound_is_the_stored_block_offsets(tmp_path):
    ix = _fifty_documents(tmp_path / "ix")  # 4 blocks of 16: 5 offsets of 8 bytes after the .npy header
    size = read_manifest(ix.path).segments[0].files[stored.POINTERS]["size"]
    most = stored.BLOCK_DOCS * (size // 8 - 1)
    edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[0], "doc_count", most))
    assert Index.open(ix.path).doc_count() == most  # what the files could hold: left to the segment reader
    edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[0], "doc_count", most + 1))
    _assert_open_refuses(ix.path, f"{most + 1} documents")


@pytest.mark.parametrize("entry", [None, {"crc32": 0}, {"size": "168", "crc32": 0}, {"size": True, "crc32": 0},
                                   {"size": -1, "crc32": 0}, [168, 0]])
def test_manifest_without_a_usable_stored_offsets_entry_is_refused(tmp_path, entry):
    ix = _fifty_documents(tmp_path / "ix")

    def change(manifest):
        files = manifest.segments[0].files
        if entry is None:
            del files[stored.POINTERS]
        else:
            files[stored.POINTERS] = entry

    edit_manifest(ix.path, change)
    _assert_open_refuses(ix.path, r"stored\.ptr\.npy")


def test_jsonl_value_nested_deeper_than_the_limit_is_refused_naming_line_and_field(tmp_path):
    # json decodes 600 levels, and 0.1 indexed them; reading the stored value back then recursed
    # past Python's limit (storage/stored.py), so every search that found the document failed.
    deep = '{"id": "2", "meta": {"a": ' + _nested_json(600) + "}}"
    path = _write(tmp_path / "docs.jsonl", '{"id": "1", "meta": ' + _nested_json(MAX_NESTING) + "}\n" + deep + "\n")
    documents = load_documents(path)
    assert next(documents)["id"] == "1"
    with pytest.raises(DocumentError, match=rf"docs\.jsonl, line 2: field 'meta' .*more than {MAX_NESTING} levels"):
        next(documents)


def test_stored_block_nested_beyond_the_recursion_limit_is_corrupt(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), meta=STORED()))
    with ix.writer() as w:
        w.add({"id": "1", "meta": "shallow"})
    segment = ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[0].name
    block = zlib.compress(b'[{"id":"1","meta":' + _nested_json(100_000).encode() + b"}]")
    for name in (stored.DATA, stored.POINTERS):
        (segment / name).unlink()
    entries = {stored.DATA: write_bytes(segment / stored.DATA, block),
               stored.POINTERS: write_array(segment / stored.POINTERS, np.array([0, len(block)], dtype=np.int64))}
    edit_manifest(ix.path, lambda manifest: manifest.segments[0].files.update(entries))
    with ix.searcher() as s:
        hit = s.search("id:1")[0]
        with pytest.raises(IndexCorruptError, match=r"stored\.bin.*nested too deeply"):
            hit.fields
