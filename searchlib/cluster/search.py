"""The sharded searcher: statistics, query and fetch phases over the shards of one top-level manifest.

As distributed Lucene does it: (1) every shard reports its part of the query's statistics
(document frequencies, unit and token counts, uncapped expansions) and the coordinator sums them
(stats.sum_stats); (2) every shard scores with the sums and returns the scores (and sort values)
of its best offset + limit hits; the coordinator merges them by score (or by the sort field) and
cuts the page; (3) the shards holding the page's hits read their stored fields, passages and
snippets (Elasticsearch's query-then-fetch), so snippets cost what they cost in one index.
Each document gets the score it gets in one index holding every shard's documents; only hits of
equal score may come in another order.

The shards are served by `ShardServer`s: in this process (`LocalShards`, no Dask needed) or as
Dask actors on long-lived workers (`DaskShards`), so a query costs round trips, not opening files.
Phase 1 is answered in this process when it reaches the shards' files (`local_stats`), and a
single query is scored and fetched in one call: `search()` is one round trip to the workers,
`search_many()` two per batch of BATCH queries (one more each without `local_stats`).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..config import Settings
from ..errors import InvalidArgumentError, SearchlibError
from ..query.ast import Query
from ..query.expand import ExpansionLimitWarning
from ..schema import Schema
from ..search import Results, parse_index_query
from ..search.stats import sum_stats
from ..storage.manifest import read_manifest
from .layout import TopManifest, read_top, shard_of
from .shard import ShardServer

NOT_SHARDED = {"facets", "facet_limit", "post_filter", "collapse", "suggest"}  # search() options not merged yet
BATCH = 256  # queries per round trip in search_many (each shard holds a batch's hits until they are fetched)


class ShardUnavailableError(SearchlibError):
    """A shard's server failed (its worker died or cannot be reached); `shard` names it.
    `reopen()` on the searcher serves it again from a live worker."""

    def __init__(self, shard: int, where: str, cause: BaseException):
        self.shard = shard
        super().__init__(f"shard {shard} ({where}) is unavailable: {type(cause).__name__}: {cause}; "
                         "call reopen() on the searcher to serve it from a live worker")


class LocalShards:
    """Every shard served in this process, one after another."""

    def __init__(self, root: Path, top: TopManifest):
        self.servers: list[ShardServer] = []
        try:
            for i, (path, gen) in enumerate(zip(top.shard_paths(root), top.shard_generations)):
                self.servers.append(ShardServer(str(path), gen, i))
        except BaseException:
            self.close()
            raise

    def call(self, method: str, args: Sequence[tuple]) -> list:
        """`method(*args[i])` on shard i, for every shard; their answers in shard order."""
        return [getattr(server, method)(*a) for server, a in zip(self.servers, args)]

    def call_one(self, shard: int, method: str, args: tuple) -> Any:
        return getattr(self.servers[shard], method)(*args)

    def where(self, shard: int) -> str:
        return self.servers[shard].path

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.servers = []


class DaskShards:
    """Each shard served by a ShardServer actor on a worker of `client` (round robin over the
    workers), held open across queries. A call to a dead worker's actor is a
    ShardUnavailableError naming the shard."""

    def __init__(self, root: Path, top: TopManifest, client: Any, timeout: float = 60.0):
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise SearchlibError("the Dask cluster has no workers to serve the shards")
        self.client, self.timeout = client, timeout
        self.paths = [str(p) for p in top.shard_paths(root)]
        self.workers = [workers[i % len(workers)] for i in range(top.shards)]
        futures = [client.submit(ShardServer, path, gen, i, actor=True, workers=[w], allow_other_workers=False,
                                 pure=False)
                   for i, (path, gen, w) in enumerate(zip(self.paths, top.shard_generations, self.workers))]
        self._futures = futures
        self.actors = [self._result(i, f) for i, f in enumerate(futures)]

    def _result(self, shard: int, future: Any) -> Any:
        try:
            return future.result(timeout=self.timeout)
        except SearchlibError:
            raise
        except Exception as exc:  # a dead worker, a lost connection, a timeout
            raise ShardUnavailableError(shard, self.where(shard), exc) from exc

    def call(self, method: str, args: Sequence[tuple]) -> list:
        calls = []
        for i, (actor, a) in enumerate(zip(self.actors, args)):
            try:
                calls.append(getattr(actor, method)(*a))
            except SearchlibError:
                raise
            except Exception as exc:
                raise ShardUnavailableError(i, self.where(i), exc) from exc
        return [self._result(i, c) for i, c in enumerate(calls)]

    def call_one(self, shard: int, method: str, args: tuple) -> Any:
        try:
            call = getattr(self.actors[shard], method)(*args)
        except SearchlibError:
            raise
        except Exception as exc:
            raise ShardUnavailableError(shard, self.where(shard), exc) from exc
        return self._result(shard, call)

    def where(self, shard: int) -> str:
        return f"{self.paths[shard]} on worker {self.workers[shard]}"

    def close(self) -> None:
        self.actors = []
        for f in self._futures:
            f.release()
        self._futures = []


class ShardedSearcher:
    """Answers queries against one state of a sharded index (one top-level manifest), with the
    Searcher API: search, search_page, search_many, documents, doc_count; close it (or `with`).
    `client` (a dask.distributed Client) serves the shards on its workers; None, in this process.
    `timeout`: seconds to wait for a shard's answer before it counts as unavailable.
    `local_stats`: answer phase 1 in this process (it must reach the shards' files; False asks
    the workers, one round trip more)."""

    def __init__(self, path: "str | Path", client: Any = None, timeout: float = 60.0, local_stats: bool = True):
        self.path, self.client, self.timeout, self.local_stats = Path(path), client, timeout, local_stats
        self.top = read_top(self.path)
        manifest = read_manifest(self.top.shard_paths(self.path)[0], self.top.shard_generations[0])
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)
        self.shards, self.statistics = self._serve(self.top)

    def _serve(self, top: TopManifest) -> "tuple[LocalShards | DaskShards, LocalShards | DaskShards]":
        """The shards' servers, and who answers phase 1: the servers, or (`local_stats`, with a
        client) the shards opened in this process too, which saves a round trip per query when
        this process reaches the shards' files (their dictionaries are memory-mapped, not read)."""
        if self.client is None:
            shards = LocalShards(self.path, top)
            return shards, shards
        shards = DaskShards(self.path, top, self.client, self.timeout)
        try:
            return shards, LocalShards(self.path, top) if self.local_stats else shards
        except BaseException:
            shards.close()
            raise

    @property
    def generation(self) -> int:
        return self.top.generation

    def up_to_date(self) -> bool:
        return read_top(self.path).generation == self.generation

    def reopen(self) -> "ShardedSearcher":
        """Serve the newest state again (every shard re-opened, on the live workers): after a
        worker died, or to see newer commits. Returns self."""
        old = (self.shards, self.statistics)
        self.top = read_top(self.path)
        manifest = read_manifest(self.top.shard_paths(self.path)[0], self.top.shard_generations[0])
        self.schema, self.settings = Schema.from_json(manifest.schema), Settings.from_json(manifest.settings)
        self.shards, self.statistics = self._serve(self.top)
        for servers in old:  # closing twice (the same LocalShards serving both) does nothing
            servers.close()
        return self

    refresh = reopen

    def close(self) -> None:
        self.shards.close()
        self.statistics.close()

    def __enter__(self) -> "ShardedSearcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def doc_count(self) -> int:
        return sum(c["documents"] for c in self.shards.call("counts", [()] * self.top.shards))

    def shard_counts(self) -> list[dict]:
        """Per shard: its path, generation and live documents."""
        return self.shards.call("counts", [()] * self.top.shards)

    def documents(self) -> Iterator[dict]:
        """The stored fields of every live document, shard after shard."""
        for docs in self.shards.call("documents", [()] * self.top.shards):
            yield from docs

    def parse(self, text: "str | Query", lenient: bool = False, operator: str | None = None) -> Query:
        return parse_index_query(self.schema, self.settings, text, lenient, operator)

    # -- searching ---------------------------------------------------------------------------
    def search(self, query: "str | Query", limit: int = 10, **options: Any) -> Results:
        """Search every shard; the options and the answer are those of Searcher.search (hits'
        fields, passages and snippets already read)."""
        return self.search_many([query], limit, **options)[0]

    def explain(self, query: "str | Query", doc_id: Any, **options: Any) -> Any:
        """How the document with unique key `doc_id` scores for `query` (Searcher.explain's
        options): explained on the shard its key routes to, with the statistics summed over
        every shard, so its value is the score a search gives it."""
        n = self.top.shards
        parts = self.statistics.call("gather", [(query, options)] * n)
        return self.shards.call_one(shard_of(doc_id, n), "explain", (query, doc_id, options, sum_stats(parts)))

    def search_page(self, query: "str | Query", page: int, page_size: int = 10, **options: Any) -> Results:
        for name, value in (("page", page), ("page_size", page_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be a whole number >= 1, got {value!r}")
        res = self.search(query, limit=page_size, offset=(page - 1) * page_size, **options)
        res.page, res.page_size, res.page_count = page, page_size, -(-res.total // page_size)
        return res

    def search_many(self, queries: "Sequence[str | Query]", limit: int = 10, **options: Any) -> list[Results]:
        """Run many queries with the same options: one round trip to the shards per phase for
        all of them (the throughput path). Results in the order of `queries`."""
        started = time.perf_counter()
        queries = list(queries)
        unsupported = sorted(set(options) & NOT_SHARDED)
        if unsupported:
            raise InvalidArgumentError(f"{', '.join(unsupported)}: not available on a sharded index yet (each shard "
                                       "would count only its own documents)")
        offset = options.get("offset", 0)
        for name, value in (("limit", limit), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgumentError(f"{name} must be a whole number >= 0, got {value!r}")
        opts = dict(options, limit=limit)
        out = []
        for start in range(0, len(queries), BATCH):
            out += self._batch(queries[start:start + BATCH], opts, offset, limit, options)
        elapsed = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
        for res in out:
            res.elapsed_ms = elapsed
        return out

    def _batch(self, queries: list, opts: dict, offset: int, limit: int, options: dict) -> list[Results]:
        n = self.top.shards
        parts = self.statistics.call("gather_many", [(queries, opts)] * n)              # phase 1: statistics
        totals = [sum_stats([parts[s][q] for s in range(n)]) for q in range(len(queries))]
        eager = len(queries) == 1  # one query: fetch with the scores (a round trip less), not after
        answers = self.shards.call("score_many", [(queries, opts, totals, eager)] * n)   # phase 2: query
        pages = [merge([answers[s][q] for s in range(n)], offset, limit, options.get("sort_by"),
                       options.get("reverse", False)) for q in range(len(queries))]
        if eager:
            fetched = [[[answers[s][0]["hits"][i] for shard, i in pages[0] if shard == s]] for s in range(n)]
        else:
            picks: list[list] = [[] for _ in range(n)]
            for q, page in enumerate(pages):
                for s in range(n):
                    picks[s].append((answers[s][q]["token"], [i for shard, i in page if shard == s]))
            fetched = self.shards.call("fetch", [(p,) for p in picks])                    # phase 3: fetch
        out = []
        for q, query in enumerate(queries):
            found = [answers[s][q] for s in range(n)]
            notes = list(dict.fromkeys(w for a in found for w in a["warnings"]))
            for note in notes:
                warnings.warn(note, ExpansionLimitWarning, stacklevel=4)
            taken = [iter(fetched[s][q]) for s in range(n)]
            hits = [next(taken[shard]) for shard, _ in pages[q]]
            for rank, hit in enumerate(hits, offset + 1):
                hit.rank = rank
            parsed = query if isinstance(query, Query) else (
                lambda text=query: self.parse(text, options.get("lenient", False), options.get("operator")))
            out.append(Results(parsed, hits, sum(a["total"] for a in found), 0.0, notes))
        return out


def merge(answers: list[dict], offset: int, limit: int, sort_by: str | None, reverse: bool) -> list[tuple[int, int]]:
    """(shard, position in its answer) of the hits offset..offset+limit of the shards' answers
    (each already in order): by score, or by the sort value (missing values last, ties by score)
    when `sort_by` is given."""
    pool = [(score, key, s, i) for s, a in enumerate(answers) for i, (score, key) in enumerate(zip(a["scores"],
                                                                                                   a["keys"]))]
    pool.sort(key=lambda e: -e[0])  # stable: equal scores keep shard order
    if sort_by is not None:
        present = [e for e in pool if e[1] is not None]
        present.sort(key=lambda e: e[1], reverse=reverse)
        pool = present + [e for e in pool if e[1] is None]
    return [(s, i) for _, _, s, i in pool[offset:offset + limit]]
