"""Searching a snapshot: Searcher, Results, Hit, Passage.

A Searcher holds one commit open (its segments memory-mapped) and answers any number of queries
against exactly that commit; `refresh()` moves to a newer one. A search compiles the query,
scores every segment with index-wide statistics, keeps the top k with argpartition, groups
passages into documents (the best passage decides), and highlights only the hits returned.
"""
from __future__ import annotations

import time
from functools import partial
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .config import Settings
from .errors import IndexCorruptError, SearchlibError
from .highlight import Formatter, get_formatter, highlight
from .query.ast import Query
from .query.execute import Compiler, Node, PhraseLeaf, SegmentEvaluator, Stats, TermLeaf, leaves
from .query.parser import parse_query
from .schema import TEXT, Schema
from .scoring import BM25, length_norm
from .storage.manifest import Manifest, read_manifest
from .storage.segment import SegmentReader
from .storage.writer import SEGMENTS_DIR


@dataclass
class Passage:
    """A ranked unit of a document: a span of a TEXT field (the whole field when it is not split)."""

    field: str | None
    start: int
    end: int
    score: float
    index: int = 0  # ordinal of the passage within its field
    text: str | None = None  # the passage's text, when the field is stored

    def to_dict(self) -> dict:
        return {"field": self.field, "index": self.index, "start": self.start, "end": self.end,
                "score": round(self.score, 6), "text": self.text}


class Hit:
    """One result: the document's unique key, its score, stored fields, snippet and best passages.

    Stored fields are read on first access (most callers need only the key and score), so read
    them while the searcher is open.
    """

    __slots__ = ("id", "score", "snippet", "rank", "_fields", "_passages")

    def __init__(self, id: Any, score: float, fields: "dict[str, Any] | Callable[[], dict]", snippet: str = "",
                 passages: "list[Passage] | Callable[[], list[Passage]]" = (), rank: int = 0):
        self.id, self.score, self.snippet, self.rank = id, score, snippet, rank
        self._fields = fields
        self._passages = passages

    @property
    def fields(self) -> dict[str, Any]:
        """The document's stored fields."""
        if callable(self._fields):
            self._fields = self._fields()
        return self._fields

    @property
    def passages(self) -> list[Passage]:
        """The document's best passages, best first (for a flat hit, its one passage)."""
        if callable(self._passages):
            self._passages = self._passages()
        return list(self._passages)

    def to_dict(self) -> dict:
        return {"rank": self.rank, "id": self.id, "score": round(self.score, 6), "fields": self.fields,
                "snippet": self.snippet, "passages": [p.to_dict() for p in self.passages]}

    def __repr__(self) -> str:
        return f"Hit(rank={self.rank}, id={self.id!r}, score={self.score:.4f})"


@dataclass
class Results:
    """The hits of one search, best first; `total` counts every matching document."""

    query: Query
    hits: list[Hit]
    total: int
    elapsed_ms: float

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i):
        return self.hits[i]

    def to_dict(self) -> dict:
        return {"query": str(self.query), "total": self.total, "elapsed_ms": round(self.elapsed_ms, 3),
                "hits": [h.to_dict() for h in self.hits]}


@dataclass
class _Candidate:
    score: float
    segment: int
    doc: int
    passage_field: str | None = None
    passage_unit: int = -1


