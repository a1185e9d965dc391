"""The in-memory buffer of a writer: documents analysed and waiting to be flushed as a segment.

Tokens are kept in compact typed arrays (4 bytes each), terms as small integers of a per-field
vocabulary; each distinct raw word is analysed once per buffer, so a token costs one dict lookup.
Flushing turns the arrays into sorted postings with numpy in one pass.
"""
from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import DocumentError
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from .analyze import Analysis, TextBatch
from .segment import MISSING_TIME, FieldArrays, write_segment


class _FieldBuffer:
    """One field's tokens: a segment term id per token position (-1 for a dropped word, which keeps
    its position), and the token count of each unit (document, or passage when the field is split)."""

    def __init__(self, split: bool, text: bool, positions: bool):
        self.vocab: dict[str, int] = {}  # term -> segment term id
        self.tokens = array("i")
        self.unit_tokens = array("I")
        self.text, self.positions = text, positions
        self.unit_doc = array("I") if split else None
        self.spans = array("q") if split else None
        self._remaps: dict[int, array] = {}  # analysis source -> segment id of each of its local ids

    def ids_for_terms(self, terms: list[str]) -> list[int]:
        """Segment term ids for exact terms (ID and KEYWORD values)."""
        vocab = self.vocab
        return [vocab.setdefault(t, len(vocab)) for t in terms]

    def add_unit(self, ids: list[int]) -> None:
        self.tokens.extend(ids)
        self.unit_tokens.append(len(ids))

    def add_batch(self, batch: TextBatch, source_terms: list[str], first_doc: int) -> None:
        """Append analysed units; `source_terms` are all the terms of the batch's source, by local id."""
        remap = self._remaps.setdefault(batch.source, array("i"))
        if len(remap) < len(source_terms):
            vocab = self.vocab
            remap.extend([vocab.setdefault(t, len(vocab)) for t in source_terms[len(remap):]])
        lookup = np.frombuffer(remap, dtype=np.int32) if len(remap) else np.zeros(1, np.int32)
        ids = np.where(batch.ids >= 0, lookup[np.maximum(batch.ids, 0)], -1).astype(np.int32)
        self.tokens.frombytes(ids.tobytes())
        self.unit_tokens.frombytes(batch.counts.astype(np.uint32).tobytes())
        if self.unit_doc is not None:
            self.unit_doc.frombytes((batch.owner.astype(np.int64) + first_doc).astype(np.uint32).tobytes())
            self.spans.frombytes(batch.spans.astype(np.int64).tobytes())

    def arrays(self) -> FieldArrays:
        counts = np.frombuffer(self.unit_tokens, dtype=np.uint32) if len(self.unit_tokens) else np.zeros(0, np.uint32)
        ids = np.frombuffer(self.tokens, dtype=np.int32) if len(self.tokens) else np.zeros(0, np.int32)
        n_units = len(counts)
        unit_of_token = np.repeat(np.arange(n_units, dtype=np.uint32), counts)
        keep = ids >= 0
        pos = None
        if self.positions:
            starts = np.cumsum(counts, dtype=np.int64) - counts
            pos = (np.arange(len(ids), dtype=np.int64) - np.repeat(starts, counts))[keep]
        unit_of_token = unit_of_token[keep]
        extra = {}
        if self.text:
            extra["lengths"] = np.bincount(unit_of_token, minlength=n_units).astype(np.uint32)
        if self.unit_doc is not None:
            extra["unit_doc"] = np.array(self.unit_doc, dtype=np.uint32)
            extra["unit_span"] = np.array(self.spans, dtype=np.int64).reshape(-1, 2)
        return FieldArrays.from_tokens(list(self.vocab), ids[keep], unit_of_token, pos, **extra)


def _describe(doc: Mapping, key_field: str | None) -> str:
    if key_field and key_field in doc:
        return f"document {key_field}={doc[key_field]!r}"
    return "document"


