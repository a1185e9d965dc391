"""The sharded writer and the top-level manifest: a batch over several shards is visible whole or
not at all; readers open exactly the shard generations the manifest names; bad input is refused."""
from __future__ import annotations

import json

import pytest

import searchlib.cluster.writer as writer_module
from searchlib import ID, TEXT, DocumentError, Index, IndexCorruptError, Schema, SchemaError
from searchlib.cluster import ShardedIndex, shard_of
from searchlib.cluster.layout import read_top, require_key
from searchlib.storage.manifest import generations

from test_cluster_equality import create_sharded


def docs(n: int, word: str = "alpha") -> list[dict]:
    return [{"id": f"k{i}", "body": f"{word} text number {i}"} for i in range(n)]


@pytest.fixture
def ix(tmp_path) -> ShardedIndex:
    ix = create_sharded(tmp_path / "sharded", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)), 3)
    with ix.writer() as w:
        for d in docs(30):
            w.add(d)
    return ix


def test_a_batch_is_visible_in_every_shard_or_in_none(ix, monkeypatch):
    before = read_top(ix.path)
    w = ix.writer()
    for d in docs(30, "beta"):
        w.update(d)

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(writer_module, "write_top", crash)
    with pytest.raises(OSError):
        w.commit()
    # every shard committed its part, but the manifest still names the old generations
    assert all(generations(p)[-1] > g for p, g in zip(before.shard_paths(ix.path), before.shard_generations))
    with ix.searcher() as s:
        assert s.search("beta").total == 0 and s.search("alpha").total == 30
    monkeypatch.undo()
    with ix.writer() as w:  # the next writer rolls the orphaned commits back
        w.delete("k1")
    top = read_top(ix.path)
    assert top.generation == before.generation + 1
    with ix.searcher() as s:
        assert s.search("beta").total == 0 and s.search("alpha").total == 29


def test_only_touched_shards_get_new_generations(ix):
    before = read_top(ix.path)
    with ix.writer() as w:
        w.delete("k3")
    after = read_top(ix.path)
    changed = [i for i in range(3) if after.shard_generations[i] != before.shard_generations[i]]
    assert changed == [shard_of("k3", 3)]


def test_readers_open_the_named_generation_not_the_newest(ix):
    top = read_top(ix.path)
    shard = Index(top.shard_paths(ix.path)[0])  # written behind the manifest's back
    with shard.writer() as w:
        w.add({"id": "stray", "body": "gamma"})
    with ix.searcher() as s:
        assert s.search("gamma").total == 0


def test_bad_input_is_refused_clearly(ix, tmp_path):
    with ix.writer() as w:
        with pytest.raises(DocumentError, match="routes documents by their 'id'"):
            w.add({"body": "no key"})
    with pytest.raises(SchemaError, match="unique ID field"):
        require_key(Schema(body=TEXT()))
    top = ix.path / "sharded.json"
    data = json.loads(top.read_text())
    top.write_text(json.dumps({**data, "manifest": data["manifest"].replace('"b0001-s000"', '"../evil"')}))
    with pytest.raises(IndexCorruptError):
        Index.open(ix.path)
