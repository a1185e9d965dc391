"""The index writer: buffers documents, flushes segments, applies deletions, merges, commits.

Nothing a writer does is visible to readers until `commit()` writes a new manifest; everything
before that (flushed segments, deletion files, merged segments) lives in new files that a
cancelled or crashed writer leaves unreferenced, and the next writer removes them.

Commit order (what makes a commit atomic and durable): every new file is written once and
fsynced as it is written; then every directory that gained an entry (new segment directories,
older segment directories that received a deletions file, `segments/` and the index directory)
is fsynced; only then is the manifest written to a temporary file, fsynced, renamed into place
and the index directory fsynced again. A crash before the rename leaves the previous commit
intact; after it, the new commit is complete on disk.

How old files are retired without breaking readers: files are never modified after they are
written, and a file is deleted only when none of the KEEP_MANIFESTS newest commits references it.
A reader in any process opens every file of its snapshot when it opens the searcher (arrays and
term dictionaries memory-mapped, stored fields through an open descriptor); on POSIX, unlinking a
file does not affect a process that has it open or mapped, so an open searcher keeps working
after the writer removed its files. A searcher that read a manifest whose files vanished before it
could open them retries with the newer manifest (Searcher.open).
"""
from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..config import Settings
from ..errors import DocumentError, IndexCorruptError, IndexIOError, SchemaError, SearchlibError
from ..query.ast import Query
from ..query.budget import check_clauses
from ..query.compile import Compiler
from ..schema import Schema
from ..search import Stats, Weight, parse_index_query
from ..storage.arrays import gather_ranges
from ..storage.components import SEGMENTS_DIR, Component, segment_name
from ..storage.files import LINK_REFUSED, fsync_dir, io_error
from ..storage.lock import WriteLock
from ..storage.manifest import (KEEP_MANIFESTS, Manifest, SegmentEntry, generations, leftovers, manifest_name,
                                read_manifest, write_manifest)
from ..storage.segment import SegmentReader, read_meta, write_deletes
from .analyze import Analysis
from .buffer import SegmentBuffer
from .merge import MERGE_FACTOR, merge_segments, plan_merges, release_segment_pages


# A segment's key terms are read into an array (once per writer) when the buffer holds at least
# 1/_LOOKUP_RATIO as many keys as the segment has terms; fewer are binary-searched one by one.
_LOOKUP_RATIO = 8


