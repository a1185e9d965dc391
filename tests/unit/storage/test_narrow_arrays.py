"""Format searchlib-4: term frequencies and positions are written in the narrowest unsigned type
that holds them, posting and position pointers in int32 when they fit; reading, merging and
searching give the same answers whatever the types, and searchlib-3 indexes are still read."""
from __future__ import annotations

import numpy as np

from conftest import set_manifest_format
from searchlib import ID, TEXT, Index, Schema
from searchlib.storage import manifest
from searchlib.storage.arrays import chunks, narrow_offsets, narrowest_uint


def schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard", stored=True))


def body(ix: Index):
    with ix.searcher() as s:
        return [r.fields["body"] for r in s.readers]


def test_narrowest_types():
    assert [narrowest_uint(v) for v in (0, 255, 256, 65_535, 65_536, 2**32 - 1)] == [
        np.uint8, np.uint8, np.uint16, np.uint16, np.uint32, np.uint32]
    assert narrow_offsets(np.array([0, 5, 2**31 - 1], dtype=np.int64)).dtype == np.int32
    assert narrow_offsets(np.array([0, 2**31], dtype=np.int64)).dtype == np.int64


def test_chunks_over_int32_bounds_near_their_limit():
    # the probe value never exceeds the last bound, so int32 bounds cannot overflow it
    bounds = np.array([0, 2**31 - 10, 2**31 - 1], dtype=np.int32)
    assert list(chunks(bounds, 1 << 21)) == [(0, 1), (1, 2)]


def test_short_documents_take_one_byte_per_frequency_and_merges_widen(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer(workers=1) as w:
        w.add({"id": "a", "body": "river stone river"})
        w.add({"id": "b", "body": "stone"})
    (fr,) = body(ix)
    assert fr.tf.dtype == np.uint8 and fr.pos.dtype == np.uint8
    assert fr.ptr.dtype == np.int32 and fr.pptr.dtype == np.int32
    long_text = " ".join(["river"] * 300 + ["stone"])  # tf 300 and position 300: two bytes each
    with ix.writer(workers=1) as w:
        w.add({"id": "c", "body": long_text})
        w.commit(merge=False)
    assert sorted(f.tf.dtype.itemsize for f in body(ix)) == [1, 2]
    with ix.writer(workers=1) as w:
        w.optimize()
    (merged,) = body(ix)
    assert merged.tf.dtype == np.uint16 and merged.pos.dtype == np.uint16  # the widest of the inputs
    tid = merged.term_id("river")
    units, tf = merged.postings(tid)
    assert tf.tolist() == [2, 300]
    positions, owner = merged.positions(tid, np.arange(len(units)))
    assert positions[owner == 1].tolist() == list(range(300))
    with ix.searcher() as s:
        assert {h.id for h in s.search('"river stone"')} == {"a", "c"}
        assert {h.id for h in s.search('"stone river"')} == {"a"}  # a: river stone river


def test_an_index_of_format_3_is_read_as_it_is(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer(workers=1) as w:
        w.add({"id": "a", "body": "river stone"})
    assert manifest.FORMAT == "searchlib-7"  # 4 wrote the narrow arrays; 5 changed `english`; 6 added doc terms;
    # 7 the stored blocks' first documents, narrow token spans and zstd
    set_manifest_format(tmp_path / "ix", "searchlib-3")
    with Index.open(tmp_path / "ix").searcher() as s:
        assert [h.id for h in s.search("stone")] == ["a"]
