"""Commit manifests: which segments (and deletion files) make up each committed generation.

A manifest is JSON, named `manifest-<generation>.json`, written to a temporary file, fsynced and
renamed into place, then the directory is fsynced: a commit is visible entirely or not at all.
The newest readable generation is the index's current state. The manifest carries a CRC-32 of its
own body, so a damaged manifest is detected, not misread.

The KEEP_MANIFESTS newest commits are kept, with every file they name, so that a reader that has
just read a manifest finds its files; `leftovers` lists what none of them references, which the
next writer removes and `check` reports as notes.

A manifest read from disk is someone else's data: each segment's counts must be non-negative
integers, no more deleted than documents, and no more documents than its declared files can hold
(see max_documents), so that nothing is ever sized from a forged count. A manifest in the format
of an earlier release (OLD_FORMATS) is an IndexFormatError: that index must be rebuilt; one of
READ_FORMATS is read as it is (a writer adds segments of the current format to it), with the
analyzer presets whose meaning changed since renamed in its schema (PRESET_RENAMES).
"""
from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexFileMissingError, IndexFormatError, IndexNotFoundError
from .components import SEGMENTS_DIR
from .files import IN_INDEX, TEMP_SUFFIX, atomic_write, check_name, read_file
from .stored import BLOCK_DOCS, POINTERS

# 2: the term dictionary as arrays; 3: block bounds (blocks.py) and each file's tail checksum, and
# TEXT fields may keep token offsets (OFFS, OPTR: an index without them reads as before, snippets
# re-read the text); 4: term frequencies and positions in the narrowest unsigned type that holds
# them (uint8/16/32), posting and position pointers in int32 when they fit; 5: the `english` preset
# is nltk's stop words + Snowball (same files as 4); 6: KEYWORD and ID fields keep each document's
# term ids (DOCPTR, DOCTERM: facets and collapse read them; a segment without them, of an earlier
# format, has them derived from its postings when first needed); 7: each stored block's first
# document (stored.py: a merge copies whole segments' blocks), and token spans in one byte per
# position with exceptions and checkpoints (OFFS uint8, OFFX, OFFK; spans.py), offset pointers in
# int32 when they fit (a field whose spans escape too often keeps format 6's uint32 pairs, which
# every reader reads), and stored fields compressed with zstd, stored.bin's manifest entry naming
# the codec (stored.py; an entry naming none is zlib)
FORMAT = "searchlib-7"
# earlier formats read as they are (their uint32/int64 arrays are among format 4's types)
READ_FORMATS = ("searchlib-3", "searchlib-4", "searchlib-5", "searchlib-6")
# Presets renamed when reading an earlier format's schema: its `english` is today's `english-classic`,
# so its terms are still analysed the way they were indexed.
PRESET_RENAMES = {"searchlib-3": {"english": "english-classic"}, "searchlib-4": {"english": "english-classic"}}
OLD_FORMATS = {"searchlib-1": "0.1", "searchlib-2": "0.2 before block bounds"}  # formats of earlier releases: the release that wrote them
KEEP_MANIFESTS = 2  # the newest manifests kept (with their files), so a reader that just read one finds its files
MANIFEST = re.compile(r"manifest-(\d{10})\.json\Z")
_LISTING_ATTEMPTS = 20


def _rename_presets(schema: Any, renamed: dict[str, str]) -> Any:
    """The schema JSON with each field's analyzer preset name renamed as `renamed` says."""
    if not isinstance(schema, dict):
        return schema  # the schema's own validation reports it
    out = {}
    for name, spec in schema.items():
        if isinstance(spec, dict) and isinstance(spec.get("analyzer"), str) and spec["analyzer"] in renamed:
            spec = dict(spec, analyzer=renamed[spec["analyzer"]])
        out[name] = spec
    return out


# A sharded index's directory holds this top-level manifest instead (cluster/layout.py writes and
# reads it); named here so that opening a plain index need not import the cluster package.
TOP_MANIFEST = "sharded.json"


def is_sharded(path: "str | Path") -> bool:
    """Whether `path` is the directory of a sharded index (searchlib.cluster)."""
    return (Path(path) / TOP_MANIFEST).is_file()


