"""Facets: counts of field values over every matching document, not just the page shown.

`search(facets=...)` names what to count (Whoosh's `groupedby`, Elasticsearch's terms, range and
histogram aggregations). Each facet is a `FacetCounter` fed one array of matching live documents
per segment (by collectors.Faceted) and merged over segments at the end:

- a KEYWORD or ID field: each value's document count, most frequent first, then by value;
- a NUMERIC or DATETIME field: each distinct value's count, or with explicit ranges
  `[(low, high), ...]` (low included, high excluded, None an open end, as Elasticsearch's range
  aggregation) the count in each, or a histogram: a bucket width for NUMERIC, a calendar unit
  ("year", "quarter", "month", "week", "day", "hour", "minute") for DATETIME.

Counting is numpy over the matching documents (`bincount`, `unique`, a comparison per range), never
a Python step per document. NUMERIC and DATETIME fields have a column per document; KEYWORD and ID
fields their term ids per document (`DocTerms`: written at flush and merge since format 6, derived
once from the postings in a segment of an earlier format); over several segments, counts add up
through the field's ordinals (its distinct terms over all segments, `DocTermsCache.ordinals`).
"""
from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import InvalidArgumentError, SchemaError
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, FieldType, Schema
from ..storage.arrays import first_in_ranges, gather_ranges, invert_postings
from ..storage.segment import MISSING_TIME, FieldReader, SegmentReader

CALENDAR_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute")
_NUMPY_UNIT = {"year": "Y", "quarter": "M", "month": "M", "week": "D", "day": "D", "hour": "h", "minute": "m"}
_MICROS = {"minute": 60_000_000, "hour": 3_600_000_000, "day": 86_400_000_000}
_MONDAY_SHIFT = 3  # 1970-01-01 was a Thursday: days + 3 counts from the Monday before it


_RANK_PASSES = 8  # DocTerms.counts: up to this many terms per document, counted by one pass per rank


class DocTerms:
    """One KEYWORD or ID field's terms per document in one segment: document d's term ids are
    terms[starts[d]:starts[d + 1]], ascending. Read from the segment's own arrays (written at
    flush and merge since format 6, memory-mapped), or, in a segment of an earlier format, derived
    once from the field's postings (arrays.invert_postings: one sort). A field where every document
    has one term (`dense`: its segment writes no pointers, `starts` is None) is read by document
    number alone, with the fewest temporaries."""

    def __init__(self, fr: FieldReader, doc_count: int):
        self.count = len(fr.dictionary)
        if fr.doc_term is not None:
            self.starts = None if fr.doc_ptr is None else np.asarray(fr.doc_ptr)
            self.terms, most = np.asarray(fr.doc_term), fr.info["doc_terms"]
        else:
            self.starts, self.terms = invert_postings(fr.ptr, fr.unit, doc_count)
            most = int(np.diff(self.starts).max()) if doc_count else 0
        self.most = most
        self.dense = self.starts is None or (most <= 1 and len(self.terms) == doc_count)

    def counts(self, docs: np.ndarray) -> np.ndarray:
        """How many of `docs` hold each term id (an array over the segment's term ids). With few
        terms per document, one pass per rank (each document's first terms, then its second, ...):
        its temporaries are a few arrays over the documents, where gathering every value's index
        takes several over the values, and allocating those costs more than the counting (the
        pages of each large temporary are faulted in anew)."""
        if self.dense:
            return np.bincount(self.terms[docs], minlength=self.count)
        lo = self.starts[docs]
        n = self.starts[docs + 1] - lo
        if self.most > _RANK_PASSES:
            return np.bincount(self.terms[gather_ranges(lo, n)], minlength=self.count)
        total = np.bincount(self.terms[lo[n > 0]], minlength=self.count)
        for rank in range(1, self.most):
            at = lo[n > rank]
            at += rank
            total += np.bincount(self.terms[at], minlength=self.count)
        return total

    def first(self, docs: np.ndarray) -> np.ndarray:
        """Each document's first term id in code-point order (-1: none), e.g. to collapse by."""
        return first_in_ranges(None if self.dense else self.starts, self.terms, docs)


class DocTermsCache:
    """The DocTerms of a searcher's segments, and each field's ordinals over all segments, built
    on first use and kept for the snapshot."""

    def __init__(self, readers: list[SegmentReader]):
        self.readers = readers
        self._built: dict[tuple[int, str], DocTerms | None] = {}
        self._ordinals: dict[str, tuple[list[str], list[np.ndarray | None]]] = {}

    def ordinals(self, field: str) -> tuple[list[str], list[np.ndarray | None]]:
        """The field's distinct terms over every segment in code-point order, and per segment
        the position there of each of its term ids (None: a segment without the field), so counts
        of several segments add up as arrays (Lucene's OrdinalMap)."""
        if field not in self._ordinals:
            per_segment = [r.fields[field].dictionary.terms() if field in r.fields else None for r in self.readers]
            merged = sorted(set().union(*(t for t in per_segment if t is not None)))
            where = {term: i for i, term in enumerate(merged)}
            maps = [None if t is None else np.fromiter(map(where.__getitem__, t), dtype=np.int64, count=len(t))
                    for t in per_segment]
            self._ordinals[field] = (merged, maps)
        return self._ordinals[field]

    def get(self, seg: int, field: str) -> DocTerms | None:
        key = (seg, field)
        if key not in self._built:
            reader = self.readers[seg]
            fr = reader.fields.get(field)
            self._built[key] = None if fr is None else DocTerms(fr, reader.doc_count)
        return self._built[key]


