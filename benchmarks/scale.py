"""How searchlib scales: indexing speed, index size, peak memory and query time on synthetic corpora.

    python benchmarks/scale.py                         # 10,000 / 100,000 / 1,000,000 documents
    python benchmarks/scale.py --sizes 10000,100000 --markdown --out /tmp/scale.json
    python benchmarks/scale.py --sizes 100000 --engines all --rounds 3   # indexing beside tantivy, bm25s

Corpora are generated deterministically: a vocabulary of pronounceable made-up words (plus the
commonest English function words at the top ranks, so stop-word removal behaves as on real text),
drawn with a Zipf-Mandelbrot distribution; documents have a title of 3-10 words and a body of
50-300 words in sentences. The first N documents are the same for every size.

Each size is indexed in a fresh subprocess (so its peak memory is its own), then searched in
another fresh subprocess. Peak memory is the process's VmHWM (peak resident set), which includes
the pages of memory-mapped index files the process touched: clean page cache, shared and
reclaimable, and on kernels that map file pages in large folios, 2 MB around every touched spot.
So the peak of its anonymous memory (RssAnon: the process's own heap, sampled from outside every
50 ms) is reported beside it. Forked analysis workers are reported separately (their largest
ru_maxrss, from RUSAGE_CHILDREN). Indexing time counts `add` (analysis, flushes) and the final
commit (merges), not the generation of the documents.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240601
VOCABULARY = 300_000  # made-up words, after the function words
CHUNK_DOCS = 1000  # documents generated per random stream (so a corpus is a prefix of a larger one)
QUERIES_PER_KIND = 200
QUERY_LENGTHS = (1, 3, 10)
RSS_TARGET_MB = 2048  # peak RSS while indexing 1,000,000 documents

# The commonest English words, most frequent first: the top Zipf ranks (most are stop words).
FUNCTION_WORDS = ("the of and to a in is that for it as was with be by on not he this are or his from "
                  "at which but have an they you were her she there been one all we their has would "
                  "when more if will can who so no said what up its about into than them only other").split()

_CONSONANTS = "b c d f g h j k l m n p r s t v w z".split()
ONSETS = _CONSONANTS * 3 + "br cr dr fr gr pr tr bl cl fl gl pl sl st sp sk ch sh th qu".split() + [""] * 12
VOWELS = "a e i o u".split() * 4 + "ai ea ou oo ie y".split()
CODAS = "n r s t l m d k nd st rt ck ng".split() * 2 + [""] * 40


# -- the corpus -------------------------------------------------------------------------------

def vocabulary(size: int = VOCABULARY, seed: int = SEED) -> np.ndarray:
    """Function words then `size` distinct made-up words, by rank; frequent words are shorter."""
    rng = np.random.default_rng(seed)
    onsets, vowels, codas = (np.array(parts, dtype=object) for parts in (ONSETS, VOWELS, CODAS))
    words: list[str] = []
    seen = set(FUNCTION_WORDS)
    while len(words) < size:
        batch = 20_000  # small batches: the benchmark's own memory stays small
        rank = len(words) + 1 + np.arange(batch)
        p = np.minimum(0.7, 0.02 + 0.09 * np.log10(rank + 1))
        n_syllables = 1 + rng.binomial(3, p)
        parts = (onsets[rng.integers(len(ONSETS), size=(batch, 4))] + vowels[rng.integers(len(VOWELS), size=(batch, 4))]
                 + codas[rng.integers(len(CODAS), size=(batch, 4))])
        for row, n in zip(parts.tolist(), n_syllables.tolist()):
            word = "".join(row[:n])
            if len(word) >= 2 and word not in seen:
                seen.add(word)
                words.append(word)
                if len(words) == size:
                    break
    return np.array(list(FUNCTION_WORDS) + words, dtype=object)


def zipf_cdf(n: int, s: float = 1.07, q: float = 2.7) -> np.ndarray:
    """Cumulative probabilities of ranks 1..n under Zipf-Mandelbrot p(r) ~ 1 / (r + q)^s."""
    weights = 1.0 / (np.arange(1, n + 1) + q) ** s
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _sentences(words: np.ndarray, rng: np.random.Generator) -> str:
    out, i = [], 0
    while i < len(words):
        n = int(rng.integers(6, 21))
        sentence = list(words[i:i + n])
        sentence[0] = sentence[0].capitalize()
        out.append(" ".join(sentence) + ".")
        i += n
    return " ".join(out)


def documents(n: int, vocab: np.ndarray, cdf: np.ndarray, seed: int = SEED) -> Iterator[list[dict]]:
    """The first `n` documents, in chunks of CHUNK_DOCS (chunk i comes from its own random stream)."""
    for chunk, start in enumerate(range(0, n, CHUNK_DOCS)):
        rng = np.random.default_rng([seed, chunk])
        count = min(CHUNK_DOCS, n - start)
        title_len = rng.integers(3, 11, count)
        body_len = rng.integers(50, 301, count)
        ranks = np.searchsorted(cdf, rng.random(int(title_len.sum() + body_len.sum())))
        words = vocab[ranks]
        docs, at = [], 0
        for i in range(count):
            title = words[at:at + title_len[i]]
            at += title_len[i]
            body = words[at:at + body_len[i]]
            at += body_len[i]
            docs.append({"id": f"doc{start + i}", "title": " ".join(title).capitalize(),
                         "body": _sentences(body, rng)})
        yield docs


def queries(vocab: np.ndarray, cdf: np.ndarray, length: int, count: int = QUERIES_PER_KIND) -> list[str]:
    """`count` queries of `length` distinct words drawn by frequency from the non-function words."""
    rng = np.random.default_rng([SEED, 7, length])
    skip = len(FUNCTION_WORDS)
    tail = cdf[skip:] - cdf[skip - 1]
    tail /= tail[-1]
    out = []
    while len(out) < count:
        ranks = np.unique(skip + np.searchsorted(tail, rng.random(length)))
        if len(ranks) == length:
            out.append(" ".join(vocab[rng.permutation(ranks)]))
    return out


# -- measurements in child processes -------------------------------------------------------------

def _status_kb(key: str) -> int:
    """A value (kB) from /proc/self/status, e.g. VmHWM (peak resident set) or VmRSS."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kB


