"""The sharded searcher: statistics, query and fetch phases over the shards of one top-level manifest.

As distributed Lucene does it: (1) every shard reports its part of the query's statistics
(document frequencies, unit and token counts, uncapped expansions) and the coordinator sums them
(stats.sum_stats); (2) every shard scores with the sums and returns the scores (and sort values)
of its best offset + limit hits; the coordinator merges them by score (or by the sort field) and
cuts the page (the same reply carries each shard's partial facet counts and, collapsing, its best
hit per group value and every group's size: the coordinator adds them up, `merge_facets`,
`merge_collapsed`); (3) the shards holding the page's hits read their stored fields, passages and
snippets (Elasticsearch's query-then-fetch), so snippets cost what they cost in one index.
Each document gets the score it gets in one index holding every shard's documents; only hits of
equal score may come in another order.

The shards are served by `ShardServer`s: in this process (`LocalShards`, no Dask needed) or as
Dask actors on long-lived workers (`DaskShards`), so a query costs round trips, not opening files.
Phase 1 is answered in this process when it reaches the shards' files (`local_stats`: one
Searcher over every shard's segments), phases 2 and 3 by the workers: one round trip each per
query, or per batch of BATCH queries in `search_many`, whose batches are pipelined (one more
round trip each without `local_stats`). The calls go straight to the workers holding the actors.
"""
from __future__ import annotations

import asyncio
import time
import warnings
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..config import Settings
from ..errors import InvalidArgumentError, SearchlibError
from ..query.ast import Query
from ..query.expand import Expander, ExpansionLimitWarning
from ..schema import Schema
from ..search import Results, Searcher, parse_index_query
from ..search.searcher import _whole
from ..search.stats import sum_stats
from ..search.suggest import Corrector
from ..storage.manifest import read_manifest
from .layout import TopManifest, read_top, shard_of
from .shard import STATS_OPTIONS, ShardServer

