"""The in-memory buffer of a writer: documents analysed and waiting to be flushed as a segment.

Tokens are kept in compact typed arrays (4 bytes each), terms as small integers. Words are
analysed by the writer's Analysis (analyze.py: once per distinct word while its numbering lasts);
the buffer maps each batch's local term ids to the ids of the writer's lexicon of the field
(lexicon.py, kept across flushes: a term is numbered and placed in code-point order once, not
at every flush); ID and KEYWORD values are numbered by the buffer's own vocabulary. Flushing
turns the arrays into sorted postings with numpy in one pass.

What a buffer holds grows with the documents in it, never with the writer's history (the
lexicon is bounded as the analysis's numberings are), and a single field value is refused above
MAX_FIELD_BYTES of UTF-8 (a DocumentError naming document and field) before anything is queued.
"""
from __future__ import annotations

import json
from array import array
from collections import deque
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import DocumentError
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from ..storage.arrays import release_free_memory
from ..storage.segment import MISSING_TIME, FieldArrays, write_segment
from ..storage.spans import encode as encode_spans
from ..storage import stored as _stored
from ..storage.stored import MAX_NESTING, nested_deeper, stored_size
from . import analyze
from .analyze import Analysis, TextBatch
from .lexicon import Lexicon

# The largest field value accepted, in bytes of UTF-8 (TEXT, ID, KEYWORD; for STORED, characters
# of its JSON). Indexing a value costs memory in proportion to it (Python objects per distinct
# word: a 32 MiB value made only of distinct words, 5.5 million of them, peaks at ~2 GB), so the
# limit keeps one document from exhausting memory, in the spirit of Lucene's refusal of terms
# over 32,766 bytes.
MAX_FIELD_BYTES = 32 * 1024 * 1024