class Searcher:
    """Answers queries against one committed snapshot of an index. Close it (or use `with`)."""

    def __init__(self, directory: Path, manifest: Manifest, readers: list[SegmentReader]):
        self.directory = Path(directory)
        self.manifest = manifest
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)
        self.readers = readers
        self.stats = Stats(readers)
        self._norms: dict[tuple, np.ndarray] = {}
        self._field_ids = {name: i for i, name in enumerate(self.schema)}

    @classmethod
    def open(cls, directory: Path, attempts: int = 5) -> "Searcher":
        """Open the newest commit. If a concurrent writer removes an old commit's files while they
        are being opened, open the newer commit instead."""
        for attempt in range(attempts):
            manifest = read_manifest(directory)
            readers: list[SegmentReader] = []
            try:
                for entry in manifest.segments:
                    readers.append(SegmentReader(Path(directory) / SEGMENTS_DIR / entry.name, entry.files,
                                                 entry.deletes))
                return cls(directory, manifest, readers)
            except IndexCorruptError as exc:
                for r in readers:
                    r.close()
                newer = read_manifest(directory).generation != manifest.generation
                if not (newer and "missing" in str(exc)) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    # -- snapshot ---------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self.manifest.generation

    def doc_count(self) -> int:
        """Live documents in this snapshot."""
        return sum(e.live_count for e in self.manifest.segments)

    def up_to_date(self) -> bool:
        return read_manifest(self.directory).generation == self.generation

    def refresh(self) -> "Searcher":
        """A searcher on the newest commit (this one, if nothing newer was committed)."""
        if self.up_to_date():
            return self
        return Searcher.open(self.directory)

    def documents(self) -> Iterator[dict]:
        """The stored fields of every live document in this snapshot."""
        for reader in self.readers:
            for doc in reader.live_docs():
                yield reader.stored.get(int(doc))

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []

    def __enter__(self) -> "Searcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- queries ----------------------------------------------------------------------------
    def parse(self, text: "str | Query", lenient: bool = False, operator: str | None = None) -> Query:
        """Parse query text with this index's fields and default operator (a Query passes through)."""
        if isinstance(text, Query):
            return text
        return parse_query(text, fields=set(self.schema), default_operator=operator or self.settings.operator,
                           lenient=lenient)

    def _default_fields(self, fields: "Sequence[str] | Mapping[str, float] | None") -> dict[str, float]:
        if fields is None:
            chosen = self.settings.fields_for(self.schema)
        elif isinstance(fields, Mapping):
            chosen = {str(k): float(v) for k, v in fields.items()}
        elif isinstance(fields, str):
            chosen = {fields: 1.0}
        else:
            chosen = {str(f): 1.0 for f in fields}
        for name in chosen:
            self.schema[name]  # raises SchemaError naming the fields there are
        return chosen

    def _norm(self, seg: int, fname: str, k1: float, b: float) -> np.ndarray | None:
        key = (seg, fname, k1, b)
        if key not in self._norms:
            fr = self.readers[seg].fields[fname]
            if fr.lengths is None:
                return None
            self._norms[key] = length_norm(fr.lengths, self.stats.avg_length(fname), k1, b)
        return self._norms[key]

    def search(self, query: "str | Query", limit: int = 10, *, offset: int = 0,
               fields: "Sequence[str] | Mapping[str, float] | None" = None, operator: str | None = None,
               lenient: bool = False, group: bool = True, highlight: bool = True,
               formatter: "str | Formatter | None" = None, k1: float | None = None, b: float | None = None,
               passages: int | None = None) -> Results:
        """Run a query; return the best `limit` hits after `offset`, and the total match count.

        `fields` overrides the default fields (names, or name -> boost); `operator` the default
        operator ("OR"/"AND"). `lenient=True` never raises on malformed text. `group=False`
        returns one hit per passage instead of per document. `k1`/`b` override BM25 settings.
        """
        started = time.perf_counter()
        if not isinstance(limit, int) or limit < 0 or not isinstance(offset, int) or offset < 0:
            raise ValueError("limit and offset must be whole numbers >= 0")
        q = self.parse(query, lenient=lenient, operator=operator)
        op = operator or self.settings.operator
        compiler = Compiler(self.schema, self._default_fields(fields), default_and=op == "AND", lenient=lenient)
        node = compiler.compile(q)
        params = BM25(self.settings.k1 if k1 is None else k1, self.settings.b if b is None else b)
        if node is None:
            return Results(q, [], 0, (time.perf_counter() - started) * 1000)
        want = offset + limit
        candidates: list[np.ndarray] = []
        matches = {}
        total = 0
        for seg, reader in enumerate(self.readers):
            norms = {f: n for f in reader.fields if (n := self._norm(seg, f, params.k1, params.b)) is not None}
            m = SegmentEvaluator(reader, self.stats, norms, params.k1).evaluate(node)
            docs = m.docs if reader.live is None else m.docs & reader.live
            n_match = int(np.count_nonzero(docs))
            total += n_match
            if n_match and want:
                candidates += self._top(seg, reader, m, docs, want, group)
                matches[seg] = m
        page = []
        if candidates:
            table = np.concatenate(candidates)
            order = np.lexsort((table[:, 4], table[:, 2], table[:, 1], -table[:, 0]))[offset:want]
            names = list(self._field_ids)
            page = [_Candidate(float(r[0]), int(r[1]), int(r[2]), names[int(r[3])] if r[3] >= 0 else None, int(r[4]))
                    for r in table[order]]
        n_passages = passages or self.settings.passages_per_hit
        hits = [self._hit(c, matches[c.segment], node, n_passages) for c in page]
        terms = _highlight_terms(node, self.stats) if highlight and hits else {}
        for rank, hit in enumerate(hits, offset + 1):
            hit.rank = rank
            if highlight:
                hit.snippet = self._snippet(hit, terms, formatter)
        return Results(q, hits, total, (time.perf_counter() - started) * 1000)

    # -- collecting -------------------------------------------------------------------------
    @staticmethod
    def _best(scores: np.ndarray, k: int) -> np.ndarray:
        """Indices of the k largest scores (unordered), without sorting everything."""
        if len(scores) <= k:
            return np.arange(len(scores))
        return np.argpartition(-scores, k - 1)[:k]

    def _passage_totals(self, reader: SegmentReader, m, docs: np.ndarray):
        """For each split field with scores: (field, units, total score) of passages in matching docs."""
        for fname, pscore in m.passage_score.items():
            unit_doc = np.asarray(reader.fields[fname].unit_doc)
            units = np.flatnonzero(docs[unit_doc] & (pscore > 0))
            total = pscore[units]
            if m.doc_score is not None:
                total = total + m.doc_score[unit_doc[units]]
            yield fname, units, unit_doc[units], total

    def _top(self, seg: int, reader: SegmentReader, m, docs: np.ndarray, k: int, group: bool) -> list[np.ndarray]:
        """The segment's best k candidates as rows (score, segment, doc, passage field, passage unit);
        passage field -1 means the whole document."""
        doc_ids = np.flatnonzero(docs)
        base = m.doc_score[doc_ids] if m.doc_score is not None else np.zeros(len(doc_ids), np.float32)
        rows = []
        if not group:
            covered = np.zeros(reader.doc_count, dtype=bool)
            for fname, units, udocs, total in self._passage_totals(reader, m, docs):
                covered[udocs] = True
                best = self._best(total, k)
                rows.append(_rows(total[best], seg, udocs[best], self._field_ids[fname], units[best]))
            rest = ~covered[doc_ids]
            best = self._best(base[rest], k)
            rows.append(_rows(base[rest][best], seg, doc_ids[rest][best], -1, -1))
            return rows
        best_score = np.zeros(reader.doc_count, dtype=np.float32)
        best_score[doc_ids] = base
        for _, _, udocs, total in self._passage_totals(reader, m, docs):
            np.maximum.at(best_score, udocs, total)
        scores = best_score[doc_ids]
        best = self._best(scores, k)
        return [_rows(scores[best], seg, doc_ids[best], -1, -1)]

    # -- hits -------------------------------------------------------------------------------
    def _hit(self, c: _Candidate, m, node: Node, n_passages: int) -> Hit:
        reader = self.readers[c.segment]
        key_field = self.schema.unique_field
        key = reader.fields[key_field].unit_term(c.doc) if key_field else None
        return Hit(key, c.score, partial(self._load, reader, c.doc),
                   passages=partial(self._passages, c, reader, m, n_passages, node))

    def _load(self, reader: SegmentReader, doc: int) -> dict:
        if not self.readers:
            raise SearchlibError("the searcher is closed: read hit fields before closing it")
        return reader.stored.get(doc)

    def _passages(self, c: _Candidate, reader: SegmentReader, m, n: int, node: Node) -> list[Passage]:
        """The document's best passages (the one passage of a flat hit), or the whole snippet field."""
        out: list[Passage] = []
        doc_part = float(m.doc_score[c.doc]) if m.doc_score is not None else 0.0
        for fname, fr in reader.fields.items():
            if not fr.split or (c.passage_field is not None and fname != c.passage_field):
                continue
            unit_doc = np.asarray(fr.unit_doc)
            lo, hi = (int(x) for x in np.searchsorted(unit_doc, [c.doc, c.doc + 1]))
            units = range(lo, hi) if c.passage_field is None else [c.passage_unit]
            pscore = m.passage_score.get(fname)
            text = self._load(reader, c.doc).get(fname) if self.schema.fields[fname].stored else None
            for u in units:
                start, end = (int(x) for x in fr.unit_span[u])
                score = doc_part + (float(pscore[u]) if pscore is not None else 0.0)
                out.append(Passage(fname, start, end, score, u - lo,
                                   text[start:end] if isinstance(text, str) else None))
        if out:
            out.sort(key=lambda p: (-p.score, p.field, p.index))
            return [p for p in out[:n] if p.score > 0] or out[:1]
        fname = self._snippet_field(_highlight_terms(node, self.stats))
        text = self._load(reader, c.doc).get(fname) if fname else None
        if isinstance(text, str):
            return [Passage(fname, 0, len(text), c.score, 0, text)]
        return []

    def _snippet_field(self, terms: dict) -> str | None:
        chosen = self.settings.highlight.field
        if chosen:
            return chosen
        stored_text = [f for f, ft in self.schema.items() if isinstance(ft, TEXT) and ft.stored]
        if not stored_text:
            return None
        pool = [f for f in stored_text if f in terms] or stored_text
        return max(pool, key=lambda f: (self.schema.fields[f].passages is not None, self.stats.avg_length(f)))

    def _snippet(self, hit: Hit, terms: dict, formatter: "str | Formatter | None") -> str:
        best = hit.passages[0] if hit.passages else None
        fname = best.field if best is not None else self._snippet_field(terms)
        text = hit.fields.get(fname) if fname else None
        if not isinstance(text, str) or not isinstance(self.schema.fields.get(fname), TEXT):
            return ""
        hl = self.settings.highlight
        weights, phrases = terms.get(fname, ({}, []))
        span = (best.start, best.end) if best is not None and self.schema.fields[fname].passages else None
        return highlight(text, self.schema.fields[fname].analyzer, weights, phrases,
                         formatter=get_formatter(formatter or hl.formatter), fragment_chars=hl.fragment_chars,
                         max_fragments=hl.max_fragments, separator=hl.separator, span=span)


def _rows(scores: np.ndarray, seg: int, docs: np.ndarray, field_id: int, units) -> np.ndarray:
    rows = np.empty((len(scores), 5), dtype=np.float64)
    rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4] = scores, seg, docs, field_id, units
    return rows


def _highlight_terms(node: Node, stats: Stats) -> dict[str, tuple[dict[str, float], list]]:
    """Per field: {term: idf} and phrases [(relative position, term), ...] of the positive leaves."""
    out: dict[str, tuple[dict[str, float], list]] = {}
    for leaf, negated in leaves(node):
        if negated or not isinstance(leaf, (TermLeaf, PhraseLeaf)):
            continue
        weights, phrases = out.setdefault(leaf.field, ({}, []))
        if isinstance(leaf, TermLeaf):
            weights[leaf.term] = max(weights.get(leaf.term, 0.0), stats.idf(leaf.field, leaf.term))
        else:
            phrases.append(list(leaf.terms))
            for _, t in leaf.terms:
                weights.setdefault(t, stats.idf(leaf.field, t))
    return out
