"""ShardedIndex: a sharded index directory with the Index API (searcher, search, writer, stats)."""
from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from ..config import Settings
from ..query.ast import Query
from ..schema import Schema
from ..search import Results, parse_index_query
from ..storage.manifest import read_manifest
from .layout import read_top
from .search import ShardedSearcher
from .writer import ShardedWriter


class ShardedIndex:
    """A sharded index. `client` (a dask.distributed Client) serves searches on its workers;
    None searches the shards in this process. Every call reads the newest top-level manifest."""

    def __init__(self, path: "str | Path", client: Any = None):
        self.path, self.client = Path(path), client
        top = read_top(self.path)
        manifest = read_manifest(top.shard_paths(self.path)[0], top.shard_generations[0])
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)

    @property
    def shards(self) -> int:
        return read_top(self.path).shards

    @property
    def generation(self) -> int:
        return read_top(self.path).generation

    @property
    def metadata(self) -> dict:
        return dict(read_top(self.path).metadata)

    def searcher(self, timeout: float = 60.0, local_stats: bool = True) -> ShardedSearcher:
        """A searcher on the newest state, its shards held open (on the client's workers);
        see ShardedSearcher for `timeout` and `local_stats`."""
        return ShardedSearcher(self.path, self.client, timeout, local_stats)

    def search(self, query: "str | Query", limit: int = 10, **options: Any) -> Results:
        """Open a searcher, run one query, close it (keep a searcher for many queries)."""
        with self.searcher() as s:
            return s.search(query, limit, **options)

    def writer(self, timeout: float | None = None, **options: Any) -> ShardedWriter:
        """The sharded index's single writer (see ShardedWriter); waits up to `timeout` seconds for
        another writer (default: the index's `lock_timeout` setting, as Index.writer)."""
        return ShardedWriter(self.path, timeout=self.settings.lock_timeout if timeout is None else timeout, **options)

    def optimize(self, timeout: float | None = None) -> None:
        """Merge every shard into one segment, dropping deleted documents (one sharded commit)."""
        w = self.writer(timeout=timeout)
        try:
            w.optimize()
        finally:
            w.close()

    def parse_query(self, text: "str | Query", lenient: bool = False) -> Query:
        return parse_index_query(self.schema, self.settings, text, lenient)

    def doc_count(self) -> int:
        top = read_top(self.path)
        return sum(e.live_count for path, gen in zip(top.shard_paths(self.path), top.shard_generations)
                   for e in read_manifest(path, gen).segments)

    def stats(self) -> dict:
        """Counts and sizes of the whole index and of each shard (its generation, documents,
        deletions, segments and bytes on disk)."""
        top = read_top(self.path)
        shards = []
        for i, (path, gen) in enumerate(zip(top.shard_paths(self.path), top.shard_generations)):
            m = read_manifest(path, gen)
            size = sum(st.st_size for st in (p.lstat() for p in path.rglob("*")) if stat.S_ISREG(st.st_mode))
            shards.append({"shard": i, "dir": path.name, "generation": gen,
                           "documents": sum(e.live_count for e in m.segments),
                           "deleted": sum(e.deleted for e in m.segments), "segments": len(m.segments),
                           "size_bytes": size})
        return {"path": str(self.path), "generation": top.generation, "shards": shards,
                "documents": sum(s["documents"] for s in shards), "deleted": sum(s["deleted"] for s in shards),
                "segments": sum(s["segments"] for s in shards), "size_bytes": sum(s["size_bytes"] for s in shards),
                "settings": self.settings.to_json()}

    def __repr__(self) -> str:
        return f"ShardedIndex({str(self.path)!r})"
