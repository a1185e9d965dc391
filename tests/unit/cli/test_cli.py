"""Tests for the `searchlib` command: index, search, stats, and how it reports errors."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_python
from searchlib import Index
from searchlib.cli import main

EXAMPLE_CONFIG = REPO / "examples" / "searchlib.yaml"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "soap.txt").write_text(
        "Soap Star Films Miscarriage Storyline\n\n"
        "The actress spoke about filming a late miscarriage storyline for the soap.\n\n"
        "She thanked the crew.\n", encoding="utf-8")
    (folder / "garden.txt").write_text(
        "Spring Garden Tips\n\nPlant the seeds after the last frost. Water them gently.\n", encoding="utf-8")
    (folder / "radio.md").write_text(
        "# Radio Drama\n\nA radio storyline can move anywhere: listeners imagine the scenery.\n", encoding="utf-8")
    return folder


@pytest.fixture
def index_dir(tmp_path: Path, corpus: Path, capsys) -> Path:
    path = tmp_path / "ix"
    assert main(["index", str(path), str(corpus), "--no-progress"]) == 0
    capsys.readouterr()
    return path


def run_module(*args: str) -> subprocess.CompletedProcess:
    """`python -m searchlib ARGS` in a fresh interpreter, with this checkout on the path."""
    return run_python("-m", "searchlib", *args)


# -- index -------------------------------------------------------------------------------------


def test_index_creates_the_index_and_summarises(tmp_path: Path, corpus: Path, capsys):
    path = tmp_path / "ix"
    assert main(["index", str(path), str(corpus), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 3 documents" in out and "docs/s" in out
    ix = Index.open(path)
    assert ix.doc_count() == 3
    assert ix.schema.unique_field == "id" and ix.schema["title"].boost == 2.0
    assert ix.schema["body"].passages is not None


def test_reindexing_updates_documents_by_id(index_dir: Path, corpus: Path, capsys):
    (corpus / "garden.txt").write_text("Autumn Garden Tips\n\nRake the leaves.\n", encoding="utf-8")
    (corpus / "new.txt").write_text("Brand New\n\nA new document.\n", encoding="utf-8")
    assert main(["index", str(index_dir), str(corpus), "--no-progress"]) == 0
    assert "now holds 4 documents" in capsys.readouterr().out
    assert main(["search", str(index_dir), "leaves", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in data["hits"]] == ["garden"]
    assert data["hits"][0]["title"] == "Autumn Garden Tips"


def test_index_with_config(tmp_path: Path, corpus: Path, capsys):
    path = tmp_path / "ix"
    assert main(["index", str(path), str(corpus), "--config", str(EXAMPLE_CONFIG), "--no-progress"]) == 0
    ix = Index.open(path)
    assert ix.settings.highlight.max_fragments == 2
    assert ix.settings.default_fields == {"title": 1.0, "body": 1.0}


def test_index_refuses_a_different_schema_without_overwrite(tmp_path: Path, index_dir: Path, corpus: Path, capsys):
    config = tmp_path / "other.yaml"
    config.write_text("schema:\n  id: {type: id, unique: true}\n  body: {type: text}\n", encoding="utf-8")
    assert main(["index", str(index_dir), str(corpus), "--config", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("searchlib: error:") and "--overwrite" in err
    assert main(["index", str(index_dir), str(corpus), "--config", str(config), "--overwrite",
                 "--no-progress"]) == 0
    assert "title" not in Index.open(index_dir).schema


def test_bad_config_is_reported(tmp_path: Path, corpus: Path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("schema:\n  body: {type: text, analyser: english}\n", encoding="utf-8")
    assert main(["index", str(tmp_path / "ix"), str(corpus), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "schema.body.analyser" in err and "Traceback" not in err


def test_jsonl_with_extra_keys_is_indexed_with_a_warning(tmp_path: Path, capsys):
    source = tmp_path / "corpus.jsonl"
    source.write_text(json.dumps({"_id": "d1", "title": "T", "text": "storyline", "metadata": {"a": 1}}) + "\n",
                      encoding="utf-8")
    assert main(["index", str(tmp_path / "ix"), str(source), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "ignoring key(s) not in the schema: metadata" in captured.err
    assert Index.open(tmp_path / "ix").doc_count() == 1


def test_non_utf8_file_in_corpus_is_exit_2_naming_the_file(tmp_path: Path, corpus: Path, capsys):
    (corpus / "latin1.txt").write_bytes("Caf\u00e9\n\nna\u00efve\n".encode("latin-1"))
    assert main(["index", str(tmp_path / "ix"), str(corpus), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("searchlib: error:")
    assert "latin1.txt" in err and "byte 3" in err and "Traceback" not in err


def test_missing_source_is_exit_2_and_creates_nothing(tmp_path: Path, capsys):
    assert main(["index", str(tmp_path / "ix"), str(tmp_path / "nowhere"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "searchlib: error:" in err and "nowhere" in err
    assert not (tmp_path / "ix").exists()


def test_failed_overwrite_leaves_the_old_index(index_dir: Path, corpus: Path, capsys):
    (corpus / "bad.txt").write_bytes(b"\xff\xfe")
    assert main(["index", str(index_dir), str(corpus), "--overwrite", "--no-progress"]) == 2
    assert "bad.txt" in capsys.readouterr().err
    assert Index.open(index_dir).doc_count() == 3
    (corpus / "bad.txt").unlink()
    (corpus / "garden.txt").unlink()
    assert main(["index", str(index_dir), str(corpus), "--overwrite", "--no-progress"]) == 0
    assert Index.open(index_dir).doc_count() == 2  # overwrite replaces: the deleted file's document is gone


def test_config_with_other_settings_warns_that_the_index_keeps_its_own(index_dir: Path, corpus: Path, capsys):
    assert main(["index", str(index_dir), str(corpus), "--config", str(EXAMPLE_CONFIG), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "keeps the settings it was created with (k1" in err or "keeps the settings it was created with (" in err


# -- search ------------------------------------------------------------------------------------


def test_search_readable_output(index_dir: Path, capsys):
    assert main(["search", str(index_dir), "miscarriage storyline"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    rank, score, doc_id = lines[0].split()[:3]
    assert rank == "1." and float(score) > 0 and doc_id == "soap"
    assert "Soap Star Films [Miscarriage] [Storyline]" in lines[0]  # the title, highlighted where it matched
    assert "[miscarriage] [storyline]" in out  # plain formatter: stdout is not a terminal
    assert "\x1b[" not in out
    assert lines[-1].startswith("2 of 2 documents (") and lines[-1].endswith(" ms)")


def test_search_format_and_limit(index_dir: Path, capsys):
    assert main(["search", str(index_dir), "storyline", "-n", "1", "--format", "ansi"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[1;33m" in out and out.splitlines()[-1].startswith("1 of 2 documents")
    assert main(["search", str(index_dir), "storyline", "--offset", "1", "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert "<mark>storyline</mark>" in out and out.splitlines()[0].lstrip().startswith("2.")


def test_search_json(index_dir: Path, capsys):
    assert main(["search", str(index_dir), "miscarriage storyline", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 2 and [h["rank"] for h in data["hits"]] == [1, 2]
    assert data["hits"][0]["id"] == "soap"
    assert "[miscarriage]" in data["hits"][0]["snippet"]
    assert main(["search", str(index_dir), "storyline", "--json", "--format", "html"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "<mark>" in data["hits"][0]["snippet"]


def test_search_and_fields_flat(index_dir: Path, capsys):
    assert main(["search", str(index_dir), "radio storyline", "--and", "--json"]) == 0
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["radio"]
    assert main(["search", str(index_dir), "storyline", "--fields", "title", "--json"]) == 0
    assert [h["id"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["soap"]
    assert main(["search", str(index_dir), "storyline", "--flat"]) == 0
    assert "passages from 2 matching documents" in capsys.readouterr().out


def test_no_results_is_not_an_error(index_dir: Path, capsys):
    assert main(["search", str(index_dir), "xylophone"]) == 0
    assert capsys.readouterr().out.strip().startswith("0 of 0 documents")


def test_bad_query_strict_is_exit_2_with_column(index_dir: Path, capsys):
    assert main(["search", str(index_dir), 'title:( "unclosed', "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("searchlib: error:") and "column" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert main(["search", str(index_dir), 'title:( "unclosed']) == 0  # lenient by default


def test_unknown_field_is_exit_2(index_dir: Path, capsys):
    assert main(["search", str(index_dir), "storyline", "--fields", "nope"]) == 2
    assert "no field 'nope'" in capsys.readouterr().err


def test_missing_index_is_exit_2_without_traceback(tmp_path: Path, capsys):
    assert main(["search", str(tmp_path / "nothing"), "query"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("searchlib: error:") and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    assert main(["stats", str(tmp_path / "empty")]) == 2
    assert "no searchlib index" in capsys.readouterr().err


def test_usage_error_is_exit_2(capsys):
    assert main(["search", "ix"]) == 2
    assert main(["search", "ix", "q", "--limit", "-3"]) == 2
    assert "usage:" in capsys.readouterr().err


def test_keyboard_interrupt_is_exit_130_quietly(index_dir: Path, monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("searchlib.cli.run_search", interrupted)
    assert main(["search", str(index_dir), "storyline"]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "searchlib: interrupted\n"


# -- stats -------------------------------------------------------------------------------------


def test_stats(index_dir: Path, capsys):
    assert main(["stats", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "Documents   3 live, 0 deleted" in out and "body" in out and "title" in out
    assert main(["stats", str(index_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["documents"] == 3 and set(data["fields"]) == {"id", "title", "body"}


# -- a real process ----------------------------------------------------------------------------


@pytest.mark.slow
def test_python_dash_m_searchlib(tmp_path: Path, corpus: Path):
    path = tmp_path / "ix"
    done = run_module("index", str(path), str(corpus))
    assert done.returncode == 0, done.stderr
    assert "Indexed 3 documents" in done.stdout

    done = run_module("search", str(path), "miscarriage storyline", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["hits"][0]["id"] == "soap" and data["total"] == 2

    done = run_module("search", str(path), "storyline")
    assert done.returncode == 0 and "[storyline]" in done.stdout

    done = run_module("search", str(tmp_path / "missing"), "storyline")
    assert done.returncode == 2
    assert done.stderr.startswith("searchlib: error:") and "Traceback" not in done.stderr

    done = run_module("search", str(path), '"unclosed', "--strict")
    assert done.returncode == 2 and "column" in done.stderr and "Traceback" not in done.stderr
