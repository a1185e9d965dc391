"""The sharded writer: adds, updates and deletes routed by key, committed atomically over shards.

One sharded writer at a time (the sharded directory's write lock), and under it one ordinary
IndexWriter per shard it touches. `commit()` commits every touched shard, then replaces the
top-level manifest with one naming each shard's new generation: the one step that makes the batch
visible. A crash before that step leaves the previous state (the shards' newer commits are
orphans, rolled back by the next sharded writer: layout.roll_back_orphans); after it, the new
state is complete. A failure while committing closes the writer; nothing partial shows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..config import Settings
from ..errors import DocumentError, SearchlibError
from ..indexing.writer import CommitOnExit, IndexWriter
from ..query.ast import Query
from ..schema import Schema
from ..storage.lock import WriteLock
from ..storage.manifest import read_manifest
from .layout import TopManifest, read_top, require_key, roll_back_orphans, shard_of, write_top


class ShardedWriter(CommitOnExit):
    """Writes a sharded index: the IndexWriter API (add, update, delete, delete_by_query,
    delete_all, commit, cancel, close; a context manager that commits on success), routed by
    the unique key. `options` go to each shard's IndexWriter."""

    def __init__(self, path: "str | Path", timeout: float = 0.0, **options: Any):
        self.path = Path(path)
        self._lock = WriteLock(self.path).acquire(timeout)
        try:
            self._top = read_top(self.path)
            roll_back_orphans(self.path, self._top)
        except BaseException:
            self._lock.release()
            raise
        self._options = options
        self._shards = self._top.shard_paths(self.path)
        self._writers: dict[int, IndexWriter] = {}
        first = read_manifest(self._shards[0], self._top.shard_generations[0])
        self.schema = Schema.from_json(first.schema)
        self.settings = Settings.from_json(first.settings)
        self._key = require_key(self.schema)

    @property
    def shards(self) -> int:
        return self._top.shards

    def _writer(self, shard: int) -> IndexWriter:
        w = self._writers.get(shard)
        if w is None:
            self._check_open()
            w = self._writers[shard] = IndexWriter(self._shards[shard], **self._options)
        return w

    def _route(self, doc: Mapping[str, Any]) -> IndexWriter:
        key = doc.get(self._key) if isinstance(doc, Mapping) else None
        if key is None:
            raise DocumentError(f"a sharded index routes documents by their {self._key!r} field; this document has "
                                "none")
        return self._writer(shard_of(key, self.shards))

    # -- documents ----------------------------------------------------------------------------
    def add(self, doc: Mapping[str, Any]) -> None:
        """Add a document to the shard its key routes to."""
        self._route(doc).add(doc)

    def update(self, doc: Mapping[str, Any]) -> None:
        """Replace the document with this key (in the one shard that can hold it), or add it."""
        self._route(doc).update(doc)

    def delete(self, key: Any) -> int:
        """Delete the documents whose unique key is `key`; return how many were live."""
        return self._writer(shard_of(key, self.shards)).delete(key)

    def delete_by_query(self, query: "str | Query") -> int:
        """Delete every document matching `query` in every shard; return how many."""
        return sum(self._writer(i).delete_by_query(query) for i in range(self.shards))

    def delete_all(self) -> None:
        for i in range(self.shards):
            self._writer(i).delete_all()

    # -- committing ----------------------------------------------------------------------------
    def commit(self, metadata: Mapping[str, Any] | None = None, merge: bool = True, optimize: bool = False) -> int:
        """Commit every touched shard, then make them visible together by replacing the top-level
        manifest; return the sharded index's new generation. `metadata` is saved in that manifest."""
        self._check_open()
        gens = list(self._top.shard_generations)
        try:
            for shard, w in sorted(self._writers.items()):
                gens[shard] = w.commit(merge=merge, optimize=optimize)
            top = TopManifest(self._top.generation + 1, self._top.build, self._top.dirs, gens,
                              dict(metadata) if metadata is not None else self._top.metadata)
            write_top(self.path, top)
        except BaseException:
            self.cancel()  # shards committed but not named by the manifest are orphans: never visible
            raise
        self._top = top
        return top.generation

    def optimize(self) -> int:
        """Merge every shard into one segment and commit."""
        for i in range(self.shards):
            self._writer(i)
        return self.commit(optimize=True)

    def cancel(self) -> None:
        """Discard every uncommitted change and release the locks."""
        for w in self._writers.values():
            w.cancel()
        self._writers = {}
        if self._lock.held:
            self._lock.release()

    close = cancel

    def _check_open(self) -> None:
        if not self._lock.held:
            raise SearchlibError("this sharded writer is closed")

