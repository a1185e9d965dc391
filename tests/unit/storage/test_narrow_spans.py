"""Token spans in one byte per position (format searchlib-7, storage/spans.py): exact round trips
(tokens of 256+ characters, gaps, fields of 65,536+ characters, passages), forged files refused,
format-6 segments read and merged with format-7 ones, escape-heavy fields kept as uint32 pairs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import rewrite, segment_file
from searchlib import ID, TEXT, Index, IndexCorruptError, Schema
from searchlib.storage import manifest, segment, spans
from searchlib.storage.check import check_index
from searchlib.storage.manifest import generations, manifest_name
from searchlib.storage.segment import FieldArrays

LONG_FIELD = " ".join(f"w{i}" for i in range(14_000)) + " needle end"  # > 65,536 characters
assert len(LONG_FIELD) > 65_536
DOCS = [
    {"id": "plain", "body": "Alpha beta gamma. Delta, epsilon; zeta!", "notes": "First note. Second alpha note."},
    {"id": "long-token", "body": "alpha " + "x" * 300 + " beta " + "y" * 40 + " gamma",
     "notes": "A " + "z" * 260 + " note. Then beta."},
    {"id": "gaps", "body": "alpha" + " " * 10 + "beta -------- gamma\n\n\n\n\n\n\n\ndelta",
     "notes": "Gap          here.        Another       gap beta."},
    {"id": "long-field", "body": LONG_FIELD, "notes": LONG_FIELD[:70_000] + ". needle."},
    {"id": "empty", "body": "", "notes": ""},
]
QUERIES = ("alpha", "beta", '"alpha beta"', "gamma OR delta", "needle", "w13999", '"beta gamma"~3', "note")


def _schema(offsets=None) -> Schema:
    return Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True, offsets=offsets),
                  notes=TEXT(stored=True, passages="sentences", offsets=offsets))


def _build(path, docs=DOCS, offsets=None, commits=1) -> Index:
    ix = Index.create(path, _schema(offsets))
    size = -(-len(docs) // commits)
    for start in range(0, len(docs), size):
        with ix.writer(workers=1) as w:
            for doc in docs[start:start + size]:
                w.add(doc)
    return ix


def _answers(ix) -> list:
    with ix.searcher() as s:
        return [[(h.id, h.snippet, h.highlights) for h in s.search(q)] for q in QUERIES]


def _spans_of(ix) -> dict:
    with ix.searcher() as s:
        return {(r.stored.get(int(d))["id"], name): fr.unit_offsets(int(u)).tolist()
                for r in s.readers for name, fr in r.fields.items() if fr.offsets is not None
                for u, d in enumerate(np.asarray(fr.unit_doc) if fr.split else range(fr.units))}


def test_spans_round_trip_exactly(tmp_path, monkeypatch):
    packed = _build(tmp_path / "packed")
    with packed.searcher() as s:
        fields = s.readers[0].fields
        assert fields["body"].offsets.dtype == np.uint8 and fields["body"].offsets.ndim == 1
        assert fields["body"].offsets_exc.shape[1] > 0  # the long tokens and gaps are escaped
        assert fields["body"].offsets_ptr.dtype == np.int32
    monkeypatch.setattr(spans, "packed_pays", lambda positions, exceptions: False)
    wide = _build(tmp_path / "wide")
    monkeypatch.undo()
    with wide.searcher() as s:
        assert s.readers[0].fields["body"].offsets.dtype == np.uint32 and s.readers[0].fields["body"].offsets_exc is None
    assert _spans_of(packed) == _spans_of(wide)
    with Index.open(tmp_path / "packed").searcher() as s:
        fr = s.readers[0].fields["body"]
        doc = [int(d) for d in range(fr.units) if s.readers[0].stored.get(d)["id"] == "long-token"][0]
        text = s.readers[0].stored.get(doc)["body"]
        assert [text[a:b] for a, b in fr.unit_offsets(doc).tolist()] == ["alpha", "x" * 300, "beta", "y" * 40, "gamma"]
    assert _answers(packed) == _answers(wide) == _answers(_build(tmp_path / "plain", offsets=False))
    assert check_index(tmp_path / "packed").ok


def _random_spans(rng, units: int, split: bool):
    """Spans of `units` units (gaps and lengths that fit a code or not, overlaps, passages' bases)."""
    counts = rng.integers(0, 80, units)
    base = rng.integers(0, 1000, units) if split else None
    starts, ends = [], []
    for u, count in enumerate(counts.tolist()):
        at = 0 if base is None else int(base[u])
        for _ in range(count):
            at = max(at + int(rng.choice([0, 1, 1, 2, 5, 6, 7, 300, -1])), 0)
            length = int(rng.choice([0, 2, 3, 5, 30, 31, 300, 70_000]))
            starts.append(at)
            ends.append(at + length)
            at += length
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), counts, base


