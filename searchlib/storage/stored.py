"""Stored fields: each document's stored values as JSON, compressed in small blocks.

Blocks of BLOCK_DOCS documents keep random access cheap (fetching a hit decompresses one block)
while compressing well; a reader keeps recently decoded blocks, so the fields, snippet and
highlights of a hit, and the hits repeated by the next searches, decode their block once. The
format is JSON compressed by zstd (a frame per block, level ZSTD_LEVEL), or by zlib in segments of
format searchlib-6 and earlier: stored.bin's manifest entry names its codec ("codec": "zstd"; no
name is zlib). Nothing in it can run code.

zstd at level 1 against zlib at level 1, on blocks of 16 of scale.py's documents: a quarter of the
CPU to compress, a third of the time to decode a block, 5 % fewer bytes (benchmarks/stored_codec.py).
"""
from __future__ import annotations

import json
import os
import threading
import weakref
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Iterable

import numpy as np
import zstandard

from ..errors import IndexCorruptError, IndexFormatError
from .components import Component
from .files import io_error, load_array, open_verified, write_array, write_stream

BLOCK_DOCS = 16
# Decoded blocks a reader keeps (least recently used dropped first), and the most decoded JSON
# they may hold in all: the hits of a search are read once for their fields and again for
# their snippet and highlights, and the next searches often return some of the same documents.
CACHE_BLOCKS = 4096
CACHE_BYTES = 32 * 1024 * 1024
DATA, POINTERS = Component.STORED.file(), Component.STORED_PTR.file()
# The most JSON one document's stored fields may take (stored_size): the writer refuses a larger
# document, so a block decompresses to at most block_limit() bytes and a reader stops there (a
# forged block could otherwise decompress a thousandfold, to gigabytes). Twice the largest field
# value (indexing/buffer.py's MAX_FIELD_BYTES), so one value of any size fits beside the rest.
MAX_STORED_DOC_BYTES = 64 * 1024 * 1024
# The codec new segments are written with, and its level; stored.bin's manifest entry names it.
CODEC, ZSTD_LEVEL = "zstd", 1
CODECS = ("zlib", "zstd")  # the codecs a reader knows; an entry without a name is zlib (format 6 and before)
_ZSTD = threading.local()  # a zstd decompressor per thread: one is not safe to share, and one costs ~14 us to make


