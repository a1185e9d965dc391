"""Stop lists x stemmers on a BEIR-format collection: which English analyzer ranks best.

    python benchmarks/relevance_grid.py ../shared/data/scifact ../shared/data/cacm [--index-dir /tmp/grid]

Every combination is one single-field configuration (title + text, k1=1.2 b=0.75, proximity 0 so
that only the analyzer varies, top 100, the judged test queries) evaluated with searchlib.experiment
(each analyzer indexed once); the first one (Lucene's 33 stop words, nltk Porter: `english-classic`)
is the baseline of the paired randomisation tests.
Prints one table per collection.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from searchlib.evaluation import load_beir  # noqa: E402
from searchlib.experiment import Configuration, run_experiment  # noqa: E402

STOPS = ("english", "none", "english-nltk", "english-large")
STEMS = ("porter", "snowball-english", "porter-martin", "porter-original", "lancaster", "none")


def analyzer(stop: str, stem: str) -> dict:
    return {"tokenizer": "regex", "filters": ["possessive", "lowercase", {"type": "stop", "language": stop},
                                              {"type": "length", "min": 1, "max": 255},
                                              {"type": "stem", "stemmer": stem}]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--index-dir", default="/tmp/relevance-grid")
    ap.add_argument("--stops", default=",".join(STOPS))
    ap.add_argument("--stems", default=",".join(STEMS))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    configs = [Configuration.single_field(f"stop={stop} stem={stem}", analyzer(stop, stem), proximity=0)
               for stop in args.stops.split(",") for stem in args.stems.split(",")]
    for folder in args.folders:
        exp = run_experiment(load_beir(folder), configs, args.index_dir)
        print(f"\n{Path(folder).name}\n" + exp.table(markdown=args.markdown), flush=True)


if __name__ == "__main__":
    main()
