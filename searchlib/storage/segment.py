"""Immutable segments: the postings, lengths, passages, columns and stored fields of a batch of documents.

A segment is a directory of files written once (components.py names and describes each): per
indexed field, its term dictionary (termdict.py: the sorted terms; a term's id is its rank),
postings (unit and term frequency, by term id) and positions, the token count of each unit
(TEXT), each passage's document and character span (split TEXT), each document's term ids
(KEYWORD, ID: the postings inverted) and optionally the postings of adjacent word pairs
(pairs.py); per NUMERIC or DATETIME field a column (float64 with NaN for missing, int64 with
MISSING_TIME); stored fields (stored.py); and `meta.json` with per-field counts. A commit that deletes some of its documents adds a
deletions bitset named after its generation; the manifest names the segment's current one, and
older ones go when no kept commit names them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import IndexCorruptError
from . import pairs as _pairs
from . import spans as _spans
from . import validate
from .arrays import chunks, first_in_ranges, gather_ranges, invert_postings, narrow_offsets, narrowest_uint, run_starts
from .blocks import block_bounds
from .components import Component, Kind
from .files import Ahead, held_directory, load_array, map_verified, read_file, verify, write_array, write_bytes
from .pairs import PairArrays
from .stored import StoredReader, write_stored
from .termdict import EncodedTerms, TermDictionary, encode as encode_terms

META = Component.META.file()
MISSING_TIME = np.iinfo(np.int64).min
# positions stay below 2**31, so unit * POSITION_STRIDE + position is unique (a position key)
POSITION_STRIDE = np.int64(1) << np.int64(32)
_POS_CACHE_POSTINGS = 4_000_000  # postings whose position starts a field reader keeps (32 MB)
_validated: set[tuple] = set()  # fields whose contents passed validate.content_problems (by their files)
_VALIDATED_LIMIT = 100_000  # beyond it the memory starts over
_SCAN_UNITS, _SCANS = 64, 8  # unit_term_ids: lookups of at most this many units answered by a scan, this many times
# Maps read around each fault (the kernel's read-ahead): a field's per-unit arrays, which a search
# reads at its postings' units, spread over the whole array. Every other array is read at random
# (FileMap), a page per fault, and long ranges of postings are asked for ahead (_AHEAD_POSTINGS).
_READ_AROUND = frozenset((Component.LEN, Component.UDOC, Component.USPAN))
_AHEAD_POSTINGS = 8192  # postings (32 KB of units) beyond which a list's pages are asked for in one request
_ASKED_LIMIT = 100_000  # terms remembered as asked for ahead; beyond it the memory starts over


def stable_order(keys: np.ndarray, max_key: int) -> np.ndarray:
    """A stable argsort of non-negative integer keys, without a comparison argsort: below 2**16
    one linear-time radix argsort (numpy's, for 16-bit integers); below 2**32 one plain sort of the
    keys with each one's place packed in the low 32 bits (numpy's vectorised integer sort, about
    4x faster than two radix passes); else 16-bit radix passes."""
    keys = np.asarray(keys)
    if max_key < 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if max_key < 1 << 32 and len(keys) < 1 << 32:
        packed = np.sort((keys.astype(np.uint64) << np.uint64(32)) | np.arange(len(keys), dtype=np.uint64))
        return (packed & np.uint64(0xFFFF_FFFF)).astype(np.intp)
    order = np.arange(len(keys))
    shift = 0
    while max_key >> shift:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def _pointers(ids: np.ndarray, count: int) -> np.ndarray:
    """Where each of `count` ids starts in the sorted `ids`, and the end: int64[count + 1], a
    count per id summed up (linear; a binary search per id costs twice as much)."""
    pointers = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(ids, minlength=count), out=pointers[1:])
    return pointers


@dataclass
class FieldArrays:
    """One field's postings, sorted by (term id, unit), ready to be written; `terms` are the
    field's distinct terms in code-point order, a term's id its index there (as strings, or as
    the term dictionary's bytes: termdict.EncodedTerms)."""

    terms: "list[str] | EncodedTerms"
    ptr: np.ndarray
    unit: np.ndarray
    tf: np.ndarray
    pptr: np.ndarray | None = None
    pos: np.ndarray | None = None
    lengths: np.ndarray | None = None
    unit_doc: np.ndarray | None = None
    unit_span: np.ndarray | None = None
    pairs: PairArrays | None = None
    # each token position's span: uint8 codes (positions,) with their exceptions (spans.py), or
    # uint32 (positions, 2) character spans (offsets_exc None)
    offsets: np.ndarray | None = None
    offsets_exc: np.ndarray | None = None  # int64 (3, escaped positions)
    offsets_marks: np.ndarray | None = None  # uint32 checkpoints of the codes (None: computed when written)
    offsets_ptr: np.ndarray | None = None  # int64 (units + 1): where each unit's positions start in offsets
    # components a merge already streamed to their files (their manifest entries; the arrays above
    # are those files memory-mapped), and the block bounds it computed as it went (BLOCKPTR, BLOCKMAX)
    written: dict[Component, dict] = dataclass_field(default_factory=dict)
    blocks: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_tokens(cls, terms: list[str], term_of_token: np.ndarray, unit_of_token: np.ndarray,
                    pos_of_token: np.ndarray | None, index_phrases: bool = False, **unit_arrays) -> "FieldArrays":
        """Postings from a token stream given in (unit, position) order, and with
        `index_phrases` the postings of adjacent word pairs (pairs.py; needs positions).

        `terms` are the field's distinct terms, `term_of_token` indexes into them. Every term is
        used by some token: a buffer's vocabulary only receives the terms of tokens it keeps
        (documents are validated before any of their terms enter it), so no term is written
        without postings.
        """
        by_term = sorted(range(len(terms)), key=terms.__getitem__)  # term ids are ranks in code-point order
        rank = np.empty(len(terms), dtype=np.int64)
        rank[by_term] = np.arange(len(terms))
        tid = rank[term_of_token] if len(terms) else np.zeros(0, dtype=np.int64)
        return cls.from_ranked([terms[i] for i in by_term], tid, unit_of_token, pos_of_token, index_phrases,
                               **unit_arrays)

    @classmethod
    def from_ranked(cls, terms: "list[str] | EncodedTerms", tid: np.ndarray, unit_of_token: np.ndarray,
                    pos_of_token: np.ndarray | None, index_phrases: bool = False, **unit_arrays) -> "FieldArrays":
        """`from_tokens` for terms already in code-point order (a list, or encoded as the writer's
        lexicon gathers them) and each token's term id `tid` already its term's rank there."""
        pairs = None
        if index_phrases and pos_of_token is not None:
            pairs = _pairs.from_tokens(tid, unit_of_token, pos_of_token)
        order = stable_order(tid, len(terms))  # stable: keeps (unit, position) order within a term
        tid, units = tid[order], unit_of_token[order]
        n = len(tid)
        starts = run_starts(tid, units)  # the first token of each (term, unit) posting
        tf = np.diff(np.append(starts, n))
        tf = tf.astype(narrowest_uint(int(tf.max()) if len(tf) else 0))
        ptr = _pointers(tid[starts], len(terms))
        pptr = pos = None
        if pos_of_token is not None:
            pos = pos_of_token[order]
            pos = pos.astype(narrowest_uint(int(pos.max()) if len(pos) else 0))
            pptr = _pointers(tid, len(terms))
        return cls(terms, ptr, units[starts].astype(np.uint32), tf, pptr, pos, pairs=pairs, **unit_arrays)

    def arrays(self, doc_count: int) -> dict[Component, np.ndarray]:
        """The field's arrays by component, those it has (the term dictionary aside); a field
        with lengths gets its block bounds (blocks.py), one without (KEYWORD, ID: a unit per
        document) its terms per document (the postings inverted: facets and collapse read a
        document's values there), both computed here, at flush and at merge. Pointers are written
        as int32 when they fit (narrow_offsets); token spans as one-byte codes unless escapes make
        them larger than uint32 pairs (spans.packed_pays)."""
        found = {Component.PTR: narrow_offsets(self.ptr), Component.UNIT: self.unit, Component.TF: self.tf,
                 Component.PPTR: None if self.pptr is None else narrow_offsets(self.pptr), Component.POS: self.pos,
                 Component.LEN: self.lengths, Component.UDOC: self.unit_doc, Component.USPAN: self.unit_span}
        if self.offsets is not None:
            found.update(zip((Component.OFFS, Component.OFFX), self._spans()))
            found[Component.OPTR] = narrow_offsets(np.asarray(self.offsets_ptr, dtype=np.int64))
            if found[Component.OFFX] is not None:
                found[Component.OFFK] = self.offsets_marks if self.offsets_marks is not None else \
                    _spans.checkpoints(self.offsets, self.offsets_exc, self.offsets_ptr,
                                       None if self.unit_span is None else self.unit_span[:, 0])
        if self.lengths is not None:
            found[Component.BLOCKPTR], found[Component.BLOCKMAX] = self.blocks if self.blocks is not None else \
                block_bounds(self.ptr, self.unit, self.tf, self.lengths)
        else:
            pointers, found[Component.DOCTERM] = invert_postings(self.ptr, self.unit, doc_count)
            if len(found[Component.DOCTERM]) != doc_count or np.any(np.diff(pointers) != 1):
                found[Component.DOCPTR] = pointers  # (one term per document, an ID's: no pointers needed)
        if self.pairs is not None:
            found.update(zip(_pairs.COMPONENTS, self.pairs.arrays().values()))
        return {c: a for c, a in found.items() if a is not None}

    def _spans(self) -> "tuple[np.ndarray, np.ndarray | None]":
        """The token spans to write: (codes, exceptions), or (uint32 pairs, None) when they are
        uint32 pairs already or the codes would take more bytes (many escapes)."""
        if self.offsets_exc is None or _spans.packed_pays(len(self.offsets), self.offsets_exc.shape[1]):
            return self.offsets, self.offsets_exc
        ptr = np.asarray(self.offsets_ptr, dtype=np.int64)
        base = None if self.unit_span is None else self.unit_span[:, 0]
        wide = np.empty((len(self.offsets), 2), dtype=np.uint32)
        for u1, u2 in chunks(ptr, _spans.CHUNK):
            starts, ends = _spans.decode(self.offsets, self.offsets_exc, ptr, base, np.arange(u1, u2),
                                         np.diff(ptr[u1:u2 + 1]))
            wide[ptr[u1]:ptr[u2], 0], wide[ptr[u1]:ptr[u2], 1] = starts, ends
        return wide, None


def write_segment(directory: Path, doc_count: int, fields: Iterable[tuple[str, FieldArrays]],
                  columns: dict[str, np.ndarray], stored: Iterable[dict]) -> dict[str, dict]:
    """Write a new segment directory; return {file name: {size, crc32}} for the manifest.

    `fields` are (name, FieldArrays) pairs, each written and dropped before the next is asked for:
    given as a generator that builds each field when asked (a flush, a merge), memory holds one
    field's arrays at a time, and none while the stored documents are written. A merge's field,
    built once the directory exists, has its postings streamed to their files already
    (FieldArrays.written): their entries are taken as they are."""
    directory.mkdir(parents=True)
    files: dict[str, dict] = {}

    def write(component: Component, data, field: str | None = None, entry: dict | None = None) -> None:
        fname = component.file(field)
        if entry is not None:  # streamed to its file already
            files[fname] = entry
            return
        files[fname] = (write_array if component.kind is Kind.ARRAY else write_bytes)(directory / fname, data)

    meta = {"doc_count": doc_count, "fields": {}}
    for name, fa in fields:
        meta["fields"][name] = _write_field(write, name, fa, doc_count)
        del fa  # before the next field is built
    for name, col in columns.items():
        write(Component.COLUMN, col, name)
    files.update(write_stored(directory, stored))
    write(Component.META, json.dumps(meta, sort_keys=True).encode())
    return files


def _write_field(write, name: str, fa: FieldArrays, doc_count: int) -> dict:
    """Write one field's files through `write`; return its meta.json entry."""
    for component, data in encode_terms(fa.terms).items():
        write(component, data, name)
    arrays = fa.arrays(doc_count)
    for component, arr in arrays.items():
        write(component, arr, name, fa.written.get(component))
    info = {"terms": len(fa.terms), "postings": int(len(fa.unit)), "positions": fa.pos is not None,
            "split": fa.unit_doc is not None}
    if Component.DOCTERM in arrays:  # the most terms a document has (readers pick their path by it)
        pointers = arrays.get(Component.DOCPTR)
        info["doc_terms"] = min(doc_count, 1) if pointers is None else int(np.diff(pointers).max())
    if fa.pairs is not None:
        info.update(pairs=int(len(fa.pairs.keys)), pair_postings=int(len(fa.pairs.unit)))
    if fa.offsets is not None:
        info["offsets"] = True
    if fa.lengths is not None:
        info.update(units=int(len(fa.lengths)), tokens=int(fa.lengths.sum(dtype=np.int64)),
                    nonempty=int(np.count_nonzero(fa.lengths)))
    return info


class FieldReader:
    """Memory-mapped postings of one field in one segment, and its term dictionary."""

    def __init__(self, directory: Path, name: str, files: dict[str, dict], info: dict, doc_count: int,
                 full: bool = False):
        """Open the field's files, checked as files.check_file does (every byte, and the arrays'
        contents by validate.content_problems, with `full`)."""
        self.name = name
        self.info = info
        self.units = int(info.get("units", doc_count))  # documents, or passages for split fields

        def listed(component: Component) -> dict:
            fname = component.file(name)
            if fname not in files:
                raise IndexCorruptError(str(directory / fname), "missing from the manifest, though meta.json "
                                                                f"lists the field {name!r}")
            return files[fname]

        base = os.fspath(directory) + os.sep  # paths as strings: a searcher opens hundreds of files

        def arr(component: Component, required: bool = False):
            fname = component.file(name)
            if fname in files or required:
                return load_array(base + fname, listed(component), full=full, random=component not in _READ_AROUND)
            return None

        self.ptr, self.unit, self.tf = arr(Component.PTR, True), arr(Component.UNIT, True), arr(Component.TF, True)
        self.pptr, self.pos = arr(Component.PPTR), arr(Component.POS)
        self.lengths, self.unit_doc, self.unit_span = arr(Component.LEN), arr(Component.UDOC), arr(Component.USPAN)
        # token spans: uint8 codes with their exceptions (format 7), or uint32 pairs (format 6, and
        # format 7 where codes would not pay); offs_path names the file a span that fails to decode is in
        self.offsets, self.offsets_exc, self.offsets_ptr = arr(Component.OFFS), arr(Component.OFFX), arr(Component.OPTR)
        self.offsets_marks = arr(Component.OFFK)
        self._span_reader: "_spans.SpanReader | None" = None  # made at the first spans read
        self._offs_path = base + Component.OFFS.file(name)
        self.pairs = self._pairs(directory, arr) if "pairs" in info else None
        self.block_ptr, self.block_max = arr(Component.BLOCKPTR), arr(Component.BLOCKMAX)
        # KEYWORD and ID fields of format 6 on: each document's term ids (None in older segments),
        # and where each document's start (None when every document has one: an ID's)
        self.doc_ptr, self.doc_term = arr(Component.DOCPTR), arr(Component.DOCTERM)
        self._ahead: tuple[Ahead, Ahead, Ahead] | None = None  # of unit, tf, pos: made at the first long range
        self._asked: set[int] = set()  # terms whose long postings (and positions) were asked for ahead
        self._unit_terms: np.ndarray | None = None
        self._scans = 0  # unit_term_ids answered by scanning, before unit_terms is built
        self._pos_start: dict[int, np.ndarray] = {}  # term id -> where its postings' positions start
        self._pos_cached = 0
        text = map_verified(base + Component.LEX.file(name), listed(Component.LEX), full, random=True)
        self.dictionary = TermDictionary.open(directory, name, listed(Component.LEX)["size"],
                                              arr(Component.LEXOFF, True), arr(Component.LEXKEY, True), info["terms"],
                                              full, text)
        if len(self.ptr) != len(self.dictionary) + 1:
            raise IndexCorruptError(str(directory / Component.PTR.file(name)), "does not match the term dictionary")
        self._validate(directory, files, doc_count, full)

    def field_arrays(self) -> dict[Component, np.ndarray | None]:
        """The field's arrays by component (None for those it does not have), pairs and the term
        dictionary aside."""
        return {Component.PTR: self.ptr, Component.UNIT: self.unit, Component.TF: self.tf, Component.PPTR: self.pptr,
                Component.POS: self.pos, Component.LEN: self.lengths, Component.UDOC: self.unit_doc,
                Component.USPAN: self.unit_span, Component.BLOCKPTR: self.block_ptr, Component.BLOCKMAX: self.block_max,
                Component.OFFS: self.offsets, Component.OFFX: self.offsets_exc, Component.OFFK: self.offsets_marks,
                Component.OPTR: self.offsets_ptr,
                Component.DOCPTR: self.doc_ptr,
                Component.DOCTERM: self.doc_term}

    def _validate(self, directory: Path, files: dict[str, dict], doc_count: int, full: bool) -> None:
        """Refuse arrays a search could not rely on (validate.py): their sizes and counts always,
        with `full` their contents, the first time this process opens these files so."""
        problem = validate.field_problem(self.name, self.info, self.field_arrays(), doc_count)
        key = (str(directory), self.name, doc_count,
               tuple(sorted((f, e.get("size"), e.get("crc32")) for f, e in files.items() if f.startswith(self.name))))
        if problem is None and full and key not in _validated:
            p = self.pairs
            pairs = [p.keys, p.ptr, p.unit, p.tf] if p is not None else None
            found = validate.content_problems(self.info, self.field_arrays(), pairs, doc_count)
            if found:
                problem = found[0]
            else:
                if len(_validated) >= _VALIDATED_LIMIT:
                    _validated.clear()
                _validated.add(key)
        if problem is not None:
            component, message = problem
            raise IndexCorruptError(str(directory / (META if component is None else component.file(self.name))),
                                    message)

    def _pairs(self, directory: Path, arr) -> PairArrays:
        """The field's pair postings, which meta.json says it has."""
        found = [arr(component) for component in _pairs.COMPONENTS]
        for component, a in zip(_pairs.COMPONENTS, found):
            if a is None:
                raise IndexCorruptError(str(directory / component.file(self.name)),
                                        "missing from the manifest, though meta.json lists pair postings")
        for component, problem in _pairs.problems(found, self.info["pairs"], self.info.get("pair_postings")):
            raise IndexCorruptError(str(directory / component.file(self.name)), problem)
        return PairArrays(*found)

    @property
    def split(self) -> bool:
        return self.unit_doc is not None

    def unit_terms(self) -> np.ndarray:
        """For a one-term-per-unit field (an ID): each unit's term id, -1 for none (built once)."""
        if self._unit_terms is None:  # read whole below: asked for whole (see _read_ahead)
            _ask_whole(self.doc_term, self.doc_ptr, self.unit if self.doc_term is None else None)
        if self._unit_terms is None and self.doc_term is not None:
            self._unit_terms = first_in_ranges(self.doc_ptr, self.doc_term, np.arange(self.units))
        if self._unit_terms is None:
            terms = np.full(self.units, -1, dtype=np.int64)
            terms[np.asarray(self.unit)] = np.repeat(np.arange(len(self.dictionary)), np.diff(np.asarray(self.ptr)))
            self._unit_terms = terms
        return self._unit_terms

    def unit_term_ids(self, units: np.ndarray) -> np.ndarray:
        """The term id of each of `units` in a one-term-per-unit field (an ID; -1 for none). The
        first few calls for a few units scan the postings once each (O(postings), no allocation per
        unit) instead of building unit_terms' array over every unit, so that a first query on a
        large index does not pay for it; later calls build and use that array. A segment of format
        6 on reads them from its terms per document."""
        units = np.asarray(units, dtype=np.int64)
        if self.doc_term is not None:
            return first_in_ranges(self.doc_ptr, self.doc_term, units)
        if self._unit_terms is None and len(units) <= _SCAN_UNITS and self._scans < _SCANS:
            self._scans += 1
            _ask_whole(self.unit)
            unit = np.asarray(self.unit)
            at = np.flatnonzero(np.isin(unit, units))  # the postings of the wanted units
            out = np.full(len(units), -1, dtype=np.int64)
            if len(at):
                found = unit[at].astype(np.int64)
                order = np.argsort(found, kind="stable")
                where = np.minimum(found[order].searchsorted(units), len(found) - 1)
                hit = found[order][where] == units
                tids = np.searchsorted(np.asarray(self.ptr), at[order][where], side="right") - 1
                out[hit] = tids[hit]
            return out
        return self.unit_terms()[units]

    def unit_term(self, unit: int) -> str | None:
        """The single term of `unit` in a one-term-per-unit field (an ID), or None."""
        if not 0 <= unit < self.units:
            return None
        tid = int(self.unit_term_ids(np.array([unit]))[0])
        return None if tid < 0 else self.dictionary.term(tid)

    def term_id(self, term: str) -> int:
        """The term's id, or -1 when the segment does not hold it."""
        return self.dictionary.id(term)

    def doc_freq(self, term: str) -> int:
        tid = self.term_id(term)
        return 0 if tid < 0 else int(self.ptr[tid + 1] - self.ptr[tid])

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(units, term frequencies) of term id `tid`, units ascending."""
        a, b = int(self.ptr[tid]), int(self.ptr[tid + 1])
        if b - a > _AHEAD_POSTINGS and tid not in self._asked:
            self._read_ahead(tid, a, b)
        return self.unit[a:b], self.tf[a:b]

    def _read_ahead(self, key: int, a: int, b: int, c: int = 0, d: int = 0) -> None:
        """Ask for a term's postings a..b (and positions c..d) ahead of reading them: their maps
        are read at random (a page per fault), so a long list is asked for whole, in one request,
        the first time this reader reads it (asking again for pages in memory costs ~15 us a MB);
        `key` (the term id, or ~id with positions) is remembered in _asked."""
        if self._ahead is None:
            self._ahead = (Ahead(self.unit), Ahead(self.tf), Ahead(self.pos))
        if len(self._asked) >= _ASKED_LIMIT:
            self._asked.clear()
        self._asked.add(key)
        unit, tf, pos = self._ahead
        unit.items(a, b)
        tf.items(a, b)
        if d > c:
            pos.items(c, d)

    def positions(self, tid: int, posting_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the chosen postings of `tid` (indices into its posting list), and for each
        position the index (into `posting_index`) of the posting it belongs to."""
        if self.pos is None:
            raise ValueError(f"field {self.name!r} was indexed without positions")
        posting_index = np.asarray(posting_index, dtype=np.int64)
        chosen_tf = np.asarray(self.tf[int(self.ptr[tid]) + posting_index], dtype=np.int64)
        idx = gather_ranges(self.position_starts(tid)[posting_index], chosen_tf)
        owner = np.repeat(np.arange(len(posting_index)), chosen_tf)
        return np.asarray(self.pos[idx], dtype=np.int64), owner

    def unit_offsets(self, unit: int) -> np.ndarray | None:
        """The character span (start, end) in the stored text of each token position of `unit`,
        as a (positions, 2) int64 array; None when the field keeps no offsets."""
        if self.offsets is None:
            return None
        a, b = self.offsets_ptr[unit:unit + 2].tolist()
        units = np.full(b - a, unit, dtype=np.int64)
        return np.stack(self.position_spans(units, np.arange(b - a, dtype=np.int64)), axis=1)

    def position_spans(self, units: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) int64: the character span in the stored text of each position
        positions[i] of unit units[i] (each below its unit's count of positions; the field keeps
        offsets). Uint8 codes are summed from the nearest checkpoint or unit start
        (spans.SpanReader): at most 31 codes a position are read."""
        units = np.asarray(units, dtype=np.int64)
        positions = np.asarray(positions, dtype=np.int64)
        optr = np.asarray(self.offsets_ptr)
        if self.offsets_exc is None:  # uint32 pairs: the rows themselves
            at = optr[units] + positions
            if len(at) and (int(at.min()) < 0 or int(at.max()) >= len(self.offsets)):
                raise IndexCorruptError(self._offs_path, "offset pointers reach past the token spans")
            rows = np.asarray(self.offsets)[at].astype(np.int64)
            return rows[:, 0].copy(), rows[:, 1].copy()
        if self._span_reader is None:
            base = None if self.unit_span is None else np.asarray(self.unit_span)[:, 0]
            self._span_reader = _spans.SpanReader(np.asarray(self.offsets), self.offsets_exc,
                                                  np.asarray(self.offsets_marks), optr, base)
        try:
            return self._span_reader.at(units, positions)
        except _spans.SpanError as exc:
            raise IndexCorruptError(self._offs_path, str(exc)) from None

    def position_keys(self, tid: int, offset: int = 0) -> np.ndarray:
        """Every position of term `tid` as a sorted int64 key unit * 2**32 + position - offset."""
        a, b = self.ptr[tid:tid + 2].tolist()
        c, d = self.pptr[tid:tid + 2].tolist()
        if d - c > _AHEAD_POSTINGS and ~tid not in self._asked:  # (~tid: the term's positions)
            self._read_ahead(~tid, a, b, c, d)
        starts = self.unit[a:b] * POSITION_STRIDE
        if offset:
            starts -= offset
        keys = starts.repeat(self.tf[a:b])
        keys += self.pos[c:d]
        return keys

    def position_starts(self, tid: int) -> np.ndarray:
        """Where each posting of term `tid` has its positions in `pos` (int64, one per posting):
        the running sum of the term's frequencies from `pptr[tid]`. Kept for the terms of recent
        phrase queries (at most _POS_CACHE_POSTINGS postings in all), so a repeated word does not
        sum its whole posting list again while memory stays bounded on large indexes."""
        starts = self._pos_start.get(tid)
        if starts is None:
            a, b = int(self.ptr[tid]), int(self.ptr[tid + 1])
            starts = np.empty(b - a, dtype=np.int64)
            if b > a:
                starts[0] = int(self.pptr[tid])
                np.cumsum(self.tf[a:b - 1], dtype=np.int64, out=starts[1:])
                starts[1:] += starts[0]
            if self._pos_cached + len(starts) > _POS_CACHE_POSTINGS:
                self._pos_start.clear()
                self._pos_cached = 0
            self._pos_start[tid] = starts
            self._pos_cached += len(starts)
        return starts


def _ask_whole(*arrays: "np.ndarray | None") -> None:
    """Ask for the whole of memory-mapped arrays about to be read whole (see FieldReader._read_ahead)."""
    for array in arrays:
        if array is not None:
            Ahead(array).items(0, len(array))


# -- validators: what opening a segment and `check` both require of its files -------------------
# Each returns what is wrong (a message for IndexCorruptError or a check report), or None. They
# cost O(1), or one pass over a deletions bitset; `check` scans contents further.

_META_COUNTS = ("terms", "postings", "units", "tokens", "nonempty", "pairs", "pair_postings", "doc_terms")
COLUMN_DTYPES = (np.dtype(np.float64), np.dtype(np.int64))  # NUMERIC, DATETIME
_BITS_SET = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1)  # per byte value


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def meta_problem(meta, doc_count: int | None = None) -> str | None:
    """What is wrong with a decoded meta.json: a document count, and per field a mapping whose
    counts are counts; with the manifest's `doc_count`, the document count must equal it."""
    if not isinstance(meta, dict):
        return "is not a JSON object"
    if not _is_count(meta.get("doc_count")):
        return f"'doc_count' is {meta.get('doc_count')!r}, not a number of documents"
    fields = meta.get("fields")
    if not isinstance(fields, dict) or not all(isinstance(v, dict) for v in fields.values()):
        return "'fields' is not a mapping of field names to counts"
    for name, info in fields.items():
        for key in _META_COUNTS:
            if (key in info or key in ("terms", "postings")) and not _is_count(info.get(key)):
                return f"field {name!r}: {key!r} is {info.get(key)!r}, not a count"
    if doc_count is not None and meta["doc_count"] != doc_count:
        return f"says {meta['doc_count']} documents, the manifest says {doc_count}"
    return None


def column_problem(col: np.ndarray, doc_count: int) -> str | None:
    """What is wrong with a NUMERIC or DATETIME column of a segment of `doc_count` documents."""
    if col.shape != (doc_count,):
        return f"has shape {col.shape}, expected one value per document ({doc_count})"
    if col.dtype not in COLUMN_DTYPES:
        return f"has type {col.dtype}, expected float64 or int64"
    return None


def deletes_problem(packed: np.ndarray, doc_count: int, deleted: int | None = None) -> str | None:
    """What is wrong with a deletions bitset (write_deletes) of a segment of `doc_count`
    documents; with the manifest's count of `deleted` documents, it must mark exactly that many."""
    expected = -(-doc_count // 8)
    if packed.dtype != np.uint8 or packed.shape != (expected,):
        return (f"deletion bitset has shape {packed.shape} and type {packed.dtype}, "
                f"expected {expected} bytes for {doc_count} documents")
    if doc_count % 8 and int(packed[-1]) & (0xFF >> doc_count % 8):
        return "bits are set past the last document"
    if deleted is not None:
        marked = int(_BITS_SET[packed].sum())
        if marked != deleted:
            return f"marks {marked} documents deleted, the manifest says {deleted}"
    return None


def load_meta(path: Path):
    """The decoded meta.json at `path` (verified by the caller), not yet judged (meta_problem)."""
    try:
        return json.loads(read_file(path))
    except ValueError as exc:
        raise IndexCorruptError(str(path), f"unreadable: {exc}") from None


def read_meta(directory: Path, files: dict[str, dict], doc_count: int | None = None) -> dict:
    """A segment's verified meta.json: its document count and per-field counts (terms, postings,
    units, tokens); with the manifest's `doc_count`, checked against it."""
    path = directory / META
    if META not in files:
        raise IndexCorruptError(str(path), "missing from the manifest")
    verify(path, files[META])
    meta = load_meta(path)
    problem = meta_problem(meta, doc_count)
    if problem is not None:
        raise IndexCorruptError(str(path), problem)
    return meta


class SegmentReader:
    """A read-only view of one segment, its files checked against the manifest (files.py's policy)."""

    def __init__(self, directory: Path, files: dict[str, dict], deletes: str | None = None,
                 fields: "set[str] | None" = None, *, doc_count: int | None = None, deleted: int | None = None,
                 full: bool = False):
        """Open the segment; with `fields`, only those fields (no columns, no stored documents):
        a writer looking up keys to delete needs nothing more. `doc_count` and `deleted` are the
        manifest entry's counts: when given, meta.json and the deletions file must agree with them.
        Every file's size and tail are checked; with `full`, every byte's checksum and the
        arrays' contents (validate.content_problems) too, as merges and Index.open(verify=True) do."""
        with held_directory(directory):
            self._open(directory, files, deletes, fields, doc_count, deleted, full)

    def _open(self, directory: Path, files: dict[str, dict], deletes: str | None, fields: "set[str] | None",
              doc_count: int | None, deleted: int | None, full: bool) -> None:
        self.directory = directory
        self.files = files
        self.meta = read_meta(directory, files, doc_count)
        self.doc_count = self.meta["doc_count"]
        self.fields = {name: FieldReader(directory, name, files, info, self.doc_count, full)
                       for name, info in self.meta["fields"].items() if fields is None or name in fields}
        self.columns: dict[str, np.ndarray] = {}
        if fields is None:
            for fname, entry in files.items():
                name = Component.COLUMN.field_of(fname)
                if name is not None:
                    col = load_array(directory / fname, entry, full=full)
                    problem = column_problem(col, self.doc_count)
                    if problem is not None:
                        raise IndexCorruptError(str(directory / fname), problem)
                    self.columns[name] = col
        self.live: np.ndarray | None = None  # None: every document is live
        if deletes is not None:
            packed = load_array(directory / deletes, files[deletes], mmap=False, full=True)
            problem = deletes_problem(packed, self.doc_count, deleted)
            if problem is not None:
                raise IndexCorruptError(str(directory / deletes), problem)
            self.live = ~np.unpackbits(packed, count=self.doc_count).astype(bool)
        # last: the stored fields hold a file descriptor, which a failed open must not leak
        self.stored = None if fields is not None else StoredReader(directory, files, self.doc_count, full)

    def is_live(self, doc: int) -> bool:
        return self.live is None or bool(self.live[doc])

    def live_docs(self) -> np.ndarray:
        return np.flatnonzero(self.live) if self.live is not None else np.arange(self.doc_count)

    def close(self) -> None:
        if self.stored is not None:
            self.stored.close()


def write_deletes(directory: Path, name: str, deleted: np.ndarray) -> dict:
    """Write a deletions bitset (packed bits, True = deleted) as a new file in a segment directory
    (named Component.DELETES.file(generation=...) after the commit that writes it)."""
    return write_array(directory / name, np.packbits(deleted.astype(bool)))