def _encode(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def stored_size(doc: dict) -> int:
    """The bytes a document's stored fields take in its block, as written."""
    return len(_encode(doc))


def block_limit() -> int:
    """The most bytes a block of BLOCK_DOCS documents written within MAX_STORED_DOC_BYTES decodes
    to: the documents, the commas between them and the brackets around them."""
    return BLOCK_DOCS * (MAX_STORED_DOC_BYTES + 1) + 1


def _too_large(limit: int) -> ValueError:
    return ValueError(f"it decompresses to more than {limit:,} bytes, the most {BLOCK_DOCS} documents "
                      f"of at most {MAX_STORED_DOC_BYTES:,} bytes each can take")


def _decompress_block(data: bytes, codec: str = CODEC) -> bytes:
    """A block's JSON text, decompressed up to block_limit() bytes: ValueError beyond it, or for a
    stream that is truncated or followed by more bytes (zlib.error or zstandard.ZstdError for a
    malformed one). A zstd frame must declare its size (the writer's do), which is checked before
    anything is decompressed; the decoder then refuses to produce more than that."""
    limit = block_limit()
    if codec == "zstd":
        size = zstandard.frame_content_size(data)
        if size == zstandard.CONTENTSIZE_UNKNOWN:
            raise ValueError("the compressed block does not declare its decompressed size")
        if size > limit:
            raise _too_large(limit)
        decompressor = getattr(_ZSTD, "decompressor", None)
        if decompressor is None:
            decompressor = _ZSTD.decompressor = zstandard.ZstdDecompressor()
        inflater = decompressor.decompressobj()
        text = inflater.decompress(data)
    else:
        inflater = zlib.decompressobj()
        text = inflater.decompress(data, limit)
        if not inflater.eof and len(text) >= limit:
            raise _too_large(limit)
    if not inflater.eof:
        raise ValueError("the compressed block is truncated")
    if inflater.unused_data:
        raise ValueError(f"{len(inflater.unused_data):,} bytes follow the compressed block")
    return text


def stored_codec(entry: dict, path: str) -> str:
    """The codec of a stored.bin from its manifest entry: zlib when it names none (format 6 and
    earlier), an IndexFormatError for one this version does not know."""
    codec = entry.get("codec", "zlib")
    if codec not in CODECS:
        raise IndexFormatError(path, f"stored fields compressed with {str(codec)[:40]!r}, which this version "
                                     f"cannot read (it reads {', '.join(CODECS)}): upgrade searchlib or re-index")
    return codec


def write_stored(directory: Path, docs: Iterable[dict]) -> dict[str, dict]:
    """Write the documents' stored values; return the files' manifest entries. Each block is
    compressed and written as it fills, so memory holds one block, not the file (a merge passes
    its documents as a generator)."""
    offsets = [0]
    compress = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress  # one per call: not safe to share
    with write_stream(directory / DATA) as out:
        block: list[dict] = []
        for doc in docs:
            block.append(doc)
            if len(block) == BLOCK_DOCS:
                out.write(compress(_encode(block)))
                offsets.append(out.size)
                block = []
        if block:
            out.write(compress(_encode(block)))
            offsets.append(out.size)
    return {DATA: dict(out.entry(), codec=CODEC),
            POINTERS: write_array(directory / POINTERS, np.asarray(offsets, dtype=np.int64))}


# The deepest a stored value may nest (arrays and objects inside each other). json decodes up to
# Python's recursion limit (1000), but storing a value and handing it back must not depend on
# how deep it is, so the writer refuses deeper values (and the loaders deeper JSONL lines). No
# real document nests anywhere near this deep.
MAX_NESTING = 100


def _children(value) -> "Iterable":
    return value.values() if isinstance(value, dict) else value


def nested_deeper(value, limit: int) -> bool:
    """True when `value` has arrays or objects (dicts, lists, tuples) more than `limit` levels deep.
    Walked with a list, not recursion, so the walk itself cannot overflow (a container holding
    itself counts as infinitely deep)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if not isinstance(item, (dict, list, tuple)):
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in _children(item))
    return False


def _copy(value):
    """A deep copy of decoded JSON (dicts, lists and immutable scalars), faster than copy.deepcopy,
    without recursion: an index written before values were limited to MAX_NESTING levels may hold
    deeper ones, which must read back like any other."""
    if not isinstance(value, (dict, list)):
        return value
    root = type(value)()
    pending = [(value, root)]  # (a container, its copy: still empty)
    while pending:
        original, copy = pending.pop()
        items = original.items() if isinstance(original, dict) else enumerate(original)
        for k, v in items:
            if isinstance(v, (dict, list)):
                child = type(v)()
                pending.append((v, child))
            else:
                child = v
            if isinstance(copy, dict):
                copy[k] = child
            else:
                copy.append(child)
    return root


def offsets_problem(offsets: np.ndarray, doc_count: int, size: int) -> str | None:
    """What is wrong with the block offsets (stored.ptr.npy) of `doc_count` documents in a stored.bin
    of `size` bytes: one int64 per block and one for the end, from 0 to the size, never
    decreasing (so no block is read from outside the file, nor sized from a forged number)."""
    blocks = -(-doc_count // BLOCK_DOCS)
    if (offsets.dtype != np.int64 or offsets.shape != (blocks + 1,) or offsets[0] != 0 or offsets[-1] != size
            or np.any(offsets[1:] < offsets[:-1])):
        return f"block offsets do not cover {DATA} ({blocks} blocks of {doc_count} documents, {size} bytes)"
    return None


class StoredReader:
    """Random access to one segment's stored documents."""

    def __init__(self, directory: Path, files: dict[str, dict], doc_count: int | None = None, full: bool = False):
        """Open the stored fields; with the segment's `doc_count`, their block offsets are checked
        against it (offsets_problem). The offsets, read whole, are checksummed whole; the
        compressed blocks only with `full` (files.check_file)."""
        self.path = directory / DATA
        self.offsets = load_array(directory / POINTERS, files[POINTERS], mmap=False, full=True)
        if doc_count is not None:
            problem = offsets_problem(self.offsets, doc_count, files[DATA].get("size"))
            if problem is not None:
                raise IndexCorruptError(str(directory / POINTERS), problem)
        self.codec = stored_codec(files[DATA], str(self.path))
        self._fd = open_verified(self.path, files[DATA], full)
        # A reader dropped without close() (as `s = s.refresh()` drops the old searcher) closes its
        # descriptor when it is collected; close() runs the same finalizer, once.
        self._release = weakref.finalize(self, os.close, self._fd)
        self._cache: OrderedDict[int, tuple[list, int]] = OrderedDict()  # block -> (documents, JSON bytes)
        self._cached_bytes = 0

    def block(self, b: int) -> list:
        """The decoded stored block `b`: documents as stored, not copied (see `get`). Recently
        read blocks come from the reader's cache (CACHE_BLOCKS blocks, CACHE_BYTES of JSON)."""
        found = self._cache.get(b)
        if found is not None:
            self._cache.move_to_end(b)
            return found[0]
        if not 0 <= b < len(self.offsets) - 1:
            raise IndexCorruptError(str(self.path), f"no stored block {b}")
        start, end = int(self.offsets[b]), int(self.offsets[b + 1])
        try:
            data = os.pread(self._fd, end - start, start)
        except OSError as exc:
            raise io_error(exc, self.path, "reading") from None
        try:
            text = _decompress_block(data, self.codec)
            docs = json.loads(text)
        except (zlib.error, zstandard.ZstdError, ValueError) as exc:
            raise IndexCorruptError(str(self.path), f"stored block {b} is unreadable: {exc}") from None
        except RecursionError:  # json's decoder stops at Python's recursion limit
            raise IndexCorruptError(str(self.path), f"stored block {b} is unreadable: JSON nested too deeply") from None
        self._cache[b] = (docs, len(text))
        self._cached_bytes += len(text)
        while len(self._cache) > CACHE_BLOCKS or (self._cached_bytes > CACHE_BYTES and len(self._cache) > 1):
            self._cached_bytes -= self._cache.popitem(last=False)[1][1]
        return docs

    def get(self, doc: int) -> dict:
        """The document's stored values: a copy the caller may change (the decoded block is
        cached for the next read of a neighbouring document and must stay as stored)."""
        return _copy(self._document(doc))

    def _document(self, doc: int) -> dict:
        """The document as decoded in its (cached) block, not copied."""
        block = self.block(doc // BLOCK_DOCS)
        try:
            found = block[doc % BLOCK_DOCS]
        except IndexError:
            raise IndexCorruptError(str(self.path), f"no stored document {doc}") from None
        if not isinstance(found, dict):
            raise IndexCorruptError(str(self.path), f"stored document {doc} is not a JSON object")
        return found

    def value(self, doc: int, name: str):
        """One stored value of a document, as stored (None when absent): what a snippet reads,
        without copying the document (a value the caller must not change, like get's)."""
        return self._document(doc).get(name)

    def close(self) -> None:
        self._release()
        self._fd = -1
