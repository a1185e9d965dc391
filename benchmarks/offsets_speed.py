"""What the analysis of stored fields costs per token on its three paths, on scale.py's corpus: the
per-text regex path with offsets (a match object per token), the writer's batch path (numpy tokens
with offsets, a look-up per distinct word: analysis.spans, analysis.distinct) and the per-text
`re.findall` path without offsets (a look-up per token; the fastest path before the batch one).

    python benchmarks/offsets_speed.py --docs 20000

Every field analysis is warmed first (all words and stems known), so the figures are the per-token
work alone: tokenize, look up, spans. The three variants alternate, `--rounds` times, on batches
of 5,000 documents (the writer's batch size order); CPU time of this process, medians.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402  (this folder's corpus generator)
from searchlib import TEXT  # noqa: E402
from searchlib.indexing.analyze import FieldAnalysis  # noqa: E402

BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000, help="documents of scale.py's corpus")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the three variants")
    args = parser.parse_args()
    vocab, cdf = scale.vocabulary(), scale.zipf_cdf(scale.VOCABULARY)
    docs = [d for batch in scale.documents(args.docs, vocab, cdf) for d in batch][:args.docs]
    texts = {f: [d[f] for d in docs] for f in ("title", "body")}
    analyses = {f: FieldAnalysis(TEXT(stored=True)) for f in texts}
    tokens = sum(len(analyses[f].run(texts[f]).ids) for f in texts)  # warm: words and stems known
    finders = {f: analyses[f]._spans for f in texts}
    times: dict[str, list[float]] = {"regex (finditer)": [], "batch (numpy)": [], "findall, no offsets": []}
    for _ in range(args.rounds):
        for name, runs in times.items():
            for f, fa in analyses.items():
                fa._spans = finders[f] if name == "batch (numpy)" else None
                fa.offsets = name != "findall, no offsets"
            start = time.process_time()
            for f, fa in analyses.items():
                for i in range(0, len(docs), BATCH):
                    fa.run(texts[f][i:i + BATCH])
            runs.append(time.process_time() - start)
    print(f"{len(docs):,} documents, {tokens:,} tokens (title + body), warm word caches, "
          f"{args.rounds} rounds alternating; medians of CPU time")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"  {name:20s} {median:6.3f} s  {median / tokens * 1e6:.3f} us/token")


if __name__ == "__main__":
    main()
