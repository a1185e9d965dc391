"""The Index: create, open or configure an index directory, and get writers and searchers on it."""
from __future__ import annotations

import shutil
import stat
import warnings
from pathlib import Path
from typing import Any, Mapping

from .config import Settings, load_config
from .errors import (ConfigError, DocumentError, IndexNotFoundError, InvalidArgumentError, SchemaError,
                     SearchlibError)
from .indexing.writer import IndexWriter
from .query.ast import Query
from .schema import Schema
from .search import Searcher
from .search import parse_index_query as _parse  # the one parsing rule, shared with Searcher.parse
from .storage.check import CheckReport, check_index
from .storage.components import SEGMENTS_DIR
from .storage.files import fsync_dir
from .storage.lock import LOCK_NAME, WriteLock
from .storage.manifest import Manifest, generations, is_sharded, read_manifest, write_manifest
from .writequeue import QueueApplier, QueueReport, WriteQueue


def checked_settings(schema: Schema, settings: "Settings | Mapping | None") -> Settings:
    """The settings to create an index of `schema` with (the defaults for None, a mapping read as
    JSON settings), validated against the schema."""
    if not isinstance(schema, Schema):
        raise TypeError(f"schema must be a Schema, not {type(schema).__name__}")
    if settings is None:
        settings = Settings()
    elif not isinstance(settings, Settings):
        settings = Settings.from_json(settings)
    settings.validate("settings", schema)
    return settings


