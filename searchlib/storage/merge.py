"""Merging segments: the merge policy, and combining several segments into one without deleted documents."""
from __future__ import annotations

from pathlib import Path

import marisa_trie
import numpy as np

from .segment import FieldArrays, SegmentReader, gather_ranges, write_segment

MERGE_FACTOR = 10


def plan_merges(live_counts: list[int], factor: int = MERGE_FACTOR) -> list[list[int]]:
    """Groups of segment indices to merge, keeping the count logarithmic in the number of commits.

    Segments are bucketed by the order of magnitude (base `factor`) of their live document count;
    any bucket holding `factor` segments is merged into one segment of the next bucket.
    """
    if not isinstance(factor, int) or factor < 2:
        raise ValueError(f"the merge factor must be a whole number >= 2, got {factor!r}")
    buckets: dict[int, list[int]] = {}
    for i, n in enumerate(live_counts):
        level, size = 0, factor
        while size <= n:  # integer arithmetic: math.log(1000, 10) is 2.9999999999999996
            level, size = level + 1, size * factor
        buckets.setdefault(level, []).append(i)
    return [members for _, members in sorted(buckets.items()) if len(members) >= factor]


def _merge_field(name: str, readers: list[SegmentReader], live: list[np.ndarray],
                 doc_offsets: list[int]) -> FieldArrays:
    fields = [r.fields[name] for r in readers]
    vocab = set()
    for f in fields:
        vocab.update(f.trie.keys())
    trie = marisa_trie.Trie(vocab)
    split = any(f.split for f in fields)
    text = any(f.lengths is not None for f in fields)
    has_pos = all(f.pos is not None for f in fields)

    tids, units, tfs, pos_chunks = [], [], [], []
    lengths, unit_docs, spans = [], [], []
    unit_offset = 0
    for f, keep_doc, doc_offset in zip(fields, live, doc_offsets):
        new_doc = np.cumsum(keep_doc) - 1 + doc_offset
        if split:
            keep_unit = keep_doc[f.unit_doc]
            unit_docs.append(new_doc[f.unit_doc[keep_unit]])
            spans.append(np.asarray(f.unit_span)[keep_unit])
        else:
            keep_unit = keep_doc
        if text:
            lengths.append(np.asarray(f.lengths)[keep_unit])
        new_unit = np.cumsum(keep_unit) - 1 + unit_offset
        unit_offset += int(keep_unit.sum())

        remap = np.zeros(len(f.trie), dtype=np.int64)
        for key, old in f.trie.items():
            remap[old] = trie[key]
        df = np.diff(np.asarray(f.ptr))
        tid = np.repeat(remap, df)
        unit = np.asarray(f.unit)
        tf = np.asarray(f.tf, dtype=np.int64)
        keep = keep_unit[unit]
        if has_pos:
            starts = np.concatenate(([0], np.cumsum(tf)[:-1]))
            pos_chunks.append(np.asarray(f.pos)[gather_ranges(starts[keep], tf[keep])])
        tids.append(tid[keep])
        units.append(new_unit[unit[keep]])
        tfs.append(tf[keep])

    tid = np.concatenate(tids) if tids else np.zeros(0, np.int64)
    unit = np.concatenate(units) if units else np.zeros(0, np.int64)
    tf = np.concatenate(tfs) if tfs else np.zeros(0, np.int64)
    order = np.lexsort((unit, tid))
    ptr = np.searchsorted(tid[order], np.arange(len(trie) + 1)).astype(np.int64)
    pptr = pos = None
    if has_pos:
        all_pos = np.concatenate(pos_chunks)
        src_starts = np.concatenate(([0], np.cumsum(tf)[:-1]))
        pos = all_pos[gather_ranges(src_starts[order], tf[order])].astype(np.uint32)
        tf_cum = np.concatenate(([0], np.cumsum(tf[order])))
        pptr = tf_cum[ptr].astype(np.int64)
    return FieldArrays(
        trie, ptr, unit[order].astype(np.uint32), tf[order].astype(np.uint32), pptr, pos,
        lengths=np.concatenate(lengths).astype(np.uint32) if text else None,
        unit_doc=np.concatenate(unit_docs).astype(np.uint32) if split else None,
        unit_span=np.concatenate(spans).astype(np.int64).reshape(-1, 2) if split else None,
    )


def merge_segments(readers: list[SegmentReader], directory: Path) -> tuple[int, dict[str, dict]]:
    """Write one segment holding the live documents of `readers`, in order; return (doc count, files)."""
    live = [r.live if r.live is not None else np.ones(r.doc_count, dtype=bool) for r in readers]
    counts = [int(m.sum()) for m in live]
    doc_offsets = list(np.cumsum([0] + counts[:-1]))
    names = sorted(set().union(*(r.fields for r in readers)))
    fields = {name: _merge_field(name, readers, live, doc_offsets) for name in names}
    col_names = sorted(set().union(*(r.columns for r in readers)))
    columns = {c: np.concatenate([np.asarray(r.columns[c])[m] for r, m in zip(readers, live)]) for c in col_names}
    stored = [r.stored.get(int(d)) for r, m in zip(readers, live) for d in np.flatnonzero(m)]
    return sum(counts), write_segment(directory, sum(counts), fields, columns, stored)
