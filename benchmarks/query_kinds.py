"""Speed per query kind: searchlib and tantivy on a BEIR collection, side by side in one run.

    python benchmarks/query_kinds.py ../shared/data/scifact
    python benchmarks/query_kinds.py ../shared/data/scifact --kinds term,phrase,fuzzy --repeat 3 --markdown

Both engines index the corpus in the same process, title and text as ONE English-stemmed field
(``title + "\\n" + text``, as ``beir.py`` does) plus a NUMERIC field ``year`` derived from a hash of the
document id (1950-2024), so that range and filtered queries exist in both. Then, for each query kind
(term, AND, OR, phrase, proximity, prefix, wildcard, fuzzy, range, filtered), about 100 queries are
derived deterministically from the words of the judged test queries (see ``derive_queries``), and
each engine runs them through its own query language (the line "what ran" says how), top 10. The
table gives, per kind, the median ms/query of each engine (each query's median over ``--repeat``
runs, then the median over queries; a query's time is parse + search + fetching the ids), the
ratio, the target of issue 3 (no kind slower than 3x tantivy, phrase and OR not slower than 2x),
and two agreement figures, informative only: the mean Jaccard overlap of the engines' top-k id sets
(low where tantivy gives every match the same score: its regex, fuzzy and range queries are
constant-score, so its top k is in index order), and of their full sets of matching documents
(collected in an untimed pass; the engines differ in stemmer, Snowball vs Porter, and stop words).

Exact phrases are timed a second time on a searchlib index whose body field has `index_phrases`
(postings of adjacent word pairs, as in Elasticsearch), in the same run: the row "phrase, pairs" (the
same queries and tantivy timings). The line "indexes" gives each index's build time and size on disk,
so the cost of the option is shown beside its gain; `--no-pairs` skips that index. The build times
favour the later searchlib index, which finds the analyzer's word cache (shared in the process) warm:
compare sizes here, and CPU time in separate processes.

A kind that searchlib cannot run yet (its syntax not parsed or executed) is shown as "n/a" with the
error, and tantivy's time is still measured.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import re
import statistics
import sys
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout's searchlib, installed or not
sys.path.insert(0, str(HERE))

import tables  # noqa: E402
from engines import ENGLISH_STOPWORDS, _body, _version  # noqa: E402

from searchlib.evaluation import load_beir  # noqa: E402

KINDS = ("term", "and", "or", "phrase", "proximity", "prefix", "wildcard", "fuzzy", "range", "filtered")
PAIRS_KIND = "phrase, pairs"  # exact phrases on the index_phrases index
TARGETS = {"phrase": 2.0, PAIRS_KIND: 2.0, "or": 2.0}  # issue 3: phrase and OR within 2x of tantivy, every other kind 3x
DEFAULT_TARGET = 3.0
YEAR_FIRST, YEAR_SPAN = 1950, 75

# How each engine runs each kind ({w}: a word, {a} {b}: adjacent words, {lo} {hi}: years).
SEARCHLIB_HOW = {
    "term": "{w}", "and": "{w} AND {w} [AND {w}]", "or": "{w} OR {w} [OR {w}]", "phrase": '"{a} {b}"',
    "proximity": '"{a} {b}"~3', "prefix": "{abcd}*", "wildcard": "{ab}?{cd} / {ab}*{yz}", "fuzzy": "{w}~1",
    "range": "year:[{lo} TO {hi}]", "filtered": 'search("{w}", filter="year:[{lo} TO {hi}]")',
}
TANTIVY_HOW = {
    "term": "parse_query", "and": "parse_query", "or": "parse_query", "phrase": "parse_query",
    "proximity": 'parse_query, "{a} {b}"~3',
    "prefix": "parse_query(allow_regexes=True), body:/{abcd}.*/ (its parser has no prefix syntax)",
    "wildcard": "parse_query(allow_regexes=True), body:/{ab}.{cd}/ or body:/{ab}.*{yz}/",
    "fuzzy": "Query.fuzzy_term_query(distance=1, transposition_cost_one=True): its parser has no fuzzy syntax",
    "range": "parse_query, year:[{lo} TO {hi}] (indexed + fast i64 field)",
    "filtered": "parse_query, +{w} +year:[{lo} TO {hi}] (no filter clause in tantivy; the range adds the same "
                "constant to every hit, so the ranking is the term's)",
}


def doc_year(doc_id: str) -> int:
    """The document's synthetic year: a hash of its id, spread evenly over 1950-2024."""
    return YEAR_FIRST + zlib.crc32(doc_id.encode()) % YEAR_SPAN