def _disk_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_index(size: int, path: Path, options: dict) -> dict:
    """Index `size` documents into a new index at `path`; return the measurements (in this process)."""
    from searchlib import ID, TEXT, Index, Schema
    from searchlib.analysis import get_analyzer

    get_analyzer("english").term("imports")  # nltk loaded before the baseline is taken
    vocab = vocabulary()
    cdf = zipf_cdf(len(vocab))
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True))
    if path.exists():
        shutil.rmtree(path)
    ix = Index.create(path, schema)
    rss_before = _status_kb("VmRSS")
    rss_trace = []  # (documents added, VmRSS kB): memory must not grow with the corpus
    seconds = cpu = 0.0
    added = 0
    writer = ix.writer(**options)
    try:
        for docs in documents(size, vocab, cdf):
            started, cpu_started = time.perf_counter(), time.process_time()
            for doc in docs:
                writer.add(doc)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            added += len(docs)
            if added % max(CHUNK_DOCS, size // 20) == 0 or added == size:
                rss_trace.append((added, _status_kb("VmRSS")))
        started, cpu_started = time.perf_counter(), time.process_time()
        writer.commit()
        commit_seconds = time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    finally:
        writer.close()
    seconds += commit_seconds
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the analysis workers, ended by close()
    cpu += workers.ru_utime + workers.ru_stime
    stats = ix.stats()
    return {
        "docs": size, "seconds": seconds, "cpu_seconds": cpu, "commit_seconds": commit_seconds, "docs_per_s": size / seconds,
        "index_bytes": _disk_size(path), "segments": stats["segments"],
        "tokens": sum(f["tokens"] for f in stats["fields"].values() if "tokens" in f),
        "terms_body": max(stats["fields"]["body"]["terms_per_segment"], default=0),
        "rss_start_kb": rss_before, "peak_rss_kb": _status_kb("VmHWM"),
        "workers_peak_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "rss_trace_kb": rss_trace,
    }


def run_search(path: Path, query_file: Path) -> dict:
    """Open the index, run the query sets (a JSON file: query length -> queries); return timings,
    matching postings and peak memory."""
    from searchlib import Index
    from searchlib.analysis import get_analyzer

    query_sets = json.loads(query_file.read_text())
    rss_before = _status_kb("VmRSS")
    started = time.perf_counter()
    ix = Index.open(path)
    searcher = ix.searcher()
    open_ms = (time.perf_counter() - started) * 1000
    analyzer = get_analyzer("english")
    out: dict = {"open_ms": open_ms, "rss_start_kb": rss_before, "kinds": {}}
    try:
        for length, qs in query_sets.items():
            postings = []
            for q in qs:
                terms = {t for w in q.split() if (t := analyzer.term(w)) is not None}
                postings.append(sum(r.fields[f].doc_freq(t) for r in searcher.readers for f in ("title", "body")
                                    for t in terms))
            for q in qs:  # warm-up: first touches of the memory-mapped postings
                searcher.search(q, limit=10, highlight=False)
            times, totals = [], []
            for q in qs:
                t0 = time.perf_counter()
                res = searcher.search(q, limit=10, highlight=False)
                times.append((time.perf_counter() - t0) * 1000)
                totals.append(res.total)
            t0 = time.perf_counter()
            for q in qs[:50]:
                searcher.search(q, limit=10)
            snippet_ms = (time.perf_counter() - t0) * 1000 / min(50, len(qs))
            out["kinds"][length] = {"ms": times, "postings": postings, "matches": totals,
                                         "mean_ms_with_snippets": snippet_ms}
    finally:
        searcher.close()
    out["peak_rss_kb"] = _status_kb("VmHWM")
    return out


def run_huge_document(path: Path, distinct_words: int) -> dict:
    """Index one document whose body is `distinct_words` distinct 5-letter words (or get the
    DocumentError that refuses it); return what happened, the time and the peak memory."""
    from searchlib import ID, TEXT, DocumentError, Index, Schema

    # word i spells i in base 26 with five letters; built as bytes (a list of millions of
    # Python strings would cost more memory than the indexing measured here)
    number = np.arange(distinct_words, dtype=np.int64)
    chars = np.full((distinct_words, 6), ord(" "), dtype=np.uint8)
    for k in range(5):
        chars[:, 4 - k] = ord("a") + (number // 26 ** k) % 26
    text = chars.tobytes().decode("ascii")[:-1]
    del number, chars
    size = len(text)
    rss_before = _status_kb("VmRSS")
    if path.exists():
        shutil.rmtree(path)
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english")))
    started = time.perf_counter()
    outcome = "indexed"
    w = ix.writer(workers=1)
    try:
        w.add({"id": "huge", "body": text})
        del text
        w.commit()
    except DocumentError as exc:
        outcome = f"DocumentError: {exc}"
    finally:
        w.close()
    seconds = time.perf_counter() - started
    terms = 0
    if outcome == "indexed":
        with ix.searcher() as s:
            terms = sum(r.fields["body"].info["terms"] for r in s.readers)
    return {"distinct_words": distinct_words, "bytes": size, "outcome": outcome, "seconds": seconds,
            "terms": terms, "rss_before_kb": rss_before, "rss_after_kb": _status_kb("VmRSS"),
            "peak_rss_kb": _status_kb("VmHWM")}


# -- searchlib and tantivy side by side: query kinds and opening (issue 12) ------------------------

KIND_NAMES = ("1 word", "3 words (OR)", "10 words (OR)", "2 words (AND)", "2-word phrase")


def kind_queries(vocab: np.ndarray, cdf: np.ndarray, count: int) -> dict[str, list[str]]:
    """The query sets of the comparison: ORs of 1, 3 and 10 words and ANDs of 2 (scale.queries),
    and two-word phrases of words adjacent in the corpus (neither a function word)."""
    out = {KIND_NAMES[0]: queries(vocab, cdf, 1, count), KIND_NAMES[1]: queries(vocab, cdf, 3, count),
           KIND_NAMES[2]: queries(vocab, cdf, 10, count),
           KIND_NAMES[3]: [" AND ".join(q.split()) for q in queries(vocab, cdf, 2, count)]}
    rng = np.random.default_rng([SEED, 11])
    function = set(FUNCTION_WORDS)
    phrases: list[str] = []
    for docs in documents(CHUNK_DOCS, vocab, cdf):
        for doc in docs:
            words = [w.strip(".").lower() for w in doc["body"].split()]
            at = int(rng.integers(0, len(words) - 1))
            if words[at] not in function and words[at + 1] not in function and len(phrases) < count:
                phrases.append(f'"{words[at]} {words[at + 1]}"')
    out[KIND_NAMES[4]] = phrases
    return out


def run_tantivy_index(size: int, path: Path) -> dict:
    """The same corpus in tantivy: title and body as text fields with en_stem, one indexing thread."""
    import tantivy

    vocab = vocabulary()
    cdf = zipf_cdf(len(vocab))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("title", stored=True, tokenizer_name="en_stem")
    sb.add_text_field("body", stored=True, tokenizer_name="en_stem")
    ix = tantivy.Index(sb.build(), path=str(path))
    started = time.perf_counter()
    writer = ix.writer(heap_size=512_000_000, num_threads=1)
    for docs in documents(size, vocab, cdf):
        for doc in docs:
            writer.add_document(tantivy.Document(**doc))
    writer.commit()
    writer.wait_merging_threads()
    return {"seconds": time.perf_counter() - started, "index_bytes": _disk_size(path)}


def run_compare(path: Path, tantivy_path: Path, query_file: Path, repeat: int) -> dict:
    """Median ms per query of each kind, top 10 ids, warm searchers, the engines alternating
    query by query (each query `repeat` times, the fastest kept)."""
    import tantivy
    from searchlib import Index

    sets = json.loads(query_file.read_text())
    searcher = Index.open(path).searcher()
    tix = tantivy.Index.open(str(tantivy_path))
    tix.reload()
    tsearcher = tix.searcher()

    def ours(q: str) -> list[str]:
        return [h.id for h in searcher.search(q, limit=10, highlight=False)]

    def theirs(q: str) -> list[str]:
        hits = tsearcher.search(tix.parse_query(q, ["title", "body"]), 10).hits
        return [tsearcher.doc(addr)["id"][0] for _, addr in hits]

    out = {}
    for kind, qs in sets.items():
        for q in qs:  # warm-up: the first touches of the memory-mapped files
            ours(q), theirs(q)
        times: dict[str, list[float]] = {"searchlib": [], "tantivy": []}
        overlap = []
        for q in qs:
            for name, run in (("searchlib", ours), ("tantivy", theirs)):
                best = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    run(q)
                    best = min(best, time.perf_counter() - t0)
                times[name].append(best * 1000)
            a, b = set(ours(q)), set(theirs(q))
            overlap.append(len(a & b) / max(1, len(a | b)))
        out[kind] = {name: float(np.median(v)) for name, v in times.items()}
        out[kind]["jaccard"] = float(np.mean(overlap))
    searcher.close()
    return out


def _evict(path: Path) -> None:
    """Drop the index's files from the page cache (posix_fadvise DONTNEED on each)."""
    for f in path.rglob("*"):
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def run_open(engine: str, path: Path, query: str, evict: bool) -> dict:
    """In this fresh process, the library imported: open the index, a searcher, and run the
    first query (top 10 ids); with `evict`, the index's files are dropped from the page cache first."""
    if engine == "searchlib":
        from searchlib import Index
    else:
        import tantivy
    if evict:
        _evict(path)
    started = time.perf_counter()
    if engine == "searchlib":
        searcher = Index.open(path).searcher()
        ids = [h.id for h in searcher.search(query, limit=10, highlight=False)]
    else:
        tix = tantivy.Index.open(str(path))
        tsearcher = tix.searcher()
        hits = tsearcher.search(tix.parse_query(query, ["title", "body"]), 10).hits
        ids = [tsearcher.doc(addr)["id"][0] for _, addr in hits]
    return {"ms": (time.perf_counter() - started) * 1000, "hits": len(ids)}


def run_cli(path: Path, query: str) -> float:
    """Wall seconds of `searchlib search PATH QUERY` in a fresh interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "searchlib", "search", str(path), query], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def compare_with_tantivy(size: int, workdir: Path, count: int, repeat: int, opens: int) -> str:
    """Build (or reuse) both indexes of `size` documents, then the side-by-side table: query kinds,
    open + searcher + first query warm and evicted (medians of `opens` fresh processes, the
    engines alternating), and the command line's wall time."""
    path, tpath = workdir / f"scale-{size}", workdir / f"tantivy-{size}"
    if not (path / "segments").exists():
        print(f"indexing {size:,} documents (searchlib) ...", file=sys.stderr, flush=True)
        _child(["_index", str(size), str(path), "{}"])
    if not (tpath / "meta.json").exists():
        print(f"indexing {size:,} documents (tantivy) ...", file=sys.stderr, flush=True)
        _child(["_tantivy_index", str(size), str(tpath)])
    vocab = vocabulary()
    cdf = zipf_cdf(len(vocab))
    query_file = workdir / "kind_queries.json"
    query_file.write_text(json.dumps(kind_queries(vocab, cdf, count)))
    sets = json.loads(query_file.read_text())
    kinds = _child(["_compare", str(path), str(tpath), str(query_file), str(repeat)])
    lines = ["| documents | kind | searchlib ms | tantivy ms | ratio | top-10 Jaccard |", "|---:|---|---:|---:|---:|---:|"]
    for kind in KIND_NAMES:
        r = kinds[kind]
        lines.append(f"| {size:,} | {kind} | {r['searchlib']:.3f} | {r['tantivy']:.3f} | "
                     f"{r['searchlib'] / r['tantivy']:.2f}x | {r['jaccard']:.2f} |")
    first = sets[KIND_NAMES[1]][0]  # a 3-word query
    for evict in (False, True):
        found: dict[str, list[float]] = {"searchlib": [], "tantivy": []}
        for _ in range(opens):
            for engine, where in (("searchlib", path), ("tantivy", tpath)):
                found[engine].append(_child(["_open", engine, str(where), first, "1" if evict else "0"])["ms"])
        a, b = (float(np.median(found[e])) for e in ("searchlib", "tantivy"))
        lines.append(f"| {size:,} | open + searcher + first query, {'files evicted' if evict else 'warm'} "
                     f"| {a:.1f} | {b:.1f} | {a / b:.1f}x | |")
    cli = sorted(run_cli(path, first) for _ in range(opens))
    lines.append(f"| {size:,} | `searchlib search IDX \"{first}\"` wall s | {cli[len(cli) // 2]:.2f} | | | |")
    return "\n".join(lines)


# -- indexing side by side with other engines ---------------------------------------------------
ENGINES = ("searchlib", "tantivy-1", "tantivy", "bm25s")  # tantivy-1: one indexing thread


def run_engine_index(engine: str, size: int, path: Path) -> dict:
    """Index `size` documents with `engine` (one of ENGINES) into `path`, in this process; return
    the wall and CPU time (all threads and worker processes) of adding and committing (not of
    generating the documents) and the index size.

    The same fields everywhere: searchlib as in run_index (title and body stored, `english`);
    tantivy title and body stored with positions, `en_stem`, its default 128 MB writer heap;
    bm25s over title + body (stemmed, English stop words), saved with its corpus ids."""
    vocab = vocabulary()
    cdf = zipf_cdf(len(vocab))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    seconds = cpu = 0.0
    if engine == "searchlib":
        return run_index(size, path, {})
    if engine.startswith("tantivy"):
        import tantivy
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("title", stored=True, tokenizer_name="en_stem")
        sb.add_text_field("body", stored=True, tokenizer_name="en_stem")
        ix = tantivy.Index(sb.build(), path=str(path))
        writer = ix.writer(heap_size=128_000_000, num_threads=1 if engine == "tantivy-1" else 0)
        for docs in documents(size, vocab, cdf):
            started, cpu_started = time.perf_counter(), time.process_time()
            for d in docs:
                writer.add_document(tantivy.Document(id=d["id"], title=d["title"], body=d["body"]))
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
        started, cpu_started = time.perf_counter(), time.process_time()
        writer.commit()
        writer.wait_merging_threads()
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    elif engine == "bm25s":
        import bm25s
        import Stemmer
        texts, ids = [], []
        for docs in documents(size, vocab, cdf):  # bm25s indexes a whole corpus at once
            texts += [d["title"] + "\n" + d["body"] for d in docs]
            ids += [d["id"] for d in docs]
        started, cpu_started = time.perf_counter(), time.process_time()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        retriever.save(str(path), corpus=[{"id": i} for i in ids])
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    else:
        raise SystemExit(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return {"docs": size, "seconds": seconds, "cpu_seconds": cpu, "index_bytes": _disk_size(path),
            "peak_rss_kb": _status_kb("VmHWM")}


def _tree_memory_kb(pid: int) -> tuple[int, int]:
    """(Rss, Pss) in kB of a process and all its descendants, now. A forked worker's RSS counts the
    pages it shares with its parent again; PSS divides shared pages among the processes sharing
    them, so the tree's PSS is the memory it really holds."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            children = [int(c) for c in fh.read().split()]
    except OSError:
        return rss, pss
    for child in children:
        r, p = _tree_memory_kb(child)
        rss, pss = rss + r, pss + p
    return rss, pss


def _tree_child(args: list[str]) -> dict:
    """Run this script in a fresh process; return its JSON answer, plus the peak resident memory
    and proportional memory of its whole process tree (forked workers included), sampled from
    outside every 100 ms."""
    peaks = [0, 0]

    def sample(pid: int) -> None:
        peaks[:] = map(max, peaks, _tree_memory_kb(pid))

    answer = _run_child(args, sample, 0.1)  # smaps_rollup walks every mapping: not too often
    answer["tree_peak_rss_kb"] = max(peaks[0], answer.get("peak_rss_kb", 0))
    answer["tree_peak_pss_kb"] = peaks[1]
    return answer


def compare_indexing(sizes: list[int], workdir: Path, engines: list[str], repeat: int) -> list[dict]:
    """Index each size with each engine, each run in its own fresh process, engines alternating
    within a round; print and return the median over `repeat` rounds of wall seconds, peak RSS of
    the process tree (RSS and PSS) and size on disk."""
    rows = []
    for size in sizes:
        runs: dict[str, list[dict]] = {e: [] for e in engines}
        for _ in range(repeat):
            for engine in engines:
                path = workdir / f"engine-{engine}-{size}"
                print(f"indexing {size:,} documents with {engine} ...", file=sys.stderr, flush=True)
                runs[engine].append(_tree_child(["_engine", engine, str(size), str(path)]))
                shutil.rmtree(path, ignore_errors=True)
        for engine in engines:
            got = runs[engine]
            rows.append({"docs": size, "engine": engine, "seconds": float(np.median([r["seconds"] for r in got])),
                         "cpu_seconds": float(np.median([r["cpu_seconds"] for r in got])),
                         "tree_peak_rss_mb": float(np.median([r["tree_peak_rss_kb"] for r in got])) / 1024,
                         "tree_peak_pss_mb": float(np.median([r["tree_peak_pss_kb"] for r in got])) / 1024,
                         "index_mb": float(np.median([r["index_bytes"] for r in got])) / 2**20,
                         "runs": len(got)})
    print("| documents | engine | wall s | CPU s | peak RSS (process tree) MB | peak PSS (process tree) MB "
          "| on disk MB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['docs']:,} | {r['engine']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} "
              f"| {r['tree_peak_rss_mb']:,.0f} | {r['tree_peak_pss_mb']:,.0f} | {r['index_mb']:,.0f} |")
    by = {(r["docs"], r["engine"]): r for r in rows}
    for size in sizes:
        ours, ref = by.get((size, "searchlib")), by.get((size, "tantivy-1"))
        if ours and ref:
            print(f"{size:,} documents, searchlib / tantivy-1: wall {ours['seconds'] / ref['seconds']:.2f}x, "
                  f"CPU {ours['cpu_seconds'] / ref['cpu_seconds']:.2f}x, "
                  f"RSS {ours['tree_peak_rss_mb'] / ref['tree_peak_rss_mb']:.2f}x, "
                  f"PSS {ours['tree_peak_pss_mb'] / ref['tree_peak_pss_mb']:.2f}x, "
                  f"disk {ours['index_mb'] / ref['index_mb']:.2f}x")
    return rows


# -- the driver -----------------------------------------------------------------------------------

def _sample(pid: int) -> dict[str, int]:
    """RssAnon and RssFile (kB) of a running process, from /proc/<pid>/status."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("RssAnon:", "RssFile:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def _run_child(args: list[str], sample, interval: float, script: Path | None = None) -> dict:
    """Run this script (or `script`) with `args` in a fresh process, calling `sample(pid)` every
    `interval` seconds while it runs; return the JSON answer on its last line of output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, str(script or __file__), *args], stdout=out, stderr=err, env=env, cwd=ROOT)
        while proc.poll() is None:
            sample(proc.pid)
            time.sleep(interval)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.stderr.write(err.read())
            raise SystemExit(f"child {' '.join(args)} failed with exit code {proc.returncode}")
        return json.loads(out.read().strip().splitlines()[-1])


def _child(args: list[str]) -> dict:
    """Run this script in a fresh process; return its JSON answer, plus the peaks of its anonymous
    and file-backed resident memory, sampled from outside every 50 ms (a sampling thread inside
    would stop the writer from forking its analysis workers)."""
    peaks = {"RssAnon": 0, "RssFile": 0}

    def sample(pid: int) -> None:
        for key, kb in _sample(pid).items():
            peaks[key] = max(peaks[key], kb)

    answer = _run_child(args, sample, 0.05)
    answer["sampled_peak_anon_kb"] = peaks["RssAnon"]
    answer["sampled_peak_file_kb"] = peaks["RssFile"]
    return answer


def summarise(size: int, index: dict, search: dict) -> dict:
    row = {"docs": size, "index_s": index["seconds"], "docs_per_s": index["docs_per_s"],
           "index_mb": index["index_bytes"] / 2**20, "segments": index["segments"], "tokens": index["tokens"],
           "peak_rss_index_mb": index["peak_rss_kb"] / 1024,
           "peak_anon_index_mb": index["sampled_peak_anon_kb"] / 1024,
           "peak_anon_search_mb": search["sampled_peak_anon_kb"] / 1024,
           "workers_peak_rss_mb": index["workers_peak_rss_kb"] / 1024,
           "peak_rss_search_mb": search["peak_rss_kb"] / 1024, "open_ms": search["open_ms"],
           "rss_trace_mb": [(n, kb / 1024) for n, kb in index["rss_trace_kb"]]}
    all_ms, all_postings, all_terms = [], [], []
    for length, kind in search["kinds"].items():
        ms, postings = np.array(kind["ms"]), np.array(kind["postings"])
        row[f"q{length}_median_ms"] = float(np.median(ms))
        row[f"q{length}_p95_ms"] = float(np.percentile(ms, 95))
        row[f"q{length}_median_postings"] = float(np.median(postings))
        row[f"q{length}_snippets_mean_ms"] = kind["mean_ms_with_snippets"]
        all_ms += kind["ms"]
        all_postings += kind["postings"]
        all_terms += [int(length)] * len(kind["ms"])
    # least squares: ms = intercept + a * (million matching postings) + b * (query words): `a` is
    # the cost of scoring postings, `b` a cost per query word that does not depend on its postings
    # (per segment and field: dictionary look-up, and any work proportional to the documents)
    design = np.column_stack([np.ones(len(all_ms)), np.array(all_postings, dtype=float) / 1e6,
                              np.array(all_terms, dtype=float)])
    (intercept, per_posting, per_word), *_ = np.linalg.lstsq(design, np.array(all_ms), rcond=None)
    row["ms_per_m_postings"] = float(per_posting)
    row["ms_per_word"] = float(per_word)
    row["intercept_ms"] = float(intercept)
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| documents | index s | docs/s | index MB | segments | peak RSS indexing MB: all / anon / workers "
             "| peak RSS searching MB: all / anon | open ms "
             + "".join(f"| {n}-word median / p95 ms (median postings) " for n in QUERY_LENGTHS)
             + "| fit: ms per M postings / per word |",
             "|" + "---:|" * (8 + len(QUERY_LENGTHS) + 1)]
    for r in rows:
        cells = [f"{r['docs']:,}", f"{r['index_s']:.1f}", f"{r['docs_per_s']:,.0f}", f"{r['index_mb']:,.0f}",
                 f"{r['segments']}",
                 f"{r['peak_rss_index_mb']:,.0f} / {r['peak_anon_index_mb']:,.0f} / {r['workers_peak_rss_mb']:,.0f}",
                 f"{r['peak_rss_search_mb']:,.0f} / {r['peak_anon_search_mb']:,.0f}", f"{r['open_ms']:.0f}"]
        for n in QUERY_LENGTHS:
            cells.append(f"{r[f'q{n}_median_ms']:.2f} / {r[f'q{n}_p95_ms']:.2f} "
                         f"({r[f'q{n}_median_postings']:,.0f})")
        cells.append(f"{r['ms_per_m_postings']:.1f} / {r['ms_per_word']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def checks(rows: list[dict]) -> list[tuple[str, bool, str]]:
    """(target, passed, measured) for the targets that the measured sizes can show."""
    out = []
    for r in rows:
        if r["docs"] >= 1_000_000:
            out.append((f"peak RSS indexing {r['docs']:,} docs < {RSS_TARGET_MB} MB",
                        r["peak_rss_index_mb"] < RSS_TARGET_MB and r["workers_peak_rss_mb"] < RSS_TARGET_MB,
                        f"{r['peak_rss_index_mb']:,.0f} MB (workers {r['workers_peak_rss_mb']:,.0f} MB)"))
    if len(rows) >= 2:
        # The cost of a matching posting must not grow with the index (fitted over all queries).
        first, last = rows[0], rows[-1]
        out.append((f"query time at most linear in matching postings (fitted ms per M postings at "
                    f"{last['docs']:,} docs <= 1.5 x at {first['docs']:,})",
                    last["ms_per_m_postings"] <= 1.5 * max(first["ms_per_m_postings"], 0.0),
                    ", ".join(f"{r['docs']:,}: {r['ms_per_m_postings']:.1f}" for r in rows)))
        # Informative: a cost per query word that grows with the documents, whatever the postings
        # (work proportional to the documents per word, e.g. dense per-document arrays).
        per_m_docs = [r["ms_per_word"] / r["docs"] * 1e6 for r in rows]
        out.append(("informative, not an issue target: cost per query word independent of the index size "
                    f"(fitted ms per word at {last['docs']:,} docs <= 2 x at {first['docs']:,})",
                    last["ms_per_word"] <= 2 * max(first["ms_per_word"], 0.01),
                    ", ".join(f"{r['docs']:,}: {r['ms_per_word']:.2f} ms ({v:.2f} ms per M docs)"
                              for r, v in zip(rows, per_m_docs))))
    return out


def huge_documents(workdir: Path | None) -> None:
    """The most distinct words that fit the default field size limit, and ten million (refused)."""
    base = workdir or Path(tempfile.mkdtemp(prefix="searchlib-huge-"))
    try:
        print("| distinct words | field MB | outcome | seconds | peak RSS MB | RSS after MB |")
        print("|---:|---:|---|---:|---:|---:|")
        for n in (5_500_000, 10_000_000):
            r = _child(["_huge", str(base / f"huge-{n}"), str(n)])
            outcome = r["outcome"] if len(r["outcome"]) < 60 else r["outcome"][:200] + " ..."
            print(f"| {n:,} | {r['bytes'] / 2**20:.1f} | {outcome} | {r['seconds']:.1f} "
                  f"| {r['peak_rss_kb'] / 1024:,.0f} | {r['rss_after_kb'] / 1024:,.0f} |")
    finally:
        if workdir is None:
            shutil.rmtree(base, ignore_errors=True)


def rows_from(path: Path) -> list[dict]:
    """Recompute the table from a saved --out file (after changing the analysis, without re-running)."""
    raw = json.loads(path.read_text())["raw"]
    return [summarise(r["size"], r["index"], r["search"]) for r in raw]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated document counts")
    parser.add_argument("--workdir", type=Path, help="where indexes are built (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the indexes (in --workdir)")
    parser.add_argument("--queries", type=int, default=QUERIES_PER_KIND, help="queries per query length")
    parser.add_argument("--workers", type=int, help="analysis processes (default: the writer's default)")
    parser.add_argument("--out", type=Path, help="save all measurements as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--report", type=Path, help="instead: print the table of a saved --out file")
    parser.add_argument("--tantivy", action="store_true",
                        help="instead: searchlib and tantivy side by side at each size (query kinds, opening); "
                             "indexes are kept in --workdir and reused")
    parser.add_argument("--repeat", type=int, default=3, help="with --tantivy: runs of each query (fastest kept)")
    parser.add_argument("--opens", type=int, default=5, help="with --tantivy: fresh processes per open measurement")
    parser.add_argument("--engines", help="instead: compare indexing (wall, CPU, process-tree RSS and PSS, disk) "
                        f"with these engines, comma-separated from {','.join(ENGINES)} ('all' for every one)")
    parser.add_argument("--rounds", type=int, default=1, help="with --engines: rounds (medians are reported)")
    parser.add_argument("--huge-document", action="store_true",
                        help="instead: index single documents of millions of distinct words (the field size limit)")
    args = parser.parse_args(argv)
    if args.huge_document:
        huge_documents(args.workdir)
        return
    if args.engines:
        engines = list(ENGINES) if args.engines == "all" else args.engines.split(",")
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="searchlib-engines-"))
        try:
            rows = compare_indexing([int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()],
                                    workdir, engines, args.rounds)
        finally:
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
        if args.out:
            args.out.write_text(json.dumps({"engines": rows}, indent=1))
        return
    if args.tantivy:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="searchlib-scale-"))
        workdir.mkdir(parents=True, exist_ok=True)
        for size in [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]:
            print(compare_with_tantivy(size, workdir, args.queries, args.repeat, args.opens))
        return
    if args.report:
        rows = rows_from(args.report)
        print(markdown(rows))
        for target, passed, measured in checks(rows):
            print(f"{'PASS' if passed else 'FAIL'}  {target}: {measured}")
        return
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="searchlib-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    options = {} if args.workers is None else {"workers": args.workers}
    rows, raw = [], []
    vocab = vocabulary()
    cdf = zipf_cdf(len(vocab))
    query_file = workdir / "queries.json"
    query_file.write_text(json.dumps({str(n): queries(vocab, cdf, n, args.queries) for n in QUERY_LENGTHS}))
    del vocab, cdf
    try:
        for size in sizes:
            path = workdir / f"scale-{size}"
            print(f"indexing {size:,} documents ...", file=sys.stderr, flush=True)
            index = _child(["_index", str(size), str(path), json.dumps(options)])
            print(f"  {index['seconds']:.1f} s, peak RSS {index['peak_rss_kb'] / 1024:,.0f} MB; searching ...",
                  file=sys.stderr, flush=True)
            search = _child(["_search", str(path), str(query_file)])
            rows.append(summarise(size, index, search))
            raw.append({"size": size, "index": index, "search": search})
            if not args.keep:
                shutil.rmtree(path, ignore_errors=True)
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for r in rows:
        print(f"{r['docs']:>9,} docs: {r['index_s']:7.1f} s ({r['docs_per_s']:,.0f} docs/s), "
              f"{r['index_mb']:,.0f} MB on disk, {r['segments']} segments, peak RSS indexing "
              f"{r['peak_rss_index_mb']:,.0f} MB (anonymous {r['peak_anon_index_mb']:,.0f}, workers "
              f"{r['workers_peak_rss_mb']:,.0f} MB), searching {r['peak_rss_search_mb']:,.0f} MB "
              f"(anonymous {r['peak_anon_search_mb']:,.0f}); "
              + ", ".join(f"{n}-word {r[f'q{n}_median_ms']:.2f}/{r[f'q{n}_p95_ms']:.2f} ms" for n in QUERY_LENGTHS)
              + f"; fit: {r['ms_per_m_postings']:.1f} ms per M postings + {r['ms_per_word']:.2f} ms per word")
        print("           RSS while adding (docs: MB): "
              + ", ".join(f"{n:,}: {mb:,.0f}" for n, mb in r["rss_trace_mb"]))
    if args.markdown:
        print()
        print(markdown(rows))
    print()
    for target, passed, measured in checks(rows):
        print(f"{'PASS' if passed else 'FAIL'}  {target}: {measured}")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "raw": raw}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_index":
        print(json.dumps(run_index(int(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_engine":
        print(json.dumps(run_engine_index(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_huge":
        print(json.dumps(run_huge_document(Path(sys.argv[2]), int(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_tantivy_index":
        print(json.dumps(run_tantivy_index(int(sys.argv[2]), Path(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_compare":
        print(json.dumps(run_compare(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "_open":
        print(json.dumps(run_open(sys.argv[2], Path(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")))
    elif len(sys.argv) > 1 and sys.argv[1] == "_search":
        print(json.dumps(run_search(Path(sys.argv[2]), Path(sys.argv[3]))))
    else:
        main()
