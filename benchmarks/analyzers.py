"""Indexing speed per analyzer preset, the presets alternating in one run.

    python benchmarks/analyzers.py                                  # the multilingual corpus x 200
    python benchmarks/analyzers.py --copies 500 --repeat 5 --beir ../shared/data/scifact --markdown

Two texts: the multilingual example corpus (examples/corpus-multilingual: Chinese, Japanese, Korean,
Thai and Latin text, 11 documents) repeated `--copies` times as distinct documents, and optionally the
title + text of a BEIR collection (English). For each preset that can be built here (a dictionary preset
whose package is not installed is skipped with a note), a round indexes the text into a fresh index
(one TEXT field, not stored, committed) and the presets take turns within each round; the table gives
the median over `--repeat` rounds, as seconds and as thousands of characters per second. A preset's
first use (loading a segmenter's dictionary or model) happens before the clock starts and is reported
on its own as "load (s)".
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout's searchlib, installed or not

from searchlib import TEXT, Index, Schema  # noqa: E402
from searchlib.analysis import MissingPackageError, get_analyzer  # noqa: E402
from searchlib.loaders import load_documents  # noqa: E402

CORPUS = HERE.parent / "examples" / "corpus-multilingual"
PRESETS = ("standard", "english", "unicode", "cjk", "chinese", "japanese", "korean", "thai")
UNICODE = {"tokenizer": "unicode", "filters": [{"type": "normalize", "form": "NFKC"}, "lowercase"]}


def multilingual(copies: int) -> list[str]:
    docs = [f"{d.get('title', '')}\n\n{d.get('body', '')}" for d in load_documents(CORPUS)]
    return [text for _ in range(copies) for text in docs]


def beir(path: Path) -> list[str]:
    from searchlib.evaluation import load_beir

    return [f"{d['title']}\n\n{d['text']}" for d in load_beir(path).corpus]


def analyzer_spec(name: str):
    return UNICODE if name == "unicode" else name


def index_once(spec, texts: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        ix = Index.create(Path(tmp) / "ix", Schema(body=TEXT(analyzer=spec)))
        started = time.perf_counter()
        with ix.writer() as w:
            for text in texts:
                w.add({"body": text})
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=200, help="copies of the multilingual corpus (default 200)")
    parser.add_argument("--beir", type=Path, help="also index a BEIR collection's title + text (English)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported (default 3)")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to run")
    parser.add_argument("--markdown", action="store_true", help="also print a table to paste into the README")
    args = parser.parse_args(argv)

    texts = {"multilingual": multilingual(args.copies)}
    if args.beir is not None:
        texts["beir"] = beir(args.beir)
    presets, loads = [], {}
    for name in args.presets.split(","):
        started = time.perf_counter()
        try:
            analyzer = get_analyzer(analyzer_spec(name))
            analyzer.index_terms("東京タワー 北京 한국어 ภาษาไทย text")  # loads a segmenter's dictionary
        except MissingPackageError as exc:
            print(f"skipped {name}: {exc}")
            continue
        loads[name] = time.perf_counter() - started
        presets.append(name)

    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for corpus, docs in texts.items():
            for name in presets:
                times.setdefault((corpus, name), []).append(index_once(analyzer_spec(name), docs))

    rows = []
    for corpus, docs in texts.items():
        chars = sum(map(len, docs))
        print(f"\n{corpus}: {len(docs)} documents, {chars:,} characters, median of {args.repeat}")
        for name in presets:
            t = statistics.median(times[(corpus, name)])
            rows.append((corpus, name, loads[name], t, chars / t / 1000))
            print(f"  {name:10} load {loads[name]:6.2f} s   index {t:7.3f} s   {chars / t / 1000:8.0f} k chars/s")
    if args.markdown:
        print("\n| text | preset | load (s) | index (s) | k chars/s |\n|---|---|---:|---:|---:|")
        for corpus, name, load, t, speed in rows:
            print(f"| {corpus} | `{name}` | {load:.2f} | {t:.3f} | {speed:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
