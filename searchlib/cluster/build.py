"""Building a sharded index on a dask.distributed cluster: one task per shard, in parallel.

`build(source, path, shards=N)` writes N fresh shard directories, each by one task on a worker
(an ordinary IndexWriter, one commit), then writes the top-level manifest naming them: the build
is visible whole or not at all. A task that fails (a worker that dies, a bad document) fails the
build with an error naming the shard; the new directories are removed and whatever the path held
before (a previous build) is left as it was. Dask re-runs a task whose worker died on another
worker up to `distributed.scheduler.allowed-failures` times; a task always writes its shard anew.

Where the documents come from decides how they reach the tasks:
- a loader path (folder, .jsonl, .csv: searchlib.loaders): every task reads the source itself and
  keeps the documents its shard owns, so nothing is shipped (the path must be reachable from
  every worker, as the shards' path must);
- a dask.bag of dicts or a dask.dataframe: every partition is split by shard on the workers and
  each shard's task gathers its pieces;
- any other iterable of dicts: routed here and sent to the tasks (it passes through this process).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..config import Settings, load_config
from ..errors import ConfigError, DocumentError, SearchlibError
from ..index import Index, checked_settings
from ..loaders import index_documents, load_documents
from ..schema import Schema
from ..storage.lock import LOCK_NAME, WriteLock
from .index import ShardedIndex
from .layout import TopManifest, is_sharded, read_top, require_key, shard_dir_name, shard_of, write_top
from .malloc import restore_malloc

# How each task's writer runs: one analysis process per task (the task is the unit of parallelism).
SHARD_WRITER_OPTIONS = {"workers": 1}


def build(source: Any, path: "str | Path | None" = None, *, schema: Schema | None = None,
          settings: "Settings | Mapping | None" = None, config: "str | Path | None" = None,
          shards: int | None = None, client: Any = None, overwrite: bool = False, progress: bool = False,
          text_field: str = "body", title_field: str = "title", exclude: Iterable[str] = (),
          **loader_options: Any) -> ShardedIndex:
    """Build a sharded index at `path` from `source` and return it (searched in this process;
    pass `client` to ShardedIndex to search on the cluster).

    `schema`/`settings`, or `config` (a YAML file, as Index.from_config; its `path:` is used when
    `path` is None). The schema needs a unique ID field: documents are routed by its value.
    `shards` defaults to the number of workers. `client` is a dask.distributed Client; None starts
    a LocalCluster with one single-threaded worker process per core for the build. `overwrite`
    replaces an existing sharded index (atomically: the old one stays searchable until the new
    manifest is written). `progress` shows Dask's progress bar. `text_field`, `title_field`,
    `exclude` and `loader_options` (encoding, on_error, ids) are load_documents' options for a
    path source.
    """
    schema, settings, path = _resolve(schema, settings, config, path)
    key = require_key(schema)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    lock = WriteLock(path).acquire()
    owned = None
    try:
        old = _previous(path, overwrite)
        if client is None:
            owned = client = _local_client()
        if shards is None:
            shards = max(1, len(client.scheduler_info()["workers"]))
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise SearchlibError(f"shards must be a whole number >= 1, got {shards!r}")
        build_no = old.build + 1 if old is not None else 1
        dirs = [shard_dir_name(build_no, i) for i in range(shards)]
        targets = [str(path / d) for d in dirs]
        spec = (schema.to_json(), settings.to_json())
        futures = _submit(client, source, targets, spec, key, dict(text_field=text_field, title_field=title_field,
                                                                       exclude=list(exclude), **loader_options))
        if progress:  # Dask's text bar, on stderr like every progress bar of searchlib
            from distributed import progress as show
            with contextlib.redirect_stdout(sys.stderr):
                show(futures)
        try:
            written = _gather(client, futures, targets)
        except BaseException:
            for t in targets:
                shutil.rmtree(t, ignore_errors=True)
            raise
        top = TopManifest(old.generation + 1 if old is not None else 1, build_no, dirs, [g for g, _ in written])
        write_top(path, top)
        if old is not None:
            for d in old.dirs:
                shutil.rmtree(path / d, ignore_errors=True)
    finally:
        lock.release()
        if owned is not None:
            cluster = owned.cluster
            owned.close()
            cluster.close()
    return ShardedIndex(path)


def _resolve(schema, settings, config, path) -> tuple[Schema, Settings, Path]:
    if config is not None:
        if schema is not None:
            raise SearchlibError("give either schema= or config=, not both")
        loaded = load_config(config)
        schema, settings = loaded.schema, loaded.settings
        path = path if path is not None else loaded.path
    if path is None:
        raise ConfigError("path", "no index path: pass path= or set 'path:' in the configuration")
    return schema, checked_settings(schema, settings), Path(path)


def _previous(path: Path, overwrite: bool) -> "TopManifest | None":
    """The sharded index already at `path` (to replace only with `overwrite`), or None."""
    if is_sharded(path):
        if not overwrite:
            raise SearchlibError(f"{path} already holds a sharded index; build with overwrite=True to replace it")
        return read_top(path)
    if any(p.name != LOCK_NAME for p in path.iterdir()):
        raise SearchlibError(f"{path} holds files that are not a sharded searchlib index; refusing to build there")
    return None


def _local_client() -> Any:
    """A LocalCluster with one single-threaded worker process per core, and its client."""
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    return Client(cluster)


def _submit(client: Any, source: Any, targets: list[str], spec: tuple, key: str, loader: dict) -> list:
    """One future per shard, writing it from `source`."""
    n = len(targets)
    if isinstance(source, (str, Path)):
        return [client.submit(write_from_path, t, spec, str(source), loader, key, i, n, pure=False)
                for i, t in enumerate(targets)]
    if _is_dask_collection(source):
        bag = source.to_bag(format="dict") if _is_dataframe(source) else source
        from dask import delayed
        pieces = [delayed(split_partition, pure=True)(part, key, n) for part in bag.to_delayed()]
        tasks = [delayed(write_from_pieces, pure=False)(t, spec, [p[i] for p in pieces]) for i, t in
                 enumerate(targets)]
        return client.compute(tasks)
    if not isinstance(source, Iterable) or isinstance(source, Mapping):
        raise SearchlibError(f"cannot build from a {type(source).__name__}: give a loader path, a dask bag or "
                             "dataframe, or an iterable of documents")
    routed: list[list] = [[] for _ in range(n)]
    for doc in source:
        routed[_route(doc, key, n)].append(doc)
    return [client.submit(write_from_pieces, t, spec, client.scatter([routed[i]]), pure=False)
            for i, t in enumerate(targets)]


def _is_dask_collection(obj: Any) -> bool:
    return hasattr(obj, "__dask_graph__") and hasattr(obj, "to_delayed")


def _is_dataframe(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "to_bag")


def _gather(client: Any, futures: list, targets: list[str]) -> list[tuple[int, int]]:
    """Every shard's (generation, documents); a failed task is an error naming its shard."""
    out = []
    for i, f in enumerate(futures):
        try:
            out.append(f.result())
        except Exception as exc:
            for other in futures:
                other.cancel()
            if isinstance(exc, SearchlibError):  # a bad document or setting: its message says which
                raise
            raise SearchlibError(f"building shard {i} ({targets[i]}) failed: {type(exc).__name__}: {exc}; "
                                 "nothing of this build is visible") from exc
    return out


