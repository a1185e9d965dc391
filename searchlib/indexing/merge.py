"""Merging segments: the merge policy, and combining several segments into one without deleted documents.

A merge streams whatever grows with its postings. Each field's postings and positions are copied a
range of merged terms at a time (about CHUNK postings or positions; a single term with more is a
range of its own) into buffers appended to their files (files.write_array_pieces), the block bounds
computed range by range; token spans (one-byte codes, storage/spans.py) are built in memory a range
of units at a time, ~1 byte per token position; stored fields are copied block by block (an input
that lost no document as its compressed blocks; one that lost some re-encoded through a reader of
its own, dropped once its documents are copied); the inputs' memory-mapped pages are released after
each range. So a merge holds one range (tens of MB) plus what grows with the merged segment's terms
and units: the term strings, a few int64 per term and input (where each input's block of postings
goes), a few numbers per unit (lengths, passage spans, offset pointers) and the spans' codes. The
writer closes the readers of merged-away segments after each
merge, so the merges of one commit do not add up. Measured with `benchmarks/index_memory.py` on the
scale corpus, 1,000,000 documents (three merges of ~283,000 documents from 10 inputs each): the
writer's peak during a merge is 650 MB anonymous and ~200 MB of mapped file pages, about its peak
while flushing (630 MB anonymous); it was 2.0 GB and 0.6 GB when a merge built its postings and
offsets in memory, and 2.9 GB and 1.7 GB at the third merge when merged-away readers stayed open.

The policy never builds a segment larger than MAX_MERGED_DOCS live documents (or MAX_MERGED_TOKENS
tokens, when the caller gives token counts), as Lucene caps its merged segment size; `optimize`
may exceed the cap. A field with `index_phrases` merges its pair postings in memory (pairs.merge:
block copies; only the distinct pair keys are sorted): 8 bytes per pair posting and 16 per pair of
the result, ~48 bytes per pair posting at the peak of the pair merge (tracemalloc around
pairs.merge of SciFact's pairs in four segments, an ad-hoc measurement: 0.58 pair postings per
token, so ~28 bytes per token of the field): for such fields the cap still bounds a merge's memory.
"""
from __future__ import annotations

from contextlib import ExitStack
from itertools import compress
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..storage.arrays import chunks, gather_ranges, release_free_memory, release_pages
from ..storage.blocks import block_bounds, block_ptr
from ..storage.components import Component
from ..storage.files import read_array, write_array_pieces
from ..storage.pairs import merge as merge_pairs
from ..storage.segment import FieldArrays, SegmentReader, write_segment
from ..storage.spans import encode as encode_spans, join_exceptions
from ..storage.stored import StoredReader

MERGE_FACTOR = 10
# The largest segment the policy merges into, in live documents. Segments of more than half of it
# are final, so an index of N documents keeps about N / 400,000 such segments plus the logarithmic
# tail (Lucene does the same with its 5 GB maximum merged segment). It bounds how much one merge
# rewrites, and the pair merge of index_phrases fields (see above); postings, positions and offsets
# are streamed whatever the size.
MAX_MERGED_DOCS = 500_000
# The same cap in tokens (a field with index_phrases needs ~28 bytes per token of its own while
# merging its pairs, see above), applied when the caller gives each segment's token count: it also
# bounds merges of long documents, which a count of documents cannot.
MAX_MERGED_TOKENS = 50_000_000
# Postings, positions or token offsets (or pair postings) copied per step of a merge: bounds its
# temporaries (~16 bytes each), except for a single term or pair with more, copied in one step.
CHUNK = 1 << 21


