"""Sharded indexes on dask.distributed: built by one task per shard, searched by long-lived workers.

    import searchlib.cluster as cluster
    ix = cluster.build(docs, "indexes/big", schema=schema, shards=4)   # client=None: a LocalCluster
    with cluster.open("indexes/big", client).searcher() as s:          # shards served on the workers
        s.search("storyline -film")

The modules, each importing only from the ones before it:

    layout  the top-level manifest, shard directories, routing by a stable hash of the unique key
    writer  ShardedWriter: add/update/delete routed by key, commits atomic over shards
    shard   ShardServer: one shard's searcher held open, answering the search phases
    search  ShardedSearcher: gather and sum statistics, score on every shard, merge
    index   ShardedIndex: the Index API over a sharded directory
    build   build(): one Dask task per shard

Dask is needed only to build and to serve on a cluster (`pip install "searchlib[dask]"`); a
sharded index is searched in this process without it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .build import build
from .index import ShardedIndex
from .layout import is_sharded, shard_of
from .search import ShardedSearcher, ShardUnavailableError
from .writer import ShardedWriter


def open(path: "str | Path", client: Any = None) -> ShardedIndex:  # noqa: A001 - the module's verb
    """The sharded index at `path`; with `client` (a dask.distributed Client, or a scheduler
    address) its searchers hold the shards open on the cluster's workers."""
    if isinstance(client, str):
        from distributed import Client
        client = Client(client)
    return ShardedIndex(path, client)


__all__ = ["ShardUnavailableError", "ShardedIndex", "ShardedSearcher", "ShardedWriter", "build", "is_sharded",
           "open", "shard_of"]