def _route(doc: Any, key: str, n: int) -> int:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    if value is None:
        raise DocumentError(f"a sharded index routes documents by their {key!r} field; this document has none: "
                            f"{str(doc)[:80]}")
    return shard_of(value, n)


# -- the tasks (run on the workers) ----------------------------------------------------------------

def split_partition(docs: Iterable, key: str, n: int) -> list[list]:
    """A partition's documents split by the shard that owns them."""
    routed: list[list] = [[] for _ in range(n)]
    for doc in docs:
        routed[_route(doc, key, n)].append(doc)
    return routed


def write_shard(target: str, spec: tuple, documents: Iterable[Mapping]) -> tuple[int, int]:
    """Create the shard at `target` and write `documents` in one commit: (generation, documents)."""
    restore_malloc()  # a Dask nanny's worker would otherwise mmap every buffer over 128 KiB afresh
    schema, settings = Schema.from_json(spec[0]), Settings.from_json(spec[1])
    ix = Index.create(target, schema, settings, overwrite=True)
    with ix.writer(**SHARD_WRITER_OPTIONS) as w:
        count = index_documents(w, documents)
    return ix.generation, count


def write_from_pieces(target: str, spec: tuple, pieces: list) -> tuple[int, int]:
    return write_shard(target, spec, (doc for piece in pieces for doc in piece))


def write_from_path(target: str, spec: tuple, source: str, loader: dict, key: str, shard: int,
                    n: int) -> tuple[int, int]:
    """Write shard `shard` of `n` from a loader path: read every document, keep this shard's."""
    docs = load_documents(source, id_field=key, **loader)
    return write_shard(target, spec, (d for d in docs if _route(d, key, n) == shard))
