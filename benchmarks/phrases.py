"""Exact phrases of 2, 3 and 4 words: searchlib with and without `index_phrases`, and tantivy, in one run.

    python benchmarks/phrases.py ../shared/data/scifact
    python benchmarks/phrases.py ../shared/data/scifact --frequent 20000 --markdown

`query_kinds.py` times two-word phrases only. This script takes, for each length, up to ``--queries``
phrases cut deterministically from the corpus's own text (consecutive content words: alphabetic, 3+
letters, not stop words), so every phrase matches at least one document, and times them on three
indexes built in the same process from the same documents: searchlib (english analyzer), searchlib with
`index_phrases=True`, and tantivy (en_stem); top 10, each query's median over ``--repeat`` runs, then the
median over queries (parse + search + ids), as in query_kinds.py.

SciFact's phrases are of rare words (a few hundred positions), where searchlib keys whole position lists.
``--frequent N`` adds a synthetic corpus of N documents of 60 words drawn from 300 words with Zipf
weights, where every phrase word has tens of thousands of positions: the case the pair candidates are for.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout's searchlib, installed or not
sys.path.insert(0, str(HERE))

import tables  # noqa: E402
from engines import ENGLISH_STOPWORDS, _body  # noqa: E402
from query_kinds import KindQuery, SearchlibSide, TantivySide, time_engine  # noqa: E402

from searchlib.evaluation import load_beir  # noqa: E402

LENGTHS = (2, 3, 4)
_WORD = re.compile(r"[a-z]+")


def corpus_phrases(corpus: list[dict], n: int, count: int, seed: int) -> list[str]:
    """Up to `count` phrases of `n` consecutive content words, at most one per document, from
    documents in a seeded random order."""
    docs = list(corpus)
    random.Random(seed).shuffle(docs)
    out = []
    for d in docs:
        words = _WORD.findall(_body(d).lower())
        for i in range(len(words) - n + 1):
            gram = words[i:i + n]
            if all(len(w) >= 3 and w not in ENGLISH_STOPWORDS for w in gram):
                out.append(" ".join(gram))
                break
        if len(out) == count:
            break
    return out


def frequent_corpus(n_docs: int, seed: int) -> list[dict]:
    """`n_docs` documents of 60 words drawn from 300 made-up words with Zipf weights."""
    rng = random.Random(seed)
    vocab = [f"{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}qz" for i in range(300)]  # stem-stable
    weights = [1 / (i + 1) for i in range(300)]
    return [{"_id": str(i), "title": "", "text": " ".join(rng.choices(vocab, weights, k=60))} for i in range(n_docs)]


def measure(corpus: list[dict], label: str, count: int, repeat: int, k: int) -> list[list[str]]:
    """Index `corpus` three ways and time the phrases of each length; one table row per length."""
    sides = [SearchlibSide(), SearchlibSide(index_phrases=True), TantivySide()]
    rows = []
    try:
        for side in sides:
            t = time.perf_counter()
            side.index(corpus)
            print(f"  {label}: {side.name} indexed in {time.perf_counter() - t:.2f} s, "
                  f"{side.disk_bytes() / 2**20:.1f} MiB", file=sys.stderr, flush=True)
        for n in LENGTHS:
            phrases = corpus_phrases(corpus, n, count, seed=n)
            qs = [KindQuery(f'"{p}"', f'"{p}"') for p in phrases]
            if not qs:
                continue
            ms = [time_engine(side, "phrase", qs, k, repeat)[0] for side in sides]
            plain, pairs, tantivy = ms
            rows.append([label, str(n), str(len(qs)), f"{plain:.3f}", f"{pairs:.3f}", f"{tantivy:.3f}",
                         f"{plain / tantivy:.2f}×", f"{pairs / tantivy:.2f}×", f"{plain / pairs:.2f}×"])
    finally:
        for side in sides:
            side.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    p.add_argument("--queries", type=int, default=100, metavar="N", help="phrases per length (default 100)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each query (default 5)")
    p.add_argument("--k", type=int, default=10, help="hits per query (default 10)")
    p.add_argument("--frequent", type=int, default=0, metavar="N",
                   help="also a synthetic corpus of N documents of frequent words (default: none)")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.k < 1 or args.queries < 1 or args.frequent < 0:
        p.error("--repeat, --k and --queries must be at least 1, --frequent at least 0")
    try:
        data = load_beir(args.folder)
    except FileNotFoundError as e:
        p.error(str(e))
    rows = measure(data.corpus, args.folder.resolve().name, args.queries, args.repeat, args.k)
    if args.frequent:
        rows += measure(frequent_corpus(args.frequent, seed=1), f"frequent words ({args.frequent:,} docs)",
                        args.queries, args.repeat, args.k)
    header = ["corpus", "words", "phrases", "searchlib ms", "with pairs ms", "tantivy ms", "searchlib ÷ tantivy",
              "with pairs ÷ tantivy", "pairs speed-up"]
    print(f"exact phrases cut from each corpus's text; top {args.k}; median over phrases of each one's median "
          f"of {args.repeat} runs")
    tables.print_aligned(header, rows)
    if args.markdown:
        print()
        tables.print_markdown(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
