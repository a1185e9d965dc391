"""Stored fields: each document's stored values as JSON, compressed in small blocks.

Blocks of at most BLOCK_DOCS documents keep random access cheap (fetching a hit decompresses one
block) while compressing well; a reader keeps recently decoded blocks, so the fields, snippet and
highlights of a hit, and the hits repeated by the next searches, decode their block once. The
format is JSON compressed by zstd (a frame per block, level ZSTD_LEVEL), or by zlib in segments of
format searchlib-6 and earlier: stored.bin's manifest entry names its codec ("codec": "zstd"; no
name is zlib). Nothing in it can run code.

zstd at level 1 against zlib at level 1, on blocks of 16 of scale.py's documents: a quarter of the
CPU to compress, a third of the time to decode a block, 5 % fewer bytes (benchmarks/stored_codec.py).

Each block's first document is written beside its byte offset (format searchlib-7), so a block
may hold fewer than BLOCK_DOCS documents: a merge copies the compressed blocks of a segment that
lost no document byte for byte, checksum checked, instead of decoding and compressing every
document again (Lucene's stored fields merge copies its chunks the same way); a segment in zlib is
decoded and compressed again (one stored.bin has one codec). Before format 7 every block but the
last held BLOCK_DOCS documents, and such segments are read as they are.
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
DATA, POINTERS, FIRSTS = Component.STORED.file(), Component.STORED_PTR.file(), Component.STORED_DOCS.file()
COPY_BYTES = 8 * 1024 * 1024  # a merge copies compressed blocks in reads of this size
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


def write_stored(directory: Path, docs: "Iterable[dict | StoredReader]") -> dict[str, dict]:
    """Write the documents' stored values; return the files' manifest entries. Each block is
    compressed and written as it fills, so memory holds one block, not the file (a merge passes
    its documents as a generator). A StoredReader among the documents stands for all of its
    documents: its blocks are copied as they are (a merge's segment that lost none), or, in
    another codec than CODEC, its documents compressed again."""
    with write_stream(directory / DATA) as out:
        blocks = _BlockWriter(out)
        for doc in docs:
            if isinstance(doc, StoredReader) and doc.codec == CODEC:
                blocks.copy(doc)
            elif isinstance(doc, StoredReader):
                for i in range(int(doc.block_firsts()[-1])):
                    blocks.add(doc.document(i))
            else:
                blocks.add(doc)
        blocks.end_block()
    ends, firsts = blocks.pointers()
    return {DATA: dict(out.entry(), codec=CODEC), POINTERS: write_array(directory / POINTERS, ends),
            FIRSTS: write_array(directory / FIRSTS, firsts)}


class _BlockWriter:
    """The blocks of one stored.bin as they are written: documents compressed BLOCK_DOCS at a
    time, or another segment's blocks copied; each block's end (byte offset) and first document."""

    def __init__(self, out):
        self.out = out
        self.compress = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress  # one per file: not safe to share
        self.block: list[dict] = []
        self.docs = 0
        self._ends: list = [np.zeros(1, np.int64)]  # arrays (copied runs) and ints (blocks written here)
        self._firsts: list = [np.zeros(1, np.int64)]

    def add(self, doc: dict) -> None:
        self.block.append(doc)
        if len(self.block) == BLOCK_DOCS:
            self.end_block()

    def end_block(self) -> None:
        if self.block:
            self.out.write(self.compress(_encode(self.block)))
            self.docs += len(self.block)
            self._ends.append(np.array([self.out.size], np.int64))
            self._firsts.append(np.array([self.docs], np.int64))
            self.block = []

    def copy(self, reader: "StoredReader") -> None:
        """Append every block of `reader` (in CODEC) byte for byte, checking the bytes read against the
        checksum its manifest gives (a damaged block must not be copied under a fresh checksum)."""
        self.end_block()
        base, crc, size = self.out.size, 0, int(reader.offsets[-1])
        for start in range(0, size, COPY_BYTES):
            try:
                data = os.pread(reader._fd, min(COPY_BYTES, size - start), start)
            except OSError as exc:
                raise io_error(exc, reader.path, "reading") from None
            if not data:
                raise IndexCorruptError(str(reader.path), f"shorter than its {size:,} bytes")
            crc = zlib.crc32(data, crc)
            self.out.write(data)
        if crc != reader.entry.get("crc32"):
            raise IndexCorruptError(str(reader.path), "checksum mismatch: the file was modified or damaged")
        firsts = reader.block_firsts()
        self._ends.append(np.asarray(reader.offsets[1:], np.int64) + base)
        self._firsts.append(firsts[1:] + self.docs)
        self.docs += int(firsts[-1])

    def pointers(self) -> tuple[np.ndarray, np.ndarray]:
        """(byte offset of each block and of the end, first document of each block and the count)."""
        return np.concatenate(self._ends), np.concatenate(self._firsts)


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


def offsets_problem(offsets: np.ndarray, doc_count: int, size: int, blocks: int | None = None) -> str | None:
    """What is wrong with the block offsets (stored.ptr.npy) of `doc_count` documents in a stored.bin
    of `size` bytes: one int64 per block and one for the end, from 0 to the size, never
    decreasing (so no block is read from outside the file, nor sized from a forged number).
    `blocks` (as stored.docs.npy counts them) defaults to blocks of BLOCK_DOCS documents."""
    if blocks is None:
        blocks = -(-doc_count // BLOCK_DOCS)
    if (offsets.dtype != np.int64 or offsets.shape != (blocks + 1,) or offsets[0] != 0 or offsets[-1] != size
            or np.any(offsets[1:] < offsets[:-1])):
        return f"block offsets do not cover {DATA} ({blocks} blocks of {doc_count} documents, {size} bytes)"
    return None


def firsts_problem(firsts: np.ndarray, doc_count: int) -> str | None:
    """What is wrong with the first documents of a segment's stored blocks (stored.docs.npy) of
    `doc_count` documents: one int64 per block and the count, from 0 to the count, each block
    holding 1 to BLOCK_DOCS documents (so none decodes to more than block_limit()). The block
    offsets are then checked against the number of blocks it gives."""
    if firsts.dtype != np.int64 or firsts.ndim != 1 or len(firsts) < 1 or firsts[0] != 0 or firsts[-1] != doc_count:
        return f"block documents do not cover {doc_count} documents"
    sizes = np.diff(firsts)
    if len(sizes) and (int(sizes.min()) < 1 or int(sizes.max()) > BLOCK_DOCS):
        return f"a stored block holds no document or more than {BLOCK_DOCS}"
    return None


def fixed_firsts(blocks: int, doc_count: int) -> np.ndarray:
    """The first documents of the blocks of a segment written before format searchlib-7: every
    block but the last holds BLOCK_DOCS documents."""
    return np.minimum(np.arange(blocks + 1, dtype=np.int64) * BLOCK_DOCS, doc_count)


class StoredReader:
    """Random access to one segment's stored documents."""

    def __init__(self, directory: Path, files: dict[str, dict], doc_count: int | None = None, full: bool = False):
        """Open the stored fields; with the segment's `doc_count`, their block offsets are checked
        against it (offsets_problem). The offsets, read whole, are checksummed whole; the
        compressed blocks only with `full` (files.check_file)."""
        self.path = directory / DATA
        self.entry = files[DATA]
        self.offsets = load_array(directory / POINTERS, files[POINTERS], mmap=False, full=True)
        self.doc_count = doc_count
        # None: blocks of BLOCK_DOCS documents (before format 7), found by division
        self.firsts = None
        if FIRSTS in files:
            self.firsts = load_array(directory / FIRSTS, files[FIRSTS], mmap=False, full=True)
            problem = firsts_problem(self.firsts, doc_count if doc_count is not None else
                                     int(self.firsts[-1]) if self.firsts.ndim == 1 and len(self.firsts) else 0)
            if problem is not None:
                raise IndexCorruptError(str(directory / FIRSTS), problem)
        if doc_count is not None:
            problem = offsets_problem(self.offsets, doc_count, files[DATA].get("size"),
                                      None if self.firsts is None else len(self.firsts) - 1)
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
        if self.firsts is not None and (not isinstance(docs, list) or len(docs) != self.firsts[b + 1] - self.firsts[b]):
            raise IndexCorruptError(str(self.path), f"stored block {b} does not hold "
                                                    f"{int(self.firsts[b + 1] - self.firsts[b])} documents")
        self._cache[b] = (docs, len(text))
        self._cached_bytes += len(text)
        while len(self._cache) > CACHE_BLOCKS or (self._cached_bytes > CACHE_BYTES and len(self._cache) > 1):
            self._cached_bytes -= self._cache.popitem(last=False)[1][1]
        return docs

    def get(self, doc: int) -> dict:
        """The document's stored values: a copy the caller may change (the decoded block is
        cached for the next read of a neighbouring document and must stay as stored)."""
        return _copy(self.document(doc))

    def block_firsts(self) -> np.ndarray:
        """The first document of each block and the document count (int64[blocks+1])."""
        if self.firsts is not None:
            return self.firsts
        if self.doc_count is None:
            raise ValueError("a reader of a segment written before format searchlib-7 needs its document count")
        return fixed_firsts(len(self.offsets) - 1, self.doc_count)

    def document(self, doc: int) -> dict:
        """The document as decoded in its (cached) block, not copied: to read, never to change (see `get`)."""
        if self.firsts is None:
            b, i = divmod(doc, BLOCK_DOCS)
        else:
            b = int(np.searchsorted(self.firsts, doc, side="right")) - 1
            i = doc - int(self.firsts[b]) if 0 <= b < len(self.firsts) - 1 else -1
        try:
            if i < 0:
                raise IndexError(doc)
            found = self.block(b)[i]
        except IndexError:
            raise IndexCorruptError(str(self.path), f"no stored document {doc}") from None
        if not isinstance(found, dict):
            raise IndexCorruptError(str(self.path), f"stored document {doc} is not a JSON object")
        return found

    def value(self, doc: int, name: str):
        """One stored value of a document, as stored (None when absent): what a snippet reads,
        without copying the document (a value the caller must not change, like get's)."""
        return self.document(doc).get(name)

    def close(self) -> None:
        self._release()
        self._fd = -1