def column_values(reader: SegmentReader, field: str, docs: np.ndarray) -> np.ndarray:
    """The values of a NUMERIC (float64) or DATETIME (int64 microseconds) column for `docs`,
    documents without one left out."""
    col = reader.columns.get(field)
    if col is None:
        return np.zeros(0)
    values = np.asarray(col)[docs]
    return values[values != MISSING_TIME] if values.dtype.kind == "i" else values[~np.isnan(values)]


class FacetCounter:
    """Counts one facet: `add(seg, docs)` per segment (sorted live document numbers), then
    `result()`: [(value, count), ...]."""

    def add(self, seg: int, docs: np.ndarray) -> None:
        raise NotImplementedError

    def result(self) -> list[tuple[Any, int]]:
        raise NotImplementedError


class TermCounts(FacetCounter):
    """The values of a KEYWORD or ID field by document count, then value; at most `limit`."""

    def __init__(self, field: str, limit: int, readers: list[SegmentReader], doc_terms: DocTermsCache):
        self.field, self.limit, self.readers, self.doc_terms = field, limit, readers, doc_terms
        self.parts: list[tuple[int, np.ndarray]] = []  # (segment, counts by term id)

    def add(self, seg: int, docs: np.ndarray) -> None:
        terms = self.doc_terms.get(seg, self.field)
        if terms is not None and len(docs):
            self.parts.append((seg, terms.counts(docs)))

    def result(self) -> list[tuple[str, int]]:
        if len(self.parts) == 1:  # term ids are ranks: ordering by id is ordering by value
            seg, counts = self.parts[0]
            tids = np.flatnonzero(counts)
            order = np.lexsort((tids, -counts[tids]))[:self.limit]
            values = self.readers[seg].fields[self.field].dictionary.terms_of(tids[order].tolist())
            return list(zip(values, counts[tids[order]].tolist()))
        merged, maps = self.doc_terms.ordinals(self.field)
        total = np.zeros(len(merged), dtype=np.int64)
        for seg, counts in self.parts:
            total[maps[seg]] += counts  # a segment's ordinals are distinct: no index repeats
        found = np.flatnonzero(total)
        order = np.lexsort((found, -total[found]))[:self.limit]  # ordinals ascend with the values
        return [(merged[i], int(total[i])) for i in found[order].tolist()]


class ColumnFacet(FacetCounter):
    """A NUMERIC or DATETIME facet: gathers the matching documents' values per segment, then
    counts them as `bucket` says (distinct values, ranges or a histogram)."""

    def __init__(self, field: str, ft: FieldType, bucket: "Buckets", readers: list[SegmentReader]):
        self.field, self.ft, self.bucket, self.readers = field, ft, bucket, readers
        self.values: list[np.ndarray] = []

    def add(self, seg: int, docs: np.ndarray) -> None:
        values = column_values(self.readers[seg], self.field, docs) if len(docs) else ()
        if len(values):  # (a segment without the column gives none, of no particular type)
            self.values.append(values)

    def result(self) -> list[tuple[Any, int]]:
        dtype = np.int64 if isinstance(self.ft, DATETIME) else np.float64
        values = np.concatenate(self.values) if self.values else np.zeros(0, dtype=dtype)
        return self.bucket.count(values)


class Buckets:
    """How a column facet turns values into (key, count) pairs."""

    def count(self, values: np.ndarray) -> list[tuple[Any, int]]:
        raise NotImplementedError


class Distinct(Buckets):
    """Each distinct value by count, then value; at most `limit`."""

    def __init__(self, ft: FieldType, limit: int):
        self.ft, self.limit = ft, limit

    def count(self, values):
        keys, counts = np.unique(values, return_counts=True)
        order = np.lexsort((keys, -counts))[:self.limit]
        return [(_value(self.ft, k), int(c)) for k, c in zip(keys[order].tolist(), counts[order].tolist())]


class Ranges(Buckets):
    """Counts in explicit ranges [low, high) (None: open), in the order given; each key is the
    range as the caller wrote it."""

    def __init__(self, field: str, ft: FieldType, ranges: Sequence):
        self.keys, self.bounds = [], []
        for r in ranges:
            if not isinstance(r, (tuple, list)) or len(r) != 2:
                raise InvalidArgumentError(f"facet {field!r}: a range is a (low, high) pair, got {r!r}")
            try:
                low, high = (None if v is None else ft.to_value(v) for v in r)
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"facet {field!r}: range {r!r}: {exc}") from None
            self.keys.append(tuple(r))
            self.bounds.append((low, high))

    def count(self, values):
        out = []
        for key, (low, high) in zip(self.keys, self.bounds):
            inside = np.ones(len(values), dtype=bool)
            if low is not None:
                inside &= values >= low
            if high is not None:
                inside &= values < high
            out.append((key, int(np.count_nonzero(inside))))
        return out


