"""Relevance and speed of searchlib and its peers on a BEIR-format collection, side by side in one run.

    python benchmarks/beir.py ../shared/data/scifact
    python benchmarks/beir.py ../shared/data/scifact --engines searchlib,tantivy --repeat 5 --markdown

For each installed engine (a missing one is skipped with a note) this builds an index of the corpus with
title and text as ONE field (``title + "\\n" + text``), English stemming and BM25 k1/b where the engine lets
us set them, then runs every judged test query through the engine's own query parser with the raw query
text, top 100, and prints:

* index time: wall-clock seconds from an empty directory to a committed index with an open searcher;
* ms/query: for each query, the median of its ``--repeat`` timings (parse + search + fetch the ids), then
  the median over queries;
* nDCG@10 and recall@100 from :mod:`searchlib.evaluation` (BEIR conventions: judged queries only, a hit
  whose id equals the query id is dropped);
* ratios of index time and query time to tantivy's, measured in the same process.

The adapters live in ``benchmarks/engines.py``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout's searchlib, installed or not
sys.path.insert(0, str(HERE))

import tables  # noqa: E402
from engines import ENGINES, make_engine  # noqa: E402

from searchlib.evaluation import evaluate, load_beir  # noqa: E402

DEFAULT_ENGINES = "searchlib,tantivy,sqlite-fts5,bm25s,whoosh,rank_bm25"


def run_engine(name: str, corpus: list[dict], queries: dict[str, str], qrels: dict, args) -> dict | None:
    """Index, time the query loop and evaluate one engine; None (with a printed note) if not installed."""
    try:
        engine = make_engine(name, k1=args.k1, b=args.b)
    except ImportError as e:
        print(f"  skipped {name}: not installed ({e})", file=sys.stderr)
        return None
    try:
        engine.prepare()
        gc.collect()
        t0 = time.perf_counter()
        engine.index(corpus)
        index_s = time.perf_counter() - t0

        items = list(queries.items())
        if items:
            engine.search(items[0][1], args.k)  # warm-up (lazy loading, caches), not timed
        engine.fallbacks = 0
        run: dict[str, list[str]] = {}
        timings = [[0.0] * args.repeat for _ in items]
        gc.collect()
        for r in range(args.repeat):
            for i, (qid, text) in enumerate(items):
                t = time.perf_counter()
                ids = engine.search(text, args.k)
                timings[i][r] = time.perf_counter() - t
                if r == 0:
                    run[qid] = ids
        per_query = [statistics.median(t) for t in timings]
        ms = 1000 * statistics.median(per_query) if per_query else float("nan")
        scores = evaluate(run, qrels, k_ndcg=10, k_recall=args.k)
        return {"engine": name, "label": engine.label, "settings": engine.settings, "index_s": index_s,
                "ms_per_query": ms, "ndcg@10": scores["ndcg@10"], f"recall@{args.k}": scores[f"recall@{args.k}"],
                "escaped_queries": engine.fallbacks // max(args.repeat, 1)}
    finally:
        engine.close()


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}×" if base else "—"


def _rows(results: list[dict], k: int) -> tuple[list[str], list[list[str]]]:
    base = next((r for r in results if r["engine"] == "tantivy"), None)
    header = ["engine", "index (s)", "ms/query", "nDCG@10", f"R@{k}", "index ÷ tantivy", "query ÷ tantivy"]
    rows = []
    for r in results:
        rows.append([r["label"], f"{r['index_s']:.2f}", f"{r['ms_per_query']:.2f}", f"{r['ndcg@10']:.4f}",
                     f"{r[f'recall@{k}']:.4f}", _ratio(r["index_s"], base and base["index_s"]),
                     _ratio(r["ms_per_query"], base and base["ms_per_query"])])
    return header, rows


def print_table(results: list[dict], k: int) -> None:
    tables.print_aligned(*_rows(results, k))


def print_markdown(results: list[dict], k: int) -> None:
    tables.print_markdown(*_rows(results, k))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    p.add_argument("--engines", default=DEFAULT_ENGINES,
                   help=f"comma-separated, from: {', '.join(ENGINES)} (default: all)")
    p.add_argument("--k1", type=float, default=1.2, help="BM25 k1 where the engine allows (default 1.2)")
    p.add_argument("--b", type=float, default=0.75, help="BM25 b where the engine allows (default 0.75)")
    p.add_argument("--k", type=int, default=100, help="hits per query; recall is measured at this depth")
    p.add_argument("--repeat", type=int, default=3, help="times the whole query loop runs (default 3)")
    p.add_argument("--limit-queries", type=int, metavar="N", help="only the first N judged queries")
    p.add_argument("--split", default="test", help="qrels split (default test)")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.k < 1:
        p.error("--repeat and --k must be at least 1")

    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        p.error(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")

    try:
        data = load_beir(args.folder, split=args.split)
    except FileNotFoundError as e:
        p.error(str(e))
    queries = data.judged_queries
    if args.limit_queries is not None:
        queries = dict(list(queries.items())[: args.limit_queries])
    qrels = {q: data.qrels[q] for q in queries}
    missing = len(data.qrels) - len(data.judged_queries)

    print(f"BEIR {args.folder.resolve().name}: {len(data.corpus):,} documents, {len(queries)} judged "
          f"{args.split} queries (of {len(data.queries):,} in queries.jsonl), top {args.k}")
    if missing:
        print(f"note: {missing} judged queries are missing from queries.jsonl and score 0")
    print(f"settings: title + '\\n' + text as one field, English stemming, BM25 k1={args.k1} b={args.b} "
          f"where the engine allows")
    print(f"timing: index = empty dir to committed index with open searcher (wall clock); ms/query = median over "
          f"queries of each query's median of {args.repeat} runs (parse + search + ids); "
          f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print()

    results = []
    for name in names:
        print(f"  running {name} ...", file=sys.stderr, flush=True)
        r = run_engine(name, data.corpus, queries, qrels, args)
        if r is not None:
            results.append(r)
    if not results:
        print("no engine could run", file=sys.stderr)
        return 1

    print_table(results, args.k)
    print()
    for r in results:
        esc = f"; {r['escaped_queries']} queries escaped after a parse error" if r["escaped_queries"] else ""
        print(f"  {r['label']}: {r['settings']}{esc}")
    if args.markdown:
        print()
        print_markdown(results, args.k)
    by = {r["engine"]: r for r in results}
    if "searchlib" in by and "tantivy" in by:
        s, t = by["searchlib"], by["tantivy"]
        print(f"\nsearchlib vs tantivy: index time {s['index_s'] / t['index_s']:.2f}×, "
              f"query time {s['ms_per_query'] / t['ms_per_query']:.2f}×")
    if args.json:
        args.json.write_text(json.dumps({"folder": str(args.folder), "queries": len(queries), "k": args.k,
                                         "k1": args.k1, "b": args.b, "repeat": args.repeat,
                                         "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
