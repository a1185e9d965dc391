"""Block bounds: for every block of BLOCK postings of a term, the most its postings can score.

Dynamic pruning (search/prune.py) skips postings that cannot enter the top k, as Lucene's block-max
WAND / MaxScore and tantivy's block-WAND do. It needs, for a run of postings, an upper bound of
their scores that costs one read instead of one per posting. A term's postings (in unit order)
are cut into blocks of BLOCK; for each block the writer stores the largest term frequency and the
smallest unit length among its postings. Every BM25-family score rises with the term frequency and
falls with the length (BM25, BM25F's per-field parts, and variants such as BM25L or BM25+), so the
score at (largest tf, smallest length) bounds every posting of the block, whatever k1, b, idf or
boost a query uses: the bounds depend on nothing but the postings, and are written at flush and at
merge from the postings being written (write_segment).

Two arrays per field with lengths (components.py): BLOCKPTR int64[T+1], the blocks of term t are
[bptr[t], bptr[t+1]) (block j of t holds its postings ptr[t] + BLOCK * (j - bptr[t]) onwards), and
BLOCKMAX uint32[B, 2], each block's (largest tf, smallest length).
"""
from __future__ import annotations

import numpy as np

BLOCK = 128  # postings per block, as Lucene's and tantivy's posting blocks
_CHUNK = 1 << 21  # postings whose lengths are gathered at a time (bounds the temporaries)


def block_ptr(ptr: np.ndarray) -> np.ndarray:
    """Where each term's blocks start among the field's blocks (and where the last ends)."""
    counts = (np.diff(np.asarray(ptr, dtype=np.int64)) + BLOCK - 1) // BLOCK
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def block_starts(ptr: np.ndarray, bptr: np.ndarray) -> np.ndarray:
    """The index of the first posting of every block (int64[B]), term by term."""
    ptr = np.asarray(ptr, dtype=np.int64)
    counts = np.diff(bptr)
    first = np.repeat(ptr[:-1], counts)
    rank = np.arange(int(bptr[-1]), dtype=np.int64) - np.repeat(bptr[:-1], counts)
    return first + rank * BLOCK


def block_bounds(ptr: np.ndarray, unit: np.ndarray, tf: np.ndarray, lengths: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(BLOCKPTR, BLOCKMAX) of a field's postings (see the module's docstring), vectorised: one
    reduceat over the frequencies, one over the units' lengths, gathered a chunk at a time."""
    bptr = block_ptr(ptr)
    starts = block_starts(ptr, bptr)
    bounds = np.zeros((len(starts), 2), dtype=np.uint32)
    if not len(starts):
        return bptr, bounds
    bounds[:, 0] = np.maximum.reduceat(np.asarray(tf), starts)
    lengths = np.asarray(lengths)
    total = len(unit)
    lo = 0
    while lo < len(starts):  # whole blocks at a time, about _CHUNK postings each
        hi = min(len(starts), lo + max(1, _CHUNK // BLOCK))
        first, end = int(starts[lo]), int(starts[hi]) if hi < len(starts) else total
        lens = lengths[np.asarray(unit[first:end])]
        bounds[lo:hi, 1] = np.minimum.reduceat(lens, starts[lo:hi] - first)
        lo = hi
    return bptr, bounds
