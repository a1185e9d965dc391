"""Memory stays bounded: caches start over past their limits without changing the index, a field
value over the size limit is refused (naming document and field) without harming the index, and
the merge policy never builds a segment over its cap. All small and fast: limits are lowered with
monkeypatch instead of feeding millions of words.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import TESTS, build_in_commits, mixed_schema, run_python, subprocess_env, unique_docs
from searchlib import ID, KEYWORD, STORED, TEXT, DocumentError, Index, Schema
from searchlib.analysis import Analyzer, LowercaseFilter, RegexTokenizer, StemFilter, analyzers
from searchlib.indexing import analyze, buffer, merge
from searchlib.indexing.merge import plan_merges
from searchlib.storage import arrays, files

# Many distinct words (so small caches overflow often), a few frequent ones (so queries match).
SYLLABLES = "ka lo mi nu pe ra si to vu ze ban cor dil fen gat hum".split()
COMMON = "river stone cloud forest running runs ran walked walking".split()


def word(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(COMMON)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) + rng.choice(["", "s", "ing", "ed"])


def make_docs(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        paras = [" ".join(word(rng) for _ in range(rng.randint(5, 30))) for _ in range(rng.randint(1, 3))]
        docs.append({"id": f"d{i}", "title": " ".join(word(rng) for _ in range(3)), "body": "\n\n".join(paras),
                     "tags": [rng.choice(["a", "b", "c"])]})
    return docs


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                  body=TEXT(analyzer="english", stored=True, passages="paragraph"), tags=KEYWORD(stored=True),
                  meta=STORED())


QUERIES = ["river", "running stone", '"cloud forest"', "kalo OR mizeing", "title:nu body:walked", "+river -stone",
           "tags:a river"]


def results(ix: Index) -> dict:
    """Every hit of every query (ties in any order: segments may differ), and every document."""
    with ix.searcher() as s:
        out = {q: sorted(((round(h.score, 6), h.id, [(p.start, p.end) for p in h.passages])
                          for h in s.search(q, limit=1000)), key=lambda hit: (-hit[0], hit[1]))
               for q in QUERIES}
        out["_documents"] = sorted(json.dumps(d, sort_keys=True) for d in s.documents())
    return out


def build(path: Path, docs: list[dict], commits: int = 1, **options) -> Index:
    return build_in_commits(path, schema(), docs, commits, workers=1, **options)


# -- per-process caches ------------------------------------------------------------------------

def test_analyzer_word_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(analyzers, "CACHE_LIMIT", 4)
    analyzer = Analyzer(RegexTokenizer(), [LowercaseFilter(), StemFilter("porter")])
    text = "Running runs RAN walked walking stones Stone clouds cloudy forests"
    expected = [t.term for t in analyzer(text)]
    for _ in range(3):
        assert [t.term for t in analyzer(text)] == expected
        assert analyzer.index_terms(text)[0] == expected
        assert len(analyzer._cache) <= 4
    assert expected[:3] == ["run", "run", "ran"]


def test_shared_spec_analyzers_are_bounded(monkeypatch):
    # one analyzer is kept per distinct spec; past the limit they are forgotten (not one per spec forever)
    monkeypatch.setattr(analyzers, "SPEC_LIMIT", 3)
    specs = [{"tokenizer": {"type": "regex", "pattern": f"x{i}"}} for i in range(10)]
    built = [analyzers.from_spec(spec) for spec in specs]
    assert [a.spec()["tokenizer"]["pattern"] for a in built] == [f"x{i}" for i in range(10)]
    # still shared: the newest few, at most the limit (a lookup that finds its analyzer changes nothing)
    shared = 0
    while shared < len(specs) and analyzers.from_spec(specs[-1 - shared]) is built[-1 - shared]:
        shared += 1
    assert 1 <= shared <= 3


def test_field_analysis_starts_a_new_numbering_past_its_limit(monkeypatch):
    monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 12)
    fa = analyze.FieldAnalysis(schema().fields["title"])
    texts = [" ".join(f"w{i}x{j}" for j in range(5)) for i in range(6)]
    sources = []
    for text in texts:
        batch = fa.run([text])
        sources.append(batch.source)
        assert len(fa.word_ids) + len(fa.vocab) <= 12  # never kept over the limit between batches
        if batch.last:
            assert not fa.word_ids and not fa.vocab
        else:
            assert batch.first_term + len(batch.new_terms) == len(fa.vocab)
    epochs = [epoch for _, epoch in sources]
    assert epochs == sorted(epochs) and epochs[-1] >= 2  # the numbering started over several times


def test_index_built_across_resets_is_identical(tmp_path, monkeypatch):
    docs = make_docs(160)
    reference = results(build(tmp_path / "ref", docs, commits=2))
    monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 25)
    monkeypatch.setattr(buffer.SegmentBuffer, "DRAIN_CHARS", 400)  # many small batches
    monkeypatch.setattr(analyzers, "CACHE_LIMIT", 9)  # the shared analyzers' word caches start over too
    ix = Index.create(tmp_path / "small", schema())
    epochs = []
    for part in (docs[:80], docs[80:]):
        w = ix.writer(workers=1, buffer_tokens=900)  # several flushes, resets within a segment
        try:
            for doc in part:
                w.add(doc)
            w._buffer.drain()
            epochs.append(w._analysis.local["body"].epoch)
            # dead numberings are forgotten: at most the live one per field is remembered
            assert len(w._analysis._terms) <= 2
            assert all(len(lexicon._remaps) <= 1 for lexicon in w._analysis.lexicons.values())
            w.commit()
        finally:
            w.close()
    assert min(epochs) >= 5, epochs
    assert results(ix) == reference


def test_segment_holds_only_its_own_terms_and_the_lexicon_is_bounded(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", schema())
    w = ix.writer(workers=1)

    def flushed_terms() -> list[str]:
        w.flush()
        return w._reader(w._segments[-1]).fields["body"].dictionary.terms()

    try:
        w.add({"id": "a", "body": "alpha beta gamma"})
        assert flushed_terms() == ["alpha", "beta", "gamma"]
        w.add({"id": "b", "body": "delta gamma"})
        assert flushed_terms() == ["delta", "gamma"]
        lexicon = w._analysis.lexicons["body"]
        assert sorted(lexicon.ids) == ["alpha", "beta", "delta", "gamma"]  # kept across flushes
        monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 3)
        w.add({"id": "c", "body": "epsilon"})  # the numbering starts over after this batch
        assert flushed_terms() == ["epsilon"]
        assert len(lexicon) == 0 and not lexicon._remaps  # over the limit: only live numberings' terms stay
        w.add({"id": "d", "body": "zeta alpha"})
        assert flushed_terms() == ["alpha", "zeta"]
    finally:
        w.close()


WORKER_SCRIPT = r'''
import json, random, sys
sys.path[:0] = sys.argv[2:4]  # this file's folder, and conftest's
from test_memory_bounds import build, make_docs, results, schema
from searchlib import Index
from searchlib.indexing import analyze, buffer

docs = make_docs(300)
reference = results(build(sys.argv[1] + "/ref", docs))
analyze.WORD_CACHE_LIMIT = 30
analyze.Analysis.MIN_PARALLEL_CHARS = 0
buffer.SegmentBuffer.DRAIN_CHARS = 3000
seen = set()
original = analyze.Analysis._record
def record(self, field, batches):
    seen.update(b.source for b in batches)
    return original(self, field, batches)
analyze.Analysis._record = record
ix = Index.create(sys.argv[1] + "/par", schema())
with ix.writer(workers=2) as w:
    for d in docs:
        w.add(d)
print(json.dumps({"same": results(ix) == reference, "sources": sorted(seen)}))
'''


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked analysis workers are used on Linux only")
def test_worker_processes_obey_the_limit(tmp_path):
    # forked workers are used only from a single-threaded process: run in a fresh one
    proc = run_python("-c", WORKER_SCRIPT, tmp_path, Path(__file__).resolve().parent, TESTS,
                      env=subprocess_env(inherit=False, PATH="/usr/bin:/bin"))  # a minimal environment
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    pids = {pid for pid, _ in out["sources"]}
    assert len(pids) >= 2, "no worker process analysed anything"
    for pid in pids:  # every process, workers included, started over at least once
        assert max(epoch for p, epoch in out["sources"] if p == pid) >= 1, out["sources"]
    assert out["same"]


# -- a numbering is forgotten with its last batch, even when the limit is lowered --------------

def test_lowered_word_limit_ends_the_numbering_with_a_last_batch(monkeypatch):
    fa = analyze.FieldAnalysis(mixed_schema().fields["body"])
    first = fa.run(["alpha beta gamma", "delta"])
    assert not first.last
    monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 3)
    second = fa.run(["epsilon"])  # same numbering, and the batch that ends it
    assert second.source == first.source and second.last
    assert second.first_term == 4 and second.new_terms == ["epsilon"]
    third = fa.run(["zeta"])
    assert third.source[1] == first.source[1] + 1 and third.first_term == 0


def test_writer_forgets_numberings_when_the_limit_is_lowered_mid_batch(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    w = ix.writer(workers=1)
    try:
        w.add({"id": "a", "body": "one two three four", "notes": "five six"})
        w._buffer.drain()
        monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 2)
        for i in range(6):
            w.add({"id": f"b{i}", "body": f"word{i} other{i}", "notes": f"note{i}"})
            w._buffer.drain()
            assert len(w._analysis._terms) <= 2  # at most the live numbering of each field
            assert all(len(lexicon._remaps) <= 1 for lexicon in w._analysis.lexicons.values())
        w.commit()
    finally:
        w.close()
    assert {h.id for h in ix.search("word3 OR one")} == {"a", "b3"}


def test_flushing_empties_the_field_buffers():
    from searchlib.indexing.buffer import SegmentBuffer
    buf = SegmentBuffer(mixed_schema(), analyze.Analysis(mixed_schema(), workers=1))
    buf.add({"id": "a", "tag": "k", "body": "x y", "notes": "p q\n\nr s"})
    buf.drain()
    for name, fb in buf.fields.items():
        fa = fb.take_arrays()
        assert len(fa.unit) > 0
        assert not fb.tokens and not fb.vocab and not fb.unit_tokens, name
        assert fb.unit_doc is None or (not fb.unit_doc and not fb.spans), name


# -- the verification cache is bounded ---------------------------------------------------------

def test_verified_file_cache_is_bounded(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    with ix.writer() as w:
        for doc in unique_docs(20):
            w.add(doc)
    monkeypatch.setattr(files, "_VERIFIED_LIMIT", 5)
    files._verified.clear()
    with ix.searcher() as s:
        assert s.doc_count() == 20
    assert 0 < len(files._verified) <= 5
    with ix.searcher() as s:  # still verifies (and finds) every file
        assert [h.id for h in s.search("uniq3")] == ["d3"]


# -- field size limit -------------------------------------------------------------------------

def test_field_over_the_size_limit_is_refused_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer, "MAX_FIELD_BYTES", 1000)
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer(workers=1) as w:
        w.add({"id": "kept", "body": "river stone"})
    before = results(ix)
    too_big = [
        ({"id": "big", "body": "x" * 1001}, "body", "at least 1,001"),
        ({"id": "big", "body": "é" * 600}, "body", "1,200 bytes"),  # 600 characters, 1,200 bytes of UTF-8
        ({"id": "big", "title": ("ü" * 501).encode("utf-8")}, "title", "at least 1,002"),
        ({"id": "big", "tags": ["a" * 600, "b" * 600]}, "tags", "1,200"),
        ({"id": "big", "meta": {"text": "m" * 1000}}, "meta", "bytes"),
    ]
    with ix.writer(workers=1) as w:
        for doc, field, size in too_big:
            with pytest.raises(DocumentError) as err:
                w.add(doc)
            message = str(err.value)
            assert "id='big'" in message and f"field {field!r}" in message, message
            assert "1,000 bytes" in message and size in message, message
        w.add({"id": "fits", "body": "é" * 400 + " river"})  # 806 bytes
    assert ix.doc_count() == 2
    after = results(ix)
    assert {hit[1] for hit in after["river"]} == {"kept", "fits"}
    assert [hit[1] for hit in before["running stone"]] == [hit[1] for hit in after["running stone"]] == ["kept"]
    assert len(after["_documents"]) == 2


def test_field_exactly_at_the_limit_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(buffer, "MAX_FIELD_BYTES", 1000)
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer(workers=1) as w:
        w.add({"id": "ascii", "body": "a" * 995 + " word"})  # 1,000 bytes
        w.add({"id": "multi", "body": "é" * 497 + " word"})  # 994 + 5 = 999 bytes
    assert {h.id for h in ix.search("word")} == {"ascii", "multi"}


def test_document_with_many_distinct_words(tmp_path, monkeypatch):
    # a field of only distinct words indexes completely and leaves no oversized cache behind; the
    # same with more words than the size limit allows is refused at once
    monkeypatch.setattr(buffer, "MAX_FIELD_BYTES", 64 * 1024)
    monkeypatch.setattr(analyze, "WORD_CACHE_LIMIT", 100)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [a + b + c + "q" for a in letters for b in letters for c in letters][:12_000]  # 5 bytes each
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard")))
    w = ix.writer(workers=1)
    try:
        w.add({"id": "many", "body": " ".join(words)})  # 60,000 bytes
        with pytest.raises(DocumentError, match=r"id='huge', field 'body'.*65,536 bytes"):
            w.add({"id": "huge", "body": " ".join(words * 2)})
        w._buffer.drain()
        fa = w._analysis.local["body"]
        assert len(fa.word_ids) + len(fa.vocab) <= 100  # started over after the big batch
        w.commit()
    finally:
        w.close()
    with ix.searcher() as s:
        assert s.doc_count() == 1
        for probe in (words[0], words[5_000], words[-1]):
            assert [h.id for h in s.search(probe)] == ["many"]
        assert s.readers[0].fields["body"].info["terms"] == len(words)


# -- merges ---------------------------------------------------------------------------------------

def test_plan_merges_takes_at_most_factor_segments():
    assert plan_merges([1] * 25, 10) == [list(range(10))]
    assert plan_merges([5] * 7, 3) == [[0, 1, 2]]


def test_plan_merges_respects_the_maximum_merged_size():
    # segments over half the cap are never merged again
    assert plan_merges([300] * 10, 10, max_docs=500) == []
    # a group stops before it would exceed the cap (any two eligible segments fit)
    assert plan_merges([100] * 10, 10, max_docs=450) == [[0, 1, 2, 3]]
    assert plan_merges([200] * 10, 10, max_docs=450) == [[0, 1]]
    # ineligible segments do not count towards a bucket's size
    assert plan_merges([300] * 5 + [200] * 9, 10, max_docs=500) == []
    # the token cap, when token counts are given
    assert plan_merges([10] * 10, 10, tokens=[100] * 10, max_tokens=350) == [[0, 1, 2]]
    assert plan_merges([10] * 10, 10, tokens=[200] * 10, max_tokens=350) == []
    with pytest.raises(ValueError):
        plan_merges([1, 1], 2, tokens=[1])
    # the default cap
    big = merge.MAX_MERGED_DOCS // 2
    assert plan_merges([big + 1] * 20, 10) == []
    assert plan_merges([big] * 10, 10) == [[0, 1]]
    for group in plan_merges([big // 3] * 10, 10):
        assert sum([big // 3] * len(group)) <= merge.MAX_MERGED_DOCS


@pytest.mark.slow
def test_merges_never_exceed_the_cap_in_a_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(merge, "MAX_MERGED_DOCS", 12)
    docs = make_docs(40)
    ix = Index.create(tmp_path / "ix", schema())
    for doc in docs:
        with ix.writer(workers=1, merge_factor=2) as w:
            w.add(doc)
    with ix.searcher() as s:
        sizes = [r.doc_count for r in s.readers]
    assert sum(sizes) == 40 and max(sizes) <= 12
    assert len(sizes) <= 40 // 6 + 4  # still merged: not one segment per commit


def test_merge_with_deletions_equals_a_fresh_build(tmp_path, monkeypatch):
    monkeypatch.setattr(merge, "CHUNK", 7)  # many small copy steps, terms larger than a step
    docs = make_docs(120)
    ix = build(tmp_path / "merged", docs, commits=6, buffer_tokens=300)
    deleted = {f"d{i}" for i in range(0, 120, 7)}
    with ix.writer(workers=1) as w:
        for key in deleted:
            w.delete(key)
        w.update({**docs[3], "body": "river river stone replaced"})
    ix.optimize()
    with ix.searcher() as s:
        assert len(s.readers) == 1
    live = [doc if doc["id"] != "d3" else {**doc, "body": "river river stone replaced"}
            for doc in docs if doc["id"] not in deleted and doc["id"] != "d3"]
    live.append({**docs[3], "body": "river river stone replaced"})
    fresh = build(tmp_path / "fresh", live)
    assert results(ix) == results(fresh)


def test_release_free_memory_is_harmless():
    import platform

    if platform.libc_ver()[0] == "glibc":  # the memory bound while indexing relies on malloc_trim here
        assert arrays._malloc_trim is not None
    assert arrays.release_free_memory() is None
    assert arrays.release_free_memory() is None


def test_writer_applies_the_merge_token_cap(tmp_path, monkeypatch):
    """The writer gives plan_merges each segment's token count, so long documents cannot build
    a merged segment over MAX_MERGED_TOKENS even when the document cap is far away."""
    monkeypatch.setattr(merge, "MAX_MERGED_TOKENS", 250)
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT()))
    for i in range(8):  # eight one-document commits of 100 tokens each
        with ix.writer(merge_factor=2) as w:
            w.add({"id": str(i), "body": " ".join(f"w{j}" for j in range(100))})
    with ix.searcher() as s:
        tokens = [r.meta["fields"]["body"]["tokens"] for r in s.readers]
    assert sum(tokens) == 800
    assert max(tokens) <= 250  # without the cap, merge_factor=2 would build one 800-token segment
    assert len(tokens) > 1


# -- merges stream: memory holds a range of the merged postings, never the whole ----------------

def _segment_bytes(ix: Index) -> dict[str, bytes]:
    root = ix.path / "segments"
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def _merged(path: Path, docs: list[dict], chunk: int, monkeypatch) -> dict[str, bytes]:
    monkeypatch.setattr(merge, "CHUNK", chunk)
    phrase_schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                           body=TEXT(analyzer="english", stored=True, passages="paragraph", index_phrases=True),
                           tags=KEYWORD(stored=True), meta=STORED())
    ix = build_in_commits(path, phrase_schema, docs, 5, workers=1, buffer_chars=2000)
    with ix.writer(workers=1) as w:
        for i in range(0, len(docs), 9):
            w.delete(docs[i]["id"])
    ix.optimize()
    return _segment_bytes(ix)


def test_a_merge_writes_the_same_bytes_whatever_its_copy_step(tmp_path, monkeypatch):
    """Postings and positions are streamed to their files a range of merged terms at a time
    (offsets a range of units at a time): ranges of a few postings, terms larger than a range and
    one range for everything must all write the bytes an in-memory merge writes."""
    docs = make_docs(150)
    whole = _merged(tmp_path / "whole", docs, 1 << 30, monkeypatch)
    assert any(name.endswith("body.pos.npy") for name in whole)
    for chunk in (1, 7, 300):
        assert _merged(tmp_path / f"c{chunk}", docs, chunk, monkeypatch) == whole, chunk


def test_write_array_pieces_writes_what_write_array_writes(tmp_path):
    for i, (dtype, rows) in enumerate([(np.uint32, [np.arange(5), np.arange(0), np.arange(7)]),
                                       (np.uint8, []), (np.int64, [np.arange(3) * 2**40])]):
        whole = np.concatenate(rows).astype(dtype) if rows else np.zeros(0, dtype)
        expected = files.write_array(tmp_path / f"a{i}.npy", whole)
        with files.write_array_pieces(tmp_path / f"b{i}.npy", dtype, (len(whole),)) as out:
            for piece in rows:
                out.write(piece)
        assert out.entry() == expected
        assert (tmp_path / f"a{i}.npy").read_bytes() == (tmp_path / f"b{i}.npy").read_bytes()
    with pytest.raises(ValueError, match="declared"):
        with files.write_array_pieces(tmp_path / "short.npy", np.uint32, (4,)) as out:
            out.write(np.arange(3))
    with pytest.raises(ValueError, match="declared"):
        with files.write_array_pieces(tmp_path / "long.npy", np.uint32, (2,)) as out:
            out.write(np.arange(3))


def test_a_merge_holds_a_range_not_the_merged_postings(tmp_path, monkeypatch):
    """tracemalloc sees numpy's allocations: merging segments whose merged postings, positions and
    offsets take megabytes must allocate a small part of that when ranges are small."""
    import tracemalloc

    from searchlib.indexing import writer as writer_module
    from searchlib.storage import spans

    lean = Schema(id=ID(unique=True), body=TEXT(offsets=True))
    rng = random.Random(5)
    pool = sorted({word(rng) for _ in range(3000)})  # a small vocabulary: postings outweigh terms
    docs = [{"id": str(i), "body": " ".join(rng.choices(pool, k=400))} for i in range(3000)]
    ix = build_in_commits(tmp_path / "ix", lean, docs, 4, workers=1)
    monkeypatch.setattr(merge, "CHUNK", 20_000)
    monkeypatch.setattr(spans, "CHUNK", 20_000)  # the spans' checkpoints are decoded a range at a time too
    real, peaks = writer_module.merge_segments, []

    def traced(readers, directory):  # the merge itself (opening its inputs checks them whole)
        tracemalloc.start()
        try:
            return real(readers, directory)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    monkeypatch.setattr(writer_module, "merge_segments", traced)
    ix.optimize()
    (peak,) = peaks
    with ix.searcher() as s:
        (reader,) = s.readers
        body = reader.fields["body"]
        merged = body.unit.nbytes + body.tf.nbytes + body.pos.nbytes + body.offsets.nbytes
    assert merged > 4_000_000
    assert peak < merged / 2, f"the merge held {peak / merged:.2f}x its merged postings, positions and offsets"


def test_merged_away_readers_are_closed_before_the_next_merge(tmp_path, monkeypatch):
    from searchlib.indexing import writer as writer_module

    ix = Index.create(tmp_path / "ix", schema())
    open_at_merge = []
    real = writer_module.merge_segments

    def recording(readers, directory):
        open_at_merge.append((set(w._readers), [r.directory.name for r in readers]))
        return real(readers, directory)

    monkeypatch.setattr(writer_module, "merge_segments", recording)
    docs = make_docs(40)
    w = ix.writer(workers=1, buffer_chars=300, merge_factor=2)
    try:
        for doc in docs:
            w.add(doc)
        w.commit()
    finally:
        w.close()
    assert len(open_at_merge) >= 3
    merged_away: set[str] = set()
    for opened, inputs in open_at_merge:
        assert not opened & merged_away  # readers of earlier merges' inputs were closed and dropped
        merged_away.update(inputs)
    assert results(ix) == results(build(tmp_path / "ref", docs))
