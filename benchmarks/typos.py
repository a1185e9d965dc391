"""How often "did you mean" restores a misspelled word, on a real collection.

    python benchmarks/typos.py ../shared/data/scifact            # 400 typos, seed 1
    python benchmarks/typos.py ../shared/data/cacm --typos 200 --seed 2

The collection (BEIR layout) is indexed with title and text as `english` TEXT fields (stored, as
the surface words of corrections come from stored text). Words to misspell are drawn from the words
of the documents: alphabetic, 5+ letters, not stop words, in at least 3 documents. Each gets one typo
past its first letter, the four kinds in turn: a letter deleted, doubled, swapped with the next one,
or replaced by another letter. A typo that is itself a word of the collection is skipped (it is
not misspelled as far as the index can tell). `Searcher.suggest(typo)` is correct when its first
suggestion analyses to the original word's term (stemmed: "storylines" for "storyline" counts),
and "exact" when it is the very word.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from searchlib import ID, TEXT, Index, Schema  # noqa: E402
from searchlib.evaluation import load_beir  # noqa: E402

KINDS = ("delete", "double", "swap", "replace")


def typo(word: str, kind: str, rng: random.Random) -> str:
    i = rng.randint(1, len(word) - 2)
    if kind == "delete":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[i]]) + word[i + 1:]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--typos", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    data = load_beir(args.folder)
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    text=TEXT(analyzer="english", stored=True))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        ix = Index.create(Path(tmp) / "ix", schema)
        with ix.writer() as w:
            for d in data.corpus:
                w.add({"id": d["_id"], "title": d["title"], "text": d["text"]})
        analyzer = schema["text"].analyzer
        df: Counter = Counter()
        for d in data.corpus:
            df.update({w.lower() for w in re.findall(r"[A-Za-z]+", d["title"] + " " + d["text"])})
        known = set(df)
        pool = sorted(w for w, n in df.items() if n >= 3 and len(w) >= 5 and analyzer.index_terms(w)[0])
        right = exact = tried = 0
        by_kind: Counter = Counter()
        times = []
        misses = []
        with ix.searcher() as s:
            while tried < args.typos:
                word = rng.choice(pool)
                kind = KINDS[tried % len(KINDS)]
                wrong = typo(word, kind, rng)
                if wrong in known:
                    continue
                tried += 1
                t = time.perf_counter()
                found = s.suggest(wrong, 1)
                times.append((time.perf_counter() - t) * 1000)
                top = found[0] if found else None
                ok = top is not None and analyzer.index_terms(top)[0] == analyzer.index_terms(word)[0]
                right += ok
                exact += top == word
                by_kind[kind] += ok
                if not ok and len(misses) < 15:
                    misses.append(f"{word} -> {wrong} -> {top}")
    per_kind = ", ".join(f"{k} {by_kind[k]}/{args.typos // len(KINDS)}" for k in KINDS)
    print(f"{args.folder.name}: {right}/{tried} typos corrected to the word's term ({right / tried:.1%}), "
          f"{exact} to the very word; {per_kind}; suggest() median {statistics.median(times):.2f} ms")
    print("some misses:", "; ".join(misses))


if __name__ == "__main__":
    main()
