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

from ..analysis import Analyzer
from ..errors import DocumentError
from ..passages import split_passages
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from .segment import MISSING_TIME, FieldArrays, write_segment


class _FieldBuffer:
    """One field's tokens: a term id per token (-1 for a dropped word, keeping its position),
    and the token count of each unit (document, or passage when the field is split)."""

    def __init__(self, analyzer: Analyzer, split: bool, text: bool, positions: bool):
        self.analyzer = analyzer
        self.vocab: dict[str, int] = {}  # term -> id
        self.word_ids: dict[str, int] = {}  # raw word -> term id, or -1 when analysis drops it
        self.tokens = array("i")
        self.unit_tokens = array("I")
        self.text, self.positions = text, positions
        self.unit_doc = array("I") if split else None
        self.spans = array("q") if split else None

    def _word_id(self, word: str) -> int:
        wid = self.word_ids.get(word)
        if wid is None:
            term = self.analyzer.term(word)
            wid = -1 if term is None else self.vocab.setdefault(term, len(self.vocab))
            self.word_ids[word] = wid
        return wid

    def ids_for_text(self, text: str) -> list[int]:
        """Term ids of the tokens of `text`, position by position (-1 where a word is dropped)."""
        if not self.analyzer.fused:
            terms, positions = self.analyzer.index_terms(text)
            return self.ids_for_terms(terms, positions)
        words = self.analyzer.tokenizer.words(text)
        wid = self.word_ids
        try:
            return [wid[w] for w in words]
        except KeyError:
            fn = self._word_id
            return [fn(w) for w in words]

    def ids_for_terms(self, terms: list[str], positions: list[int] | None = None) -> list[int]:
        """Term ids for already analysed terms (at `positions`, default consecutive)."""
        vocab = self.vocab
        ids = [vocab.setdefault(t, len(vocab)) for t in terms]
        if positions is None or positions == list(range(len(terms))):
            return ids
        out = [-1] * (max(positions) + 1 if positions else 0)
        for p, i in zip(positions, ids):
            out[p] = i
        return out

    def add_unit(self, ids: list[int], doc: int | None = None, span: tuple[int, int] | None = None) -> None:
        self.tokens.extend(ids)
        self.unit_tokens.append(len(ids))
        if self.unit_doc is not None:
            self.unit_doc.append(doc)
            self.spans.extend(span)

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
    """Analysed documents not yet written as a segment."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.fields: dict[str, _FieldBuffer] = {}
        for name, ft in schema.items():
            if ft.indexed:
                text = isinstance(ft, TEXT)
                split = text and ft.passages is not None
                self.fields[name] = _FieldBuffer(ft.analyzer, split, text, positions=text and ft.positions)
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
        """Analyse and buffer one document; raise DocumentError (buffer unchanged) if it is invalid."""
        if not isinstance(doc, Mapping):
            raise DocumentError(f"a document is a mapping of field names to values, not {type(doc).__name__}")
        schema, key_field = self.schema, self.schema.unique_field
        what = _describe(doc, key_field)
        unknown = [k for k in doc if k not in schema]
        if unknown:
            raise DocumentError(f"{what}: unknown field(s) {unknown}; the schema has {', '.join(schema)}")
        doc_index = len(self.stored)
        units: list[tuple] = []
        columns: dict[str, Any] = {}
        stored: dict[str, Any] = {}
        key = None
        tokens = chars = 0
        for name, value in doc.items():
            if value is None:
                continue
            ft = schema.fields[name]
            where = f"{what}, field {name!r}"
            if isinstance(ft, TEXT):
                text = _text(value, where)
                chars += len(text)
                fb = self.fields[name]
                if ft.passages is None:
                    ids = fb.ids_for_text(text)
                    units.append((name, [(ids, None)]))
                    tokens += len(ids)
                else:
                    parts = []
                    for a, b in split_passages(text, ft.passages, ft.analyzer):
                        ids = fb.ids_for_text(text[a:b])
                        parts.append((ids, (a, b)))
                        tokens += len(ids)
                    units.append((name, parts))
                value = text
            elif isinstance(ft, ID):
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    raise DocumentError(f"{where}: an ID is text or an integer, got {type(value).__name__}")
                value = _text(str(value), where)
                if not value.strip():
                    raise DocumentError(f"{where}: an ID cannot be empty")
                units.append((name, [(self.fields[name].ids_for_terms([value]), None)]))
                if ft.unique:
                    key = value
            elif isinstance(ft, KEYWORD):
                if isinstance(value, (list, tuple)):
                    value = [_text(v, where) for v in value]
                else:
                    value = _text(value, where)
                units.append((name, [(self.fields[name].ids_for_terms(ft.split(value)), None)]))
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
        given = dict(units)
        for name, fb in self.fields.items():
            parts = given.get(name)
            if fb.unit_doc is not None:
                for ids, span in parts or ():
                    fb.add_unit(ids, doc_index, span)
            else:
                fb.add_unit(parts[0][0] if parts else [])
        for name, values in self.columns.items():
            ft = schema.fields[name]
            values.append(columns.get(name, np.nan if isinstance(ft, NUMERIC) else MISSING_TIME))
        self.stored.append(stored)
        if key is not None:
            self._by_key.setdefault(key, []).append(doc_index)
        self.deleted.append(False)
        self.tokens += tokens
        self.chars += chars

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
        columns = {}
        for name, values in self.columns.items():
            dtype = np.float64 if isinstance(self.schema.fields[name], NUMERIC) else np.int64
            columns[name] = np.asarray(values, dtype=dtype)
        fields = {name: fb.arrays() for name, fb in self.fields.items()}
        files = write_segment(directory, len(self.stored), fields, columns, self.stored)
        return len(self.stored), files, np.asarray(self.deleted, dtype=bool)
