"""What the LangChain and LlamaIndex retrievers share: an index of (id, text, metadata) records
searched for passages, with no framework imported.

A `PassageStore` either opens an index someone built (any schema: the passage text comes from its
`text_field`, the metadata from its other stored fields) or builds one from records
(`PassageStore.create`): the id is the unique key, the text one TEXT field (optionally split into
passages), the metadata kept whole as JSON in a STORED field (values JSON cannot hold become text: dates in
ISO 8601, other objects their str()), and each metadata key whose values
are all strings, numbers or lists of strings also indexed under its own name, so that
`filter={"source": "a.txt", "year": (2010, None)}` works. A metadata key first seen after the index
was created is kept with the record but cannot be filtered on (the schema is fixed at creation).

Searching returns `Found` rows: the best passages (or whole documents), their span, score, snippet
and the record's metadata; `search_fused` fuses them with another retriever's ranking
(`searchlib.fusion`), the filter applied to both sides.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InvalidArgumentError, SchemaError
from ..fusion import fuse
from ..index import Index
from ..schema import ID, KEYWORD, NUMERIC, STORED, TEXT, FIELD_NAME, Schema
from ..search import Hit, Searcher

ID_FIELD, TEXT_FIELD, METADATA_FIELD = "id", "text", "metadata"
SYNTAXES = ("lenient", "strict", "plain")
_SPECIAL = re.compile(r'([()"^:~\[\]{}\\*?+\-<>=!/&|])')
_OPERATORS = frozenset(("AND", "OR", "NOT", "TO"))


def escape(text: str) -> str:
    """`text` as plain words of the query language: every character with a meaning is escaped
    and the operator words are lower-cased, so user text can never be read as syntax."""
    return " ".join(w.lower() if w in _OPERATORS else _SPECIAL.sub(r"\\\1", w) for w in text.split())


def query_text(query: str, syntax: str) -> tuple[str, bool]:
    """(text to search, lenient) for a query in one of SYNTAXES: "lenient" reads the query
    language and never raises, "strict" raises QuerySyntaxError on malformed text, "plain"
    searches the words alone."""
    if syntax not in SYNTAXES:
        raise InvalidArgumentError(f"syntax must be one of {', '.join(SYNTAXES)}, got {syntax!r}")
    if not isinstance(query, str):
        raise InvalidArgumentError(f"a query is text, not {type(query).__name__}")
    return (escape(query), True) if syntax == "plain" else (query, syntax == "lenient")


@dataclass
class Found:
    """One retrieved passage (or document): what a framework document is built from."""

    id: Any
    text: str
    metadata: dict
    score: float
    field: str | None = None
    start: int | None = None
    end: int | None = None
    passage: int | None = None
    snippet: str = ""

    def details(self) -> dict:
        """The retrieval facts a framework document carries in its metadata."""
        return {"doc_id": self.id, "score": self.score, "field": self.field, "start": self.start, "end": self.end,
                "passage": self.passage, "snippet": self.snippet}


def _field_for(values: list) -> "ID | NUMERIC | KEYWORD | None":
    """The indexed field a metadata key gets from its values (None: kept in the metadata only)."""
    if all(isinstance(v, str) for v in values):
        return ID(stored=False)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return NUMERIC(stored=False)
    if all(isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v) for v in values):
        return KEYWORD(stored=False)
    return None


def record_schema(records: Sequence[tuple[Any, str, Mapping]], analyzer: Any = "english",
                  passages: Any = None) -> Schema:
    """The schema `PassageStore.create` builds for these records (see the module docstring)."""
    seen: dict[str, list] = {}
    for _, _, metadata in records:
        for key, value in jsonable(dict(metadata or {})).items():
            seen.setdefault(key, []).append(value)
    fields: dict[str, Any] = {ID_FIELD: ID(unique=True, stored=True),
                              TEXT_FIELD: TEXT(analyzer=analyzer, stored=True, passages=passages),
                              METADATA_FIELD: STORED()}
    for key, values in seen.items():
        if key not in fields and FIELD_NAME.match(key):
            ftype = _field_for(values)
            if ftype is not None:
                fields[key] = ftype
    return Schema(**fields)


class PassageStore:
    """An index searched for passages, as a retriever uses it. Thread-safe: one searcher is kept
    and moved to the newest commit when one appears."""

    def __init__(self, path: "str | Path", text_field: str | None = None):
        self.index = Index.open(path)
        self.path = self.index.path
        schema = self.index.schema
        self.key = schema.unique_field
        if text_field is None:
            stored_text = [n for n, f in schema.items() if isinstance(f, TEXT) and f.stored]
            split = [n for n in stored_text if schema.fields[n].passages is not None]
            text_field = TEXT_FIELD if TEXT_FIELD in stored_text else (split or stored_text or [None])[0]
        if text_field is None or not isinstance(schema.fields.get(text_field), TEXT) or not schema[text_field].stored:
            raise SchemaError(f"the index at {self.path} needs a stored TEXT field for passage text; "
                              f"pass text_field= (stored TEXT fields: {', '.join(schema.text_fields()) or 'none'})")
        self.text_field = text_field
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None

    @classmethod
    def create(cls, path: "str | Path", records: Iterable[tuple[Any, str, Mapping]], *, analyzer: Any = "english",
               passages: Any = None, overwrite: bool = False) -> "PassageStore":
        """Build an index at `path` from (id or None, text, metadata) records; see the module docstring."""
        records = list(records)
        Index.create(path, record_schema(records, analyzer, passages), overwrite=overwrite)
        store = cls(path, TEXT_FIELD)
        store.add(records)
        return store

    # -- updates ------------------------------------------------------------------------------
    def add(self, records: Iterable[tuple[Any, str, Mapping]]) -> list[str]:
        """Add or replace (by id) records; a record without an id gets a new one. Returns the ids."""
        if self.key is None:
            raise SchemaError(f"the index at {self.path} has no unique ID field: it cannot be updated by id")
        schema = self.index.schema
        ids = []
        with self.index.writer(timeout=30.0) as w:
            for doc_id, text, metadata in records:
                doc_id = uuid.uuid4().hex if doc_id is None else str(doc_id)
                metadata = jsonable(dict(metadata or {}))
                doc = {self.key: doc_id, self.text_field: text}
                if METADATA_FIELD in schema and isinstance(schema.fields[METADATA_FIELD], STORED):
                    doc[METADATA_FIELD] = metadata
                    doc.update((k, v) for k, v in metadata.items()
                               if k not in doc and k in schema and _fits(schema.fields[k], v))
                else:  # an index of another layout: its own fields, by name
                    doc.update((k, v) for k, v in metadata.items() if k in schema and k not in doc)
                w.update(doc)
                ids.append(doc_id)
        return ids

    def delete(self, ids: Iterable[Any]) -> None:
        """Delete the records with these ids (an unknown id is no error)."""
        if self.key is None:
            raise SchemaError(f"the index at {self.path} has no unique ID field: it cannot delete by id")
        with self.index.writer(timeout=30.0) as w:
            for doc_id in ids:
                w.delete(str(doc_id))

    # -- searching ----------------------------------------------------------------------------
    def searcher(self) -> Searcher:
        """The shared searcher, on the newest commit."""
        with self._lock:
            if self._searcher is None:
                self._searcher = self.index.searcher()
            else:
                fresh = self._searcher.refresh()
                if fresh is not self._searcher:  # searches still reading the old one hold their hits already
                    self._searcher = fresh
            return self._searcher

    def search(self, query: str, k: int, *, filter: Any = None, syntax: str = "lenient", group: bool = False,
               **options: Any) -> list[Found]:
        """The best `k` passages for `query` (`group=True`: the best `k` documents, each as its
        best passage). `options` go to Searcher.search (fields, operator, k1, b, ...)."""
        return [self.found(h) for h in self._hits(query, k, filter, syntax, group, options)]

    def _hits(self, query: str, k: int, filter: Any, syntax: str, group: bool, options: Mapping) -> list[Hit]:
        text, lenient = query_text(query, syntax)
        hits = list(self.searcher().search(text, limit=k, filter=filter, lenient=lenient, group=group, **options))
        for hit in hits:  # read while this searcher is the current one
            hit.fields, hit.passages  # noqa: B018
        return hits

    def search_fused(self, query: str, k: int, others: Sequence[Sequence[tuple]], *, method: str = "rrf",
                     rrf_k: float = 60.0, weights: Sequence[float] | None = None, filter: Any = None,
                     syntax: str = "lenient", group: bool = False, depth: int | None = None,
                     **options: Any) -> list[tuple[float, "Found | Any"]]:
        """`search` fused with other rankings of `(id, score, payload)` tuples (ids: this index's
        keys): the best `k` as (fused score, Found) for documents searchlib found, (fused score,
        payload) for the others. The filter restricts the other rankings too (`filter_ids`)."""
        depth = max(2 * k, 20) if depth is None else depth
        lexical = [(h.id, h.score, h) for h in self._hits(query, depth, filter, syntax, group, options)]
        fused = fuse(self.searcher(), lexical, others, method=method, k=rrf_k, weights=weights, limit=k, filter=filter)
        return [(f.score, self.found(f.hit) if f.hit is not None else f.payload) for f in fused]

    def found(self, hit: Hit) -> Found:
        """A hit as a Found row: its best passage's text and span, the record's metadata."""
        fields = dict(hit.fields)
        passage = next(iter(hit.passages), None)
        if passage is not None and passage.text is not None:
            text, field, start, end, index = passage.text, passage.field, passage.start, passage.end, passage.index
        else:  # no passage of a stored text field: the whole text
            value = fields.get(self.text_field)
            text = value if isinstance(value, str) else ""
            field, start, end, index = self.text_field, 0, len(text), 0
        metadata = fields.get(METADATA_FIELD)
        if not isinstance(metadata, dict) or not isinstance(self.index.schema.fields.get(METADATA_FIELD), STORED):
            metadata = {k: v for k, v in fields.items() if k not in (self.text_field, self.key)}
        return Found(hit.id, text, dict(metadata), float(hit.score), field, start, end, index, hit.snippet)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None


def jsonable(value: Any) -> Any:
    """Metadata as JSON can hold it (a STORED field is JSON): dates and times in ISO 8601, tuples
    and sets as lists, non-finite numbers as None, keys as text, anything else as its str()."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    return str(value)


def _fits(ftype: Any, value: Any) -> bool:
    """Whether a metadata value can go into the indexed field made for its key (else it stays
    in the stored metadata only, as a key first seen after creation does)."""
    if isinstance(ftype, NUMERIC):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(ftype, KEYWORD):
        return isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value)
    return isinstance(value, str)
