"""Sharded indexes on Dask against one index: build time, worker memory, query latency, throughput.

    python benchmarks/cluster.py                      # 100,000 documents of the scale corpus
    python benchmarks/cluster.py --docs 1000000 --out /tmp/cluster.json

The corpus is benchmarks/scale.py's (Zipf-distributed made-up words, titles of 3-10 words, bodies
of 50-300), written once to a JSONL file. Measured, on this machine:

- build: `searchlib index` of the file in one process (its default: analysis forked over the
  cores when the process is single-threaded), and
  `searchlib.cluster.build` of the same file into 2 shards on a 2-worker LocalCluster (one
  single-threaded worker process per core; the cluster's start-up reported apart). Peak resident
  memory of each worker process (ru_maxrss) after the build.
- CPU seconds beside wall seconds (this process and its children; the workers' own, asked
  through client.run): on a machine other jobs share, the wall-clock ratio of a 2-process run
  says how many cores the others left free; the CPU split says what sharding costs.
- search, engines alternating query by query: single-query latency (median and p90 over 3-word
  queries) of one Searcher and of the sharded searcher whose shards are Dask actors on the two
  workers; throughput of 1,000 queries through `search_many` against one Searcher running them
  one after another. Default options (10 hits, snippets).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale  # noqa: E402
from searchlib import Index  # noqa: E402
from searchlib.cli import default_schema  # noqa: E402
from searchlib.loaders import index_documents, load_documents  # noqa: E402


def write_corpus(n: int, path: Path) -> None:
    vocab, cdf = scale.vocabulary(), scale.zipf_cdf(scale.VOCABULARY + len(scale.FUNCTION_WORDS))
    with open(path, "w") as fh:
        for chunk in scale.documents(n, vocab, cdf):
            for doc in chunk:
                fh.write(json.dumps(doc) + "\n")


def build_one(source: Path, path: Path, workers: int | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its forked analysis workers)."""
    started, cpu = time.perf_counter(), cpu_s() + cpu_s(resource.RUSAGE_CHILDREN)
    ix = Index.create(path, default_schema(), overwrite=True)
    with ix.writer(workers=workers) as w:
        index_documents(w, load_documents(source))
    return time.perf_counter() - started, cpu_s() + cpu_s(resource.RUSAGE_CHILDREN) - cpu


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def workers_cpu_s(client) -> float:
    return sum(client.run(cpu_s).values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--latency-queries", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster
    from searchlib.cluster import build, open as open_sharded

    work = Path(tempfile.mkdtemp(prefix="searchlib-cluster-bench-"))
    try:
        source = work / "corpus.jsonl"
        write_corpus(args.docs, source)
        out: dict = {"docs": args.docs, "cores": os.cpu_count(), "load_average_at_start": os.getloadavg()}

        out["build_one_process_s"], out["build_one_process_cpu_s"] = build_one(source, work / "one", None)

        started = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        out["cluster_start_s"] = time.perf_counter() - started
        started, cpu = time.perf_counter(), workers_cpu_s(client)
        build(source, work / "sharded", schema=default_schema(), shards=2, client=client)
        out["build_sharded_s"] = time.perf_counter() - started
        out["build_sharded_workers_cpu_s"] = workers_cpu_s(client) - cpu
        out["worker_peak_rss_mb_after_build"] = sorted(client.run(peak_rss_mb).values())
        out["build_ratio"] = out["build_sharded_s"] / out["build_one_process_s"]

        vocab, cdf = scale.vocabulary(), scale.zipf_cdf(scale.VOCABULARY + len(scale.FUNCTION_WORDS))
        queries = scale.queries(vocab, cdf, 3, args.queries)
        one = Index.open(work / "one").searcher()
        sharded = open_sharded(work / "sharded", client).searcher()
        for q in queries[:20]:  # warm both
            one.search(q)
            sharded.search(q)
        lat_one, lat_sharded = [], []
        for q in queries[:args.latency_queries]:  # alternating
            t = time.perf_counter()
            one.search(q)
            lat_one.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            sharded.search(q)
            lat_sharded.append((time.perf_counter() - t) * 1000)

        def p90(xs: list[float]) -> float:
            return sorted(xs)[int(0.9 * len(xs))]

        out["latency_one_ms"] = {"median": statistics.median(lat_one), "p90": p90(lat_one)}
        out["latency_sharded_ms"] = {"median": statistics.median(lat_sharded), "p90": p90(lat_sharded)}
        out["latency_overhead_ms"] = out["latency_sharded_ms"]["median"] - out["latency_one_ms"]["median"]

        runs_one, runs_sharded, cpu_one, cpu_sharded = [], [], [], []
        for _ in range(3):  # alternating, median of three
            t, c = time.perf_counter(), cpu_s()
            for q in queries:
                one.search(q)
            runs_one.append(len(queries) / (time.perf_counter() - t))
            cpu_one.append((cpu_s() - c) * 1000 / len(queries))
            t, c, w = time.perf_counter(), cpu_s(), workers_cpu_s(client)
            sharded.search_many(queries)
            runs_sharded.append(len(queries) / (time.perf_counter() - t))
            cpu_sharded.append({"coordinator": (cpu_s() - c) * 1000 / len(queries),
                                "workers": (workers_cpu_s(client) - w) * 1000 / len(queries)})
        out["cpu_ms_per_query_one"] = statistics.median(cpu_one)
        out["cpu_ms_per_query_sharded"] = {k: statistics.median(r[k] for r in cpu_sharded)
                                           for k in ("coordinator", "workers")}
        out["throughput_one_qps"] = statistics.median(runs_one)
        out["throughput_sharded_search_many_qps"] = statistics.median(runs_sharded)
        out["throughput_ratio"] = out["throughput_sharded_search_many_qps"] / out["throughput_one_qps"]
        out["worker_peak_rss_mb_after_search"] = sorted(client.run(peak_rss_mb).values())
        out["shard_stats"] = [{k: s[k] for k in ("documents", "segments", "size_bytes")}
                              for s in Index.open(work / "sharded").stats()["shards"]]
        out["one_index_size_bytes"] = Index.open(work / "one").stats()["size_bytes"]
        out["load_average_at_end"] = os.getloadavg()  # other jobs on the machine: figures shift with it
        one.close()
        sharded.close()
        client.close()
        cluster.close()
        print(json.dumps(out, indent=2))
        if args.out:
            args.out.write_text(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