class Histogram(Buckets):
    """Counts per bucket, in key order, empty buckets left out: NUMERIC buckets of a width
    (key: the bucket's lower end), DATETIME buckets of a calendar unit (key: the bucket's start as
    ISO text: "2024", "2024-Q1", "2024-03", the Monday "2024-03-04", "2024-03-05",
    "2024-03-05T14", "2024-03-05T14:30")."""

    def __init__(self, field: str, ft: FieldType, interval: Any):
        self.ft, self.interval = ft, interval
        if isinstance(ft, DATETIME):
            if interval not in CALENDAR_UNITS:
                raise InvalidArgumentError(f"facet {field!r}: a date histogram's interval is one of "
                                           f"{', '.join(CALENDAR_UNITS)}, got {interval!r}")
        elif isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0 \
                or not math.isfinite(interval):
            raise InvalidArgumentError(f"facet {field!r}: a histogram's interval is a number > 0, got {interval!r}")

    def count(self, values):
        if isinstance(self.ft, NUMERIC):
            keys, counts = np.unique(np.floor(values / self.interval) * self.interval, return_counts=True)
            return [(_number(k), int(c)) for k, c in zip(keys.tolist(), counts.tolist())]
        unit = self.interval
        if unit in ("hour", "minute"):  # fixed lengths: integer division
            keys, counts = _count_ints(values // _MICROS[unit])
            buckets = keys.astype(f"datetime64[{_NUMPY_UNIT[unit]}]")
        else:  # calendar units: numpy's calendar arithmetic only on the distinct days
            days, day_counts = _count_ints(values // _MICROS["day"])
            if unit == "week":
                starts = ((days + _MONDAY_SHIFT) // 7 * 7 - _MONDAY_SHIFT).astype("datetime64[D]")
            else:
                starts = days.astype("datetime64[D]").astype(f"datetime64[{_NUMPY_UNIT[unit]}]")
                if unit == "quarter":
                    starts = (starts.astype(np.int64) // 3 * 3).astype("datetime64[M]")
            buckets, where = np.unique(starts, return_inverse=True)
            counts = np.bincount(where.ravel(), weights=day_counts, minlength=len(buckets)).astype(np.int64)
        labels = [str(k) for k in buckets]
        if unit == "quarter":
            labels = [f"{k[:4]}-Q{(int(k[5:7]) - 1) // 3 + 1}" for k in labels]
        return list(zip(labels, counts.tolist()))


def _count_ints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct integers of `values` ascending and how often each occurs: a bincount over
    their span when it is not much larger than the values (days of a few decades), else a sort."""
    if not len(values):
        return values, np.zeros(0, dtype=np.int64)
    low = int(values.min())
    span = int(values.max()) - low + 1
    if span > max(4 * len(values), 1 << 16):
        return np.unique(values, return_counts=True)
    counts = np.bincount(values - low, minlength=span)
    keys = np.flatnonzero(counts)
    return keys + low, counts[keys]


def _number(x: float) -> "int | float":
    return int(x) if float(x).is_integer() else x


def _value(ft: FieldType, raw: Any) -> Any:
    """A column value for the caller: a NUMERIC as an int when whole, a DATETIME as a datetime."""
    if isinstance(ft, DATETIME):
        return np.datetime64(int(raw), "us").astype(object).replace(tzinfo=_dt.timezone.utc)
    return _number(raw)



def counters(spec: "Sequence[str] | Mapping[str, Any]", schema: Schema, limit: int, readers: list[SegmentReader],
             doc_terms: DocTermsCache) -> dict[str, FacetCounter]:
    """The counters `search(facets=spec)` asks for. `spec` names fields (each counted by value)
    or maps a field to None (by value), a list of (low, high) ranges, or a histogram interval."""
    if isinstance(spec, str):
        spec = [spec]
    items = spec.items() if isinstance(spec, Mapping) else ((name, None) for name in spec)
    out: dict[str, FacetCounter] = {}
    for name, how in items:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"facets name fields, got {name!r}")
        ft = schema[name]  # SchemaError naming the fields there are
        if isinstance(ft, (KEYWORD, ID)):
            if how is not None:
                raise InvalidArgumentError(f"facet {name!r} is a {ft.kind} field: it counts values, "
                                           f"and takes no ranges or interval (got {how!r})")
            out[name] = TermCounts(name, limit, readers, doc_terms)
        elif isinstance(ft, (NUMERIC, DATETIME)):
            if how is None:
                bucket: Buckets = Distinct(ft, limit)
            elif isinstance(how, (list, tuple)):
                bucket = Ranges(name, ft, how)
            else:
                bucket = Histogram(name, ft, how)
            out[name] = ColumnFacet(name, ft, bucket, readers)
        else:
            raise SchemaError(f"cannot facet on {name!r} ({ft.kind}): facets count KEYWORD, ID, NUMERIC "
                              "or DATETIME fields")
    return out