class CommitOnExit:
    """A writer as a context manager: `with` commits when the block ends normally and cancels
    (discarding what was not committed, releasing the lock) when it raises or the commit fails."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            finally:
                self.cancel()
        else:
            self.cancel()


class IndexWriter(CommitOnExit):
    """Adds, updates and deletes documents; `commit()` makes the changes visible atomically.

    Use it as a context manager: the block commits when it ends normally and is rolled back if an
    exception escapes it. Only one writer per index exists at a time, across processes.
    """

    def __init__(self, directory: Path, timeout: float = 0.0, buffer_tokens: int = 4_000_000,
                 buffer_chars: int = 64_000_000, merge_factor: int = MERGE_FACTOR, workers: int | None = None):
        self.directory = Path(directory)
        self._lock = WriteLock(self.directory).acquire(timeout)
        try:
            self._base = read_manifest(self.directory)
            if (self.directory / SEGMENTS_DIR).is_symlink():  # new segments would be written through it
                raise IndexCorruptError(str(self.directory / SEGMENTS_DIR), LINK_REFUSED)
            self.schema = Schema.from_json(self._base.schema)
            self.settings = Settings.from_json(self._base.settings)  # the settings of the index it writes
            self._remove_unreferenced()
        except BaseException:
            self._lock.release()
            raise
        self.buffer_tokens, self.buffer_chars, self.merge_factor = buffer_tokens, buffer_chars, merge_factor
        self._analysis = Analysis(self.schema, workers)
        self._key_terms: dict[str, np.ndarray] = {}  # segment -> its unique field's terms (_replace_by_key)
        self.metadata: dict[str, Any] | None = None  # saved with the next commit when set (JSON-able)
        self._failure: str | None = None  # why the writer was rolled back, if it was
        self._reset()

    def _reset(self) -> None:
        self._segments: list[SegmentEntry] = [SegmentEntry(**vars(s)) for s in self._base.segments]
        self._committed = {s.name: s for s in self._base.segments}  # as committed, for checking their files
        self._new: set[str] = set()  # segments written by this writer, not yet committed
        self._written_deletes: list[Path] = []  # deletion files written into older segments, not yet committed
        self._readers: dict[str, SegmentReader] = {}
        self._key_readers: dict[str, SegmentReader] = {}  # opened for key lookups only
        self._token_counts: dict[str, int] = {}  # segment -> tokens, for the merge size cap
        self._deleted: dict[str, np.ndarray] = {}  # segment -> deletion mask changed by this writer
        self._counter = self._base.counter
        self._buffer = SegmentBuffer(self.schema, self._analysis)
        # how far the write queue is applied, saved with the commit (set by writequeue.py)
        self.queue_position: dict[str, int] = dict(self._base.queue)

    # -- documents ------------------------------------------------------------------------
    def add(self, doc: Mapping[str, Any]) -> None:
        """Add a document. With a unique field in the schema, a document whose key is already in
        the index (or earlier in this batch) replaces that one, as Elasticsearch's index-by-id
        does: the keys of the buffered documents are looked up when the buffer is flushed."""
        self._check_open()
        self._buffer.add(doc)
        self._flush_if_full()

    def update(self, doc: Mapping[str, Any]) -> None:
        """Replace the document(s) having this document's unique key, or add it if there is none:
        `add`, refusing a document without the key."""
        self._check_open()
        key_field = self._key_field()
        if not isinstance(doc, Mapping) or doc.get(key_field) is None:
            raise DocumentError(f"update needs the unique key field {key_field!r} in the document")
        self.add(doc)

    def _flush_if_full(self) -> None:
        if self._buffer.tokens >= self.buffer_tokens or self._buffer.chars >= self.buffer_chars:
            self.flush()

    def delete(self, key: Any) -> int:
        """Delete the documents whose unique key is `key`; return how many were live."""
        self._check_open()
        return self._delete(str(key))

    def _delete(self, key: str, keep_from: int | None = None) -> int:
        key_field = self._key_field()
        count = self._buffer.delete_key(key, keep_from)
        for entry in self._segments:
            reader = self._key_reader(entry)
            field = reader.fields[key_field]
            tid = field.term_id(key)
            if tid < 0:
                continue
            count += self._mark_deleted(entry, np.asarray(field.postings(tid)[0], dtype=np.int64))
        return count

    def _replace_by_key(self, buffer: SegmentBuffer) -> None:
        """Make the unique key unique before `buffer` becomes a segment: of the buffered
        documents sharing a key the last one stays, and the documents of the other segments
        with one of the buffer's keys are marked deleted. Once per flush, vectorised: the keys
        are searched in each segment's sorted key terms at once (a segment's terms are read once
        per writer); a few keys against a large segment not read yet use its binary search."""
        by_key = buffer._by_key  # live buffered documents by key, in the order they were added
        if self.schema.unique_field is None or not by_key:
            return
        counts = np.fromiter(map(len, by_key.values()), dtype=np.int64, count=len(by_key))
        if counts.max() > 1:
            for indices in [v for v, n in zip(by_key.values(), counts) if n > 1]:
                for i in indices[:-1]:
                    buffer.deleted[i] = True
        keys = list(by_key)
        wanted: np.ndarray | None = None
        current = {entry.name for entry in self._segments}
        self._key_terms = {name: terms for name, terms in self._key_terms.items() if name in current}
        for entry in self._segments:
            field = self._key_reader(entry).fields[self.schema.unique_field]
            terms = self._key_terms.get(entry.name)
            if terms is None and len(keys) * _LOOKUP_RATIO < len(field.dictionary):
                tids = np.array([t for t in map(field.term_id, keys) if t >= 0], dtype=np.int64)
            else:
                if terms is None:
                    terms = self._key_terms[entry.name] = np.array(field.dictionary.terms(), dtype=str)
                if wanted is None:
                    wanted = np.array(keys, dtype=str)
                at = np.searchsorted(terms, wanted)
                inside = at < len(terms)
                inside[inside] = terms[at[inside]] == wanted[inside]
                tids = at[inside]
            if len(tids):
                ptr = np.asarray(field.ptr, dtype=np.int64)
                docs = np.asarray(field.unit, dtype=np.int64)[gather_ranges(ptr[tids], ptr[tids + 1] - ptr[tids])]
                self._mark_deleted(entry, docs)

    def _mark_deleted(self, entry: SegmentEntry, docs: np.ndarray) -> int:
        """Mark documents of a segment deleted in this batch; return how many were live."""
        mask = self._deletion_mask(entry)
        count = int(np.count_nonzero(~mask[docs])) if len(docs) else 0
        mask[docs] = True
        return count

    def delete_all(self) -> None:
        """Delete every document (committed and buffered)."""
        self._check_open()
        for entry in self._segments:
            self._deletion_mask(entry)[:] = True
        self._buffer.settle()  # batches being analysed still number terms the analysis must record
        self._buffer = SegmentBuffer(self.schema, self._analysis)

    def live_segments(self) -> Iterator[tuple[str, SegmentReader, np.ndarray]]:
        """(segment name, reader, live mask) of every segment the next commit would hold, with this
        writer's pending deletions applied to the mask (a copy). Buffered documents are not in a
        segment yet: call `flush()` first to include them. For operations built on top of the
        writer (such as deleting by query) that must see the batch so far."""
        self._check_open()
        for entry in list(self._segments):
            reader = self._reader(entry)
            mask = self._deleted.get(entry.name)
            if mask is not None:
                live = ~mask
            elif reader.live is not None:
                live = reader.live.copy()
            else:
                live = np.ones(entry.doc_count, dtype=bool)
            yield entry.name, reader, live

    def delete_by_query(self, query: "str | Query") -> int:
        """Delete every live document matching `query` (text is parsed strictly, with the index's
        default fields and operator), committed or added earlier in this batch; return how many.

        Like every change of the batch it becomes visible at commit and is discarded by cancel.
        """
        self._check_open()
        q = parse_index_query(self.schema, self.settings, query)
        compiler = Compiler(self.schema, self.settings.fields_for(self.schema),
                            default_and=self.settings.operator == "AND")
        node = compiler.compile_text(q, query if isinstance(query, str) else None)
        check_clauses(node, self.settings)
        if node is None:
            return 0
        self.flush()  # documents added earlier in the batch become a segment the query can see
        segments = list(self.live_segments())
        weight = Weight(node, Stats([reader for _, reader, _ in segments]), None)  # matching only: no BM25
        deleted = 0
        for seg, (name, reader, live) in enumerate(segments):
            matches = weight.scorers.get(seg, None, dense=True).matching(weight.root)
            doomed = np.flatnonzero(matches & live)
            if len(doomed):
                deleted += self.delete_documents(name, doomed)
        return deleted

    def delete_documents(self, segment: str, doc_ids: "np.ndarray | list[int]") -> int:
        """Delete documents of a segment by their numbers inside it (as the next commit will hold
        it, see `live_segments`); return how many of them were live. Part of the current batch:
        visible after commit, discarded by cancel."""
        self._check_open()
        entry = next((e for e in self._segments if e.name == segment), None)
        if entry is None:
            raise SearchlibError(f"no segment {segment!r} in this writer's view of the index")
        docs = np.unique(np.asarray(doc_ids, dtype=np.int64))
        if len(docs) and (docs.min() < 0 or docs.max() >= entry.doc_count):
            raise SearchlibError(f"document numbers out of range for segment {segment!r} "
                                 f"({entry.doc_count} documents)")
        return self._mark_deleted(entry, docs)

    # -- segments -------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the buffered documents as a new (still uncommitted) segment.

        If writing fails, the whole batch is rolled back and the writer closed: continuing would
        commit the batch without the documents of the lost buffer."""
        self._check_open()
        buffer, self._buffer = self._buffer, SegmentBuffer(self.schema, self._analysis)
        if buffer.live_count == 0:
            return
        with self._rollback_on_error("flush"):
            self._replace_by_key(buffer)
            name = self._next_name()
            self._new.add(name)  # before writing, so that a failure cleans up a partial directory
            doc_count, files, deleted = buffer.write(self._segment_path(name))
            entry = SegmentEntry(name=name, doc_count=doc_count, files=files)
            self._segments.append(entry)
            if deleted.any():
                self._deleted[name] = deleted

    def commit(self, metadata: Mapping[str, Any] | None = None, merge: bool = True, optimize: bool = False) -> int:
        """Make every change so far durable and visible; return the new generation.

        `metadata` (JSON-able; default: the writer's `metadata` attribute, else the previous commit's)
        is saved with the commit (see Index.metadata). `merge` applies the merge policy; `optimize`
        merges everything into one segment.
        """
        self._check_open()
        if metadata is None:
            metadata = self.metadata
        if metadata is not None:
            try:
                json.dumps(metadata, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise SearchlibError(f"commit metadata must be JSON-serialisable: {exc}") from None
        self.flush()
        with self._rollback_on_error("commit"):
            manifest = self._prepare_commit(metadata, merge, optimize)
            self._sync_directories()
            write_manifest(self.directory, manifest)
        self._close_readers()
        self._base = manifest
        self._reset()
        self._remove_unreferenced()
        return manifest.generation

    def _prepare_commit(self, metadata: Mapping[str, Any] | None, merge: bool, optimize: bool) -> Manifest:
        """Count the deletions, run the merges, write the deletion files and return the manifest of
        the next commit.

        A deletions file is written only for a segment whose mask gained bits in this batch (masks
        only gain bits, so an unchanged count means an unchanged mask) and that survives the
        merges: a merge reads the masks from memory, and a merged-away segment needs no file.
        """
        gen = self._base.generation + 1
        changed: list[SegmentEntry] = []
        for entry in list(self._segments):
            mask = self._deleted.get(entry.name)
            if mask is None:
                continue
            if mask.all():
                self._segments.remove(entry)
                continue
            deleted = int(np.count_nonzero(mask))
            if deleted != entry.deleted:
                entry.deleted = deleted  # its deletes file is written below, if it survives the merges
                changed.append(entry)
        if optimize and (len(self._segments) > 1 or any(s.deleted for s in self._segments)):
            self._merge(list(range(len(self._segments))))
        elif merge:
            while groups := plan_merges([s.live_count for s in self._segments], self.merge_factor,
                                        tokens=[self._tokens(s) for s in self._segments]):
                self._merge(groups[0])
        surviving = {s.name for s in self._segments}
        for entry in changed:
            if entry.name not in surviving:
                continue  # merged away
            fname = Component.DELETES.file(generation=gen)
            files = dict(entry.files)
            files.pop(entry.deletes, None)
            path = self._segment_path(entry.name) / fname
            if entry.name not in self._new:
                self._written_deletes.append(path)
            files[fname] = write_deletes(path.parent, fname, self._deleted[entry.name])
            entry.files, entry.deletes = files, fname
        return Manifest(generation=gen, schema=self._base.schema, settings=self._base.settings,
                        segments=self._segments, counter=self._counter,
                        metadata=dict(metadata) if metadata is not None else self._base.metadata,
                        queue=dict(self.queue_position))

    def _sync_directories(self) -> None:
        """fsync every directory that gained an entry in this batch, so that the manifest can never
        be durable while a file it names is not: new segment directories, older segment
        directories holding a new deletions file, `segments/` and the index directory."""
        dirs = {self._segment_path(e.name) for e in self._segments if e.name in self._new}
        dirs.update(path.parent for path in self._written_deletes)
        for directory in sorted(dirs):
            fsync_dir(directory)
        seg_root = self.directory / SEGMENTS_DIR
        if seg_root.exists():
            fsync_dir(seg_root)
        fsync_dir(self.directory)

    def optimize(self) -> int:
        """Commit, merging the whole index into one segment without deleted documents."""
        return self.commit(optimize=True)

    def cancel(self) -> None:
        """Discard every uncommitted change and release the lock."""
        if not self._lock.held:
            return
        self._close_readers()
        for name in self._new:
            shutil.rmtree(self._segment_path(name), ignore_errors=True)
        for path in self._written_deletes:
            path.unlink(missing_ok=True)
        self._reset()
        self._analysis.close()
        self._lock.release()

    def close(self) -> None:
        """Release the lock; uncommitted changes are discarded."""
        self.cancel()

    # -- internals ------------------------------------------------------------------------
    def _check_open(self) -> None:
        if not self._lock.held:
            if self._failure is not None:
                raise SearchlibError(f"this writer was rolled back after an error: {self._failure}")
            raise SearchlibError("this writer is closed")

    @contextmanager
    def _rollback_on_error(self, step: str) -> Iterator[None]:
        """Run a step that writes files; if it fails, discard the whole batch and close the writer,
        so that no later commit can publish part of the batch."""
        generation = self._base.generation + 1
        try:
            yield
        except BaseException as exc:
            self._failure = f"{step} failed: {type(exc).__name__}: {exc}"
            committed = (self.directory / manifest_name(generation)).exists()
            if committed:
                # The manifest was renamed into place (only the final directory fsync failed): the
                # commit is visible, so its files must stay; the next writer cleans up the rest.
                self._close_readers()
                self._analysis.close()
                self._lock.release()
            else:
                self.cancel()
            if isinstance(exc, OSError):  # a full disk, say: name the file and say what became of the batch
                raise self._batch_error(exc, committed) from None
            raise

    def _batch_error(self, exc: OSError, committed: bool) -> IndexIOError:
        """The error a failed write `exc` ends the batch with: the file it was writing and whether
        the batch was committed (only when the manifest was already in place) or rolled back."""
        if not isinstance(exc, IndexIOError):
            exc = io_error(exc, Path(exc.filename) if exc.filename else self.directory, "writing")
        if committed:
            outcome = ("the batch was committed (its manifest is in place), but may not be durable until the "
                       "index directory is synced")
        else:
            outcome = "nothing of this batch was committed (it was rolled back: the index is as it was)"
        return IndexIOError(exc.errno, exc.filename, f"{exc.message}: {outcome}")

    def _key_field(self) -> str:
        if self.schema.unique_field is None:
            raise SchemaError("update and delete need a unique ID field in the schema, e.g. ID(unique=True)")
        return self.schema.unique_field

    def _segment_path(self, name: str) -> Path:
        return self.directory / SEGMENTS_DIR / name

    def _next_name(self) -> str:
        self._counter += 1
        return segment_name(self._counter)

    def _open(self, entry: SegmentEntry, fields: "set[str] | None" = None) -> SegmentReader:
        """Open a segment, checking meta.json against the entry's document count and the deletions
        file against the count committed with it: commit() counts this batch's deletions into
        `entry.deleted` before it writes their file, so the entry's own count can run ahead."""
        committed = self._committed.get(entry.name)
        deleted = committed.deleted if committed is not None and committed.deletes == entry.deletes else None
        return SegmentReader(self._segment_path(entry.name), entry.files, entry.deletes, fields,
                             doc_count=entry.doc_count, deleted=deleted, full=fields is None)  # merges checksum all

    def _reader(self, entry: SegmentEntry) -> SegmentReader:
        if entry.name not in self._readers:
            self._readers[entry.name] = self._open(entry)
        return self._readers[entry.name]

    def _key_reader(self, entry: SegmentEntry) -> SegmentReader:
        """The segment opened lightly: its meta data, deletions and unique field (if the schema
        has one), enough for key lookups and deletion masks."""
        if entry.name in self._readers:
            return self._readers[entry.name]
        if entry.name not in self._key_readers:
            key = self.schema.unique_field
            self._key_readers[entry.name] = self._open(entry, fields={key} if key else set())
        return self._key_readers[entry.name]

    def _tokens(self, entry: SegmentEntry) -> int:
        """Tokens of a segment's TEXT fields (deleted documents included), for the merge size cap."""
        if entry.name not in self._token_counts:
            meta = read_meta(self._segment_path(entry.name), entry.files, entry.doc_count)  # meta.json only: cheap
            self._token_counts[entry.name] = sum(info.get("tokens", 0) for info in meta["fields"].values())
        return self._token_counts[entry.name]

    def _deletion_mask(self, entry: SegmentEntry) -> np.ndarray:
        if entry.name not in self._deleted:
            live = self._key_reader(entry).live
            self._deleted[entry.name] = np.zeros(entry.doc_count, bool) if live is None else ~live
        return self._deleted[entry.name]

    def _merge(self, indices: list[int]) -> None:
        entries = [self._segments[i] for i in indices]
        readers = []
        for entry in entries:
            reader = self._reader(entry)
            release_segment_pages(reader)  # read whole by the open's checks; the merge reads them a range at a time
            mask = self._deleted.get(entry.name)
            if mask is not None:
                reader.live = ~mask
            readers.append(reader)
        name = self._next_name()
        self._new.add(name)  # before writing, as in flush, so that a failure cleans up a partial directory
        doc_count, files = merge_segments(readers, self._segment_path(name))
        del readers
        for entry in entries:  # merged away: their maps and caches go now, not when the commit ends
            for opened in (self._readers, self._key_readers):
                reader = opened.pop(entry.name, None)
                if reader is not None:
                    reader.close()
        merged = SegmentEntry(name=name, doc_count=doc_count, files=files)
        position = indices[0]
        merged_away = set(indices)
        self._segments = [s for i, s in enumerate(self._segments) if i not in merged_away]
        if doc_count:
            self._segments.insert(position, merged)
        else:
            self._new.discard(name)
            shutil.rmtree(self._segment_path(name), ignore_errors=True)

    def _close_readers(self) -> None:
        for reader in (*self._readers.values(), *self._key_readers.values()):
            reader.close()
        self._readers, self._key_readers = {}, {}

    def _remove_unreferenced(self) -> None:
        """Delete what no kept commit references: older manifests, leftovers of cancelled or crashed
        writers, superseded deletion files and merged-away segments. Runs under the write lock, when a
        writer opens and after each commit. A file goes only when none of the KEEP_MANIFESTS newest
        commits names it; see the module docstring for why readers of older commits are unaffected."""
        gens = generations(self.directory)
        try:
            keep = [read_manifest(self.directory, g) for g in gens[-KEEP_MANIFESTS:]]
        except IndexCorruptError:
            return  # what a damaged kept manifest references is unknown: delete nothing
        referenced: dict[str, set[str]] = {}
        for m in keep:
            for s in m.segments:
                referenced.setdefault(s.name, set()).update(s.files)
        for g in gens[:-KEEP_MANIFESTS]:
            (self.directory / manifest_name(g)).unlink(missing_ok=True)
        for path in leftovers(self.directory, referenced):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

