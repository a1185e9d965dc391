"""The cost of a small change to a large index: add one document and commit, update one by key.

    python benchmarks/incremental.py                      # 100,000-document index, 30 repetitions
    python benchmarks/incremental.py --docs 100000 --repeat 30 --workdir /tmp/inc --profile

The base index (the scale benchmark's corpus, see scale.py) is built once and kept in --workdir
(default: a folder in the system temporary directory), then copied for each run so every run
starts from the same index. Each repetition is what an application does for one change: open a
writer, add (or update) one document, commit, close. The median is compared with the time it
took to build the base index: a small change must cost milliseconds, not a rebuild.

Repetitions run in one process (so files verified once stay verified, as in a long-running
application); a last measurement repeats one add and one update each in a fresh process (imports
done before the clock starts), which first reads and verifies the files it opens.
"""
from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's searchlib, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (the corpus generator)

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _corpus():
    vocab = scale.vocabulary()
    return vocab, scale.zipf_cdf(len(vocab))


def build_base(path: Path, docs: int) -> float:
    """Build (or reuse) the base index of `docs` documents; return the seconds the build took
    (kept beside the index in <path>.json)."""
    from searchlib import ID, TEXT, Index, Schema

    record = path.with_suffix(".json")
    if Index.exists(path) and record.exists():
        saved = json.loads(record.read_text())
        if saved.get("docs") == docs and Index.open(path).doc_count() == docs:
            return float(saved["build_seconds"])
    vocab, cdf = _corpus()
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True))
    ix = Index.create(path, schema, overwrite=True)
    seconds = 0.0
    w = ix.writer()
    try:
        for chunk in scale.documents(docs, vocab, cdf):
            started = time.perf_counter()
            for doc in chunk:
                w.add(doc)
            seconds += time.perf_counter() - started
        started = time.perf_counter()
        w.commit()
        seconds += time.perf_counter() - started
    finally:
        w.close()
    record.write_text(json.dumps({"docs": docs, "build_seconds": seconds}))
    return seconds


def new_doc(i: int, key: str | None = None) -> dict:
    """A fresh document of typical size (from the same generator, outside the base corpus)."""
    vocab, cdf = _corpus()
    doc = next(scale.documents(1, vocab, cdf, seed=scale.SEED + 1 + i))[0]
    doc["id"] = key or f"new{i}"
    return doc


def one_change(path: Path, doc: dict, update: bool) -> dict[str, float]:
    """Open a writer, add or update `doc`, commit, close; the milliseconds of each step."""
    from searchlib import Index

    t0 = time.perf_counter()
    w = Index(path).writer()
    t1 = time.perf_counter()
    (w.update if update else w.add)(doc)
    t2 = time.perf_counter()
    w.commit()
    t3 = time.perf_counter()
    w.close()
    t4 = time.perf_counter()
    return {"open": (t1 - t0) * 1e3, "add": (t2 - t1) * 1e3, "commit": (t3 - t2) * 1e3,
            "close": (t4 - t3) * 1e3, "total": (t4 - t0) * 1e3}


def series(path: Path, repeat: int, update: bool, profile: bool) -> tuple[list[dict], str]:
    """`repeat` changes in this process; adds use new keys, updates replace base documents."""
    docs = [new_doc(i, key=f"doc{i * 997 % 1000}" if update else None) for i in range(repeat)]
    one_change(path, new_doc(10_000, key="warmup"), update=False)  # imports, first verification
    profiler = cProfile.Profile() if profile else None
    out = []
    for doc in docs:
        if profiler:
            profiler.enable()
        out.append(one_change(path, doc, update))
        if profiler:
            profiler.disable()
    report = ""
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(25)
        report = buf.getvalue()
    return out, report


def fresh_process(path: Path, update: bool) -> dict[str, float]:
    # imports (nltk's stemmer included) happen before the clock starts: the figure is the index work
    code = ("import json, sys; sys.path.insert(0, 'benchmarks'); import incremental; "
            "from searchlib.analysis import get_analyzer; get_analyzer('english').term('warm'); "
            f"print(json.dumps(incremental.one_change(incremental.Path({str(path)!r}), "
            f"incremental.new_doc(20_000, key={'doc5' if update else 'fresh'!r}), update={update})))")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict[str, float]:
    totals = sorted(r["total"] for r in runs)
    out = {f"{step}_median_ms": statistics.median(r[step] for r in runs) for step in runs[0]}
    out["p95_ms"] = totals[min(len(totals) - 1, int(round(0.95 * (len(totals) - 1))))]
    out["max_ms"] = totals[-1]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the base index")
    parser.add_argument("--repeat", type=int, default=30, help="changes timed per kind")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "searchlib-incremental")
    parser.add_argument("--profile", action="store_true", help="print where the time of the changes goes")
    parser.add_argument("--out", type=Path, help="save the measurements as JSON")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    base = args.workdir / f"base-{args.docs}"
    print(f"base index of {args.docs:,} documents in {base} ...", file=sys.stderr, flush=True)
    build_seconds = build_base(base, args.docs)
    results: dict = {"docs": args.docs, "build_seconds": build_seconds, "repeat": args.repeat}
    for kind, update in (("add", False), ("update", True)):
        work = args.workdir / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(base, work)
        runs, report = series(work, args.repeat, update, args.profile)
        results[kind] = summary(runs)
        results[kind]["runs"] = runs
        results[kind]["fresh_process"] = fresh_process(work, update)
        if report:
            print(f"--- profile of {args.repeat} x {kind} ---\n{report}")
    print(f"base index: {args.docs:,} documents, built in {build_seconds:.1f} s")
    print("| change | median ms | p95 ms | max ms | open / add / commit / close (median ms) "
          "| fresh process ms | build time / median |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for kind in ("add", "update"):
        r = results[kind]
        fp = r["fresh_process"]["total"]
        print(f"| {kind} one document + commit | {r['total_median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} "
              f"| {r['open_median_ms']:.1f} / {r['add_median_ms']:.1f} / {r['commit_median_ms']:.1f} / "
              f"{r['close_median_ms']:.1f} | {fp:.1f} | {build_seconds * 1000 / r['total_median_ms']:,.0f}x |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
