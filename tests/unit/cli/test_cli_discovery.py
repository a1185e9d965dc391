"""`searchlib search` beyond ranking: --facet, --collapse, --suggest, --more-like, --complete,
readable and as JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, Schema
from searchlib.cli import main


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True), tags=KEYWORD(stored=True), thread=KEYWORD(),
                    year=NUMERIC())
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        for i in range(12):
            w.add({"id": f"d{i}", "title": f"soap storyline {i}", "body": "the late miscarriage storyline " * (1 + i % 3),
                   "tags": "tv soap" if i % 2 else "radio", "thread": f"t{i % 3}", "year": 2000 + i})
    return tmp_path / "ix"


def test_facets_and_collapse(index_dir, capsys):
    assert main(["search", str(index_dir), "storyline", "--facet", "tags", "--facet", "year=5",
                 "--collapse", "thread"]) == 0
    out = capsys.readouterr().out
    assert "tags:" in out and "       6  soap" in out and "       6  radio" in out
    assert "year:" in out and "2000" in out and "2010" in out
    assert "3 groups" in out and "more with t" in out
    assert main(["search", str(index_dir), "storyline", "--facet", "tags", "--facet-limit", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["facets"] == {"tags": [["radio", 6]]}


def test_collapse_with_sort(index_dir, capsys):
    assert main(["search", str(index_dir), "storyline", "--collapse", "thread", "--sort", "year:desc", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in data["hits"]] == ["d11", "d10", "d9"]  # the newest of each thread, newest first


def test_suggest(index_dir, capsys):
    assert main(["search", str(index_dir), "storylne", "--suggest"]) == 0
    assert "did you mean: storyline" in capsys.readouterr().out
    assert main(["search", str(index_dir), "storylne", "--suggest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["suggestion"] == "storyline"


def test_more_like_and_complete(index_dir, capsys):
    assert main(["search", str(index_dir), "--more-like", "d1", "-n", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["like"] == "d1" and 0 < len(data["hits"]) <= 3 and "d1" not in [h["id"] for h in data["hits"]]
    assert main(["search", str(index_dir), "--complete", "misc", "--fields", "body"]) == 0
    assert capsys.readouterr().out.split() == ["12", "miscarriage"]
    assert main(["search", str(index_dir), "--complete", "sto", "--fields", "title", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["completions"] == [{"text": "storyline", "doc_freq": 12}]


def test_errors(index_dir, capsys):
    assert main(["search", str(index_dir)]) != 0
    assert "needs a QUERY" in capsys.readouterr().err
    assert main(["search", str(index_dir), "x", "--facet", "title"]) != 0
    assert "cannot facet on 'title'" in capsys.readouterr().err
    assert main(["search", str(index_dir), "--more-like", "nope"]) != 0
    assert "no document" in capsys.readouterr().err
