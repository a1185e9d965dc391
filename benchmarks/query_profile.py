"""Where a search's time goes, stage by stage, beside tantivy's whole query: the profile behind the
query ratios of scale.py's comparison.

    python benchmarks/query_profile.py DIR                  # DIR: a scale.py --tantivy workdir
    python benchmarks/query_profile.py DIR --size 1000000 --queries 50

DIR holds `scale-N` (searchlib), `tantivy-N` and `kind_queries.json`, as `scale.py --tantivy
--workdir DIR` leaves them. Each stage of `Searcher.search` is wrapped with a wall-clock timer
(parse + compile, weigh, score every segment, merge the segments' top k, make the hits); "rest" is
the search's own bookkeeping. tantivy is timed as scale.py times it (parse the query, search,
read the hits' ids), and its three parts beside it. Each query runs `--repeat` times and the fastest run is kept, for
both engines (as scale.py does); the table shows medians over the queries, in microseconds, and
each kind's postings (document frequencies of its words, summed over its words and fields) to
show what the scoring stage works through.
"""
from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from searchlib import Index  # noqa: E402
from searchlib.search import results, searcher as searcher_module  # noqa: E402
from searchlib.search.collectors import TopScores  # noqa: E402

STAGES = [  # (owner, attribute, label)
    (searcher_module.Searcher, "_compile", "parse + compile"),
    (searcher_module, "Weight", "weigh"),
    (searcher_module.Searcher, "_score", "score segments"),
    (TopScores, "result", "merge top k"),
    (searcher_module, "hits", "hits"),
]
LABELS = [label for _, _, label in STAGES]
TANTIVY = ["tantivy", "tantivy parse", "tantivy search", "tantivy ids"]


def _timed(spent: dict, label: str, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started
    return wrapper


def profile(path: Path, tantivy_path: Path, kinds: dict[str, list[str]], repeat: int) -> list[dict]:
    import tantivy

    spent: dict[str, float] = {}
    for owner, attr, label in STAGES:
        setattr(owner, attr, _timed(spent, label, getattr(owner, attr)))
    s = Index.open(path).searcher()
    tix = tantivy.Index.open(str(tantivy_path))
    ts = tix.searcher()
    rows = []
    for kind, queries in kinds.items():
        per_query: list[dict] = []
        for q in queries:
            s.search(q, limit=10, highlight=False)  # warm: dictionary pages, norms
            best: dict | None = None
            for _ in range(repeat):
                spent.clear()
                started = time.perf_counter()
                s.search(q, limit=10, highlight=False)
                total = time.perf_counter() - started
                if best is None or total < best["total"]:
                    best = {"total": total, **spent}
            tbest = None  # as scale.py times it: parse, search, the hits' ids
            for _ in range(repeat):
                started = time.perf_counter()
                parsed = tix.parse_query(q, ["title", "body"])
                parsed_at = time.perf_counter()
                found = ts.search(parsed, 10).hits
                searched_at = time.perf_counter()
                [ts.doc(addr)["id"][0] for _, addr in found]
                done = time.perf_counter()
                if tbest is None or done - started < tbest[0]:
                    tbest = (done - started, parsed_at - started, searched_at - parsed_at, done - searched_at)
            best["tantivy"], best["tantivy parse"], best["tantivy search"], best["tantivy ids"] = tbest
            best["postings"] = _postings(s, q)
            per_query.append(best)
        row = {"kind": kind, "queries": len(queries)}
        for key in ["total", *LABELS, *TANTIVY]:
            row[key] = statistics.median(p.get(key, 0.0) for p in per_query) * 1e6
        row["rest"] = statistics.median(p["total"] - sum(p.get(label, 0.0) for label in LABELS) for p in per_query) * 1e6
        row["postings"] = statistics.median(p["postings"] for p in per_query)
        rows.append(row)
    return rows


def _postings(s, q: str) -> int:
    """Documents holding the query's words, summed over words and default fields."""
    words = q.replace('"', " ").replace(" AND ", " ").split()
    total = 0
    for fname in ("title", "body"):
        analyzer = s.schema.fields[fname].analyzer
        for word in words:
            term = analyzer.map_word(word)
            if term is not None:
                total += s.stats.doc_freq(fname, term)
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50, help="queries per kind (from kind_queries.json)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    kinds = {k: v[:args.queries] for k, v in json.loads((args.workdir / "kind_queries.json").read_text()).items()}
    rows = profile(args.workdir / f"scale-{args.size}", args.workdir / f"tantivy-{args.size}", kinds, args.repeat)
    cols = ["total", *LABELS, "rest", *TANTIVY]
    print(f"{args.size:,} documents, medians over queries of the fastest of {args.repeat} runs, microseconds\n")
    print("| kind | postings | " + " | ".join(cols) + " | ÷ tantivy |")
    print("|---|---:|" + "---:|" * (len(cols) + 1))
    for r in rows:
        print(f"| {r['kind']} | {r['postings']:,.0f} | " + " | ".join(f"{r[c]:.1f}" for c in cols)
              + f" | {r['total'] / r['tantivy']:.2f}x |")


if __name__ == "__main__":
    main()