def plan_merges(live_counts: list[int], factor: int = MERGE_FACTOR, max_docs: int | None = None,
                tokens: list[int] | None = None, max_tokens: int | None = None) -> list[list[int]]:
    """Groups of segment indices to merge, keeping the count logarithmic in the number of commits.

    Segments are bucketed by the order of magnitude (base `factor`) of their live document count;
    when a bucket holds `factor` segments, its first (oldest) `factor` are merged into one segment
    of the next bucket, so each merge is bounded by the size class, however many segments a
    single commit flushed. Merged segments stay under a cap: segments holding more than half of
    `max_docs` live documents (or, when `tokens` gives each segment's token count, half of
    `max_tokens` tokens) are never merged again, and a group stops before it would exceed the cap.
    """
    if not isinstance(factor, int) or factor < 2:
        raise ValueError(f"the merge factor must be a whole number >= 2, got {factor!r}")
    max_docs = MAX_MERGED_DOCS if max_docs is None else max_docs
    max_tokens = MAX_MERGED_TOKENS if max_tokens is None else max_tokens
    if tokens is not None and len(tokens) != len(live_counts):
        raise ValueError("tokens must give one count per segment")
    sizes = tokens if tokens is not None else [0] * len(live_counts)
    buckets: dict[int, list[int]] = {}
    for i, n in enumerate(live_counts):
        if 2 * n > max_docs or 2 * sizes[i] > max_tokens:
            continue  # at (or near) the maximum size: merging it would build a segment over the cap
        level, size = 0, factor
        while size <= n:  # integer arithmetic: math.log(1000, 10) is 2.9999999999999996
            level, size = level + 1, size * factor
        buckets.setdefault(level, []).append(i)
    groups = []
    for _, members in sorted(buckets.items()):
        if len(members) < factor:
            continue
        group: list[int] = []
        docs = toks = 0
        for i in members[:factor]:
            if docs + live_counts[i] > max_docs or toks + sizes[i] > max_tokens:
                break
            group.append(i)
            docs, toks = docs + live_counts[i], toks + sizes[i]
        if len(group) >= 2:  # always true: any two eligible segments fit under the cap
            groups.append(group)
    return groups