BATCH = 64  # queries per call in search_many (each shard holds a batch's hits until they are fetched)


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

    start = call  # in this process a call is done when it returns: `wait` has nothing to wait for

    def wait(self, started: list) -> list:
        return started

    def query_then_fetch(self, args: Sequence[tuple], picks_of: Callable[[list], list]) -> tuple[list, list]:
        answers = self.call("score_many", args)
        return answers, self.call("fetch", picks_of(answers))

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
        self.keys = [f.key for f in futures]  # each actor's key on its worker

    def _result(self, shard: int, future: Any) -> Any:
        try:
            return future.result(timeout=self.timeout)
        except SearchlibError:
            raise
        except Exception as exc:  # a dead worker, a lost connection, a timeout
            raise ShardUnavailableError(shard, self.where(shard), exc) from exc

    def call(self, method: str, args: Sequence[tuple]) -> list:
        """`method(*args[i])` on shard i's actor, for every shard at once; their answers in shard order."""
        return self.wait(self.start(method, args))

    def start(self, method: str, args: Sequence[tuple]) -> Future:
        """Send `method(*args[i])` to every shard's actor without waiting (`wait` collects the
        answers), so the next batch's calls can be sent while the workers answer this one."""
        return self._on_loop(self._gather(method, args))

    def wait(self, started: Future) -> list:
        """The answers of calls `start`ed, in shard order. A shard that does not answer within
        the timeout, or whose worker is gone, is a ShardUnavailableError naming it; a shard's own
        error (a bad query) is raised as it is."""
        return started.result()

    def call_one(self, shard: int, method: str, args: tuple) -> Any:
        return self._on_loop(self._answer(shard, method, args)).result()

    def query_then_fetch(self, args: Sequence[tuple], picks_of: Callable[[list], list]) -> tuple[list, list]:
        """Phases 2 and 3 of one batch in one coroutine on the client's event loop: `score_many(*args[i])`
        on every shard, then `fetch(*picks_of(answers)[i])` sent as soon as the answers are in,
        without handing them to the calling thread and back (for one query, two thread switches
        of the ~8 a query costs)."""
        async def both() -> tuple[list, list]:
            answers = await self._gather("score_many", args)
            return answers, await self._gather("fetch", picks_of(answers))
        return self._on_loop(both()).result()

    def _on_loop(self, coroutine: Any) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.client.loop.asyncio_loop)

    async def _gather(self, method: str, args: Sequence[tuple]) -> list:
        return list(await asyncio.gather(*(self._answer(i, method, a) for i, a in enumerate(args))))

    async def _answer(self, shard: int, method: str, args: tuple) -> Any:
        """`method(*args)` on the shard's actor, sent straight to the worker holding it (the
        worker's `actor_execute`), not relayed by the scheduler as an Actor handle does unless the
        client was made with direct_to_workers: two network hops, not four. It runs on the worker's
        event loop (`separate_thread=False`), not handed to its actor thread: a thread switch
        less, and one searcher's calls run in the order sent."""
        from distributed.protocol import to_serialize
        try:
            reply = await asyncio.wait_for(self.client.rpc(self.workers[shard]).actor_execute(
                function=method, actor=self.keys[shard], args=[to_serialize(a) for a in args],
                kwargs={"separate_thread": False}), self.timeout)
        except Exception as exc:  # a dead worker, a lost connection, a timeout
            raise ShardUnavailableError(shard, self.where(shard), exc) from exc
        if reply["status"] != "OK":
            error = reply["exception"]
            if isinstance(error, SearchlibError):
                raise error
            raise ShardUnavailableError(shard, self.where(shard), error) from error
        return reply["result"]

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
        self._merged: tuple | None = None  # (the servers, a Searcher over their segments) for phase 1 and suggest

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
        totals = self._totals([query], options)[0]
        return self.shards.call_one(shard_of(doc_id, self.top.shards), "explain", (query, doc_id, options, totals))

    def search_page(self, query: "str | Query", page: int, page_size: int = 10, **options: Any) -> Results:
        for name, value in (("page", page), ("page_size", page_size)):
            _whole(name, value, 1)
        res = self.search(query, limit=page_size, offset=(page - 1) * page_size, **options)
        res.page, res.page_size, res.page_count = page, page_size, -(-res.total // page_size)
        return res

    def search_many(self, queries: "Sequence[str | Query]", limit: int = 10, **options: Any) -> list[Results]:
        """Run many queries with the same options (the throughput path): the shards score and
        fetch them in batches of BATCH queries, one round trip per phase per batch, pipelined so
        the workers and this process work at the same time. Results in the order of `queries`."""
        started = time.perf_counter()
        queries = list(queries)
        offset = options.get("offset", 0)
        for name, value in (("limit", limit), ("offset", offset)):
            _whole(name, value, 0)
        if options.get("facets") is not None:
            _whole("facet_limit", options.get("facet_limit", 10), 1)
        if options.get("suggest", False) is not False:
            _whole("suggest", 1 if options["suggest"] is True else options["suggest"], 1)
            self._local_readers()  # refused up front, not only when a query finds too few hits
        out = self._run(queries, dict(options, limit=limit), offset, limit, options)
        elapsed = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
        for res in out:
            res.elapsed_ms = elapsed
            for note in res.warnings:
                warnings.warn(note, ExpansionLimitWarning, stacklevel=3)
        return out

    def _run(self, queries: list, opts: dict, offset: int, limit: int, options: dict) -> list[Results]:
        """Phases 2 and 3 of `queries`. One query: scored, merged and fetched in one go on the
        client's loop (DaskShards.query_then_fetch). Many: in batches, pipelined: batch k's
        scoring is sent before batch k-1's hits are merged and their fetch sent, and batch k-2's
        fetched hits are read while the shards work on those, so the shards always have the next
        call queued and this process's own work (statistics, merging, results) overlaps theirs."""
        n = self.top.shards
        if len(queries) == 1:
            pages: list = []

            def picks_of(answers: list) -> list:
                pages.extend(self._pages(answers, 1, offset, limit, options))
                return [(p,) for p in self._picks(answers, pages)]

            answers, fetched = self.shards.query_then_fetch([(queries, opts, self._totals(queries, opts))] * n,
                                                            picks_of)
            return self._results(queries, answers, pages, fetched, offset, options)
        out: list[Results] = []
        scoring: deque = deque()   # (queries, their score calls), sent
        fetching: deque = deque()  # (queries, their answers, their pages, their fetch calls), sent

        def send_fetch() -> None:
            batch, calls = scoring.popleft()
            answers = self.shards.wait(calls)
            pages = self._pages(answers, len(batch), offset, limit, options)
            fetching.append((batch, answers, pages,
                             self.shards.start("fetch", [(p,) for p in self._picks(answers, pages)])))

        def finish() -> None:
            batch, answers, pages, calls = fetching.popleft()
            out.extend(self._results(batch, answers, pages, self.shards.wait(calls), offset, options))

        for start in range(0, len(queries), BATCH):
            batch = queries[start:start + BATCH]
            totals = self._totals(batch, opts)                                                   # phase 1
            scoring.append((batch, self.shards.start("score_many", [(batch, opts, totals)] * n)))  # phase 2
            if len(scoring) > 1:
                send_fetch()                                                                     # phase 3
            if len(fetching) > 1:
                finish()
        while scoring:
            send_fetch()
        while fetching:
            finish()
        return out

    @staticmethod
    def _picks(answers: list[list[dict]], pages: list[list]) -> list[list]:
        """Per shard, for each query its (token, positions of its hits on the merged page)."""
        return [[(answers[s][q]["token"], [i for shard, i in page if shard == s]) for q, page in enumerate(pages)]
                for s in range(len(answers))]

    def _totals(self, queries: list, options: dict) -> list[dict]:
        """Phase 1: each query's statistics summed over the shards. With the shards' files at
        hand (`local_stats`), one Searcher over every shard's segments answers it: the statistics
        are sums over segments however they are split into shards, so that is what summing the
        shards' parts gives, with one parse per query, not one per shard, and the document
        frequencies of words already asked remembered for this state. Else the shards' servers
        answer it, one round trip."""
        if isinstance(self.statistics, LocalShards):
            searcher = self._merged_view()
            asked = {k: options[k] for k in STATS_OPTIONS if k in options}
            return [sum_stats([searcher.query_stats(q, **asked)]) for q in queries]
        n = self.top.shards
        parts = self.statistics.call("gather_many", [(queries, options)] * n)
        return [sum_stats([parts[s][q] for s in range(n)]) for q in range(len(queries))]

    def _merged_view(self) -> Searcher:
        """A Searcher over every shard's segments as opened in this process, for statistics and
        suggestions only (its readers belong to the shards' servers: it is never closed), made
        once per state served."""
        if self._merged is None or self._merged[0] is not self.statistics:
            servers = self.statistics.servers
            first = servers[0].searcher
            readers = [r for server in servers for r in server.searcher.readers]
            self._merged = (self.statistics, Searcher(first.directory, first.manifest, readers))
        return self._merged[1]

    @staticmethod
    def _pages(answers: list[list[dict]], count: int, offset: int, limit: int, options: dict) -> list[list]:
        """Per query, (shard, position) of the hits of the merged page."""
        n = len(answers)
        if options.get("collapse") is not None:
            return [merge_collapsed([answers[s][q] for s in range(n)], offset, limit, options.get("sort_by"),
                                    options.get("reverse", False)) for q in range(count)]
        return [merge([answers[s][q] for s in range(n)], offset, limit, options.get("sort_by"),
                      options.get("reverse", False)) for q in range(count)]

    def _results(self, queries: list, answers: list[list[dict]], pages: list[list], fetched: list[list[list]],
                 offset: int, options: dict) -> list[Results]:
        """The Results of `queries` from the shards' answers, the merged pages and the fetched hits."""
        n = self.top.shards
        out = []
        for q, query in enumerate(queries):
            found = [answers[s][q] for s in range(n)]
            notes = list(dict.fromkeys(w for a in found for w in a["warnings"]))
            taken = [iter(fetched[s][q]) for s in range(n)]
            hits = [next(taken[shard]) for shard, _ in pages[q]]
            for rank, hit in enumerate(hits, offset + 1):
                hit.rank = rank
            parsed = query if isinstance(query, Query) else (
                lambda text=query: self.parse(text, options.get("lenient", False), options.get("operator")))
            res = Results(parsed, hits, sum(a["total"] for a in found), 0.0, notes)
            if options.get("facets") is not None:
                res.facets = merge_facets(options["facets"], [a["facets"] for a in found],
                                          options.get("facet_limit", 10))
            if options.get("collapse") is not None:
                sizes, res.groups = group_sizes([a["group_sizes"] for a in found])
                for hit, (shard, i) in zip(hits, pages[q]):
                    hit.group_value = found[shard]["groups"][i]
                    # a hit without a value is its own group, whole on its shard (group=False: its passages)
                    hit.group_size = found[shard]["hit_sizes"][i] if hit.group_value is None else \
                        sizes[hit.group_value]
            suggest = options.get("suggest", False)
            if suggest is not False and isinstance(query, str) and res.total < (1 if suggest is True else suggest):
                res.suggestion = self._suggestion(query, res.total, options.get("fields"), options.get("filter"))
            out.append(res)
        return out

    # -- did you mean -------------------------------------------------------------------------
    def suggest(self, text: str, limit: int = 5, *, fields: "Sequence[str] | Mapping[str, float] | None" = None,
                max_dist: int = 2, prefix_length: int = 1, popular: float = 10.0) -> list[str]:
        """Searcher.suggest over every shard: corrections ranked by document frequencies summed
        over the shards, as one index holding every shard's documents ranks them. The corrections
        are read from the shards' dictionaries in this process, so it must reach the shards'
        files (`local_stats=True`, the default)."""
        for name, value, least in (("limit", limit, 1), ("max_dist", max_dist, 1), ("prefix_length", prefix_length, 0)):
            _whole(name, value, least)
        readers, expander = self._local_readers()
        corrector = Corrector(self.schema, readers, expander, self.settings.fields_for(self.schema, fields),
                              max_dist, prefix_length, popular)
        return corrector.suggest(text, lambda t: self.parse(t, lenient=True), limit)

    def _local_readers(self) -> tuple[list, Expander]:
        """Every shard's segments as opened in this process, and an Expander over all of them
        (document frequencies summed over the shards), made once per state served."""
        if not isinstance(self.statistics, LocalShards):
            raise InvalidArgumentError("suggest on a sharded index reads the shards' dictionaries in this process: "
                                       "open the searcher with local_stats=True where the shard files are reachable")
        merged = self._merged_view()
        return merged.readers, merged.stats.expander

    def _suggestion(self, text: str, total: int, fields: Any, filter: Any) -> str | None:
        """The first correction of `text` that finds more than `total` hits (as Searcher's)."""
        for corrected in self.suggest(text, 3, fields=fields):
            if self.search(corrected, 0, fields=fields, filter=filter, lenient=True, highlight=False).total > total:
                return corrected
        return None


def _ordered(answers: list[dict], sort_by: str | None, reverse: bool) -> list[tuple[int, int]]:
    """(shard, position in its answer) of every hit of the shards' answers (each already in
    order), in one order: by score, or by the sort value (missing values last, ties by score)
    when `sort_by` is given."""
    pool = [(score, key, s, i) for s, a in enumerate(answers) for i, (score, key) in enumerate(zip(a["scores"],
                                                                                                   a["keys"]))]
    pool.sort(key=lambda e: -e[0])  # stable: equal scores keep shard order
    if sort_by is not None:
        present = [e for e in pool if e[1] is not None]
        present.sort(key=lambda e: e[1], reverse=reverse)
        pool = present + [e for e in pool if e[1] is None]
    return [(s, i) for _, _, s, i in pool]


def merge(answers: list[dict], offset: int, limit: int, sort_by: str | None, reverse: bool) -> list[tuple[int, int]]:
    """(shard, position in its answer) of the hits offset..offset+limit of the shards' answers,
    in _ordered's order."""
    return _ordered(answers, sort_by, reverse)[offset:offset + limit]


def merge_collapsed(answers: list[dict], offset: int, limit: int, sort_by: str | None = None,
                    reverse: bool = False) -> list[tuple[int, int]]:
    """(shard, position) of the hits offset..offset+limit of a collapsing search: each shard's
    answer holds its first hit per group value (by score, or in the order of `sort_by`), first
    first; a value's first over every shard, in _ordered's order, stands for its group (a hit
    without a value is a group of its own: one document, so on one shard). A group in the first
    offset + limit over all shards is among the first offset + limit of the shard holding its
    first hit, so the shards' pages suffice."""
    seen: set = set()
    kept = []
    for s, i in _ordered(answers, sort_by, reverse):
        value = answers[s]["groups"][i]
        if value is None or value not in seen:
            seen.add(value)
            kept.append((s, i))
    return kept[offset:offset + limit]


def group_sizes(parts: list[tuple[dict, int]]) -> tuple[dict, int]:
    """{group value: matching documents over every shard} and the number of groups (the
    distinct values, plus one per matching document without a value) from each shard's part."""
    sizes: dict = {}
    loners = 0
    for valued, without in parts:
        loners += without
        for value, count in valued.items():
            sizes[value] = sizes.get(value, 0) + count
    return sizes, len(sizes) + loners


def merge_facets(spec: Any, parts: list[dict], limit: int) -> dict[str, list]:
    """The facet counts of one index from each shard's uncut counts: counts of the same value
    (or bucket) added up; values by count, then value, cut at `limit`; ranges in the order
    asked; histogram buckets in key order (search/facets.py's orders)."""
    if isinstance(spec, str):
        spec = [spec]
    items = spec.items() if isinstance(spec, Mapping) else ((name, None) for name in spec)
    out: dict[str, list] = {}
    for name, how in items:
        if isinstance(how, (list, tuple)):  # ranges: as asked (every shard lists every range, in that order)
            counted = [part.get(name, []) for part in parts]
            out[name] = [(pairs[0][0], sum(c for _, c in pairs)) for pairs in zip(*counted)]
            continue
        total: dict = {}
        for part in parts:
            for key, count in part.get(name, ()):
                total[key] = total.get(key, 0) + count
        if how is None:  # values by count, then value
            out[name] = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        else:  # histogram buckets by key
            out[name] = sorted(total.items())
    return out
