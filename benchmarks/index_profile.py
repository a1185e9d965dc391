"""Where indexing spends its CPU, per token: a stage-by-stage breakdown on scale.py's corpus.

    python benchmarks/index_profile.py --docs 100000          # one process (workers=1): every stage timed
    python benchmarks/index_profile.py --docs 30000 --split   # also split analysis: tokenize / look up / stem

Each stage of the writer is wrapped with a CPU timer (time.process_time: this process only, so
the default is one analysis process, where every stage runs here), and the totals are printed in
seconds and in microseconds per token (every word of title and body, stop words included); a
stage's timer costs about a microsecond a call, which the first-seen words' line includes. Merges
run at the commit, in this process, as the writer's merge policy plans them. `--split` re-runs
the analysis of the same texts stage by stage, every word already numbered: the writer's batch path
(numpy tokens, distinct words, their look-ups) beside the per-text regex path (`re.findall`, a
look-up per token), and the number of distinct words the stemming stage saw.
"""
from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402  (this folder's corpus generator)
from searchlib import ID, TEXT, Index, Schema  # noqa: E402
from searchlib.analysis import get_analyzer  # noqa: E402
from searchlib.indexing import analyze, buffer, merge, writer  # noqa: E402
from searchlib.storage import segment, stored  # noqa: E402

# (owner, attribute, label): what each stage is, in the order a document meets them
BATCH_DOCS = 5000  # documents per analysed batch in --split (the writer's order of size)
STAGES = [
    (buffer.SegmentBuffer, "add", "add(): validation, queueing (and analysis it triggers)"),
    (analyze.FieldAnalysis, "run", "analysis: tokenize, look up, stem (in add or at flush)"),
    (analyze.FieldAnalysis, "_number", "  of which numbering first-seen words (stemming)"),
    (buffer._FieldBuffer, "add_batch", "buffer: local ids -> segment ids, append"),
    (buffer._FieldBuffer, "take_arrays", "flush: postings, positions, lengths"),
    (segment, "write_segment", "flush: writing the segment (all files)"),
    (stored, "write_stored", "  of which stored fields"),
    (merge, "merge_segments", "merges at commit (segments rewritten into one)"),
]


def timed(totals: dict[str, float], label: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.process_time() - started
    return wrapper


def profile(docs: list[dict], workers: int, options: dict) -> tuple[dict[str, float], float]:
    """Index `docs` with every stage timed; return (CPU seconds per stage, in all)."""
    totals: dict[str, float] = {}
    for owner, name, label in STAGES:
        setattr(owner, name, timed(totals, label, getattr(owner, name)))
    buffer.write_segment = segment.write_segment  # the buffer calls it by its own name
    segment.write_stored = stored.write_stored
    writer.merge_segments = merge.merge_segments
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True))
    path = Path(tempfile.mkdtemp(prefix="searchlib-profile-")) / "ix"
    try:
        ix = Index.create(path, schema)
        started = time.process_time()
        with ix.writer(workers=workers, **options) as w:
            for doc in docs:
                w.add(doc)
        total = time.process_time() - started
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    return totals, total


def split_analysis(docs: list[dict]) -> None:
    """The analysis of the same texts, stage by stage, with every word already numbered (so no
    stemming): the writer's batch path (numpy tokens, distinct words, their look-ups) beside the
    per-text regex path it replaced (`re.findall`, a look-up per token)."""
    from searchlib.analysis.distinct import distinct_words

    batches = [[d[f] for d in docs[i:i + BATCH_DOCS]] for f in ("title", "body")
               for i in range(0, len(docs), BATCH_DOCS)]
    fields = [analyze.FieldAnalysis(TEXT(analyzer="english", stored=True)) for _ in batches]
    for fa, texts in zip(fields, batches):  # number every word first: the timed passes only look up
        fa.run(texts)
    seconds: dict[str, float] = {}

    def timed_pass(label: str, items, fn) -> list:
        started = time.process_time()
        out = [fn(*item) for item in items]
        seconds[label] = time.process_time() - started
        return out

    found = timed_pass("batch: tokens with numpy (SpanFinder.tokens)", zip(fields, batches),
                       lambda fa, texts: fa._spans.tokens(texts))
    distinct = timed_pass("batch: distinct words (keys, sorts, a str each)", zip(found), distinct_words)
    timed_pass("batch: look up the distinct words, ids per token", zip(fields, distinct),
               lambda fa, d: np.fromiter(map(fa.word_ids.__getitem__, d[0]), dtype=np.int32, count=len(d[0]))[d[1]])
    timed_pass("batch: the whole analysis (FieldAnalysis.run)", zip(fields, batches), lambda fa, texts: fa.run(texts))
    words = timed_pass("per text: tokenize (re.findall)", zip(fields, batches),
                       lambda fa, texts: [fa.analyzer.tokenizer.words(t) for t in texts])
    timed_pass("per text: look up every token", zip(fields, words),
               lambda fa, per_text: [fa._word_list_ids(ws) for ws in per_text])
    tokens = sum(len(ws) for per_text in words for ws in per_text)
    for label, spent in seconds.items():
        print(f"  {label:58s} {spent:7.2f} s  {1e6 * spent / tokens:6.3f} us/token")
    distinct_lower = len({w.lower() for per_text in words for ws in per_text for w in ws})
    print(f"  distinct lower-cased words  {distinct_lower:,} (each stemmed about once, by nltk's Snowball English)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents of scale.py's corpus")
    parser.add_argument("--workers", type=int, default=1, help="analysis processes (stages are timed in this one)")
    parser.add_argument("--split", action="store_true", help="also split the analysis into its stages")
    parser.add_argument("--buffer-tokens", type=int, default=None,
                        help="the writer's buffer (default its own): smaller buffers, more segments to merge")
    args = parser.parse_args()
    get_analyzer("english").term("imports")  # nltk loaded before anything is timed
    vocab = scale.vocabulary()
    cdf = scale.zipf_cdf(len(vocab))
    docs = [d for chunk in scale.documents(args.docs, vocab, cdf) for d in chunk]
    words = get_analyzer("english").tokenizer.words
    tokens = sum(len(words(d[f])) for d in docs for f in ("title", "body"))
    options = {} if args.buffer_tokens is None else {"buffer_tokens": args.buffer_tokens}
    totals, total = profile(docs, args.workers, options)
    print(f"{args.docs:,} documents, {tokens:,} tokens: {total:.2f} s CPU in this process, "
          f"{1e6 * total / tokens:.3f} us/token")
    for _, _, label in STAGES:
        seconds = totals.get(label, 0.0)
        print(f"  {label:58s} {seconds:7.2f} s  {1e6 * seconds / tokens:6.3f} us/token")
    if args.split:
        split_analysis(docs)


if __name__ == "__main__":
    main()