def test_spans_of_fewer_positions_than_a_checkpoint_stride(tmp_path):
    docs = [{"id": "a", "body": "third", "notes": "x"}, {"id": "b", "body": "one  two", "notes": ""}]
    ix = _build(tmp_path / "ix", docs)
    assert _spans_of(ix)[("a", "body")] == [[0, 5]] and _spans_of(ix)[("b", "body")] == [[0, 3], [5, 8]]
    plain = _build(tmp_path / "plain", docs, offsets=False)
    with ix.searcher() as s, plain.searcher() as p:
        assert [h.highlight("body") for h in s.search("third OR two")] == \
               [h.highlight("body") for h in p.search("third OR two")]
        assert "<mark>third</mark>" in s.search("third")[0].highlight("body")


@pytest.mark.parametrize("split", [False, True])
def test_random_spans_round_trip_by_unit_and_by_position(split):
    rng = np.random.default_rng(7)
    for _ in range(60):
        starts, ends, counts, base = _random_spans(rng, int(rng.integers(1, 30)), split)
        ptr = np.concatenate([[0], np.cumsum(counts)])
        codes, exceptions, marks = spans.encode(starts, ends, counts, base)
        assert np.array_equal(marks, spans.checkpoints(codes, exceptions, ptr, base))
        half = len(counts) // 2  # encoded in two batches, as a writer's buffer appends them
        first = spans.encode(starts[:ptr[half]], ends[:ptr[half]], counts[:half], None if base is None else base[:half])
        second = spans.encode(starts[ptr[half]:], ends[ptr[half]:], counts[half:],
                              None if base is None else base[half:], int(ptr[half]))
        assert np.array_equal(np.concatenate([first[0], second[0]]), codes)
        assert np.array_equal(np.concatenate([first[1], second[1]], axis=1), exceptions)
        assert np.array_equal(np.concatenate([first[2], second[2]]), marks)
        units = np.arange(len(counts))
        got = spans.decode(codes, exceptions, ptr, base, units, counts)
        assert np.array_equal(got[0], starts) and np.array_equal(got[1], ends)
        if len(starts):
            wanted = rng.choice(np.flatnonzero(counts), 50)
            positions = (rng.random(50) * counts[wanted]).astype(np.int64)
            got = spans.SpanReader(codes, exceptions, marks, ptr, base).at(wanted, positions)
            assert np.array_equal(got[0], starts[ptr[wanted] + positions])
            assert np.array_equal(got[1], ends[ptr[wanted] + positions])


def test_escape_heavy_spans_are_written_as_uint32_pairs():
    starts = np.arange(1000, dtype=np.int64)  # overlapping bigrams: every gap is -1, escaped
    ends = starts + 2
    codes, exceptions, _ = spans.encode(starts, ends, np.array([1000]))
    assert exceptions.shape == (3, 999) and not spans.packed_pays(1000, 999)  # (the first starts at 0)
    fa = FieldArrays([], np.zeros(1, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.uint8),
                     offsets=codes, offsets_exc=exceptions, offsets_ptr=np.array([0, 1000]))
    wide, none = fa._spans()
    assert none is None and wide.dtype == np.uint32 and wide.tolist() == np.stack([starts, ends], 1).tolist()


def _only(ix, doc_id: str, field: str = "body"):
    """Segment number and unit of document `doc_id` in an index of one segment."""
    with ix.searcher() as s:
        (reader,) = s.readers
        return next(d for d in range(reader.doc_count) if reader.stored.get(d)["id"] == doc_id)


@pytest.mark.parametrize("forgery", ["escape without exception", "exception dropped", "exception gap",
                                     "pointer past the end", "checkpoint"])
