"""An index of format searchlib-3 or -4 (whose `english` preset was Lucene's 33 stop words and Porter) is
read with that analyzer, now named `english-classic`, and committed again in today's format."""
from __future__ import annotations

import dataclasses

import pytest

from searchlib import ID, TEXT, Index, Schema
from searchlib.storage import manifest as manifest_module
from searchlib.storage.manifest import FORMAT, read_manifest, write_manifest


@pytest.mark.parametrize("old_format", ["searchlib-3", "searchlib-4"])
def test_earlier_english_reads_as_english_classic(tmp_path, monkeypatch, old_format):
    path = tmp_path / "old"
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english-classic")))
    with ix.writer() as w:
        w.add({"id": "1", "body": "all about them"})  # stop words for today's english, not for the classic list
    old = read_manifest(path)
    old.schema["body"]["analyzer"] = "english"
    monkeypatch.setattr(manifest_module, "FORMAT", old_format)  # write it as an earlier format did
    write_manifest(path, dataclasses.replace(old, generation=old.generation + 1))
    monkeypatch.undo()

    ix = Index(path)
    assert ix.schema.fields["body"].to_json()["analyzer"] == "english-classic"
    with ix.searcher() as s:
        assert [h.id for h in s.search("about")] == ["1"]
    with ix.writer() as w:
        w.add({"id": "2", "body": "them"})
    assert read_manifest(path).to_json()["format"] == FORMAT
    with Index(path).searcher() as s:
        assert sorted(h.id for h in s.search("them")) == ["1", "2"]


def test_todays_english_drops_more_stop_words(tmp_path):
    ix = Index.create(tmp_path / "new", Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english")))
    with ix.writer() as w:
        w.add({"id": "1", "body": "all about them"})
    with ix.searcher() as s:
        assert len(s.search("about")) == 0
