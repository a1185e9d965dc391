"""searchlib's LangChain retriever against LangChain's BM25Retriever on the same corpus, side by side.

    pip install ".[langchain]" langchain-community rank_bm25
    python benchmarks/retrievers.py ../shared/data/scifact

Both retrievers get the same LangChain Documents (title + text of each BEIR document, its id as
`Document.id`) and answer the judged test queries with k=10. Reported, each figure the median of
`--repeat` runs with the two retrievers alternating:

* build: `from_documents` from the Document list to a retriever ready to answer;
* reopen: what a process that starts later pays before its first answer: searchlib opens the
  index on disk (`SearchlibRetriever(path=...)`); BM25Retriever has nothing on disk, so it builds
  again (its build time);
* ms/query: `invoke(query)` per query (median over queries of the per-query median); searchlib
  also without snippets (`search_kwargs={"highlight": False}`), on the same index, since marking
  the matched words is most of its query time and a RAG pipeline may not need them;
* nDCG@10 of the returned documents (searchlib.evaluation, BEIR conventions). BM25Retriever is run
  as a drop-in user runs it: its default preprocessing splits on whitespace (no lower-casing, no
  stemming); `--bm25-preprocess` gives it searchlib's English analyzer instead, for the ranking
  quality of equal analysis.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark this checkout's searchlib, installed or not

from searchlib.evaluation import evaluate, load_beir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("collection", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    parser.add_argument("--repeat", type=int, default=3, help="builds and query passes per retriever (default 3)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--bm25-preprocess", action="store_true",
                        help="give BM25Retriever searchlib's English analyzer as preprocess_func")
    args = parser.parse_args(argv)
    try:
        from langchain_community.retrievers import BM25Retriever
        from langchain_core.documents import Document
    except ImportError as exc:
        print(f"needs langchain-core, langchain-community and rank_bm25: {exc}", file=sys.stderr)
        return 2
    from searchlib import get_analyzer
    from searchlib.integrations.langchain import SearchlibRetriever

    data = load_beir(args.collection)
    docs = [Document(page_content=f"{d['title']}\n{d['text']}", id=d["_id"]) for d in data.corpus]
    queries = data.judged_queries
    bm25_options = {}
    if args.bm25_preprocess:
        english = get_analyzer("english")
        bm25_options["preprocess_func"] = lambda text: english.index_terms(text)[0]
    work = Path(tempfile.mkdtemp(prefix="searchlib-retrievers-"))

    def build_searchlib():
        return SearchlibRetriever.from_documents(docs, path=work / "ix", k=args.k, overwrite=True)

    def build_bm25():
        return BM25Retriever.from_documents(docs, k=args.k, **bm25_options)

    builders = {"searchlib": build_searchlib, "BM25Retriever": build_bm25}
    reopeners = {"searchlib": lambda: SearchlibRetriever(path=work / "ix", k=args.k), "BM25Retriever": build_bm25}
    plain = "searchlib, no snippets"
    names = ["searchlib", plain, "BM25Retriever"]
    build: dict[str, list[float]] = {n: [] for n in builders}
    reopen: dict[str, list[float]] = {n: [] for n in builders}
    per_query: dict[str, dict[str, list[float]]] = {n: {q: [] for q in queries} for n in names}
    runs: dict[str, dict[str, list[str]]] = {}
    try:
        for _ in range(args.repeat):
            retrievers = {}
            for name, make in builders.items():  # alternating engines, each step
                started = time.perf_counter()
                retrievers[name] = make()
                build[name].append(time.perf_counter() - started)
            for name, make in reopeners.items():
                started = time.perf_counter()
                opened = make()
                opened.invoke("warm up")  # the first answer: everything a new process needs is loaded
                reopen[name].append(time.perf_counter() - started)
            retrievers[plain] = SearchlibRetriever(path=work / "ix", k=args.k, search_kwargs={"highlight": False})
            for qid, text in queries.items():
                for name, retriever in retrievers.items():
                    started = time.perf_counter()
                    found = retriever.invoke(text)
                    per_query[name][qid].append(time.perf_counter() - started)
                    runs.setdefault(name, {})[qid] = [d.id for d in found]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    size = sum(len(d.page_content) for d in docs)
    print(f"{args.collection.name}: {len(docs):,} documents ({size / 1e6:.1f} MB of text), {len(queries)} queries, "
          f"k={args.k}, median of {args.repeat} alternating runs; BM25Retriever preprocessing: "
          f"{'searchlib english analyzer' if args.bm25_preprocess else 'default (str.split)'}")
    print("| retriever | build (s) | reopen + first answer (s) | ms/query | nDCG@10 | persisted |")
    print("|---|---:|---:|---:|---:|---|")
    for name in names:
        ms = statistics.median(statistics.median(t) for t in per_query[name].values()) * 1000
        ndcg = evaluate(runs[name], data.qrels, k_ndcg=10, k_recall=args.k)["ndcg@10"]
        persisted = "no (in memory; rebuilt per process)" if name == "BM25Retriever" else \
            "on disk, incremental add/delete"
        owner = "searchlib" if name == plain else name
        print(f"| {name} | {statistics.median(build[owner]):.2f} | {statistics.median(reopen[owner]):.3f} | "
              f"{ms:.2f} | {ndcg:.4f} | {persisted} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
