"""Where an indexing run's memory and time go: the process tree's resident memory, phase by phase.

    python benchmarks/index_memory.py --docs 100000
    python benchmarks/index_memory.py --docs 1000000 --workdir /tmp/im --timeline 5

Indexes the corpus of `scale.py` (title and body stored, `english`, one commit at the end) in a
fresh process whose writer is instrumented from the outside (its methods wrapped, the library
unchanged) to log when it is adding documents, flushing a segment (waiting for the analysis, then
writing the segment's files), merging (per merge: how many segments and documents, each field's
merge, the merged segment's files) or committing. Meanwhile this process samples, every
`--interval` seconds, /proc/PID/status of the writer and of each forked analysis worker: RssAnon
(the process's own heap and numpy arrays), RssFile (pages of mapped files: the index files a merge
reads, shared libraries) and RssShmem. The tables then give, per phase, its time and the moment
the whole tree was largest in it, split by process and by kind of memory; per merge, what it read,
wrote and peaked at; and the merges' write amplification (bytes written by merges / final index size).
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's searchlib
sys.path.insert(0, str(HERE))

import scale  # noqa: E402

KINDS = ("RssAnon", "RssFile", "RssShmem")


# -- in the indexing process: the writer's phases, logged as they start and end ---------------------

def _instrument(log_path: Path) -> dict:
    """Wrap the writer's steps so that each logs (time, "+"/"-", phase, details) to `log_path`;
    return the counters of bytes written by flushes and merges."""
    from searchlib.indexing import buffer, merge, writer
    from searchlib.storage import segment

    log = open(log_path, "w", buffering=1)
    written = {"flush_bytes": 0, "merge_bytes": 0, "merges": 0, "flushes": 0}

    def event(sign: str, phase: str, **details) -> None:
        log.write(json.dumps([time.monotonic(), sign, phase, details]) + "\n")

    def wrap(owner, name: str, phase: str, describe=None, after=None) -> None:
        real = getattr(owner, name)

        def wrapped(*args, **kwargs):
            event("+", phase, **(describe(*args, **kwargs) if describe else {}))
            result = None
            try:
                result = real(*args, **kwargs)
                return result
            finally:
                event("-", phase, **(after(result) if after and result is not None else {}))

        setattr(owner, name, wrapped)

    def files_bytes(files: dict) -> int:
        return sum(int(e.get("size", 0)) for e in files.values())

    def flushed(result):
        count, files, _ = result
        written["flush_bytes"] += files_bytes(files)
        written["flushes"] += 1
        return {"docs": count, "bytes": files_bytes(files)}

    def merged(result):
        count, files = result
        written["merge_bytes"] += files_bytes(files)
        written["merges"] += 1
        return {"docs": count, "bytes": files_bytes(files)}

    def merge_inputs(readers, directory):
        return {"segments": len(readers), "docs": sum(r.doc_count for r in readers),
                "input_bytes": sum(files_bytes(r.files) for r in readers)}

    wrap(writer.IndexWriter, "commit", "commit")
    wrap(buffer.SegmentBuffer, "write", "flush", after=flushed)
    wrap(buffer.SegmentBuffer, "settle", "analysis wait")
    wrap(buffer._FieldBuffer, "take_arrays", "postings")
    wrap(buffer, "write_segment", "files")
    wrap(writer, "merge_segments", "merge", describe=merge_inputs, after=merged)
    wrap(merge, "_merge_field", "field", describe=lambda name, *a: {"field": name})
    wrap(merge, "write_segment", "files")
    wrap(segment, "write_stored", "stored")
    return written


def run_traced(size: int, path: Path, log_path: Path, options: dict) -> dict:
    written = _instrument(log_path)
    result = scale.run_index(size, path, options)
    result.update(written)
    return result


# -- in this process: sampling the tree, then the tables ---------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in KINDS:
                    out[key] = int(line.split()[1])
    except OSError:
        pass
    return out


def sample_tree(pid: int) -> dict:
    """{"writer": {kind: kB}, "workers": {kind: kB summed}, "worker_max": kB of the largest worker}."""
    writer = _status(pid)
    workers = {k: 0 for k in KINDS}
    largest = 0
    stack = _children(pid)
    while stack:
        child = stack.pop()
        found = _status(child)
        for k in KINDS:
            workers[k] += found.get(k, 0)
        largest = max(largest, sum(found.values()))
        stack += _children(child)
    return {"t": time.monotonic(), "writer": writer, "workers": workers, "worker_max": largest,
            "total": sum(writer.values()) + sum(workers.values())}


def read_log(log_path: Path) -> list[tuple[float, float, str, dict]]:
    """The phases as (start, end, label, details), label the nesting path ("commit/merge/field")."""
    intervals, stack = [], []
    for line in log_path.read_text().splitlines():
        t, sign, phase, details = json.loads(line)
        if sign == "+":
            stack.append((t, phase, details))
        else:
            start, name, first = stack.pop()
            label = "/".join([p for _, p, _ in stack] + [name])
            intervals.append((start, t, label, {**first, **details}))
    return intervals


def phase_at(intervals: list, t: float) -> str:
    """The innermost phase running at time `t` ("adding" outside every logged phase)."""
    best, width = "adding", float("inf")
    for start, end, label, _ in intervals:
        if start <= t <= end and end - start < width:
            best, width = label, end - start
    return best


def mb(kb: float) -> str:
    return f"{kb / 1024:,.0f}"


def report(samples: list[dict], intervals: list, result: dict, timeline: float) -> str:
    lines = []
    starts = sorted(intervals)
    for s in samples:
        s["phase"] = phase_at(starts, s["t"])
    # time per phase (exclusive of the phases nested in it)
    inclusive: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for start, end, label, _ in intervals:
        inclusive[label] += end - start
        counts[label] += 1
    exclusive = dict(inclusive)
    for label, secs in inclusive.items():
        parent = label.rsplit("/", 1)[0] if "/" in label else None
        if parent is not None:
            exclusive[parent] = exclusive.get(parent, 0.0) - secs
    total_s = samples[-1]["t"] - samples[0]["t"] if samples else 0.0
    logged = sum(v for k, v in inclusive.items() if "/" not in k)
    exclusive["adding"] = total_s - logged
    counts["adding"] = 1
    peaks: dict[str, dict] = {}
    for s in samples:
        if s["phase"] not in peaks or s["total"] > peaks[s["phase"]]["total"]:
            peaks[s["phase"]] = s
    lines.append(f"{result['docs']:,} documents: {result['seconds']:.1f} s wall (commit {result['commit_seconds']:.1f} s), "
                 f"{result['cpu_seconds']:.1f} s CPU, {result['index_bytes'] / 2**20:,.0f} MB on disk, "
                 f"{result['segments']} segments; {result['flushes']} flushes, {result['merges']} merges; "
                 f"{len(samples)} samples")
    top = max(samples, key=lambda s: s["total"])
    lines.append(f"tree peak (sampled) {mb(top['total'])} MB in phase '{top['phase']}'; "
                 f"writer VmHWM {mb(result['peak_rss_kb'])} MB")
    lines.append("")
    lines.append("| phase (innermost) | times | s (own) | tree peak MB | writer anon / file / shmem MB "
                 "| workers anon / file / shmem MB | largest worker MB |")
    lines.append("|---|---:|---:|---:|---|---|---:|")
    order = sorted(peaks, key=lambda p: -peaks[p]["total"])
    for phase in order:
        s = peaks[phase]
        w, k = s["writer"], s["workers"]
        lines.append(f"| {phase} | {counts.get(phase, 0)} | {exclusive.get(phase, 0.0):.1f} | {mb(s['total'])} "
                     f"| {' / '.join(mb(w.get(x, 0)) for x in KINDS)} | {' / '.join(mb(k.get(x, 0)) for x in KINDS)} "
                     f"| {mb(s['worker_max'])} |")
    merges = [iv for iv in intervals if iv[2].endswith("merge")]
    if merges:
        lines.append("")
        lines.append("| merge | segments | docs | read MB | written MB | s | tree peak MB | writer anon / file MB at peak |")
        lines.append("|---:|---:|---:|---:|---:|---:|---:|---|")
        for i, (start, end, _, d) in enumerate(merges, 1):
            inside = [s for s in samples if start <= s["t"] <= end] or [min(samples, key=lambda s: abs(s["t"] - start))]
            p = max(inside, key=lambda s: s["total"])
            lines.append(f"| {i} | {d.get('segments')} | {d.get('docs', 0):,} | {d.get('input_bytes', 0) / 2**20:,.0f} "
                         f"| {d.get('bytes', 0) / 2**20:,.0f} | {end - start:.1f} | {mb(p['total'])} "
                         f"| {mb(p['writer'].get('RssAnon', 0))} / {mb(p['writer'].get('RssFile', 0))} |")
        final = result["index_bytes"]
        lines.append("")
        lines.append(f"write amplification: flushes wrote {result['flush_bytes'] / 2**20:,.0f} MB, merges "
                     f"{result['merge_bytes'] / 2**20:,.0f} MB, final index {final / 2**20:,.0f} MB: merges "
                     f"{result['merge_bytes'] / final:.2f}x, all {(result['flush_bytes'] + result['merge_bytes']) / final:.2f}x")
    if timeline:
        lines.append("")
        lines.append(f"timeline (every {timeline:g} s: tree, writer anon/file, workers anon MB, phase)")
        t0, next_t = samples[0]["t"], 0.0
        for s in samples:
            if s["t"] - t0 >= next_t:
                lines.append(f"  {s['t'] - t0:7.1f} s  {mb(s['total']):>6}  {mb(s['writer'].get('RssAnon', 0)):>6} / "
                             f"{mb(s['writer'].get('RssFile', 0)):>5}  {mb(s['workers'].get('RssAnon', 0)):>5}  {s['phase']}")
                next_t += timeline
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents to index")
    parser.add_argument("--workdir", type=Path, help="where the index is built (default: a temporary folder)")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--timeline", type=float, default=0.0, help="also print a sample every this many seconds")
    parser.add_argument("--writer", default="{}", help="writer options as JSON, e.g. '{\"workers\": 1}'")
    parser.add_argument("--out", type=Path, help="save the samples and phases as JSON")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="searchlib-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path, log_path = workdir / f"memory-{args.docs}", workdir / f"memory-{args.docs}.log"
    samples: list[dict] = []
    try:
        result = scale._run_child(["_index", str(args.docs), str(path), str(log_path), args.writer],
                                  lambda pid: samples.append(sample_tree(pid)), args.interval, Path(__file__))
        intervals = read_log(log_path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(samples, intervals, result, args.timeline))
    if args.out:
        args.out.write_text(json.dumps({"result": result, "samples": samples, "phases": intervals}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_index":
        print(json.dumps(run_traced(int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), json.loads(sys.argv[5]))))
    else:
        main()