def manifest_name(generation: int) -> str:
    return f"manifest-{generation:010d}.json"


@dataclass
class SegmentEntry:
    """One segment as a commit sees it: its files and, if any, its deletions file."""

    name: str
    doc_count: int
    files: dict[str, dict]
    deletes: str | None = None  # file name inside the segment directory
    deleted: int = 0

    def to_json(self) -> dict:
        return {"name": self.name, "doc_count": self.doc_count, "files": self.files,
                "deletes": self.deletes, "deleted": self.deleted}

    @classmethod
    def from_json(cls, data: dict) -> "SegmentEntry":
        name = check_name(data["name"])
        doc_count = _count(name, "doc_count", data["doc_count"])
        deleted = _count(name, "deleted", data.get("deleted", 0))
        if deleted > doc_count:
            raise IndexCorruptError(name, f"impossible counts: {deleted} deleted of {doc_count} documents")
        entry = cls(name=name, doc_count=doc_count, files=dict(data["files"]), deletes=data.get("deletes"),
                    deleted=deleted)
        most = max_documents(entry)
        if doc_count > most:
            raise IndexCorruptError(name, f"declares {doc_count} documents, but its {POINTERS} of "
                                          f"{entry.files[POINTERS]['size']} bytes holds offsets for at most {most}")
        for fname, sizes in entry.files.items():
            check_name(fname)
            if not isinstance(sizes, dict) or not _is_count(sizes.get("size")) or not _is_count(sizes.get("crc32")) \
                    or sizes["crc32"] >= 1 << 32 or not _is_crc(sizes.get("tail", 0)):
                raise IndexCorruptError(name, f"the entry of {fname} is no size and CRC-32: {str(sizes)[:80]}")
        if entry.deletes is not None:
            check_name(entry.deletes)
            if entry.deletes not in entry.files:
                raise IndexCorruptError(entry.name, "deletions file has no checksum entry")
        return entry

    @property
    def live_count(self) -> int:
        return self.doc_count - self.deleted


