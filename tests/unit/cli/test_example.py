"""Tests for examples/search.py, run as a user runs it: a separate process, output not a terminal; and its
index building called in this process."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_python
from searchlib import ID, TEXT, Schema
from searchlib.config import Settings

SCRIPT = REPO / "examples" / "search.py"
SEED = "000_b3c9b5d00b27d6df"
RANK_LINE = re.compile(r"^\s*(\d+)\. (\S+)  \(score ([0-9.]+)\)$")


def run_example(*args: str) -> subprocess.CompletedProcess:
    done = run_python(SCRIPT, *args, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def printed_hits(out: str) -> list[tuple[str, list[str]]]:
    """(id, the lines below its rank line) for each hit printed."""
    hits: list[tuple[str, list[str]]] = []
    for line in out.splitlines():
        m = RANK_LINE.match(line)
        if m:
            hits.append((m.group(2), []))
        elif hits and line.strip() and not re.match(r"\d+ of \d+ matching", line):
            hits[-1][1].append(line.strip())
    return hits


@pytest.mark.slow
def test_sample_query_ranks_the_seed_first_and_highlights_both_words(tmp_path: Path):
    index_dir = tmp_path / "sample"
    out = run_example("--index-dir", str(index_dir)).stdout
    assert "Indexed 25 documents" in out
    assert "Query: miscarriage storyline" in out
    hits = printed_hits(out)
    assert hits and hits[0][0] == SEED
    snippet = " ".join(hits[0][1])
    assert "[miscarriage]" in snippet and "[storyline]" in snippet
    assert "\x1b[" not in out  # not a terminal: plain brackets, no colour codes
    assert re.search(r"^\d+ of \d+ matching documents \([0-9.]+ ms\)$", out, re.M)
    assert "README" not in {doc_id for doc_id, _ in hits}

    second = run_example("--index-dir", str(index_dir)).stdout
    assert "Reusing index" in second and "Indexing" not in second
    assert printed_hits(second)[0][0] == SEED


@pytest.mark.slow
def test_own_query_and_limit(tmp_path: Path):
    out = run_example("--index-dir", str(tmp_path / "ix"), "--limit", "2", '"late miscarriage"').stdout
    hits = printed_hits(out)
    assert len(hits) <= 2 and hits[0][0] == SEED
    assert "[late miscarriage]" in " ".join(hits[0][1])


@pytest.mark.slow
def test_changed_corpus_is_reindexed(tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "examples" / "corpus", corpus)
    index_dir = tmp_path / "ix"
    first = run_example("--corpus", str(corpus), "--index-dir", str(index_dir)).stdout
    assert "Indexed 26 documents" in first  # another folder: its README.md is a document like any other

    assert "Reusing" in run_example("--corpus", str(corpus), "--index-dir", str(index_dir)).stdout
    (corpus / "099_new.txt").write_text("A Brand New Storyline\n\nAbout a miscarriage storyline.\n",
                                        encoding="utf-8")
    third = run_example("--corpus", str(corpus), "--index-dir", str(index_dir)).stdout
    assert "Rebuilding" in third and "Indexed 27 documents" in third
    assert "099_new" in {doc_id for doc_id, _ in printed_hits(third)}


@pytest.mark.slow
def test_jsonl_corpus(tmp_path: Path):
    corpus = tmp_path / "news.jsonl"
    records = [{"_id": "n1", "title": "Garden", "text": "Plant seeds in spring.", "metadata": {}},
               {"_id": "n2", "title": "Soap", "text": "A storyline about grief."}]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = run_example("--corpus", str(corpus), "--index-dir", str(tmp_path / "ix"), "storyline").stdout
    assert "Indexed 2 documents" in out
    assert [doc_id for doc_id, _ in printed_hits(out)] == ["n2"]


@pytest.mark.slow
def test_index_built_with_another_schema_is_rebuilt(tmp_path: Path):
    from searchlib import ID, TEXT, Index, Schema

    index_dir = tmp_path / "ix"
    Index.create(index_dir, Schema(id=ID(unique=True), body=TEXT()))
    out = run_example("--index-dir", str(index_dir)).stdout
    assert "Rebuilding" in out and "configuration has changed" in out and "Indexed 25 documents" in out
    assert printed_hits(out)[0][0] == SEED
    assert "title" in Index.open(index_dir).schema


def test_ids_and_titles_cannot_send_escape_sequences_to_a_terminal(tmp_path: Path, capsys, monkeypatch):
    import importlib.util

    from searchlib import ID, TEXT, Index, Schema

    spec = importlib.util.spec_from_file_location("example_search", SCRIPT)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True),
                                              body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "evil\x1b]0;pwned\x07", "title": "Title \x1b[31mred\x1b[0m\x9b2J", "body": "a storyline"})
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # sys.stdout is capsys's stand-in here
    example.show_results(ix, "storyline", 5)
    out = capsys.readouterr().out
    assert "evil  (score" in out and "Title red" in out
    assert "\x1b]" not in out and "\x07" not in out and "\x1b[31m" not in out and "\x9b" not in out


def test_example_keys_documents_by_the_configured_key_field(tmp_path):
    import importlib.util

    from searchlib.config import Config

    script = REPO / "examples" / "search.py"
    spec = importlib.util.spec_from_file_location("example_search_review", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text("First\n\nA storyline.\n", encoding="utf-8")
    schema = Schema(key=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True))
    config = Config(path=None, schema=schema, settings=Settings())
    ix = example.open_or_build(tmp_path / "ix", corpus, config, ())
    ix = example.open_or_build(tmp_path / "ix", corpus, config, ())  # reused: nothing is added twice
    assert ix.doc_count() == 1
    assert [h.id for h in ix.search("storyline")] == ["one"]


def test_an_index_built_by_an_earlier_release_is_rebuilt(tmp_path, capsys):
    import importlib.util

    from conftest import set_manifest_format
    from searchlib import load_config

    spec = importlib.util.spec_from_file_location("example_search_format", SCRIPT)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    config = load_config(example.CONFIG)
    index_dir = tmp_path / "sample"
    example.open_or_build(index_dir, example.SAMPLE_CORPUS, config, example.SAMPLE_EXCLUDE)
    set_manifest_format(index_dir, "searchlib-1")  # as searchlib 0.1 left it in indexes/
    capsys.readouterr()
    ix = example.open_or_build(index_dir, example.SAMPLE_CORPUS, config, example.SAMPLE_EXCLUDE)
    out = capsys.readouterr().out
    assert "Rebuilding" in out and "built by searchlib 0.1 (format searchlib-1): rebuild it" in out
    assert "Indexed 25 documents" in out
    assert [h.id for h in ix.search("miscarriage storyline", limit=1)] == [SEED]
