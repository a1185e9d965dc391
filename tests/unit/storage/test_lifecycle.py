"""Deleting by query, and the writer primitives it is built on (`Index.writer()` returns the exported
IndexWriter, which takes the index's settings and matches without scoring); the stages' imports
point one way."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, mixed_schema, unique_docs
from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, IndexWriter, QuerySyntaxError, Schema, SearchlibError
from searchlib.search import leaves as leaves_module
from searchlib.search.dense import DenseScorer
from searchlib.query.ast import Term

def lifecycle_schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), tag=KEYWORD(stored=True), n=NUMERIC(),
                  body=TEXT(analyzer="english", stored=True, passages="paragraph"))


def make(tmp_path: Path, commits: int = 2, per_commit: int = 10) -> Index:
    ix = Index.create(tmp_path / "ix", lifecycle_schema())
    for c in range(commits):
        with ix.writer(merge_factor=100) as w:
            for i in range(per_commit):
                k = c * per_commit + i
                w.add({"id": f"d{k}", "tag": "even" if k % 2 == 0 else "odd", "n": k,
                       "body": f"common words here\n\nparagraph {'walrus' if k % 5 == 0 else 'otter'}"})
    return ix


def stored_ids(ix: Index) -> list[str]:
    """The ids of the live documents, sorted."""
    with ix.searcher() as s:
        return sorted(d["id"] for d in s.documents())


def test_delete_by_query_in_committed_segments(tmp_path):
    ix = make(tmp_path)
    with ix.writer() as w:
        assert w.delete_by_query("walrus") == 4  # d0 d5 d10 d15, across both segments
        assert ix.doc_count() == 20  # not visible before the commit
    assert ix.doc_count() == 16
    assert not {"d0", "d5", "d10", "d15"} & set(stored_ids(ix))
    with ix.searcher() as s:
        assert s.search("walrus").total == 0 and s.search("otter").total == 16


def test_delete_by_query_sees_documents_added_earlier_in_the_batch(tmp_path):
    ix = make(tmp_path, commits=1)
    with ix.writer() as w:
        w.add({"id": "new1", "tag": "fresh", "body": "walrus arrives"})
        w.update({"id": "d1", "tag": "odd", "body": "now a walrus too"})
        w.add({"id": "new2", "tag": "fresh", "body": "otter arrives"})
        assert w.delete_by_query("walrus") == 4  # d0, d5, new1 and the new version of d1
        assert w.delete_by_query("walrus") == 0  # already deleted: not counted twice
        w.add({"id": "new3", "body": "walrus after the delete"})  # later additions are not affected
    assert set(stored_ids(ix)) == {"new2", "new3"} | {f"d{k}" for k in (2, 3, 4, 6, 7, 8, 9)}


def test_delete_by_query_is_part_of_the_atomic_batch(tmp_path):
    ix = make(tmp_path)
    w = ix.writer()
    assert w.delete_by_query("tag:even") == 10
    w.cancel()
    assert ix.doc_count() == 20
    with pytest.raises(RuntimeError):
        with ix.writer() as w:
            w.delete_by_query("*:*")
            raise RuntimeError("the block fails")
    assert ix.doc_count() == 20


@pytest.mark.parametrize("query, expected", [
    ("tag:odd", 10), ("n:3", 1), ("+tag:even +walrus", 2), ("otter -tag:odd", 8), (Term("id", "d7"), 1),
    ("*:*", 20), ("the", 0), ("nothingmatches", 0),
])
def test_delete_by_query_counts(tmp_path, query, expected):
    ix = make(tmp_path)
    with ix.writer() as w:
        assert w.delete_by_query(query) == expected
    assert ix.doc_count() == 20 - expected


@pytest.mark.parametrize("query", ["tag:(odd", "nosuchfield:x", '"unclosed'])
def test_delete_by_query_parses_strictly(tmp_path, query):
    ix = make(tmp_path, commits=1)
    with ix.writer() as w:
        with pytest.raises(QuerySyntaxError):
            w.delete_by_query(query)
        w.add({"id": "still-fine", "body": "the writer goes on"})
    assert ix.doc_count() == 11


def test_delete_documents_primitive(tmp_path):
    ix = make(tmp_path)
    with ix.writer() as w:
        segments = list(w.live_segments())
        assert len(segments) == 2 and all(live.all() for _, _, live in segments)
        name = segments[1][0]
        assert w.delete_documents(name, [0, 1, 1]) == 2
        assert w.delete_documents(name, np.array([1, 2])) == 1
        live = dict((n, m) for n, _, m in w.live_segments())[name]
        assert live.tolist()[:4] == [False, False, False, True]
        with pytest.raises(SearchlibError, match="out of range"):
            w.delete_documents(name, [10])
        with pytest.raises(SearchlibError, match="no segment"):
            w.delete_documents("seg-99999999", [0])
    assert ix.doc_count() == 17
    assert not {"d10", "d11", "d12"} & set(stored_ids(ix))


# Each package may import only from the stages before it (searchlib/<package> -> what it must not import).
LATER_STAGES = {
    "storage": ("indexing", "query", "search", "highlight", "index", "cli"),
    "query": ("indexing", "search", "highlight", "index", "cli"),
    "search": ("indexing", "index", "cli"),
    "indexing": ("index", "cli"),
}


@pytest.mark.parametrize("package", sorted(LATER_STAGES))
def test_stages_import_only_from_earlier_stages(package):
    later = "|".join(LATER_STAGES[package])
    pattern = re.compile(rf"\s*(from\s+(\.\.|searchlib\.)({later})\b|import\s+searchlib\.({later})\b)")
    offenders = [f"{path.name}:{lineno}: {line.strip()}"
                 for path in (REPO / "searchlib" / package).glob("*.py")
                 for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.match(line)]
    assert offenders == []


def test_index_writer_is_the_exported_writer(tmp_path):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    with ix.writer() as w:
        assert type(w) is IndexWriter and callable(w.delete_by_query)


# -- the writer and its settings ------------------------------------------------------------------

def test_writer_takes_its_settings_from_the_index(tmp_path):
    ix = Index.create(tmp_path / "ix", mixed_schema(), settings={"operator": "AND"})
    w = IndexWriter(ix.path)
    try:
        assert w.settings == ix.settings and w.settings.operator == "AND"
    finally:
        w.close()
    with ix.writer() as w:
        assert w.settings == ix.settings
        w.add({"id": "a", "body": "red fish"})
        w.add({"id": "b", "body": "red bird"})
    with ix.writer() as w:
        assert w.delete_by_query("red fish") == 1  # AND: only the document with both words
    assert [h.id for h in ix.search("red")] == ["b"]


def test_delete_by_query_matches_without_scoring(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    with ix.writer() as w:
        for doc in unique_docs(10):
            w.add(doc)
    calls, scoring = [], []
    real = DenseScorer.matching

    def recording(self, w):
        calls.append((type(w).__name__, self.norm.bm25))
        return real(self, w)

    def spy(name, original):
        def recorded(*args, **kwargs):
            scoring.append(name)
            return original(*args, **kwargs)
        return recorded

    monkeypatch.setattr(DenseScorer, "matching", recording)
    monkeypatch.setattr(DenseScorer, "evaluate", spy("evaluate", DenseScorer.evaluate))  # where score arrays are built
    monkeypatch.setattr(leaves_module, "length_norm", spy("length_norm", leaves_module.length_norm))
    with ix.writer() as w:
        assert w.delete_by_query("n:[2 TO 4]") == 3
        assert scoring == []  # the range is matched directly: no evaluate(), no score array
        assert w.delete_by_query("uniq7 OR tag:t8") == 2
        assert "length_norm" not in scoring  # no BM25 length norms
    assert [name for name, _ in calls] == ["ConstantScore", "WeightedBool"]  # one segment, one call per query
    assert all(bm25 is None for _, bm25 in calls)  # evaluators that only match
    assert ix.doc_count() == 5
