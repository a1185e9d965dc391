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
Phase 1 is answered in this process when it reaches the shards' files (`local_stats`), and a
single query is scored and fetched in one call: `search()` is one round trip to the workers,
`search_many()` two per batch of BATCH queries (one more each without `local_stats`).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..config import Settings
from ..errors import InvalidArgumentError, SearchlibError
from ..query.ast import Query
from ..query.expand import Expander, ExpansionLimitWarning
from ..schema import Schema
from ..search import Results, parse_index_query
from ..search.searcher import _whole
from ..search.stats import sum_stats
from ..search.suggest import Corrector
from ..storage.manifest import read_manifest
from .layout import TopManifest, read_top, shard_of
from .shard import ShardServer

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
        self._corrector: tuple | None = None  # (the servers, their readers, an Expander over them) for suggest

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
            _whole(name, value, 1)
        res = self.search(query, limit=page_size, offset=(page - 1) * page_size, **options)
        res.page, res.page_size, res.page_count = page, page_size, -(-res.total // page_size)
        return res

    def search_many(self, queries: "Sequence[str | Query]", limit: int = 10, **options: Any) -> list[Results]:
        """Run many queries with the same options: one round trip to the shards per phase for
        all of them (the throughput path). Results in the order of `queries`."""
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
        collapse = options.get("collapse") is not None
        if collapse:
            pages = [merge_collapsed([answers[s][q] for s in range(n)], offset, limit) for q in range(len(queries))]
        else:
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
            res = Results(parsed, hits, sum(a["total"] for a in found), 0.0, notes)
            if options.get("facets") is not None:
                res.facets = merge_facets(options["facets"], [a["facets"] for a in found],
                                          options.get("facet_limit", 10))
            if collapse:
                sizes, res.groups = group_sizes([a["group_sizes"] for a in found])
                for hit, (shard, i) in zip(hits, pages[q]):
                    hit.group_value = found[shard]["groups"][i]
                    hit.group_size = 1 if hit.group_value is None else sizes[hit.group_value]
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
        if self._corrector is None or self._corrector[0] is not self.statistics:
            readers = [r for server in self.statistics.servers for r in server.searcher.readers]
            self._corrector = (self.statistics, readers, Expander(readers))
        return self._corrector[1:]

    def _suggestion(self, text: str, total: int, fields: Any, filter: Any) -> str | None:
        """The first correction of `text` that finds more than `total` hits (as Searcher's)."""
        for corrected in self.suggest(text, 3, fields=fields):
            if self.search(corrected, 0, fields=fields, filter=filter, lenient=True, highlight=False).total > total:
                return corrected
        return None


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


def merge_collapsed(answers: list[dict], offset: int, limit: int) -> list[tuple[int, int]]:
    """(shard, position) of the hits offset..offset+limit of a collapsing search: each shard's
    answer holds its best hit per group value, best first; a value's best over every shard
    stands for its group (a hit without a value is a group of its own). A group in the first
    offset + limit over all shards is among the first offset + limit of the shard holding its
    best hit, so the shards' pages suffice."""
    pool = [(score, s, i, value) for s, a in enumerate(answers)
            for i, (score, value) in enumerate(zip(a["scores"], a["groups"]))]
    pool.sort(key=lambda e: -e[0])  # stable: equal scores keep shard order
    seen: set = set()
    kept = []
    for score, s, i, value in pool:
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