def _text(value: Any, where: str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{where}: bytes are not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not isinstance(value, str):
        raise DocumentError(f"{where}: expected text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DocumentError(f"{where}: text is not valid Unicode ({exc.reason} at character {exc.start})") from None
    return value


class SegmentBuffer:
    """Documents not yet written as a segment.

    `add` validates a document at once (so errors name it and leave the buffer unchanged) and
    queues its text; queued text is analysed in batches (`drain`), on several cores when large.
    """

    DRAIN_CHARS = 4_000_000  # queued characters that trigger a batch analysis

    def __init__(self, schema: Schema, analysis: Analysis):
        self.schema = schema
        self.analysis = analysis
        self.fields: dict[str, _FieldBuffer] = {}
        for name, ft in schema.items():
            if ft.indexed:
                text = isinstance(ft, TEXT)
                split = text and ft.passages is not None
                self.fields[name] = _FieldBuffer(split, text, positions=text and ft.positions)
        self._queued: dict[str, list[str]] = {n: [] for n, ft in schema.items() if isinstance(ft, TEXT)}
        self._queued_first = 0  # document index of the first queued document
        self._queued_chars = 0
        self.columns: dict[str, list] = {n: [] for n, ft in schema.items() if ft.column}
        self.stored: list[dict] = []
        self._by_key: dict[str, list[int]] = {}
        self.deleted: list[bool] = []
        self.tokens = 0
        self.chars = 0

    def __len__(self) -> int:
        return len(self.stored)

    @property
    def live_count(self) -> int:
        return len(self.deleted) - sum(self.deleted)

    def add(self, doc: Mapping[str, Any]) -> None:
        """Validate and queue one document; raise DocumentError (buffer unchanged) if it is invalid."""
        if not isinstance(doc, Mapping):
            raise DocumentError(f"a document is a mapping of field names to values, not {type(doc).__name__}")
        schema, key_field = self.schema, self.schema.unique_field
        what = _describe(doc, key_field)
        unknown = [k for k in doc if k not in schema]
        if unknown:
            raise DocumentError(f"{what}: unknown field(s) {unknown}; the schema has {', '.join(schema)}")
        doc_index = len(self.stored)
        units: dict[str, list[str]] = {}  # exact-term fields
        texts: dict[str, str] = {}
        columns: dict[str, Any] = {}
        stored: dict[str, Any] = {}
        key = None
        chars = 0
        for name, value in doc.items():
            if value is None:
                continue
            ft = schema.fields[name]
            where = f"{what}, field {name!r}"
            if isinstance(ft, TEXT):
                value = texts[name] = _text(value, where)
                chars += len(value)
            elif isinstance(ft, ID):
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    raise DocumentError(f"{where}: an ID is text or an integer, got {type(value).__name__}")
                value = _text(str(value), where)
                if not value.strip():
                    raise DocumentError(f"{where}: an ID cannot be empty")
                units[name] = [value]
                if ft.unique:
                    key = value
            elif isinstance(ft, KEYWORD):
                if isinstance(value, (list, tuple)):
                    value = [_text(v, where) for v in value]
                else:
                    value = _text(value, where)
                units[name] = ft.split(value)
            elif isinstance(ft, (NUMERIC, DATETIME)):
                try:
                    columns[name] = ft.to_value(value)
                except (ValueError, OverflowError) as exc:
                    raise DocumentError(f"{where}: {exc}") from None
                if isinstance(ft, DATETIME):
                    value = DATETIME.parse(value).isoformat()
            elif isinstance(ft, STORED):
                try:
                    json.dumps(value, allow_nan=False)
                except (TypeError, ValueError) as exc:
                    raise DocumentError(f"{where}: a STORED value must be JSON-serialisable: {exc}") from None
            if ft.stored:
                stored[name] = value
        # Everything validated: append to the buffers (nothing above touched them).
        for name, fb in self.fields.items():
            if name in self._queued:
                self._queued[name].append(texts.get(name, ""))
            else:
                fb.add_unit(fb.ids_for_terms(units.get(name, [])))
        for name, values in self.columns.items():
            ft = schema.fields[name]
            values.append(columns.get(name, np.nan if isinstance(ft, NUMERIC) else MISSING_TIME))
        self.stored.append(stored)
        self.deleted.append(False)
        if key is not None:
            self._by_key.setdefault(key, []).append(doc_index)
        self.chars += chars
        self._queued_chars += chars
        if self._queued_chars >= self.DRAIN_CHARS:
            self.drain()

    def drain(self) -> None:
        """Analyse the queued text of every TEXT field."""
        n_queued = len(self.stored) - self._queued_first
        if n_queued == 0:
            return
        for name, texts in self._queued.items():
            chars = sum(map(len, texts))
            for batch in self.analysis.run(name, texts, chars):
                self.fields[name].add_batch(batch, self.analysis.terms_of(batch), self._queued_first)
                self.tokens += int(batch.counts.sum(dtype=np.int64))
            texts.clear()
        self._queued_first = len(self.stored)
        self._queued_chars = 0

    def delete_key(self, key: str, keep_from: int | None = None) -> int:
        """Mark buffered documents with unique key `key` deleted (those added before `keep_from`
        only, if given); return how many."""
        indices = self._by_key.pop(key, [])
        kept = [i for i in indices if keep_from is not None and i >= keep_from]
        if kept:
            self._by_key[key] = kept
        for i in indices:
            if i not in kept:
                self.deleted[i] = True
        return len(indices) - len(kept)

    def write(self, directory: Path) -> tuple[int, dict[str, dict], np.ndarray]:
        """Write the buffer as a segment; return (doc count, files, deleted mask)."""
        self.drain()
        columns = {}
        for name, values in self.columns.items():
            dtype = np.float64 if isinstance(self.schema.fields[name], NUMERIC) else np.int64
            columns[name] = np.asarray(values, dtype=dtype)
        fields = {name: fb.arrays() for name, fb in self.fields.items()}
        files = write_segment(directory, len(self.stored), fields, columns, self.stored)
        return len(self.stored), files, np.asarray(self.deleted, dtype=bool)