def test_forged_spans_are_refused_naming_the_file(tmp_path, forgery):
    ix = _build(tmp_path / "ix")
    offs, offx, optr = (np.load(segment_file(ix, f"body.{s}.npy")) for s in ("offs", "offx", "optr"))
    doc = _only(ix, "plain")
    if forgery == "escape without exception":
        offs = offs.copy()
        offs[int(optr[doc]) + 1] = 0xFF
        damaged = rewrite(ix, 0, "body.offs.npy", offs)
    elif forgery == "exception dropped":
        damaged = rewrite(ix, 0, "body.offx.npy", offx[:, 1:].copy())
    elif forgery == "exception gap":
        offx = offx.copy()
        offx[1, 0] = -(2**40)
        damaged = rewrite(ix, 0, "body.offx.npy", offx)
    elif forgery == "checkpoint":
        offk = np.load(segment_file(ix, "body.offk.npy")).copy()
        offk[-1] += 3
        damaged = rewrite(ix, 0, "body.offk.npy", offk)
    else:
        optr = optr.copy()
        optr[doc + 1:-1] = len(offs) + 5
        damaged = rewrite(ix, 0, "body.optr.npy", optr)
    with pytest.raises(IndexCorruptError) as info:
        Index.open(tmp_path / "ix", verify=True).searcher().close()
    assert info.value.path.endswith(("body.offs.npy", "body.offx.npy", "body.optr.npy", "body.offk.npy"))
    report = check_index(tmp_path / "ix")
    assert not report.ok and any(damaged.name in str(p) or "body.off" in str(p) for p in report.problems)
    if forgery not in ("pointer past the end", "checkpoint"):  # (opening refuses the first whatever the
        # verification; a forged checkpoint is self-consistent: only verification and `check` see it)
        with Index.open(tmp_path / "ix").searcher() as s:  # not verified: the snippet's decoding refuses
            with pytest.raises(IndexCorruptError, match="body.off") as info:
                [h.highlight("body") for h in s.search("alpha OR beta OR gamma OR needle")]


def _format(path) -> str:
    """The format name the newest manifest of the index at `path` was written with."""
    return json.loads(json.loads((path / manifest_name(generations(path)[-1])).read_bytes())["manifest"])["format"]


def test_format_6_segments_are_read_and_merged_with_format_7(tmp_path, monkeypatch):
    old_docs = DOCS[:3] + [dict(d, id=d["id"] + "-old") for d in DOCS[1:4]]
    new_docs = [dict(d, id=d["id"] + "-new") for d in DOCS]
    path = tmp_path / "ix"
    monkeypatch.setattr(spans, "packed_pays", lambda positions, exceptions: False)  # format 6's uint32 pairs
    monkeypatch.setattr(manifest, "FORMAT", "searchlib-6")
    monkeypatch.setattr(segment, "narrow_offsets", lambda offsets: offsets)  # format 6's int64 offset pointers
    _build(path, old_docs)
    monkeypatch.undo()
    assert _format(path) == "searchlib-6"
    with Index.open(path).searcher() as s:
        assert s.readers[0].fields["body"].offsets_ptr.dtype == np.int64
    plain = _build(tmp_path / "plain", old_docs, offsets=False)
    assert _answers(Index.open(path)) == _answers(plain)
    ix = Index.open(path)
    with ix.writer(workers=1) as w:
        for d in new_docs:
            w.add(d)
        w.delete("plain")  # deletions in both segments: kept units' spans move
        w.delete("long-token-new")
        w.commit(merge=False)
    with ix.searcher() as s:
        assert sorted(r.fields["body"].offsets.dtype.itemsize for r in s.readers) == [1, 4]
    ix.optimize()
    with ix.writer(workers=1) as w:
        w.optimize()
    with ix.searcher() as s:
        (reader,) = s.readers
        assert reader.fields["body"].offsets.dtype == np.uint8 and reader.fields["notes"].offsets.dtype == np.uint8
    assert _format(path) == "searchlib-7"
    kept = [d for d in old_docs + new_docs if d["id"] not in ("plain", "long-token-new")]
    assert _answers(ix) == _answers(_build(tmp_path / "plain2", kept, offsets=False))
    assert _spans_of(ix) == _spans_of(_build(tmp_path / "fresh", kept))
    assert check_index(path).ok