# -- deriving the queries --------------------------------------------------------------------------


@dataclass(frozen=True)
class KindQuery:
    """One benchmark query as each engine runs it."""

    searchlib: str  # query text for Searcher.search
    tantivy: str  # query text for tantivy's parse_query, or the word for fuzzy_term_query
    filter: str | None = None  # searchlib's filter= (filtered kind only)


class CorpusWords:
    """Document frequencies of lower-cased words and a test for adjacent word pairs in the corpus."""

    WORD = re.compile(r"\w+")

    def __init__(self, corpus: list[dict]):
        self.texts = [self.WORD.findall(_body(d).lower()) for d in corpus]
        self.df: dict[str, int] = {}
        for words in self.texts:
            for w in set(words):
                self.df[w] = self.df.get(w, 0) + 1

    def adjacent_pairs(self, candidates: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """The candidate pairs that occur as adjacent words somewhere in the corpus."""
        found = set()
        for words in self.texts:
            for pair in zip(words, words[1:]):
                if pair in candidates:
                    found.add(pair)
        return found


def _stem_stable(word: str, stemmers: list[Callable[[str], str]]) -> bool:
    """True if every engine's stemmer leaves `word` unchanged, so it is a term in both indexes."""
    return all(stem(word) == word for stem in stemmers)


def _wildcard(word: str, i: int) -> tuple[str, str]:
    """A wildcard pattern from `word` (searchlib syntax, tantivy regex): `?` or `*` in the middle."""
    if i % 2 == 0:
        m = len(word) // 2
        return f"{word[:m]}?{word[m + 1:]}", f"body:/{word[:m]}.{word[m + 1:]}/"
    return f"{word[:2]}*{word[-2:]}", f"body:/{word[:2]}.*{word[-2:]}/"


def _one_edit(word: str) -> str:
    """`word` with its middle letter replaced by the next letter of the alphabet (one edit)."""
    m = len(word) // 2
    c = word[m]
    return word[:m] + ("a" if c == "z" else chr(ord(c) + 1)) + word[m + 1:]


def derive_queries(queries: dict[str, str], words: CorpusWords, n: int) -> dict[str, list[KindQuery]]:
    """Up to `n` queries per kind, derived in query-id order from the words of `queries`.

    Content words are alphabetic, 3+ letters, not English stop words and present in the corpus.
    term: the query's rarest content word; AND/OR: its first 2 or 3 content words (alternately);
    phrase/proximity: the first adjacent pair of content words that is also adjacent in the corpus;
    prefix: the first 4 letters of a 6+ letter word; wildcard and fuzzy: a 5+ letter word that both
    engines' stemmers leave unchanged (so the word is a term of both indexes), with `?` or `*` in the
    middle, or with its middle letter changed; range: a 1-5 year span; filtered: the term query with
    a 20-year filter. Spans come from a hash of the query id.
    """
    from nltk.stem.porter import PorterStemmer
    from nltk.stem.snowball import SnowballStemmer

    stemmers = [PorterStemmer().stem, SnowballStemmer("english").stem]  # searchlib english; tantivy en_stem
    items = sorted(queries.items(), key=lambda kv: (len(kv[0]), kv[0]))
    tokens = {qid: CorpusWords.WORD.findall(text.lower()) for qid, text in items}

    def content(w: str) -> bool:
        return w.isalpha() and len(w) >= 3 and w not in ENGLISH_STOPWORDS and words.df.get(w, 0) > 0

    candidates = {(a, b) for toks in tokens.values() for a, b in zip(toks, toks[1:]) if content(a) and content(b)}
    adjacent = words.adjacent_pairs(candidates)
    out: dict[str, list[KindQuery]] = {k: [] for k in KINDS}
    for i, (qid, _) in enumerate(items):
        toks = tokens[qid]
        cw = list(dict.fromkeys(w for w in toks if content(w)))
        h = zlib.crc32(qid.encode())
        if cw:
            rare = min(cw, key=lambda w: (words.df[w], w))
            out["term"].append(KindQuery(rare, rare))
            lo = YEAR_FIRST + h % (YEAR_SPAN - 20)
            out["filtered"].append(KindQuery(rare, f"+{rare} +year:[{lo} TO {lo + 20}]", f"year:[{lo} TO {lo + 20}]"))
        if len(cw) >= 2:
            group = cw[:2 + i % 2]
            out["and"].append(KindQuery(" AND ".join(group), " AND ".join(group)))
            out["or"].append(KindQuery(" OR ".join(group), " OR ".join(group)))
        pair = next(((a, b) for a, b in zip(toks, toks[1:]) if (a, b) in adjacent), None)
        if pair:
            out["phrase"].append(KindQuery(f'"{pair[0]} {pair[1]}"', f'"{pair[0]} {pair[1]}"'))
            out["proximity"].append(KindQuery(f'"{pair[0]} {pair[1]}"~3', f'"{pair[0]} {pair[1]}"~3'))
        long_word = next((w for w in cw if len(w) >= 6), None)
        if long_word:
            out["prefix"].append(KindQuery(f"{long_word[:4]}*", f"body:/{long_word[:4]}.*/"))
        stable = next((w for w in cw if len(w) >= 5 and _stem_stable(w, stemmers)), None)
        if stable:
            out["wildcard"].append(KindQuery(*_wildcard(stable, i)))
            typo = _one_edit(stable)
            out["fuzzy"].append(KindQuery(f"{typo}~1", typo))
        lo = YEAR_FIRST + h % (YEAR_SPAN - 5)
        out["range"].append(KindQuery(f"year:[{lo} TO {lo + h % 5 + 1}]", f"year:[{lo} TO {lo + h % 5 + 1}]"))
    return {k: v[:n] for k, v in out.items()}


# -- the engines -----------------------------------------------------------------------------------


class SearchlibSide:
    """searchlib with the english analyzer and a NUMERIC year; with `index_phrases`, the body
    field also indexes adjacent word pairs."""

    def __init__(self, index_phrases: bool = False) -> None:
        self.index_phrases = index_phrases
        self.name = "searchlib, pairs" if index_phrases else "searchlib"
        self.tmpdir = tempfile.mkdtemp(prefix="bench-kinds-searchlib-")

    def index(self, corpus: list[dict]) -> None:
        from searchlib import ID, NUMERIC, TEXT, Index, Schema

        schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", index_phrases=self.index_phrases),
                        year=NUMERIC(stored=False))
        self.ix = Index.create(self.tmpdir, schema, overwrite=True)
        with self.ix.writer() as w:
            for d in corpus:
                w.add({"id": d["_id"], "body": _body(d), "year": doc_year(d["_id"])})
        self.searcher = self.ix.searcher()

    def run(self, kind: str, q: KindQuery, k: int) -> list[str]:
        if q.filter is not None:
            res = self.searcher.search(q.searchlib, limit=k, highlight=False, filter=q.filter)
        else:
            res = self.searcher.search(q.searchlib, limit=k, highlight=False)
        return [h.id for h in res]

    def disk_bytes(self) -> int:
        return _disk_bytes(self.tmpdir)

    def close(self) -> None:
        if getattr(self, "searcher", None) is not None:
            self.searcher.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class TantivySide:
    """tantivy with the en_stem tokenizer and an indexed, fast i64 year."""

    name = "tantivy"
    REGEX_KINDS = ("prefix", "wildcard")

    def __init__(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="bench-kinds-tantivy-")

    def index(self, corpus: list[dict]) -> None:
        import tantivy

        self.tantivy = tantivy
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("body", stored=False, tokenizer_name="en_stem")
        sb.add_integer_field("year", indexed=True, fast=True)
        self.schema = sb.build()
        self.ix = tantivy.Index(self.schema, path=self.tmpdir)
        writer = self.ix.writer(heap_size=256_000_000)
        for d in corpus:
            writer.add_document(tantivy.Document(id=d["_id"], body=_body(d), year=doc_year(d["_id"])))
        writer.commit()
        writer.wait_merging_threads()
        self.ix.reload()
        self.searcher = self.ix.searcher()

    def run(self, kind: str, q: KindQuery, k: int) -> list[str]:
        if kind == "fuzzy":
            query = self.tantivy.Query.fuzzy_term_query(self.schema, "body", q.tantivy, distance=1,
                                                        transposition_cost_one=True)
        else:
            query = self.ix.parse_query(q.tantivy, ["body"], allow_regexes=kind in self.REGEX_KINDS)
        searcher = self.searcher
        return [searcher.doc(addr)["id"][0] for _score, addr in searcher.search(query, k).hits]

    def disk_bytes(self) -> int:
        return _disk_bytes(self.tmpdir)

    def close(self) -> None:
        self.searcher = self.ix = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def _disk_bytes(folder: str) -> int:
    """Bytes of the files under `folder`."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


# -- measuring -------------------------------------------------------------------------------------


@dataclass
class KindResult:
    kind: str
    queries: int
    ms: dict[str, float | None]  # engine -> median ms/query (None: could not run)
    errors: dict[str, str]  # engine -> why it could not run
    jaccard: float | None  # mean overlap of the top-k id sets
    match_jaccard: float | None  # mean overlap of the full sets of matching documents


def time_engine(side, kind: str, qs: list[KindQuery], k: int, repeat: int) -> tuple[float, list[list[str]]]:
    """Median over queries of each query's median time (ms), and each query's ids (first run)."""
    side.run(kind, qs[0], k)  # warm-up, not timed; raises if the kind is not supported
    timings = [[0.0] * repeat for _ in qs]
    ids: list[list[str]] = []
    gc.collect()
    for r in range(repeat):
        for i, q in enumerate(qs):
            t = time.perf_counter()
            got = side.run(kind, q, k)
            timings[i][r] = time.perf_counter() - t
            if r == 0:
                ids.append(got)
    return 1000 * statistics.median(statistics.median(t) for t in timings), ids


def jaccard(a: list[list[str]], b: list[list[str]]) -> float:
    """Mean Jaccard overlap of paired id lists (two empty lists agree fully)."""
    scores = []
    for x, y in zip(a, b):
        sx, sy = set(x), set(y)
        scores.append(len(sx & sy) / len(sx | sy) if sx | sy else 1.0)
    return statistics.mean(scores) if scores else float("nan")


def measure(sides: list, derived: dict[str, list[KindQuery]], kinds: list[str], k: int, repeat: int,
            n_docs: int, pairs=None) -> list[KindResult]:
    """Time every kind on every engine, one kind at a time (engines alternate), and compare their
    hits; exact phrases also on `pairs` (a searchlib side with index_phrases), if given."""
    results = []
    for kind in kinds:
        qs = derived[kind]
        ms: dict[str, float | None] = {}
        errors: dict[str, str] = {}
        ids: dict[str, list[list[str]]] = {}
        print(f"  {kind}: {len(qs)} queries", file=sys.stderr, flush=True)
        for side in sides:
            try:
                ms[side.name], ids[side.name] = time_engine(side, kind, qs, k, repeat)
            except Exception as exc:  # a kind the engine does not support (yet): reported, not fatal
                ms[side.name] = None
                errors[side.name] = f"{type(exc).__name__}: {exc}"
        both = [ids[s.name] for s in sides if s.name in ids]
        matches = [[s.run(kind, q, n_docs) for q in qs] for s in sides if s.name in ids]  # untimed
        results.append(KindResult(kind, len(qs), ms, errors, jaccard(*both) if len(both) == 2 else None,
                                  jaccard(*matches) if len(matches) == 2 else None))
        if kind == "phrase" and pairs is not None and "tantivy" in ids:
            results.append(_pairs_row(pairs, qs, k, repeat, n_docs, ms["tantivy"], ids["tantivy"], matches[-1]))
    return results


def _pairs_row(pairs, qs: list[KindQuery], k: int, repeat: int, n_docs: int, tantivy_ms: float,
               tantivy_ids: list[list[str]], tantivy_matches: list[list[str]]) -> KindResult:
    """The "phrase, pairs" row: the phrase queries timed on the index_phrases index, beside the
    tantivy timings, top k and matches of the phrase row."""
    pair_ms, pair_ids = time_engine(pairs, "phrase", qs, k, repeat)
    pair_matches = [pairs.run("phrase", q, n_docs) for q in qs]  # untimed
    return KindResult(PAIRS_KIND, len(qs), {"searchlib": pair_ms, "tantivy": tantivy_ms}, {},
                      jaccard(pair_ids, tantivy_ids), jaccard(pair_matches, tantivy_matches))


# -- output ----------------------------------------------------------------------------------------


def _rows(results: list[KindResult]) -> tuple[list[str], list[list[str]]]:
    header = ["kind", "queries", "searchlib ms", "tantivy ms", "searchlib ÷ tantivy", "target", "top-k Jaccard",
              "matches Jaccard"]
    rows = []
    for r in results:
        s, t = r.ms.get("searchlib"), r.ms.get("tantivy")
        target = TARGETS.get(r.kind, DEFAULT_TARGET)
        if s is not None and t:
            ratio = f"{s / t:.2f}×"
            verdict = f"≤{target:g}× {'met' if s / t <= target else 'missed'}"
        else:
            ratio, verdict = "—", f"≤{target:g}×"
        rows.append([r.kind, str(r.queries), f"{s:.3f}" if s is not None else "n/a",
                     f"{t:.3f}" if t is not None else "n/a", ratio, verdict,
                     f"{r.jaccard:.2f}" if r.jaccard is not None else "—",
                     f"{r.match_jaccard:.2f}" if r.match_jaccard is not None else "—"])
    return header, rows


def print_table(results: list[KindResult]) -> None:
    tables.print_aligned(*_rows(results))


def print_markdown(results: list[KindResult]) -> None:
    tables.print_markdown(*_rows(results))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from: {', '.join(KINDS)} (default: all)")
    p.add_argument("--queries", type=int, default=100, metavar="N", help="queries per kind (default 100)")
    p.add_argument("--repeat", type=int, default=5, help="times each kind's query loop runs (default 5)")
    p.add_argument("--k", type=int, default=10, help="hits per query (default 10)")
    p.add_argument("--split", default="test", help="qrels split whose queries are used (default test)")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--no-pairs", action="store_true", help="skip the index_phrases index and its phrase row")
    args = p.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        p.error(f"unknown kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    if args.repeat < 1 or args.k < 1 or args.queries < 1:
        p.error("--repeat, --k and --queries must be at least 1")
    if importlib.util.find_spec("tantivy") is None:
        p.error("tantivy is not installed (pip install tantivy, or searchlib[bench])")
    try:
        data = load_beir(args.folder, split=args.split)
    except FileNotFoundError as e:
        p.error(str(e))

    derived = derive_queries(data.judged_queries, CorpusWords(data.corpus), args.queries)
    print(f"BEIR {args.folder.resolve().name}: {len(data.corpus):,} documents; queries derived from the "
          f"{len(data.judged_queries)} judged {args.split} queries; top {args.k}; "
          f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"engines: searchlib {_version('searchlib')} (english analyzer, NUMERIC year), tantivy "
          f"{_version('tantivy')} (en_stem, i64 year indexed + fast); ms/query = median over queries of each "
          f"query's median of {args.repeat} runs (parse + search + ids)")
    sides = [SearchlibSide(), TantivySide()]
    pairs = SearchlibSide(index_phrases=True) if "phrase" in kinds and not args.no_pairs else None
    built = []
    try:
        for side in sides + ([pairs] if pairs else []):
            print(f"  indexing with {side.name} ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            side.index(data.corpus)
            built.append(f"{side.name} {time.perf_counter() - t:.2f} s, {side.disk_bytes() / 2**20:.1f} MiB")
            print(f"  {side.name} indexed in {time.perf_counter() - t:.2f} s", file=sys.stderr, flush=True)
        results = measure(sides, derived, kinds, args.k, args.repeat, len(data.corpus), pairs)
    finally:
        for side in sides + ([pairs] if pairs else []):
            side.close()

    print("indexes (build time, size on disk; a later searchlib build finds the word cache warm): " + "; ".join(built))
    print()
    print_table(results)
    print("top-k Jaccard is low where tantivy scores every match alike (regex, fuzzy, range: constant score, "
          "top k in index order);\nmatches Jaccard compares the full sets of matching documents.")
    print()
    print("what ran (searchlib: Searcher.search(text, highlight=False); tantivy: as named):")
    for r in results:
        if r.kind == PAIRS_KIND:
            print(f"  {PAIRS_KIND}: the phrase queries on an index whose body has index_phrases=True")
            continue
        example = derived[r.kind][0] if derived[r.kind] else None
        print(f"  {r.kind:<9} searchlib {SEARCHLIB_HOW[r.kind]}   tantivy {TANTIVY_HOW[r.kind]}")
        if example is not None:
            shown = f"{example.searchlib!r}" + (f", filter={example.filter!r}" if example.filter else "")
            print(f"  {'':<9} e.g. searchlib {shown}   tantivy {example.tantivy!r}")
        for engine, error in r.errors.items():
            print(f"  {'':<9} {engine} could not run it: {error[:160]}")
    if args.markdown:
        print()
        print_markdown(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
