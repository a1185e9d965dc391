"""The Index: create, open or configure an index directory, and get writers and searchers on it."""
from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any, Mapping

from .config import Settings, load_config
from .errors import ConfigError, IndexNotFoundError, SearchlibError
from .indexing.writer import IndexWriter
from .query.ast import Query
from .schema import Schema
from .search import Searcher
from .search import parse_index_query as _parse  # the one parsing rule, shared with Searcher.parse
from .storage.check import CheckReport, check_index
from .storage.components import SEGMENTS_DIR
from .storage.files import fsync_dir
from .storage.lock import LOCK_NAME, WriteLock
from .storage.manifest import Manifest, generations, read_manifest, write_manifest


class Index:
    """An index directory. Cheap to construct; every call reads the newest commit."""

    def __init__(self, path: "str | Path", verify: bool = False):
        self.path = Path(path)
        self.verify = verify
        manifest = read_manifest(self.path)
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)

    # -- creating and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, path: "str | Path", schema: Schema, settings: "Settings | Mapping | None" = None,
               overwrite: bool = False) -> "Index":
        """Create an empty index at `path` (a new or empty directory, or any index if `overwrite`)."""
        path = Path(path)
        if not isinstance(schema, Schema):
            raise TypeError(f"schema must be a Schema, not {type(schema).__name__}")
        if settings is None:
            settings = Settings()
        elif not isinstance(settings, Settings):
            settings = Settings.from_json(settings)
        settings.validate("settings", schema)
        path.mkdir(parents=True, exist_ok=True)
        lock = WriteLock(path).acquire()
        try:
            existing = [p for p in path.iterdir() if p.name != LOCK_NAME]
            if existing:
                if not overwrite:
                    what = "an index" if generations(path) else "files"
                    raise SearchlibError(f"{path} already holds {what}; create it with overwrite to replace it "
                                         "(overwrite=True, or --overwrite on the command line)")
                if not generations(path) and not (path / SEGMENTS_DIR).exists():
                    raise SearchlibError(f"{path} holds files that are not a searchlib index; refusing to delete them")
                for p in existing:
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            write_manifest(path, Manifest(generation=1, schema=schema.to_json(), settings=settings.to_json()))
            fsync_dir(path)
        finally:
            lock.release()
        return cls(path)

    @classmethod
    def open(cls, path: "str | Path", verify: bool = False) -> "Index":
        """Open an existing index; IndexNotFoundError if there is none at `path`. Its searchers
        check each file's size, header and last bytes (milliseconds); with `verify=True` they
        also checksum every byte and check the arrays' contents, as `check` does (an index you do
        not trust, or damage to find before it is searched: see the README's Guarantees)."""
        return cls(path, verify)

    @staticmethod
    def exists(path: "str | Path") -> bool:
        try:
            return bool(generations(Path(path)))
        except IndexNotFoundError:
            return False

    @classmethod
    def from_config(cls, config_path: "str | Path", path: "str | Path | None" = None) -> "Index":
        """Open the index a YAML configuration describes, creating it if it does not exist.

        The index lives at `path`, else at the config's `path:` (relative to the YAML file). An
        existing index whose schema differs from the configuration is an error, not a silent rebuild.
        """
        config = load_config(config_path)
        target = Path(path) if path is not None else config.path
        if target is None:
            raise ConfigError("path", "no index path: set 'path:' in the configuration or pass path=")
        if cls.exists(target):
            ix = cls(target)
            if ix.schema != config.schema:
                raise ConfigError("schema", f"differs from the schema of the existing index at {target}; "
                                  "create the index anew (Index.create(..., overwrite=True)) to change it")
            return ix
        return cls.create(target, config.schema, config.settings)

    # -- use --------------------------------------------------------------------------------
    def writer(self, timeout: float = 0.0, **options: Any) -> IndexWriter:
        """The index's single writer; waits up to `timeout` seconds for another writer to finish
        (IndexLockedError after that; at once with the default 0). `options` go to IndexWriter
        (buffer_tokens, buffer_chars, merge_factor, workers)."""
        return IndexWriter(self.path, timeout=timeout, **options)

    def searcher(self) -> Searcher:
        """A searcher on the newest commit."""
        return Searcher.open(self.path, verify=self.verify)

    def search(self, query: "str | Query", limit: int = 10, **options: Any):
        """Open a searcher, run one query, close it (convenient; keep a searcher for many queries).
        The hits' stored fields and passages are read before the searcher closes."""
        with self.searcher() as s:
            results = s.search(query, limit, **options)
            for hit in results:
                hit.fields, hit.passages  # noqa: B018 - read now, while the files are open
            return results

    def parse_query(self, text: "str | Query", lenient: bool = False) -> Query:
        """Parse query text with this index's fields and default operator."""
        return _parse(self.schema, self.settings, text, lenient)

    def doc_count(self) -> int:
        """Live documents in the newest commit."""
        return sum(e.live_count for e in read_manifest(self.path).segments)

    @property
    def generation(self) -> int:
        return read_manifest(self.path).generation

    @property
    def metadata(self) -> dict:
        """The metadata saved with the newest commit (see IndexWriter.commit)."""
        return dict(read_manifest(self.path).metadata)

    def optimize(self, timeout: float = 0.0) -> None:
        """Merge the index into one segment, dropping deleted documents."""
        w = self.writer(timeout=timeout)
        try:
            w.optimize()
        finally:
            w.close()

    def check(self) -> CheckReport:
        """Verify every file of the index (sizes, checksums re-read from disk, structure); the
        report lists every problem found (see searchlib.storage.check)."""
        return check_index(self.path)

    def stats(self) -> dict:
        """Counts and sizes: documents, deletions, segments, per-field terms and tokens, bytes on disk."""
        with Searcher.open(self.path) as s:  # every figure from the one commit the searcher holds
            manifest = s.manifest
            fields = {}
            for name, ft in self.schema.items():
                if not ft.indexed:
                    continue
                fields[name] = {"type": ft.kind,
                                "terms_per_segment": [r.fields[name].info["terms"] for r in s.readers],
                                "tokens": s.stats.tokens.get(name, 0),
                                "units": s.stats.units.get(name, 0),
                                "avg_length": round(s.stats.avg_length(name), 3)}
                if getattr(ft, "index_phrases", False):
                    fields[name]["pairs_per_segment"] = [r.fields[name].info.get("pairs", 0) for r in s.readers]
        found = (p.lstat() for p in self.path.rglob("*"))  # lstat: the size of a link's target is not the index's
        size = sum(st.st_size for st in found if stat.S_ISREG(st.st_mode))
        return {"path": str(self.path), "generation": manifest.generation, "documents": s.doc_count(),
                "deleted": sum(e.deleted for e in manifest.segments), "segments": len(manifest.segments),
                "size_bytes": size, "fields": fields, "settings": self.settings.to_json()}

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"