class _FieldBuffer:
    """One field's tokens: a segment term id per token position (-1 for a dropped word, which keeps
    its position), and the token count of each unit (document, or passage when the field is split)."""

    def __init__(self, split: bool, text: bool, positions: bool, index_phrases: bool = False,
                 offsets: bool = False, lexicon: Lexicon | None = None):
        # TEXT: tokens hold the writer's lexicon ids (lexicon.py), which also orders them at flush;
        # ID and KEYWORD: the buffer's own vocabulary, term -> segment term id
        self.lexicon = lexicon
        self.vocab: dict[str, int] = {}
        self.tokens = array("i")
        # the span of each token position in one byte, and the escaped ones' (position, gap, length)
        # (storage/spans.py; TEXT with offsets)
        self.offsets = array("B") if offsets else None
        self.offsets_exc = array("q") if offsets else None
        self.offsets_marks = array("I") if offsets else None  # their checkpoints
        self.unit_tokens = array("I")
        self.text, self.positions, self.index_phrases = text, positions, index_phrases
        self.unit_doc = array("I") if split else None
        self.spans = array("q") if split else None

    def ids_for_terms(self, terms: list[str]) -> list[int]:
        """Segment term ids for exact terms (ID and KEYWORD values)."""
        vocab = self.vocab
        return [vocab.setdefault(t, len(vocab)) for t in terms]

    def add_unit(self, ids: list[int]) -> None:
        self.tokens.extend(ids)
        self.unit_tokens.append(len(ids))

    def add_batch(self, batch: TextBatch, source_terms: list[str], first_doc: int) -> None:
        """Append analysed units; `source_terms` are all the terms of the batch's source, by local id."""
        self.tokens.frombytes(self.lexicon.token_ids(batch, source_terms).tobytes())
        self.unit_tokens.frombytes(batch.counts.astype(np.uint32).tobytes())
        if self.offsets is not None:
            base = None if batch.spans is None else batch.spans[:, 0]  # a passage's spans count from its start
            codes, exceptions, marks = encode_spans(batch.offsets[:, 0], batch.offsets[:, 1], batch.counts, base,
                                                    len(self.offsets))
            self.offsets.frombytes(codes.tobytes())
            self.offsets_exc.frombytes(exceptions.T.tobytes())
            self.offsets_marks.frombytes(marks.tobytes())
        if self.unit_doc is not None:
            self.unit_doc.frombytes((batch.owner.astype(np.int64) + first_doc).astype(np.uint32).tobytes())
            self.spans.frombytes(batch.spans.astype(np.int64).tobytes())

    def take_arrays(self) -> FieldArrays:
        """The buffered tokens as postings; empties this field buffer as it goes (each buffered
        array is dropped once converted), so that its vocabulary and tokens are not held alongside
        the postings built from them. Temporaries are 32-bit where the values fit (positions and
        units are below 2**32 in any buffer)."""
        counts = np.frombuffer(self.unit_tokens, dtype=np.uint32) if len(self.unit_tokens) else np.zeros(0, np.uint32)
        ids = np.frombuffer(self.tokens, dtype=np.int32) if len(self.tokens) else np.zeros(0, np.int32)
        terms = list(self.vocab)
        # `counts` and `ids` share the buffered arrays' memory: dropping the attributes leaves it to them.
        self.tokens, self.vocab, self.unit_tokens = array("i"), {}, array("I")
        n_units, n_tokens = len(counts), len(ids)
        keep = ids >= 0
        ids = ids[keep]
        unit_of_token = np.repeat(np.arange(n_units, dtype=np.uint32), counts)[keep]
        pos = None
        if self.positions:
            # position = token index - index of its unit's first token
            index_type = np.uint32 if n_tokens < 2**32 else np.uint64
            starts = (np.cumsum(counts, dtype=np.int64) - counts).astype(index_type)
            pos = np.arange(n_tokens, dtype=index_type)
            pos -= np.repeat(starts, counts)
            pos = pos[keep]
        del keep
        extra = {}
        if self.text:
            extra["lengths"] = np.bincount(unit_of_token, minlength=n_units).astype(np.uint32)
        if self.offsets is not None:
            extra["offsets"] = np.frombuffer(self.offsets, dtype=np.uint8).copy()
            extra["offsets_exc"] = np.frombuffer(self.offsets_exc, dtype=np.int64).reshape(-1, 3).T.copy()
            extra["offsets_marks"] = np.frombuffer(self.offsets_marks, dtype=np.uint32).copy()
            self.offsets_exc, self.offsets_marks = array("q"), array("I")
            extra["offsets_ptr"] = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
            self.offsets = array("B")
        if self.unit_doc is not None:
            extra["unit_doc"] = np.array(self.unit_doc, dtype=np.uint32)
            extra["unit_span"] = np.array(self.spans, dtype=np.int64).reshape(-1, 2)
            self.unit_doc, self.spans = array("I"), array("q")
        if self.lexicon is None:
            return FieldArrays.from_tokens(terms, ids, unit_of_token, pos, self.index_phrases, **extra)
        ranked, tid = self.lexicon.segment(ids)
        del ids
        self.lexicon.shrink(analyze.WORD_CACHE_LIMIT)  # no buffered token holds a lexicon id any more
        return FieldArrays.from_ranked(ranked, tid, unit_of_token, pos, self.index_phrases, **extra)


def _describe(doc: Mapping, key_field: str | None) -> str:
    if key_field and key_field in doc:
        return f"document {key_field}={doc[key_field]!r}"
    return "document"


def _too_large(where: str, size: str, limit: int) -> DocumentError:
    return DocumentError(f"{where}: the value is {size} bytes of UTF-8, over the limit of {limit:,} bytes "
                         f"({limit / 2**20:g} MiB) for one field value; split the document")