class Index:
    """An index directory. Cheap to construct; every call reads the newest commit."""

    def __init__(self, path: "str | Path", verify: bool = False):
        self.path = Path(path)
        self.verify = verify
        manifest = read_manifest(self.path)
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)
        self._queue = WriteQueue(self.path)

    # -- creating and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, path: "str | Path", schema: Schema, settings: "Settings | Mapping | None" = None,
               overwrite: bool = False) -> "Index":
        """Create an empty index at `path` (a new or empty directory, or any index if `overwrite`)."""
        path = Path(path)
        settings = checked_settings(schema, settings)
        made_dir = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        had_lock = (path / LOCK_NAME).exists()
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
        except BaseException:
            # A refused or failed create leaves the directory as it was: no stray lock file, and
            # no directory it made itself.
            if not had_lock:
                (path / LOCK_NAME).unlink(missing_ok=True)
            lock.release()
            if made_dir:
                _remove_if_empty(path)
            raise
        lock.release()
        return cls(path)

    @classmethod
    def open(cls, path: "str | Path", verify: bool = False) -> "Index":
        """Open an existing index; IndexNotFoundError if there is none at `path`. A sharded
        index's directory gives a searchlib.cluster.ShardedIndex (searched in this process). Its
        searchers check each file's size, header and last bytes (milliseconds); with
        `verify=True` they also checksum every byte and check the arrays' contents, as `check`
        does (an index you do not trust, or damage to find before it is searched: see the
        README's Guarantees)."""
        if is_sharded(path):
            from .cluster.index import ShardedIndex  # a later stage, imported only for a sharded index
            return ShardedIndex(path)
        return cls(path, verify)

    @staticmethod
    def exists(path: "str | Path") -> bool:
        try:
            return bool(generations(Path(path)))
        except IndexNotFoundError:
            return False

    @classmethod
    def from_config(cls, config_path: "str | Path", path: "str | Path | None" = None,
                    update_settings: bool = False) -> "Index":
        """Open the index a YAML configuration describes, creating it if it does not exist.

        The index lives at `path`, else at the config's `path:` (relative to the YAML file). An
        existing index whose schema differs from the configuration is an error, not a silent rebuild.
        Settings that differ (k1, b, default fields, highlighting, ...) are saved into the index
        with `update_settings=True`; otherwise the index keeps its own and a SettingsIgnoredWarning
        names the keys that differ.
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
            changed = settings_differences(ix.settings, config.settings)
            if changed and update_settings:
                ix.update_settings(config.settings)
            elif changed:
                warnings.warn(SettingsIgnoredWarning(
                    f"{target} keeps the settings it was created with, which differ from {config_path} in "
                    f"{', '.join(changed)}; pass update_settings=True to save those of the configuration "
                    "(Index.from_config(..., update_settings=True))"), stacklevel=2)
            return ix
        return cls.create(target, config.schema, config.settings)

    def update_settings(self, settings: "Settings | Mapping", timeout: float | None = None) -> None:
        """Save new search settings (k1, b, default fields, operator, highlighting, lock timeout)
        in a new commit with the same documents. The schema cannot change this way."""
        if not isinstance(settings, Settings):
            settings = Settings.from_json(settings)
        settings.validate("settings", self.schema)
        lock = WriteLock(self.path).acquire(self._lock_timeout(timeout))
        try:
            manifest = read_manifest(self.path)
            manifest.generation += 1
            manifest.settings = settings.to_json()
            write_manifest(self.path, manifest)
        finally:
            lock.release()
        self.settings = settings

    # -- use --------------------------------------------------------------------------------
    def writer(self, timeout: float | None = None, **options: Any) -> IndexWriter:
        """The index's single writer. While another writer (in any thread or process) holds the
        index, it waits up to `timeout` seconds — by default the index's `lock_timeout` setting,
        30 s unless configured — and then raises IndexLockedError; `timeout=0` fails at once.
        Operations waiting in the write queue (`enqueue`) are applied first, in the writer's batch.
        `options` go to IndexWriter (buffer_tokens, buffer_chars, merge_factor, workers)."""
        writer = IndexWriter(self.path, timeout=self._lock_timeout(timeout), **options)
        try:
            self._queue.apply(writer)
        except BaseException:
            writer.cancel()
            raise
        return writer

    # -- the write queue (writequeue.py) -------------------------------------------------------
    def enqueue(self, *, add: Mapping | None = None, update: Mapping | None = None, delete: Any = None) -> None:
        """Queue one operation — `add=doc`, `update=doc` or `delete=key` — durably, without waiting
        for the writer lock: it is applied, in order, exactly once, by the next writer
        (`writer()`, `apply_queue()` or a background `start_applier()`). Thread- and process-safe."""
        given = [(op, value) for op, value in (("add", add), ("update", update), ("delete", delete))
                 if value is not None]
        if len(given) != 1:
            raise InvalidArgumentError("enqueue takes exactly one of add=, update= or delete=")
        op, value = given[0]
        if op != "delete":
            if not isinstance(value, Mapping):
                raise DocumentError(f"a document is a mapping of field names to values, not {type(value).__name__}")
            unknown = [name for name in value if name not in self.schema]
            if unknown:
                raise DocumentError(f"unknown field(s) {unknown}; the schema has {', '.join(self.schema)}")
        if op != "add" and self.schema.unique_field is None:
            raise SchemaError("update and delete need a unique ID field in the schema, e.g. ID(unique=True)")
        if op == "update" and value.get(self.schema.unique_field) is None:
            raise DocumentError(f"update needs the unique key field {self.schema.unique_field!r} in the document")
        self._queue.append(op, value)

    def pending(self) -> int:
        """How many queued operations wait to be applied."""
        return self._queue.pending()

    def apply_queue(self, timeout: float | None = None) -> QueueReport:
        """Apply every queued operation now, in one commit (waiting for the lock as `writer()` does);
        the report says how many were applied and which were skipped, and why."""
        writer = IndexWriter(self.path, timeout=self._lock_timeout(timeout))
        try:
            report = self._queue.apply(writer)
            if report.applied or report.skipped:
                writer.commit()
        finally:
            writer.close()
        return report

    def start_applier(self, delay: float = 1.0) -> QueueApplier:
        """A background thread applying the queue every `delay` seconds while operations wait;
        `stop()` it (or use it as a context manager)."""
        return QueueApplier(self, delay)

    def _lock_timeout(self, timeout: float | None) -> float:
        return self.settings.lock_timeout if timeout is None else timeout

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

    def optimize(self, timeout: float | None = None) -> None:
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


class SettingsIgnoredWarning(UserWarning):
    """An existing index was opened with a configuration whose settings differ from its own."""


def settings_differences(current: Settings, wanted: Settings) -> list[str]:
    """The names of the settings (dotted for highlight.*) whose values differ."""
    a, b = current.to_json(), wanted.to_json()
    changed = [key for key in a if key != "highlight" and a[key] != b.get(key)]
    changed += [f"highlight.{key}" for key in a["highlight"] if a["highlight"][key] != b["highlight"].get(key)]
    return changed


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
