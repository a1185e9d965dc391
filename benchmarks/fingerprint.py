"""A fingerprint of searchlib's answers on a BEIR collection: every hit, score, passage and snippet.

    python benchmarks/fingerprint.py ../shared/data/scifact --out before.json
    python benchmarks/fingerprint.py ../shared/data/scifact --out after.json --compare before.json

A restructuring of the search path must not move behaviour. This indexes the collection in two
shapes -- title and text as one field (segments without passages: the sorted-list scorer), and a
boosted title plus a body split into sentences (passages: the dense scorer) -- each in three commits
so that statistics are summed over segments, then runs every test query in several forms (the raw
words, AND, the first two words as an exact and a sloppy phrase, a prefix and a fuzzy word, a
filtered and a sorted search, flat passages) and records, per hit, the id, the float32 score as hex,
the passages and a hash of the snippet, and explain()'s value for the top hit. `--compare` reports
every difference against an earlier fingerprint; exit 1 if there is one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's searchlib

from searchlib import ID, Index, NUMERIC, Schema, TEXT  # noqa: E402
from searchlib.evaluation import load_beir  # noqa: E402

_WORD = re.compile(r"[A-Za-z]{4,}")


def f32(x: float) -> str:
    return np.float32(x).tobytes().hex()


def year(doc_id: str) -> int:
    return 1950 + zlib.crc32(doc_id.encode()) % 75


def build(path: Path, corpus: list[dict], split: bool) -> Index:
    if split:
        schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True, boost=2.0),
                        body=TEXT(analyzer="english", stored=True, passages="sentences"), year=NUMERIC(stored=True))
    else:
        schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", stored=True),
                        year=NUMERIC(stored=True))
    ix = Index.create(path, schema)
    third = len(corpus) // 3 + 1
    for start in range(0, len(corpus), third):
        with ix.writer() as w:
            for d in corpus[start:start + third]:
                doc = {"id": d["_id"], "year": year(d["_id"])}
                if split:
                    doc.update(title=d.get("title", ""), body=d.get("text", ""))
                else:
                    doc["body"] = (d.get("title", "") + "\n" + d.get("text", "")).strip()
                w.add(doc)
    return ix


def forms(text: str) -> list[tuple[str, str, dict]]:
    words = _WORD.findall(text.lower())
    out = [("words", text, {}), ("and", text, {"operator": "AND"})]
    if len(words) >= 2:
        out += [("phrase", f'"{words[0]} {words[1]}"', {}), ("sloppy", f'"{words[0]} {words[-1]}"~4', {})]
    if words:
        out += [("prefix", words[0][:4] + "*", {}), ("fuzzy", words[-1] + "~1", {}),
                ("filtered", text, {"filter": "year:[1970 TO 2000]"}),
                ("sorted", words[0], {"sort_by": "year", "reverse": True}),
                ("required", f"+{words[0]} " + " ".join(words[1:3]), {}),
                ("excluded", " ".join(words[:3]) + (f" -{words[3]}" if len(words) > 3 else ""), {})]
    return out


def fingerprint(ix: Index, queries: dict[str, str], flat: bool) -> dict:
    out = {}
    with ix.searcher() as s:
        for qid, text in queries.items():
            for form, q, opts in forms(text):
                for group in ((True, False) if flat else (True,)):
                    res = s.search(q, limit=20, lenient=True, group=group, **opts)
                    hits = []
                    for h in res:
                        hits.append([h.id, f32(h.score),
                                     [[p.field, p.start, p.end, f32(p.score)] for p in h.passages],
                                     hashlib.sha1(h.snippet.encode()).hexdigest()[:12]])
                    row = {"total": res.total, "hits": hits}
                    if group and res.hits and form in ("words", "phrase", "required"):
                        row["explain"] = f32(s.explain(q, res.hits[0].id, lenient=True).value)
                    out[f"{qid}|{form}|{'grouped' if group else 'flat'}"] = row
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("collection", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    data = load_beir(args.collection)
    corpus, queries, qrels = data.corpus, data.queries, data.qrels
    queries = {q: queries[q] for q in list(qrels)[:args.queries]}
    tmp = Path(tempfile.mkdtemp())
    try:
        result = {}
        for shape, split in (("one-field", False), ("title+sentences", True)):
            ix = build(tmp / shape, corpus, split)
            result[shape] = fingerprint(ix, queries, flat=split)
    finally:
        shutil.rmtree(tmp)
    args.out.write_text(json.dumps(result, sort_keys=True))
    n = sum(len(v) for v in result.values())
    hits = sum(len(r["hits"]) for v in result.values() for r in v.values())
    print(f"{n} searches, {hits} hits written to {args.out}")
    if args.compare:
        before = json.loads(args.compare.read_text())
        diffs = [(shape, key) for shape in before for key in before[shape]
                 if result.get(shape, {}).get(key) != before[shape][key]]
        for shape, key in diffs[:20]:
            print(f"DIFFERS {shape} {key}:\n  before {before[shape][key]}\n  after  {result.get(shape, {}).get(key)}")
        print(f"{len(diffs)} of {n} searches differ from {args.compare}")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