def _text(value: Any, where: str, limit: int) -> str:
    """The value as valid text of at most `limit` bytes of UTF-8, or a DocumentError saying why not.

    The size is checked before any copy is made (a value of more than `limit` characters or bytes is
    too large whatever its encoding), so refusing a huge value costs no memory.
    """
    if isinstance(value, (str, bytes)) and len(value) > limit:
        raise _too_large(where, f"at least {len(value):,}", limit)
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{where}: bytes are not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
        return value  # decoded UTF-8 is valid Unicode, and len(bytes) <= limit
    if not isinstance(value, str):
        raise DocumentError(f"{where}: expected text, got {type(value).__name__}")
    if value.isascii():  # O(1) in CPython: valid, one byte per character
        return value
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise DocumentError(f"{where}: text is not valid Unicode ({exc.reason} at character {exc.start})") from None
    if size > limit:
        raise _too_large(where, f"{size:,}", limit)
    return value


def _exact_terms(terms: list[str], where: str) -> list[str]:
    """ID and KEYWORD terms, refused if they hold a NUL or a line break: the term dictionary
    cannot store NUL, and the sorted term list keeps one term per line."""
    for term in terms:
        if "\x00" in term or "\n" in term or "\r" in term:
            raise DocumentError(f"{where}: an exact value cannot contain NUL or line-break characters: {term!r}")
    return terms