def max_documents(entry: SegmentEntry) -> int:
    """The most documents the segment's files, at the sizes the manifest declares, can hold.

    Every segment stores its documents in blocks of BLOCK_DOCS and writes the offset of each
    block, and of the end, as an int64 in stored.ptr.npy: n documents take 8 * (ceil(n / 16) + 1)
    bytes after the .npy header. So a declared size of S bytes holds at most 16 * (S // 8 - 1)
    documents, two per byte. A reader checks each file's size against the manifest before using
    it, so a count that passes here is paid for by bytes that exist.
    """
    sizes = entry.files.get(POINTERS)
    size = sizes.get("size") if isinstance(sizes, dict) else None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise IndexCorruptError(entry.name, f"no usable size for {POINTERS} (every segment has one): {sizes!r}")
    return BLOCK_DOCS * max(0, size // 8 - 1)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_crc(value: Any) -> bool:
    return _is_count(value) and value < 1 << 32


def _count(segment: str, key: str, value: Any) -> int:
    """A segment's count as the manifest gives it: a non-negative integer (JSON true is not one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise IndexCorruptError(segment, f"{key} must be a whole number, got {value!r}")
    if value < 0:
        raise IndexCorruptError(segment, f"{key} is negative ({value})")
    return value


@dataclass
class Manifest:
    generation: int
    schema: dict
    settings: dict
    segments: list[SegmentEntry] = field(default_factory=list)
    counter: int = 0  # last segment number handed out
    metadata: dict[str, Any] = field(default_factory=dict)
    # how far the write queue (writequeue.py) is applied: {"file": n, "offset": bytes}, {} for none
    queue: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": FORMAT, "generation": self.generation, "schema": self.schema, "settings": self.settings,
                "segments": [s.to_json() for s in self.segments], "counter": self.counter,
                "metadata": self.metadata, "queue": self.queue}

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        found = data.get("format")
        if found in OLD_FORMATS:
            raise IndexFormatError("", f"built by searchlib {OLD_FORMATS[found]} (format {found}): rebuild it "
                                       f"(this version reads format {FORMAT})")
        if found in PRESET_RENAMES:
            data = dict(data, schema=_rename_presets(data["schema"], PRESET_RENAMES[found]))
        if found != FORMAT and found not in READ_FORMATS:
            raise ValueError(f"unsupported format {found!r}, expected {FORMAT!r}")
        return cls(generation=int(data["generation"]), schema=data["schema"], settings=data.get("settings", {}),
                   segments=[SegmentEntry.from_json(s) for s in data["segments"]], counter=int(data["counter"]),
                   metadata=data.get("metadata", {}), queue=_queue_position(data.get("queue", {})))


def _queue_position(data: Any) -> dict[str, int]:
    """The write queue position of a manifest: {} or {"file": n, "offset": bytes}, whole numbers."""
    if data == {}:
        return {}
    if not isinstance(data, dict) or set(data) != {"file", "offset"} or not all(map(_is_count, data.values())):
        raise IndexCorruptError("", f"the write queue position is not a file number and offset: {str(data)[:80]}")
    return {"file": data["file"], "offset": data["offset"]}


def _encode(manifest: Manifest) -> bytes:
    body = json.dumps(manifest.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return json.dumps({"crc32": zlib.crc32(body.encode()), "manifest": body}, ensure_ascii=False).encode()


def _decode(path: Path) -> Manifest:
    data = read_file(path, IN_INDEX)  # a link is refused; IndexFileMissingError passes through
    try:
        outer = json.loads(data)
        body = outer["manifest"]
        if zlib.crc32(body.encode()) != outer["crc32"]:
            raise IndexCorruptError(str(path), "checksum mismatch (the manifest is damaged)")
        return Manifest.from_json(json.loads(body))
    except IndexFormatError as exc:
        raise IndexFormatError(str(path), exc.message) from None
    except IndexCorruptError as exc:
        if exc.path == str(path):
            raise
        raise IndexCorruptError(str(path), str(exc)) from None  # name the manifest, then what is wrong in it
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(str(path), f"unreadable manifest: {exc}") from None
    except RecursionError:  # json's decoder stops at Python's recursion limit; no manifest nests so deep
        raise IndexCorruptError(str(path), "unreadable manifest: JSON nested too deeply") from None


def generations(directory: Path) -> list[int]:
    """Committed generations present in `directory`, oldest first."""
    try:
        names = [p.name for p in Path(directory).iterdir()]
    except FileNotFoundError:
        raise IndexNotFoundError(f"{directory}: no such directory") from None
    except NotADirectoryError:
        raise IndexNotFoundError(f"{directory}: not a directory") from None
    return sorted(int(m.group(1)) for m in map(MANIFEST.match, names) if m)


def read_manifest(directory: Path, generation: int | None = None) -> Manifest:
    """The manifest of `generation`, or of the newest commit. A damaged newest manifest is an error:
    falling back silently to an older commit would hide lost data."""
    if generation is not None:
        return _decode(Path(directory) / manifest_name(generation))
    for attempt in range(_LISTING_ATTEMPTS):
        gens = generations(directory)
        if not gens:
            raise IndexNotFoundError(f"{directory}: no searchlib index here (no manifest file)")
        path = Path(directory) / manifest_name(gens[-1])
        try:
            return _decode(path)
        except IndexFileMissingError:
            # A writer retired it after newer commits since the listing: list again (a bounded
            # number of times).
            if attempt == _LISTING_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def write_manifest(directory: Path, manifest: Manifest) -> None:
    atomic_write(Path(directory) / manifest_name(manifest.generation), _encode(manifest))


def leftovers(directory: Path, referenced: dict[str, set[str]]) -> list[Path]:
    """What in an index directory no kept commit references (`referenced`: segment -> its files):
    temporary files, segment directories and files inside kept segments. The next writer deletes
    them; `check` lists them."""
    found = [p for p in sorted(directory.iterdir()) if p.name.endswith(TEMP_SUFFIX)]
    seg_root = directory / SEGMENTS_DIR
    if not seg_root.is_dir() or seg_root.is_symlink():
        return found
    for seg in sorted(seg_root.iterdir()):
        if seg.name not in referenced:
            found.append(seg)
        elif seg.is_dir() and not seg.is_symlink():
            found += [f for f in sorted(seg.iterdir()) if f.name not in referenced[seg.name]]
    return found
