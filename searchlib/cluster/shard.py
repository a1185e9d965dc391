"""One shard held open for searching: what a long-lived Dask worker (as an actor) or the
coordinator's own process keeps per shard, and the phases it answers.

Phase 1, `gather`: the shard's part of the query's statistics (Searcher.query_stats). Phase 2,
`score`: the shard searches with the statistics the coordinator summed over every shard
(stats.SuppliedStats), so each document scores as it would in one index holding every shard's
documents, and returns the scores (and sort values) of its best `offset + limit` hits, with its
partial facet counts (every value, uncut) and, collapsing, its best hit per value and the size of
every group it holds, for the coordinator to sum. Phase 3,
`fetch`: the stored fields, passages and snippets of only the hits that made the merged page,
read here, where the files are (Elasticsearch's query-then-fetch: snippets cost what one index's
do, not N times that).
"""
from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any, Mapping

from ..errors import SearchlibError
from ..query.expand import ExpansionLimitWarning
from ..search import Hit, Searcher
from ..search.stats import SuppliedStats
from ..storage.segment import MISSING_TIME
from .malloc import restore_malloc

# The options of Searcher.search that decide a query's statistics (phase 1).
STATS_OPTIONS = ("fields", "operator", "lenient", "filter", "max_expansions", "proximity")
PENDING_LIMIT = 4096  # scored searches a shard holds for their fetch


class ShardServer:
    """A searcher on exactly commit `generation` of the shard at `path`, kept open."""

    def __init__(self, path: str, generation: int, shard: int):
        restore_malloc()  # a Dask nanny's worker would otherwise mmap every array over 128 KiB afresh
        self.path, self.generation, self.shard = str(path), generation, shard
        self.searcher = Searcher.open(Path(path), generation=generation)
        self._pending: dict[int, tuple] = {}  # token -> a scored search's hits, until fetched
        self._next_token = 0

    def gather(self, query: Any, options: dict) -> dict:
        """Phase 1: this shard's part of the statistics of `query` with `options`."""
        return self.searcher.query_stats(query, **{k: options[k] for k in STATS_OPTIONS if k in options})

    def gather_many(self, queries: list, options: dict) -> list[dict]:
        return [self.gather(q, options) for q in queries]

    def score(self, query: Any, options: dict, totals: dict) -> dict:
        """Phase 2 (query): the shard's best offset + limit hits scored with the summed `totals`:
        their scores and sort values, the match count, warnings, and a `token` under which the
        hits wait for `fetch` (their fields, passages and snippets are read only for the hits
        that make the merged page; for a single query too: measured here, that round trip costs
        about what every shard making snippets for its whole top costs, and saves that CPU)."""
        opts = dict(options)
        limit, offset = opts.pop("limit", 10), opts.pop("offset", 0)
        highlight, formatter = opts.pop("highlight", True), opts.pop("formatter", None)
        opts.pop("suggest", None)  # the coordinator suggests from the summed frequencies
        if "facets" in opts:  # every value counted here: the coordinator sums, orders and cuts
            opts["facet_limit"] = sys.maxsize
        sort_by = opts.get("sort_by")
        stats = SuppliedStats(self.searcher.readers, totals, self.searcher.stats.expander)
        with warnings.catch_warnings():  # the coordinator warns once, not once per shard
            warnings.simplefilter("ignore", ExpansionLimitWarning)
            res = self.searcher.search(query, limit + offset, stats=stats, highlight=False, **opts)
        keys = [self._sort_value(hit, sort_by) for hit in res] if sort_by else [None] * len(res)
        answer = {"scores": [hit.score for hit in res], "keys": keys, "total": res.total, "warnings": res.warnings,
                  "facets": res.facets}
        if opts.get("collapse") is not None:
            answer["groups"] = [hit.group_value for hit in res]
            answer["hit_sizes"] = [hit.group_size for hit in res]
            answer["group_sizes"] = self._group_sizes(*res.every_group)
        token = answer["token"] = self._next_token
        self._next_token += 1
        self._pending[token] = (res.hits, highlight, formatter)
        while len(self._pending) > PENDING_LIMIT:  # a coordinator that never fetched: forget the oldest
            del self._pending[next(iter(self._pending))]
        return answer

    @staticmethod
    def _group_sizes(names: list, sizes: Any) -> tuple[dict, int]:
        """{group value: its matching documents here} and the number of matching documents
        without a value (each a group of its own)."""
        valued = {n: c for n, c in zip(names, map(int, sizes)) if not isinstance(n, tuple)}
        return valued, len(names) - len(valued)

    def score_many(self, queries: list, options: dict, totals: list[dict]) -> list[dict]:
        return [self.score(q, options, t) for q, t in zip(queries, totals)]

    def fetch(self, picks: list[tuple[int, list[int]]]) -> list[list[Hit]]:
        """Phase 3 (fetch): for each (token, hit positions), those hits of that search as plain
        Hits (stored fields, passages and snippet read here, where the files are). Every token
        named is released, picked from or not."""
        out = []
        for token, positions in picks:
            found = self._pending.pop(token, None)
            if found is None:
                raise SearchlibError(f"shard {self.shard}: search {token} is no longer held (fetch it sooner)")
            out.append(self._plain(*found[:1], positions, *found[1:]))
        return out

    def _plain(self, hits: list[Hit], positions, highlight: Any, formatter: Any) -> list[Hit]:
        """Those hits with their stored fields, passages and snippets read, free of the searcher.
        The snippets are made as one index makes a page's (HitSource.snippets: one pass over
        the query's postings for the hits of a segment), with the search's snippet options."""
        picked = [hits[i] for i in positions]
        if picked and (highlight or isinstance(highlight, Mapping)):
            source = picked[0]._source
            source.options = self.searcher._snippet_options_for(highlight, formatter)
            source.snippets(picked)
        return [Hit(hit.id, hit.score, hit.fields, hit.snippet, hit.passages) for hit in picked]

    def explain(self, query: Any, doc_id: Any, options: dict, totals: dict) -> Any:
        """How the document `doc_id` (held by this shard) scores with the summed `totals`."""
        stats = SuppliedStats(self.searcher.readers, totals, self.searcher.stats.expander)
        return self.searcher.explain(query, doc_id, stats=stats, **options)

    def _sort_value(self, hit: Hit, field: str) -> Any:
        """The value `hit` sorts by (None: it has none, so it sorts last)."""
        if field == self.searcher.schema.unique_field:
            return hit.id
        _, seg, doc = hit._row[:3]
        col = self.searcher.readers[int(seg)].columns.get(field)
        if col is None:
            return None
        value = col[int(doc)].item()
        if isinstance(value, float):
            return None if math.isnan(value) else value
        return None if value == MISSING_TIME else value

    def counts(self) -> dict:
        """Live documents and this snapshot's identity, for stats and checks."""
        return {"shard": self.shard, "path": self.path, "generation": self.generation,
                "documents": self.searcher.doc_count()}

    def documents(self) -> list[dict]:
        return list(self.searcher.documents())

    def close(self) -> None:
        self.searcher.close()