class SegmentBuffer:
    """Documents not yet written as a segment.

    `add` validates a document at once (so errors name it and leave the buffer unchanged) and
    queues its text; queued text is analysed in batches (`drain`), on several cores when large.
    """

    DRAIN_CHARS = 4_000_000  # queued characters that trigger a batch analysis
    MAX_PENDING = 8  # batches being analysed (by worker processes) before `drain` waits for one

    def __init__(self, schema: Schema, analysis: Analysis):
        self.schema = schema
        self.analysis = analysis
        self.max_field_bytes = MAX_FIELD_BYTES  # read per buffer, so a changed module constant takes effect
        self.fields: dict[str, _FieldBuffer] = {}
        for name, ft in schema.items():
            if ft.indexed:
                text = isinstance(ft, TEXT)
                split = text and ft.passages is not None
                self.fields[name] = _FieldBuffer(split, text, positions=text and ft.positions,
                                                index_phrases=text and ft.index_phrases,
                                                offsets=text and ft.offsets,
                                                lexicon=analysis.lexicons[name] if text else None)
        self._queued: dict[str, list[str]] = {n: [] for n, ft in schema.items() if isinstance(ft, TEXT)}
        self._queued_first = 0  # document index of the first queued document
        self._queued_chars = 0
        self._pending: deque[tuple[str, int, Any]] = deque()  # (field, first document, pending batch)
        self.columns: dict[str, list] = {n: [] for n, ft in schema.items() if ft.column}
        self.stored: list[dict] = []
        self._by_key: dict[str, list[int]] = {}
        self.deleted: list[bool] = []
        self.tokens = 0
        self.chars = 0  # characters of every value added (text, keys, keywords, stored JSON)

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
        chars = text_chars = 0
        limit = self.max_field_bytes
        for name, value in doc.items():
            if value is None:
                continue
            ft = schema.fields[name]
            where = f"{what}, field {name!r}"
            if isinstance(ft, TEXT):
                value = texts[name] = _text(value, where, limit)
                text_chars += len(value)
            elif isinstance(ft, ID):
                if isinstance(value, bool) or not isinstance(value, (str, int)):
                    raise DocumentError(f"{where}: an ID is text or an integer, got {type(value).__name__}")
                value = _text(str(value), where, limit)
                if not value.strip():
                    raise DocumentError(f"{where}: an ID cannot be empty")
                units[name] = _exact_terms([value], where)
                chars += len(value)
                if ft.unique:
                    key = value
            elif isinstance(ft, KEYWORD):
                if isinstance(value, (list, tuple)):
                    value = [_text(v, where, limit) for v in value]
                    size = sum(map(len, value))
                else:
                    value = _text(value, where, limit)
                    size = len(value)
                if size > limit:
                    raise _too_large(where, f"at least {size:,}", limit)
                chars += size
                units[name] = _exact_terms(ft.split(value), where)
            elif isinstance(ft, (NUMERIC, DATETIME)):
                try:
                    columns[name] = ft.to_value(value)
                except (ValueError, OverflowError) as exc:
                    raise DocumentError(f"{where}: {exc}") from None
                if isinstance(ft, DATETIME):
                    value = DATETIME.parse(value).isoformat()
            elif isinstance(ft, STORED):
                if nested_deeper(value, MAX_NESTING):  # before json.dumps, which would recurse that deep
                    raise DocumentError(f"{where}: a STORED value may not nest arrays or objects more than "
                                        f"{MAX_NESTING} levels deep")
                try:
                    size = len(json.dumps(value, allow_nan=False))
                except (TypeError, ValueError) as exc:
                    raise DocumentError(f"{where}: a STORED value must be JSON-serialisable: {exc}") from None
                if size > limit:
                    raise _too_large(where, f"{size:,}", limit)
                chars += size
            if ft.stored:
                stored[name] = value
        # Stored fields whose JSON could exceed the limit of one document (each character takes at
        # most 6 bytes, \u escaped) are measured exactly; most documents are far below.
        most = _stored.MAX_STORED_DOC_BYTES
        bound = 6 * (chars + text_chars + sum(map(len, stored))) + 64 * len(stored)
        if bound > most and (size := stored_size(stored)) > most:
            raise DocumentError(f"{what}: its stored fields take {size:,} bytes of JSON, over the limit of "
                                f"{most:,} bytes ({most / 2**20:g} MiB) for one document; store less of it")
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
        self.chars += chars + text_chars
        self._queued_chars += text_chars
        if self._queued_chars >= self.DRAIN_CHARS:
            self.drain()

    def drain(self) -> None:
        """Start analysing the queued text of every TEXT field, and take in the batches already
        analysed (in order); wait for the oldest while more than MAX_PENDING batches are pending,
        so the text and results in flight stay bounded."""
        if len(self.stored) > self._queued_first:
            for name, texts in self._queued.items():
                pending = self.analysis.submit(name, texts, sum(map(len, texts)))
                self._pending.append((name, self._queued_first, pending))
                self._queued[name] = []  # a new list: a worker may not have received `texts` yet
            self._queued_first = len(self.stored)
            self._queued_chars = 0
        while self._pending and (self._pending[0][2].ready() or len(self._pending) > self.MAX_PENDING):
            self._take_oldest()

    def settle(self) -> None:
        """Analyse everything queued and take in every batch: the buffer then holds all its tokens."""
        self.drain()
        while self._pending:
            self._take_oldest()

    def _take_oldest(self) -> None:
        name, first_doc, pending = self._pending.popleft()
        batch = self.analysis.collect(name, pending)
        self.fields[name].add_batch(batch, self.analysis.terms_of(batch), first_doc)
        self.tokens += int(batch.counts.sum(dtype=np.int64))

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
        """Write the buffer as a segment; return (doc count, files, deleted mask). This consumes the
        buffer's postings (it is discarded after a flush): nothing can be added to it afterwards."""
        self.settle()
        for name, fb in self.fields.items():
            if fb.unit_doc is None and len(fb.unit_tokens) != len(self.stored):  # one unit per document
                raise RuntimeError(f"field {name!r} has {len(fb.unit_tokens)} units for {len(self.stored)} documents")
        columns = {}
        for name, values in self.columns.items():
            dtype = np.float64 if isinstance(self.schema.fields[name], NUMERIC) else np.int64
            columns[name] = np.asarray(values, dtype=dtype)
        # each field's postings built when written, and dropped before the next field's are built
        fields = ((name, fb.take_arrays()) for name, fb in self.fields.items())
        files = write_segment(directory, len(self.stored), fields, columns, self.stored)
        del columns
        release_free_memory()
        return len(self.stored), files, np.asarray(self.deleted, dtype=bool)
