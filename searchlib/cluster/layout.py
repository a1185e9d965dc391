"""A sharded index on disk: the top-level manifest, the shard directories, and routing by key.

A sharded index is a directory holding `sharded.json` and N ordinary searchlib indexes (the
shards), one directory each. The top-level manifest names every shard's directory and the exact
commit generation of that shard that belongs to this state of the sharded index; it is replaced
atomically (temporary file, fsync, rename, fsync of the directory), so a reader that opens the
shard generations of one top-level manifest sees a multi-shard batch everywhere or nowhere.

A shard may hold a commit newer than the manifest names: a writer that died between committing
its shards and replacing the manifest. Nothing ever showed such a commit, so the next sharded
writer rolls it back (`roll_back_orphans`) before writing; each shard keeps its two newest commits
(storage/manifest.py KEEP_MANIFESTS), so the generation the manifest names is still there.

Documents go to shard `shard_of(key, n)`: the first 8 bytes of the key's BLAKE2b digest, modulo
n. It is stable across processes and Python versions (unlike `hash()`), so `update` and `delete`
by key reach the shard that holds the key.
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexFormatError, IndexNotFoundError, SchemaError
from ..storage.files import IN_INDEX, atomic_write, fsync_dir, read_file
from ..storage.lock import WriteLock
from ..storage.manifest import TOP_MANIFEST, generations, is_sharded, manifest_name  # noqa: F401 - re-exported

FORMAT = "searchlib-sharded-1"
ROUTING = "blake2b-64"
_SHARD_DIR = re.compile(r"b\d{4,9}-s\d{3,6}\Z")


def shard_of(key: Any, shards: int) -> int:
    """The shard (0..shards-1) that holds the document with unique key `key`."""
    digest = hashlib.blake2b(str(key).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shards


def shard_dir_name(build: int, shard: int) -> str:
    """The directory of shard `shard` written by build `build` (a rebuild writes new directories,
    so the old shards stay whole until the new manifest replaces the old one)."""
    return f"b{build:04d}-s{shard:03d}"


@dataclass
class TopManifest:
    """One state of a sharded index: its generation, the build that wrote its shard directories,
    and for each shard its directory and commit generation."""

    generation: int
    build: int
    dirs: list[str]
    shard_generations: list[int]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shards(self) -> int:
        return len(self.dirs)

    def to_json(self) -> dict:
        return {"format": FORMAT, "routing": ROUTING, "generation": self.generation, "build": self.build,
                "shards": [{"dir": d, "generation": g} for d, g in zip(self.dirs, self.shard_generations)],
                "metadata": self.metadata}

    @classmethod
    def from_json(cls, data: Any, where: str) -> "TopManifest":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise IndexFormatError(where, f"unsupported sharded format {found!r} (this version reads {FORMAT}): "
                                          "re-index it")
        if data.get("routing") != ROUTING:
            raise IndexCorruptError(where, f"unknown routing {data.get('routing')!r}, expected {ROUTING!r}")
        shards = data.get("shards")
        if not isinstance(shards, list) or not shards:
            raise IndexCorruptError(where, "the manifest lists no shards")
        dirs, gens = [], []
        for i, entry in enumerate(shards):
            name = entry.get("dir") if isinstance(entry, dict) else None
            gen = entry.get("generation") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not _SHARD_DIR.match(name):
                raise IndexCorruptError(where, f"shard {i}: bad directory name {name!r}")
            if isinstance(gen, bool) or not isinstance(gen, int) or gen < 1:
                raise IndexCorruptError(where, f"shard {i}: bad generation {gen!r}")
            dirs.append(name)
            gens.append(gen)
        generation, build = data.get("generation"), data.get("build")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (generation, build)):
            raise IndexCorruptError(where, "generation and build must be whole numbers")
        metadata = data.get("metadata", {})
        return cls(generation, build, dirs, gens, metadata if isinstance(metadata, dict) else {})

    def shard_paths(self, root: Path) -> list[Path]:
        return [Path(root) / d for d in self.dirs]


def read_top(path: "str | Path") -> TopManifest:
    """The sharded index's current top-level manifest (IndexNotFoundError when there is none)."""
    file = Path(path) / TOP_MANIFEST
    if not file.exists():
        raise IndexNotFoundError(f"{path}: no sharded searchlib index here (no {TOP_MANIFEST})")
    data = read_file(file, IN_INDEX)  # a link is refused
    try:
        outer = json.loads(data)
        body = outer["manifest"]
        if zlib.crc32(body.encode()) != outer["crc32"]:
            raise IndexCorruptError(str(file), "checksum mismatch (the manifest is damaged)")
        return TopManifest.from_json(json.loads(body), str(file))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(str(file), f"unreadable sharded manifest: {exc}") from None


def write_top(path: "str | Path", top: TopManifest) -> None:
    """Replace the top-level manifest atomically: readers see the old state or the new, whole."""
    body = json.dumps(top.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    atomic_write(Path(path) / TOP_MANIFEST, json.dumps({"crc32": zlib.crc32(body.encode()), "manifest": body},
                                                       ensure_ascii=False).encode())


def roll_back_orphans(root: Path, top: TopManifest) -> list[int]:
    """Remove every shard commit newer than the generation `top` names (left by a sharded writer
    that died before replacing the top-level manifest; no reader ever saw one), each under its
    shard's write lock; the shard's next writer removes their files. Returns the shards touched.
    The caller holds the sharded index's write lock, so no other sharded writer runs meanwhile."""
    touched = []
    for i, shard in enumerate(top.shard_paths(root)):
        newer = [g for g in generations(shard) if g > top.shard_generations[i]]
        if not newer:
            continue
        lock = WriteLock(shard).acquire()
        try:
            for g in newer:
                (shard / manifest_name(g)).unlink(missing_ok=True)
            fsync_dir(shard)
        finally:
            lock.release()
        touched.append(i)
    return touched


def require_key(schema) -> str:
    """The unique key field that routes documents; a sharded index needs one."""
    if schema.unique_field is None:
        raise SchemaError("a sharded index needs a unique ID field (ID(unique=True)) to route documents by key")
    return schema.unique_field