class _Source:
    """One input segment's field, with its surviving units renumbered for the merged segment."""

    def __init__(self, f, keep_doc: np.ndarray, doc_offset: int, unit_offset: int, split: bool, has_pos: bool):
        self.f = f
        self.has_pos = has_pos
        self.ptr = np.asarray(f.ptr)
        self.pptr = np.asarray(f.pptr) if has_pos else None
        self.keep_unit = keep_doc[np.asarray(f.unit_doc)] if split else keep_doc
        self.all_kept = bool(self.keep_unit.all())
        self.kept_units = int(np.count_nonzero(self.keep_unit))
        # merged unit number of each old unit (meaningless for deleted units, never read for them)
        self.new_unit = (np.cumsum(self.keep_unit, dtype=np.int64) - 1 + unit_offset).astype(np.uint32)
        if split:
            new_doc = np.cumsum(keep_doc, dtype=np.int64) - 1 + doc_offset
            self.unit_doc = new_doc[np.asarray(f.unit_doc)[self.keep_unit]].astype(np.uint32)
        self.df, self.nq = self._kept_counts()

    def live_terms(self) -> tuple[list[str], np.ndarray]:
        """The terms with at least one surviving posting, and their old term ids."""
        live = self.df > 0
        return list(compress(self.f.dictionary.terms(), live.tolist())), np.flatnonzero(live)

    def chunks(self) -> Iterator[tuple[int, int]]:
        return chunks(self.pptr if self.has_pos else self.ptr, CHUNK)

    def _kept_counts(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Postings and positions of each old term that survive the deletions."""
        df = np.diff(self.ptr)
        nq = np.diff(self.pptr) if self.has_pos else None
        if self.all_kept:
            return df, nq
        unit, tf = self.f.unit, self.f.tf
        for t1, t2 in self.chunks():
            a, b = int(self.ptr[t1]), int(self.ptr[t2])
            keep = self.keep_unit[unit[a:b]]
            edges = self.ptr[t1:t2 + 1] - a
            kept = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
            df[t1:t2] = np.diff(kept[edges])
            if nq is not None:
                kept_tf = np.concatenate(([0], np.cumsum(np.where(keep, tf[a:b], 0), dtype=np.int64)))
                nq[t1:t2] = np.diff(kept_tf[edges])
        return df, nq


def _merge_field(name: str, readers: list[SegmentReader], live: list[np.ndarray],
                 doc_offsets: list[int], directory: Path) -> FieldArrays:
    """One field of the merged segment, its postings, positions and offsets streamed to their
    files in `directory` (the FieldArrays maps them from there and names them in `written`).

    The merged postings of a term are its postings in the first segment, then in the second, and
    so on (documents keep their order), so each (segment, term) block is copied once to a place
    computed from block sizes: no sort. Units are uint32; term frequencies and positions keep the
    widest type of the inputs. Memory holds arrays per term and per unit, and the postings or
    positions of one step (CHUNK, or one term's when it has more). Pair postings are merged in
    memory the same way (pairs.merge), sorting only the distinct pair keys.
    """
    fields = [r.fields[name] for r in readers]
    split = any(f.split for f in fields)
    text = any(f.lengths is not None for f in fields)
    has_pos = all(f.pos is not None for f in fields)

    sources: list[_Source] = []
    unit_offset = 0
    for f, keep_doc, doc_offset in zip(fields, live, doc_offsets):
        src = _Source(f, keep_doc, int(doc_offset), unit_offset, split, has_pos)
        unit_offset += src.kept_units
        sources.append(src)
    # Only terms with a surviving posting enter the merged dictionary: a term whose documents
    # were all deleted is dropped, so dictionaries shrink with deletions instead of only growing.
    live_terms = [src.live_terms() for src in sources]
    vocab: set[str] = set()
    for keys, _ in live_terms:
        vocab.update(keys)
    terms = sorted(vocab)  # the merged term ids are ranks in code-point order
    del vocab
    n_terms = len(terms)
    merged_id = dict(zip(terms, range(n_terms)))

    # Per input segment: the merged id of each of its term ids (-1 for a dropped term), and which
    # of its terms are kept.
    remaps: list[np.ndarray] = []
    kept_terms: list[np.ndarray] = []
    for src, (keys, old_ids) in zip(sources, live_terms):
        remap = np.full(len(src.df), -1, dtype=np.int64)
        remap[old_ids] = np.fromiter(map(merged_id.__getitem__, keys), dtype=np.int64, count=len(keys))
        remaps.append(remap)
        kept_terms.append(remap >= 0)
    del live_terms, merged_id

    # Where each merged term's postings and positions start.
    df = np.zeros(n_terms, dtype=np.int64)
    nq = np.zeros(n_terms, dtype=np.int64)
    for src, remap, kept in zip(sources, remaps, kept_terms):
        df[remap[kept]] += src.df[kept]  # one-to-one on the kept terms: no repeated indices
        if has_pos:
            nq[remap[kept]] += src.nq[kept]
    ptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=ptr[1:])
    pptr = None
    if has_pos:
        pptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(nq, out=pptr[1:])
    del df, nq

    lengths = unit_doc = unit_span = None
    if text:
        lengths = np.concatenate([np.asarray(s.f.lengths)[s.keep_unit] for s in sources]).astype(np.uint32)
    if split:
        unit_doc = np.concatenate([s.unit_doc for s in sources]).astype(np.uint32)
        unit_span = np.concatenate([np.asarray(s.f.unit_span)[s.keep_unit] for s in sources]).astype(np.int64)
        unit_span = unit_span.reshape(-1, 2)

    # Where each input's block of each term's postings (and positions) goes: the merged term's
    # postings are the first input's, then the second's, and so on.
    next_posting = ptr[:-1].copy()
    next_position = pptr[:-1].copy() if has_pos else None
    blocks: list[_Blocks] = []
    for src, remap, kept in zip(sources, remaps, kept_terms):
        targets = remap[kept]
        # A dropped term has no surviving postings or positions (src.df and src.nq are 0): its
        # block is empty and its start never read.
        start = np.zeros(len(remap), dtype=np.int64)
        start[kept] = next_posting[targets]
        next_posting[targets] += src.df[kept]
        pstart = None
        if has_pos:
            pstart = np.zeros(len(remap), dtype=np.int64)
            pstart[kept] = next_position[targets]
            next_position[targets] += src.nq[kept]
        blocks.append(_Blocks(src, start, pstart, np.flatnonzero(kept), targets))
    del next_posting, next_position, kept_terms
    # frequencies and positions keep the widest type of the inputs (each the narrowest for its own)
    tf_type = np.result_type(*(f.tf.dtype for f in fields))
    pos_type = np.result_type(*(f.pos.dtype for f in fields)) if has_pos else None
    unit, tf, pos, written, bounds = _stream_postings(directory, name, blocks, ptr, pptr, tf_type, pos_type, lengths)
    del blocks

    offsets = offsets_exc = offsets_ptr = None
    if all(f.offsets is not None for f in fields):  # a segment without them cannot lend its offsets
        offsets, offsets_exc, offsets_ptr = _merged_offsets(sources)
    pairs = None
    if all(f.pairs is not None for f in fields):  # a segment without them cannot lend its pairs
        pairs = merge_pairs([(f.pairs, remap, src.keep_unit, src.new_unit)
                             for f, remap, src in zip(fields, remaps, sources)], CHUNK)
    for src in sources:  # every input array of the field is read: its pages leave this process
        release_pages(*src.f.field_arrays().values())
    return FieldArrays(terms, ptr, unit, tf, pptr, pos, lengths=lengths, unit_doc=unit_doc, unit_span=unit_span,
                       pairs=pairs, offsets=offsets, offsets_exc=offsets_exc, offsets_ptr=offsets_ptr,
                       written=written, blocks=bounds)


class _Blocks(NamedTuple):
    """Where one input's postings of each of its terms go in the merged field."""

    src: _Source
    start: np.ndarray  # int64 per old term id: its postings' first place among the merged postings
    pstart: np.ndarray | None  # the same for its positions
    kept_old: np.ndarray  # the old ids of the terms kept, ascending
    kept_new: np.ndarray  # their merged ids (ascending too: both are ranks in code-point order)

    def terms_in(self, m1: int, m2: int) -> tuple[int, int]:
        """The range of old term ids whose kept terms are the merged terms m1..m2 (dropped terms,
        whose postings are all deleted, may lie inside it); empty if it has none of them."""
        i1, i2 = np.searchsorted(self.kept_new, (m1, m2)).tolist()
        return (int(self.kept_old[i1]), int(self.kept_old[i2 - 1]) + 1) if i2 > i1 else (0, 0)


def _stream_postings(directory: Path, name: str, blocks: "list[_Blocks]", ptr: np.ndarray, pptr: "np.ndarray | None",
                     tf_type: np.dtype, pos_type: "np.dtype | None", lengths: "np.ndarray | None"):
    """Write the merged field's postings (units, term frequencies) and positions to their files,
    range of merged terms by range (about CHUNK postings, or positions, each; a single term with
    more is a range of its own): each input's postings of those terms are copied to their places
    in the range, which is then appended to the files. Memory holds one range, whatever the size
    of the merged segment, and the inputs' pages read so far are released after each range.

    Returns (unit, tf, pos) memory-mapped from the files written, their manifest entries by
    component, and the block bounds (blocks.py) computed range by range (None without lengths)."""
    has_pos = pptr is not None
    files = {Component.UNIT: (np.uint32, int(ptr[-1])), Component.TF: (tf_type, int(ptr[-1]))}
    if has_pos:
        files[Component.POS] = (pos_type, int(pptr[-1]))
    bounds = []
    with ExitStack() as stack:
        out = {c: stack.enter_context(write_array_pieces(directory / c.file(name), dtype, (count,)))
               for c, (dtype, count) in files.items()}
        for m1, m2 in chunks(pptr if has_pos else ptr, CHUNK):
            a0, b0 = int(ptr[m1]), int(ptr[m2])
            unit, tf = np.empty(b0 - a0, dtype=np.uint32), np.empty(b0 - a0, dtype=tf_type)
            if has_pos:
                c0 = int(pptr[m1])
                pos = np.empty(int(pptr[m2]) - c0, dtype=pos_type)
            for blk in blocks:
                t1, t2 = blk.terms_in(m1, m2)
                if t1 == t2:
                    continue
                src, f = blk.src, blk.src.f
                a, b = int(src.ptr[t1]), int(src.ptr[t2])
                units, tfs = f.unit[a:b], f.tf[a:b]
                keep = None
                if not src.all_kept:
                    keep = src.keep_unit[units]
                    units, tfs = units[keep], tfs[keep]
                dest = gather_ranges(blk.start[t1:t2] - a0, src.df[t1:t2])
                unit[dest] = src.new_unit[units]
                tf[dest] = tfs
                del dest, units, tfs
                if has_pos:
                    positions = f.pos[int(src.pptr[t1]):int(src.pptr[t2])]
                    if keep is not None:
                        positions = positions[np.repeat(keep, f.tf[a:b])]
                    pos[gather_ranges(blk.pstart[t1:t2] - c0, src.nq[t1:t2])] = positions
                    del positions
            out[Component.UNIT].write(unit)
            out[Component.TF].write(tf)
            if has_pos:
                out[Component.POS].write(pos)
                del pos
            if lengths is not None:  # a term's blocks lie within one range: the ranges' bounds concatenate
                bounds.append(block_bounds(ptr[m1:m2 + 1] - a0, unit, tf, lengths)[1])
            del unit, tf
            for blk in blocks:  # what was read of the inputs is not read again
                release_pages(blk.src.f.unit, blk.src.f.tf, blk.src.f.pos)
    written = {c: w.entry() for c, w in out.items()}
    arrays = [read_array(directory / c.file(name), written[c]["size"]) for c in files]
    block_pair = None
    if lengths is not None:
        block_pair = (block_ptr(ptr), np.concatenate(bounds) if bounds else np.zeros((0, 2), dtype=np.uint32))
    return arrays[0], arrays[1], arrays[2] if has_pos else None, written, block_pair


def _merged_offsets(sources: "list[_Source]") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The token spans of the surviving units, unit by unit, as one-byte codes, their exceptions
    (storage/spans.py) and their pointers. A unit's codes do not depend on where it sits, so a
    source's codes are copied and its exceptions renumbered; uint32 pairs (format 6, or codes that
    did not pay) are encoded. CHUNK positions at a time: temporaries stay a few tens of MB."""
    code_parts, exc_parts, counts = [], [], []
    row0 = 0
    for s in sources:
        f = s.f
        optr = np.asarray(f.offsets_ptr, dtype=np.int64)
        kept = np.flatnonzero(s.keep_unit)
        n = np.diff(optr)[kept]
        bounds = np.zeros(len(n) + 1, dtype=np.int64)
        np.cumsum(n, out=bounds[1:])
        new_start = np.zeros(len(optr) - 1, dtype=np.int64)  # per source unit: its first position in the result
        new_start[kept] = bounds[:-1] + row0
        base = None if f.unit_span is None else np.asarray(f.unit_span)[:, 0]
        rows_of_exc = None if f.offsets_exc is None else np.asarray(f.offsets_exc[0])
        for k1, k2 in chunks(bounds, CHUNK):
            units = kept[k1:k2]
            rows = gather_ranges(optr[units], n[k1:k2])
            if rows_of_exc is None:
                wide = np.asarray(f.offsets)[rows]
                codes, exc, _ = encode_spans(wide[:, 0], wide[:, 1], n[k1:k2], None if base is None else base[units],
                                          int(new_start[units[0]]))
            else:
                codes = np.asarray(f.offsets)[rows]
                lo, hi = np.searchsorted(rows_of_exc, [optr[units[0]], optr[units[-1] + 1]])
                at = rows_of_exc[lo:hi]
                owner = np.searchsorted(optr, at, side="right") - 1
                keep = s.keep_unit[owner]
                owner = owner[keep]
                exc = np.stack([at[keep] - optr[owner] + new_start[owner], f.offsets_exc[1][lo:hi][keep],
                                f.offsets_exc[2][lo:hi][keep]])
            code_parts.append(codes)
            exc_parts.append(exc)
            del rows
        row0 += int(bounds[-1])
        counts.append(n)
        release_pages(f.offsets, f.offsets_exc)
    n = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    ptr = np.zeros(len(n) + 1, dtype=np.int64)
    np.cumsum(n, out=ptr[1:])
    codes = np.concatenate(code_parts) if code_parts else np.zeros(0, np.uint8)
    return codes, join_exceptions(exc_parts), ptr


def _stored(readers: list[SegmentReader], live: list[np.ndarray]) -> "Iterator[dict | StoredReader]":
    """The stored fields of the live documents, in order, read block by block as they are written;
    a segment that lost no document is handed over whole, its compressed blocks to be copied.

    A segment that lost documents is read through a reader of its own, closed (and its cache of
    decoded blocks, up to stored.CACHE_BYTES of JSON, dropped) once its documents are copied: the
    merge holds one input's cache, not every input's for as long as the writer keeps their readers."""
    for reader, keep in zip(readers, live):
        if keep.all():
            yield reader.stored
            continue
        stored = StoredReader(reader.directory, reader.files, reader.doc_count)  # verified when `reader` opened
        try:
            for doc in np.flatnonzero(keep):
                yield stored.document(int(doc))  # encoded at once: no copy needed
        finally:
            stored.close()
        del stored


def release_segment_pages(reader: SegmentReader) -> None:
    """Drop the pages of a segment's memory-mapped arrays from this process's resident memory: a
    reader opened for a merge has read every one of them (its checks), and the merge reads them
    again a range at a time (from the page cache), so they need not all stay mapped meanwhile."""
    for f in reader.fields.values():
        release_pages(*f.field_arrays().values())
        if f.pairs is not None:
            release_pages(f.pairs.keys, f.pairs.ptr, f.pairs.unit, f.pairs.tf)
    release_pages(*reader.columns.values())


def merge_segments(readers: list[SegmentReader], directory: Path) -> tuple[int, dict[str, dict]]:
    """Write one segment holding the live documents of `readers`, in order; return (doc count, files).

    Postings, positions, offsets and stored documents are streamed to their files; memory grows
    with the merged segment's terms and units only (see the module docstring).
    """
    live = [r.live if r.live is not None else np.ones(r.doc_count, dtype=bool) for r in readers]
    counts = [int(m.sum()) for m in live]
    doc_offsets = list(np.cumsum([0] + counts[:-1]))
    names = sorted(set().union(*(r.fields for r in readers)))
    col_names = sorted(set().union(*(r.columns for r in readers)))
    columns = {c: np.concatenate([np.asarray(r.columns[c])[m] for r, m in zip(readers, live)]) for c in col_names}
    # each field merged when it is written, and dropped before the next is merged
    fields = ((name, _merge_field(name, readers, live, doc_offsets, directory)) for name in names)
    files = write_segment(directory, sum(counts), fields, columns, _stored(readers, live))
    del columns
    release_free_memory()
    return sum(counts), files
