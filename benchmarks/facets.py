"""Facet counting and autocomplete at scale: a lean 1,000,000-document index.

    python benchmarks/facets.py                          # 1,000,000 documents (index built once, kept)
    python benchmarks/facets.py --docs 100000 --markdown
    python benchmarks/facets.py --index /tmp/facets-1m   # where the index lives (reused when it exists)
    python benchmarks/facets.py --fresh 9 --no-warm      # only: open + first search in 9 fresh processes each
    python benchmarks/facets.py --fresh 9 --searchlib ../main --index /tmp/old  # another checkout's searchlib

The corpus is generated deterministically with a lean schema (the benchmark is about facets and the
term dictionary, not analysis): `id`; `title`, 4 made-up words (standard analyzer, no positions):
document i holds word i of a 1,000,000-word vocabulary, so the dictionary has one term per document
up to a million, plus three words drawn from a Zipf distribution over the vocabulary; `bucket`, a
KEYWORD "b0".."b9" (document i: b{i % 10}, so `bucket:b3` matches exactly a tenth of the index);
`tags`, 1-3 of 1,000 KEYWORD values (Zipf); `year`, NUMERIC 1950-2024; `when`, DATETIME over 2000-2024.

Timings are medians over `--repeat` runs on a warm searcher (the first run, which reads the
per-document KEYWORD values, or derives them from the postings in an index of format 5 or earlier,
is reported apart as "first"); with `--fresh N`, also the medians over N fresh processes of
opening the index and of its first search, with and without the tags facet (page cache warm):

- facets: `search("bucket:b3", 10, facets=...)` minus the same search without facets, so the
  figure is the facet counting alone, over the 100,000 matching documents (at 1,000,000);
- completion: `complete(prefix, field="title")` for 200 prefixes of 1-4 characters taken from
  vocabulary words, top 10 by document frequency; per prefix the median of 3 calls, then the
  median and 95th percentile over the prefixes of each length.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchlib import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Index, Schema  # noqa: E402

SEED = 17
VOCABULARY = 1_000_000
TAGS = 1000
SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]  # 80 syllables: 4 make 40 M words


def words(n: int) -> np.ndarray:
    """n distinct made-up words: word i spells i in base 80 with syllables, lower ranks shorter."""
    out = []
    base = len(SYLLABLES)
    for i in range(n):
        parts, x = [], i + base  # at least two syllables
        while x:
            x, r = divmod(x, base)
            parts.append(SYLLABLES[r])
        out.append("".join(parts))
    return np.array(out, dtype=object)


def zipf(rng: np.random.Generator, n: int, size: int, s: float = 1.1) -> np.ndarray:
    ranks = np.arange(1, n + 1, dtype=np.float64)
    cdf = np.cumsum(ranks ** -s)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size)), n - 1)


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="standard", positions=False),
                  bucket=KEYWORD(), tags=KEYWORD(), year=NUMERIC(stored=False), when=DATETIME(stored=False))


def build(path: Path, docs: int, commits: int = 1) -> float:
    vocab = words(VOCABULARY)
    tag_names = np.array([f"tag{i:04d}" for i in range(TAGS)], dtype=object)
    rng = np.random.default_rng(SEED)
    start = np.datetime64("2000-01-01T00:00:00", "s").astype(np.int64)
    span = np.datetime64("2025-01-01T00:00:00", "s").astype(np.int64) - start
    ix = Index.create(path, schema(), overwrite=True)
    started = time.perf_counter()
    chunk = 10_000
    every = max(docs // max(commits, 1) // chunk, 1) * chunk  # documents per commit
    with ix.writer() as w:
        for lo in range(0, docs, chunk):
            if lo and lo % every == 0:
                w.commit()  # a segment per commit (until merges join them)
            n = min(chunk, docs - lo)
            common = vocab[zipf(rng, VOCABULARY, 3 * n)].reshape(n, 3)
            ntags = rng.integers(1, 4, n)
            tags = tag_names[zipf(rng, TAGS, 3 * n)].reshape(n, 3)
            years = rng.integers(1950, 2025, n)
            whens = start + rng.integers(0, span, n)
            for j in range(n):
                i = lo + j
                w.add({"id": f"d{i}", "title": f"{vocab[i % VOCABULARY]} {common[j, 0]} {common[j, 1]} {common[j, 2]}",
                       "bucket": f"b{i % 10}", "tags": list(tags[j, :ntags[j]]), "year": int(years[j]),
                       "when": np.datetime64(int(whens[j]), "s").item().isoformat() + "+00:00"})
    return time.perf_counter() - started


def median_ms(fn, repeat: int) -> tuple[float, float]:
    """(first call's ms, median ms of the next `repeat` calls)."""
    t = time.perf_counter()
    fn()
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(times)


FACETS = {
    "tags (KEYWORD, 1-3 values, top 10)": {"tags": None},
    "bucket (KEYWORD, 1 value)": {"bucket": None},
    "year (NUMERIC, 3 ranges)": {"year": [(None, 1980), (1980, 2000), (2000, None)]},
    "when (DATETIME, month histogram)": {"when": "month"},
    "all four": {"tags": None, "bucket": None, "year": [(None, 1980), (1980, 2000), (2000, None)], "when": "month"},
}


def run(path: Path, repeat: int) -> dict:
    ix = Index.open(path)
    rows = []
    with ix.searcher() as s:
        q = "bucket:b3"
        base = s.search(q, 10, highlight=False)
        _, plain = median_ms(lambda: s.search(q, 10, highlight=False), repeat)
        for name, spec in FACETS.items():
            first, with_facets = median_ms(lambda: s.search(q, 10, highlight=False, facets=spec), repeat)
            rows.append({"what": f"facets: {name}", "matching": base.total, "first_ms": round(first - plain, 2),
                         "median_ms": round(with_facets - plain, 2)})
        post = {"tags": "tag0001"}
        _, drill = median_ms(lambda: s.search(q, 10, highlight=False, facets=["tags", "bucket"], post_filter=post),
                             repeat)
        rows.append({"what": "facets: tags + bucket, drill-down post_filter tags:tag0001", "matching": base.total,
                     "first_ms": None, "median_ms": round(drill - plain, 2)})
        _, collapsed = median_ms(lambda: s.search(q, 10, highlight=False, collapse="tags"), repeat)
        rows.append({"what": "collapse by tags (search total, not extra)", "matching": base.total, "first_ms": None,
                     "median_ms": round(collapsed, 2)})
        rows.append({"what": "the search without facets", "matching": base.total, "first_ms": None,
                     "median_ms": round(plain, 2)})
        vocab = words(20_000)
        rng = np.random.default_rng(SEED + 1)
        prefixes = [str(vocab[i])[:int(k)] for i, k in zip(rng.integers(0, len(vocab), 200), rng.integers(1, 5, 200))]
        terms = sum(len(r.fields["title"].dictionary) for r in s.readers)
        for k in (1, 2, 3, 4):
            chosen = [p for p in prefixes if len(p) == k]
            times = []
            for p in chosen:  # per prefix, the median of 3 calls (the machine may be shared)
                one = []
                for _ in range(3):
                    t = time.perf_counter()
                    s.complete(p, field="title", limit=10)
                    one.append((time.perf_counter() - t) * 1000)
                times.append(statistics.median(one))
            rows.append({"what": f"complete: {k}-character prefixes ({len(chosen)})", "matching": None,
                         "first_ms": None, "median_ms": round(statistics.median(times), 3),
                         "p95_ms": round(float(np.percentile(times, 95)), 3)})
        info = {"docs": s.doc_count(), "segments": len(s.readers), "title_terms_over_segments": terms}
    return {"info": info, "rows": rows}


# A child process: open the index, then one search (with the facets given in argv[3] as JSON, or
# none): what the first facet search of a fresh process costs, opening included.
FRESH_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from searchlib import Index
t = time.perf_counter()
s = Index.open(sys.argv[2]).searcher()
opened = time.perf_counter()
s.search("bucket:b3", 10, highlight=False, facets=json.loads(sys.argv[3]))
done = time.perf_counter()
print(json.dumps({"open_ms": (opened - t) * 1000, "search_ms": (done - opened) * 1000}))
"""


def fresh(path: Path, runs: int, checkout: Path) -> list[dict]:
    """Medians over `runs` fresh processes (alternating with and without the tags facet) of the
    time to open the index and of its first search; the index's files are in the page cache."""
    found: dict[str, list[dict]] = {"none": [], "tags": []}
    for _ in range(runs):
        for name, spec in (("none", None), ("tags", {"tags": None})):
            out = subprocess.run([sys.executable, "-c", FRESH_CHILD, str(checkout), str(path), json.dumps(spec)],
                                 check=True, capture_output=True, text=True).stdout
            found[name].append(json.loads(out))
    rows = []
    for name, what in (("none", "fresh process: open + first search, no facets"),
                       ("tags", "fresh process: open + first search with the tags facet")):
        rows.append({"what": what, "matching": None, "first_ms": None,
                     "open_ms": round(statistics.median(r["open_ms"] for r in found[name]), 2),
                     "median_ms": round(statistics.median(r["search_ms"] for r in found[name]), 2)})
    return rows


def markdown(result: dict) -> str:
    info = result["info"]
    lines = [f"{info['docs']:,} documents, {info['segments']} segments, {info['title_terms_over_segments']:,} "
             "title terms summed over segments" if info else "", "",
             "| what | matching docs | median ms | first ms | p95 ms | open ms |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        cells = [r["what"], f"{r['matching']:,}" if r.get("matching") else "",
                 f"{r['median_ms']:.2f}", "" if r.get("first_ms") is None else f"{r['first_ms']:.2f}",
                 "" if r.get("p95_ms") is None else f"{r['p95_ms']:.2f}",
                 "" if r.get("open_ms") is None else f"{r['open_ms']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, default=1_000_000)
    p.add_argument("--index", type=Path, help="where the index lives (default: /tmp/searchlib-facets-<docs>)")
    p.add_argument("--rebuild", action="store_true", help="build the index even if it exists")
    p.add_argument("--commits", type=int, default=1, help="build the index in this many commits (more segments)")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--json", type=Path)
    p.add_argument("--fresh", type=int, default=0, metavar="N",
                   help="also time N fresh processes each: open + first search, with and without the tags facet")
    p.add_argument("--searchlib", type=Path, default=ROOT,
                   help="the checkout whose searchlib the fresh processes import (default: this one)")
    p.add_argument("--no-warm", action="store_true", help="skip the in-process timings (with --fresh)")
    args = p.parse_args(argv)
    path = args.index or Path(f"/tmp/searchlib-facets-{args.docs}")
    if args.rebuild or not Index.exists(path) or Index.open(path).doc_count() != args.docs:
        print(f"building {args.docs:,} documents into {path} ...", flush=True)
        print(f"indexed in {build(path, args.docs, args.commits):.1f} s", flush=True)
    result = {"info": {}, "rows": []} if args.no_warm else run(path, args.repeat)
    if args.fresh:
        result["rows"] += fresh(path, args.fresh, args.searchlib)
    print(json.dumps(result, indent=1))
    if args.markdown:
        print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
