"""Top-10 search with highlighted snippets: searchlib vs tantivy (SnippetGenerator) vs SQLite FTS5 (snippet()).

    python benchmarks/snippets.py ../shared/data/scifact                 # SciFact and the long-document corpus
    python benchmarks/snippets.py ../shared/data/scifact --long-docs 0   # SciFact only
    python benchmarks/snippets.py --long-docs 500 --repeat 5
    python benchmarks/snippets.py ../shared/data/scifact --long-docs 0 --baseline ../main \
        --engines searchlib-baseline,searchlib,tantivy       # before/after a change, in one run

Each engine indexes one stored text field (`title + "\\n" + text` for SciFact, as benchmarks/engines.py
does) and answers every query with its top 10 and a snippet per hit, the way a user of each calls it:

* searchlib: `Searcher.search(text, lenient=True)`, then `hit.id` and `hit.snippet` (HTML, the defaults:
  up to 3 fragments of about 200 characters);
* tantivy: `parse_query`, `search(query, 10)`, a `SnippetGenerator` created once per query, then per hit
  `searcher.doc(address)` and `snippet_from_doc(doc).to_html()` (its default: one fragment of at most 150
  characters);
* SQLite FTS5: one statement, `snippet(docs, 1, '<b>', '</b>', '…', 30)` with `ORDER BY bm25(docs) LIMIT 10`
  (each query word quoted and joined with OR, as in engines.py).

The long-document corpus is made by benchmarks/scale.py's generator (Zipf-distributed made-up words in
sentences): each document joins consecutive generated bodies until it holds at least 3,000 words; its
queries are scale.py's one- and three-word queries. Per query, the engines run one after another in an
order that rotates from query to query, `--repeat` times; a query's time is the median of its runs, and
the figure per engine is the median over queries. The machine may be shared: quote the ratios.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engines import SqliteFts5Engine, TantivyEngine, _body  # noqa: E402

import scale  # noqa: E402


def scifact(folder: Path) -> tuple[list[dict], list[str]]:
    """SciFact's documents ({id, body}) and its test queries (those with judgements)."""
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    judged = {line.split("\t")[0] for line in (folder / "qrels" / "test.tsv").open(encoding="utf-8")}
    queries = [json.loads(line) for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    docs = [{"id": d["_id"], "body": _body(d)} for d in corpus]
    return docs, [q["text"] for q in queries if q["_id"] in judged]


def long_documents(count: int, min_words: int = 3000) -> tuple[list[dict], list[str]]:
    """`count` documents of at least `min_words` words from scale.py's generator, and its one- and
    three-word queries (100 of each)."""
    vocab, cdf = scale.vocabulary(), scale.zipf_cdf(scale.VOCABULARY)
    docs, parts, words = [], [], 0
    for chunk in scale.documents(count * 20, vocab, cdf):
        for d in chunk:
            parts.append(d["body"])
            words += d["body"].count(" ") + 1
            if words >= min_words:
                docs.append({"id": f"long{len(docs)}", "body": "\n\n".join(parts)})
                parts, words = [], 0
                if len(docs) == count:
                    return docs, scale.queries(vocab, cdf, 1, 100) + scale.queries(vocab, cdf, 3, 100)
    raise RuntimeError("the generator ran out of documents")


class Searchlib:
    name = "searchlib"

    package = "searchlib"  # the baseline engine runs another checkout's copy under another name

    def __init__(self, docs: list[dict], workdir: Path):
        lib = importlib.import_module(self.package)
        schema = lib.Schema(id=lib.ID(unique=True, stored=True), body=lib.TEXT(analyzer="english", stored=True))
        self.ix = lib.Index.create(workdir / self.name, schema)
        with self.ix.writer() as w:
            for d in docs:
                w.add(d)
        self.searcher = self.ix.searcher()

    def run(self, text: str) -> list[tuple[str, str]]:
        return [(h.id, h.snippet) for h in self.searcher.search(text, limit=10, lenient=True)]

    def close(self) -> None:
        self.searcher.close()


class SearchlibRanking(Searchlib):
    """searchlib's top 10 without snippets (`highlight=False`): what the snippets cost, by difference."""

    name = "searchlib-ranking"

    def run(self, text: str) -> list[tuple[str, str]]:
        return [(h.id, "") for h in self.searcher.search(text, limit=10, lenient=True, highlight=False)]


class SearchlibOneFragment(Searchlib):
    """searchlib with tantivy's snippet shape: one fragment of at most ~150 characters."""

    name = "searchlib-1x150"

    def run(self, text: str) -> list[tuple[str, str]]:
        return [(h.id, h.snippet) for h in self.searcher.search(
            text, limit=10, lenient=True, highlight={"max_fragments": 1, "fragment_chars": 150})]


def baseline_engine(checkout: Path) -> type:
    """An engine running another checkout's searchlib (say main's) beside this one, for a
    before/after in one run: its package is loaded under the name `searchlib_baseline` (searchlib
    imports itself relatively)."""
    package = checkout.resolve() / "searchlib"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"--baseline {checkout}: no searchlib package there")
    if "searchlib_baseline" not in sys.modules:
        spec = importlib.util.spec_from_file_location("searchlib_baseline", package / "__init__.py",
                                                      submodule_search_locations=[str(package)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["searchlib_baseline"] = module
        spec.loader.exec_module(module)

    class Baseline(Searchlib):
        name = "searchlib-baseline"
        package = "searchlib_baseline"

    return Baseline


class Tantivy:
    name = "tantivy"

    def __init__(self, docs: list[dict], workdir: Path):
        import tantivy
        self.tantivy = tantivy
        self.engine = TantivyEngine()  # engines.py's index and query parsing, with the body stored
        self.engine.stored_body = True
        self.engine.index([{"_id": d["id"], "text": d["body"]} for d in docs])

    def run(self, text: str) -> list[tuple[str, str]]:
        engine = self.engine
        query = engine._parse(text)
        searcher = engine.searcher
        hits = searcher.search(query, 10).hits
        generator = self.tantivy.SnippetGenerator.create(searcher, query, engine.schema, "body")
        out = []
        for _score, address in hits:
            doc = searcher.doc(address)
            out.append((doc["id"][0], generator.snippet_from_doc(doc).to_html()))
        return out

    def close(self) -> None:
        self.engine.close()


class Fts5:
    name = "sqlite-fts5"

    def __init__(self, docs: list[dict], workdir: Path):
        self.engine = SqliteFts5Engine()  # engines.py's table: id UNINDEXED, body, porter unicode61
        self.engine.index([{"_id": d["id"], "text": d["body"]} for d in docs])

    def run(self, text: str) -> list[tuple[str, str]]:
        match = SqliteFts5Engine.escape(text)
        if not match:
            return []
        return self.engine.db.execute("SELECT id, snippet(docs, 1, '<b>', '</b>', '…', 30) FROM docs "
                                      "WHERE docs MATCH ? ORDER BY bm25(docs, 0.0, 1.0) LIMIT 10", (match,)).fetchall()

    def close(self) -> None:
        self.engine.close()


ENGINES = {"searchlib": Searchlib, "tantivy": Tantivy, "sqlite-fts5": Fts5, "searchlib-ranking": SearchlibRanking,
           "searchlib-1x150": SearchlibOneFragment}


def measure(name: str, docs: list[dict], queries: list[str], engines: list[str], repeat: int) -> dict:
    """Median ms per query of each engine on one corpus, engines alternating query by query."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-snippets-"))
    try:
        built = {}
        for engine in engines:
            cls = ENGINES[engine]
            try:
                built[engine] = cls(docs, workdir)
            except ImportError as exc:
                print(f"  {engine}: skipped ({exc})")
        names = list(built)
        for engine in names:  # warm-up: one untimed query each
            built[engine].run(queries[0])
        times = {engine: [[] for _ in queries] for engine in names}
        for r in range(repeat):
            for i, text in enumerate(queries):
                shift = (i + r) % len(names)
                for engine in names[shift:] + names[:shift]:
                    started = time.perf_counter()
                    built[engine].run(text)
                    times[engine][i].append(time.perf_counter() - started)
        result = {"corpus": name, "documents": len(docs), "queries": len(queries),
                  "words_per_doc": round(statistics.mean(d["body"].count(" ") + 1 for d in docs))}
        for engine in names:
            result[engine] = statistics.median(statistics.median(t) for t in times[engine]) * 1000
        for engine in built.values():
            engine.close()
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def table(rows: list[dict], engines: list[str]) -> str:
    head = "| corpus | docs | words/doc | queries | " + " | ".join(f"{e} ms" for e in engines) + \
           " | searchlib ÷ tantivy | searchlib ÷ FTS5 |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        ms = [f"{row[e]:.3f}" if e in row else "–" for e in engines]
        ratio_t = f"{row['searchlib'] / row['tantivy']:.2f}×" if "searchlib" in row and "tantivy" in row else "–"
        ratio_f = f"{row['searchlib'] / row['sqlite-fts5']:.2f}×" if "searchlib" in row and "sqlite-fts5" in row else "–"
        lines.append(f"| {row['corpus']} | {row['documents']:,} | {row['words_per_doc']:,} | {row['queries']} | "
                     + " | ".join(ms) + f" | {ratio_t} | {ratio_f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scifact", nargs="?", type=Path, help="SciFact in BEIR layout (skipped when not given)")
    parser.add_argument("--long-docs", type=int, default=500, help="documents of 3,000+ words (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="searchlib,tantivy,sqlite-fts5",
                        help=f"comma-separated, from {', '.join(ENGINES)}")
    parser.add_argument("--json", type=Path, help="also save the numbers here")
    parser.add_argument("--baseline", type=Path, help="another checkout (say main's): adds the engine "
                        "searchlib-baseline, its searchlib, to compare before and after in one run")
    args = parser.parse_args(argv)
    if args.baseline is not None:
        ENGINES["searchlib-baseline"] = baseline_engine(args.baseline)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}; choose from {', '.join(ENGINES)}")
    rows = []
    if args.scifact is not None:
        docs, queries = scifact(args.scifact)
        rows.append(measure("SciFact", docs, queries, engines, args.repeat))
        print(table(rows, engines), flush=True)
    if args.long_docs:
        docs, queries = long_documents(args.long_docs)
        rows.append(measure("long documents", docs, queries, engines, args.repeat))
    print(table(rows, engines))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
