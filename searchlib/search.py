"""Searching a snapshot: Searcher, Results, Hit, Passage.

A Searcher holds one commit open (its segments memory-mapped) and answers any number of queries
against exactly that commit; `refresh()` moves to a newer one. A search compiles the query,
scores every segment with index-wide statistics, keeps the top k (a partial sort: ties go to
index order), groups passages into documents (the best passage decides), and highlights only the
hits returned.
"""
from __future__ import annotations

import time
import datetime as _dt
import math
import sys
import warnings as _warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .config import Settings
from .errors import IndexCorruptError, IndexFileMissingError, SchemaError, SearchlibError
from .highlight import Formatter, get_formatter, highlight
from .query.ast import Boolean, Every, Nothing, Phrase, Query, Range, Term
from .query.compile import Compiler, ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf, leaves
from .query.evaluate import SegmentEvaluator, Stats, distinct, term_postings
from .query.sparse import SparseEvaluator
from .query.expand import ExpansionLimitWarning
from .query.parser import parse_query, plain_phrase, plain_words
from .schema import DATETIME, NUMERIC, TEXT, FieldType, Schema
from .scoring import BM25, Explanation
from .storage.manifest import Manifest, read_manifest
from .storage.segment import MISSING_TIME, SegmentReader
from .storage.writer import SEGMENTS_DIR

_ALL = sys.maxsize  # "every candidate" for _top


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

    __slots__ = ("id", "score", "snippet", "rank", "_fields", "_passages", "_source", "_row")

    def __init__(self, id: Any, score: float, fields: "dict[str, Any] | None" = None, snippet: str = "",
                 passages: "list[Passage] | None" = None, rank: int = 0, source: "_HitSource | None" = None,
                 row: "list | None" = None):
        self.id, self.score, self.snippet, self.rank = id, score, snippet, rank
        self._fields, self._passages = fields, passages
        self._source, self._row = source, row  # where lazily read fields and passages come from

    @property
    def fields(self) -> dict[str, Any]:
        """The document's stored fields."""
        if self._fields is None:
            self._fields = self._source.fields(self._row) if self._source is not None else {}
        return self._fields

    @property
    def passages(self) -> list[Passage]:
        """The hit's passages, best first; the first one's score is the hit's. A flat hit of one
        passage has that passage; a hit of a whole document (every grouped hit, and a flat hit of a
        document whose matches are all outside its split fields) has the document's best passages."""
        if self._passages is None:
            self._passages = self._source.passages(self._row) if self._source is not None else []
        return list(self._passages)

    def to_dict(self) -> dict:
        return {"rank": self.rank, "id": self.id, "score": round(self.score, 6), "fields": self.fields,
                "snippet": self.snippet, "passages": [p.to_dict() for p in self.passages]}

    def __repr__(self) -> str:
        return f"Hit(rank={self.rank}, id={self.id!r}, score={self.score:.4f})"


class Results:
    """The hits of one search, best first; `total` counts every matching document.

    `query` is the query that ran (for plain words, built when first read). `warnings` lists what
    the search could not do in full (a prefix, wildcard or fuzzy query that hit its expansion
    cap). `page`, `page_count` and `page_size` are set by `Searcher.search_page`.
    """

    def __init__(self, query: "Query | Callable[[], Query]", hits: list[Hit], total: int, elapsed_ms: float,
                 warnings: list[str] | None = None, page: int | None = None, page_count: int | None = None,
                 page_size: int | None = None):
        self._query = query
        self.hits, self.total, self.elapsed_ms = hits, total, elapsed_ms
        self.warnings = [] if warnings is None else warnings
        self.page, self.page_count, self.page_size = page, page_count, page_size

    @property
    def query(self) -> Query:
        if not isinstance(self._query, Query):
            self._query = self._query()
        return self._query

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i):
        return self.hits[i]

    def __repr__(self) -> str:
        return f"Results(query={str(self.query)!r}, total={self.total}, hits={self.hits!r})"

    def to_dict(self) -> dict:
        out = {"query": str(self.query), "total": self.total, "elapsed_ms": round(self.elapsed_ms, 3),
               "hits": [h.to_dict() for h in self.hits]}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.page is not None:
            out.update(page=self.page, page_count=self.page_count, page_size=self.page_size)
        return out


class Searcher:
    """Answers queries against one committed snapshot of an index. Close it (or use `with`)."""

    def __init__(self, directory: Path, manifest: Manifest, readers: list[SegmentReader]):
        self.directory = Path(directory)
        self.manifest = manifest
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)
        self.readers = readers
        self.stats = Stats(readers)
        self._compilers: dict[tuple, Compiler] = {}
        self._evaluators: dict[tuple, tuple[SegmentEvaluator, SparseEvaluator | None]] = {}
        self._field_ids = {name: i for i, name in enumerate(self.schema)}
        self._field_names = list(self._field_ids)
        self._id_rank_cache: dict[int, np.ndarray] = {}
        self._default_params = BM25(self.settings.k1, self.settings.b)

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
                                                 entry.deletes, doc_count=entry.doc_count, deleted=entry.deleted))
                return cls(directory, manifest, readers)
            except IndexCorruptError as exc:
                for r in readers:
                    r.close()
                newer = read_manifest(directory).generation != manifest.generation
                if not (newer and isinstance(exc, IndexFileMissingError)) or attempt == attempts - 1:
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
        return parse_index_query(self.schema, self.settings, text, lenient, operator)

    def _default_fields(self, fields: "str | Sequence[str] | Mapping[str, float] | None") -> dict[str, float]:
        """The query's fields and boosts; a bad boost is a ConfigError naming "fields.<name>", as in
        settings (config.field_boosts has the rule); the Compiler refuses unknown or unsearchable
        fields (SchemaError)."""
        return self.settings.fields_for(self.schema, fields)

    def _compiler(self, fields, operator: str | None, lenient: bool, max_expansions: int | None) -> Compiler:
        """A compiler for these options; compilers hold no per-query state, so they are reused."""
        if fields is None or isinstance(fields, str):
            fields_key = fields
        elif isinstance(fields, Mapping):
            fields_key = ("map", tuple(fields.items()))
        else:
            fields_key = tuple(fields)
        key = (fields_key, operator or self.settings.operator, lenient, max_expansions)
        compiler = self._compilers.get(key)
        if compiler is None:
            compiler = Compiler(self.schema, self._default_fields(fields), default_and=key[1] == "AND",
                                lenient=lenient, max_expansions=max_expansions)
            if len(self._compilers) < 64:
                self._compilers[key] = compiler
        return compiler

    def _compile(self, query: "str | Query", compiler: Compiler, operator: str | None, lenient: bool
                 ) -> "tuple[Query | Callable[[], Query], Node | None]":
        """(the query, or a function that parses it, for Results) and its compiled node. Plain
        words and lone plain phrases, the usual text, compile without building query objects."""
        if isinstance(query, str):
            words = plain_words(query)
            phrase = plain_phrase(query) if words is None else None
            if words is not None or phrase is not None:
                if words is not None:
                    node = compiler.compile_words(words[0], (words[1] or operator or self.settings.operator) == "AND")
                else:
                    node = compiler.compile_phrase(*phrase)
                return (lambda: self.parse(query, lenient=lenient, operator=operator)), node
        q = self.parse(query, lenient=lenient, operator=operator)
        return q, compiler.compile(q)

    def _params(self, k1: float | None, b: float | None) -> BM25:
        if k1 is None and b is None:
            return self._default_params
        return BM25(self.settings.k1 if k1 is None else k1, self.settings.b if b is None else b)

    def _evaluators_for(self, seg: int, params: BM25) -> tuple[SegmentEvaluator, SparseEvaluator | None]:
        """The segment's dense evaluator for these BM25 parameters and its sparse one, which is None
        when a field of the segment is split into passages (passage scores need the dense evaluator).
        Evaluators hold no per-query state, so they are reused; each holds its fields' norms, so
        the cache is capped."""
        key = (seg, params.k1, params.b)
        pair = self._evaluators.get(key)
        if pair is None:
            reader = self.readers[seg]
            evaluator = SegmentEvaluator(reader, self.stats, seg, self.schema, params)
            split = any(fr.split for fr in reader.fields.values())
            pair = (evaluator, None if split else SparseEvaluator(evaluator))
            if len(self._evaluators) < 64 * max(1, len(self.readers)):
                self._evaluators[key] = pair
        return pair

    def search(self, query: "str | Query", limit: int = 10, *, offset: int = 0,
               fields: "Sequence[str] | Mapping[str, float] | None" = None, operator: str | None = None,
               lenient: bool = False, group: bool = True, highlight: bool = True,
               formatter: "str | Formatter | None" = None, k1: float | None = None, b: float | None = None,
               passages: int | None = None, filter: "str | Query | Mapping[str, Any] | None" = None,
               sort_by: str | None = None, reverse: bool = False, max_expansions: int | None = None) -> Results:
        """Run a query; return the best `limit` hits after `offset`, and the total match count.

        `fields` overrides the default fields (names, or name -> boost); `operator` the default
        operator ("OR"/"AND"). `lenient=True` never raises on malformed text. `group=False`
        returns one hit per matching passage instead of per document (a document that matches
        only outside its split fields stays one whole-document hit). `k1`/`b` override BM25 settings.

        `filter` restricts the matches without changing their scores: a query (text is parsed
        strictly) or a mapping {field: value} where a value matches exactly, a list matches any of
        its values and a (low, high) tuple is an inclusive range (None leaves an end open).
        `sort_by` orders hits by a NUMERIC or DATETIME field or the unique ID field instead of by
        score (`reverse=True`: largest first); documents without a value come last, ties go by
        score, then index order, so pages never overlap. `max_expansions` caps the terms a
        prefix, wildcard or fuzzy query expands to (default 1024, fuzzy 50); hitting the cap
        issues an ExpansionLimitWarning and is noted in `Results.warnings`. Ranges, exact
        NUMERIC/DATETIME values and `field:*` are constant-score clauses worth their boost, as in
        Lucene; an unfielded word over several TEXT fields is scored BM25F (see query/evaluate.py).
        """
        started = time.perf_counter()
        if not isinstance(limit, int) or limit < 0 or not isinstance(offset, int) or offset < 0:
            raise ValueError("limit and offset must be whole numbers >= 0")
        compiler = self._compiler(fields, operator, lenient, max_expansions)
        q, node = self._compile(query, compiler, operator, lenient)
        params = self._params(k1, b)
        sort_field = self._sort_field(sort_by)
        restrict = self._filter_node(filter, fields, operator, max_expansions) if filter is not None else None
        notes = self._expansion_warnings(node, restrict)
        if node is None or restrict is False:
            return Results(q, [], 0, (time.perf_counter() - started) * 1000, notes)
        want = offset + limit
        ranked: list[tuple[np.ndarray, int, np.ndarray]] = []  # sparse segments' best (scores, segment, docs)
        candidates: list[np.ndarray] = []  # rows (score, segment, doc, passage field, passage unit)
        sort_keys: list[tuple[np.ndarray, np.ndarray]] = []
        matches = {}
        total = 0
        for seg, reader in enumerate(self.readers):
            evaluator, sparse = self._evaluators_for(seg, params)
            if sparse is not None:  # no passages in this segment: sorted document lists
                m = None
                doc_ids, scores = sparse.evaluate(node)
                if len(doc_ids) and reader.live is not None:
                    keep = reader.live[doc_ids]
                    doc_ids, scores = doc_ids[keep], scores[keep]
                if len(doc_ids) and restrict is not None:
                    keep = sparse.passes(restrict, doc_ids)
                    doc_ids, scores = doc_ids[keep], scores[keep]
                n_match = len(doc_ids)
            else:
                m = evaluator.evaluate(node)
                docs = m.docs if reader.live is None else m.docs & reader.live
                if restrict is not None:
                    docs &= evaluator.matching(restrict)
                n_match = int(np.count_nonzero(docs))
            total += n_match
            if n_match and want:
                matches[seg] = m
                if m is None and sort_field is None:
                    if n_match > want:
                        top = self._best(scores, want)
                        scores, doc_ids = scores[top], doc_ids[top]
                    ranked.append((scores, seg, doc_ids))
                    continue
                if m is None:
                    rows = [_rows(scores, seg, doc_ids, -1, -1)]
                else:
                    rows = self._top(seg, reader, m, docs, want if sort_field is None else _ALL, group)
                if sort_field is None:
                    candidates += rows
                else:
                    rows, keys = self._sort_cut(seg, np.concatenate(rows), sort_field, reverse, want)
                    candidates.append(rows)
                    sort_keys.append(keys)
        n_passages = passages or self.settings.passages_per_hit
        hits = []
        if ranked and not candidates:  # every segment without passages: ranked by score
            hits = self._ranked_hits(ranked, offset, want, matches, node, n_passages)
        elif ranked or candidates:
            candidates += [_rows(scores, seg, doc_ids, -1, -1) for scores, seg, doc_ids in ranked]
            table = np.concatenate(candidates)
            if sort_field is None:
                order = np.lexsort((table[:, 4], table[:, 2], table[:, 1], -table[:, 0]))[offset:want]
            else:
                order = self._sorted_order(table, sort_keys, sort_field, reverse)[offset:want]
            hits = self._hits(table[order], matches, node, n_passages, offset + 1)
        if highlight:
            for hit in hits:
                hit.snippet = self._snippet(hit, formatter)
        return Results(q, hits, total, (time.perf_counter() - started) * 1000, notes)

    def search_page(self, query: "str | Query", page: int, page_size: int = 10, **options: Any) -> Results:
        """Page `page` (from 1) of `page_size` hits; `page_count` says how many pages there are.
        A page past the last one has no hits. Takes every option of `search()`."""
        if not isinstance(page, int) or page < 1 or not isinstance(page_size, int) or page_size < 1:
            raise ValueError("page and page_size must be whole numbers >= 1")
        res = self.search(query, limit=page_size, offset=(page - 1) * page_size, **options)
        res.page, res.page_size, res.page_count = page, page_size, math.ceil(res.total / page_size)
        return res

    # -- filters, warnings and sorting --------------------------------------------------------
    def _filter_node(self, spec, fields, operator: str | None, max_expansions: int | None) -> "Node | bool":
        """The compiled filter, or False when it can match nothing (text is parsed strictly)."""
        if isinstance(spec, Mapping):
            q = self._filter_query(spec)
        elif isinstance(spec, (str, Query)):
            q = self.parse(spec, lenient=False, operator=operator)
        else:
            raise TypeError(f"filter must be query text, a Query or a mapping of field to value, not {type(spec).__name__}")
        node = self._compiler(fields, operator, False, max_expansions).compile(q)
        return False if node is None else node

    def _filter_query(self, spec: Mapping[str, Any]) -> Query:
        """A filter mapping as a query: every field must match its value (a list: any of them;
        a (low, high) tuple: the inclusive range, None for an open end)."""
        clauses: list[Query] = []
        for name, value in spec.items():
            ft = self.schema[name]  # SchemaError naming the fields there are
            if isinstance(value, tuple):
                if len(value) != 2:
                    raise ValueError(f"filter {name!r}: a range is a (low, high) tuple, got {value!r}")
                low, high = (None if v is None else _value_text(v) for v in value)
                clauses.append(Range(name, low, high, True, True))
            elif isinstance(value, (list, set, frozenset)):
                if not value:
                    return Nothing()  # any of no values: nothing passes
                clauses.append(Boolean(should=tuple(_exact(name, ft, v) for v in value)))
            else:
                clauses.append(_exact(name, ft, value))
        if not clauses:
            return Every()
        return clauses[0] if len(clauses) == 1 else Boolean(must=tuple(clauses))

    def _expansion_warnings(self, *nodes) -> list[str]:
        """Warn (ExpansionLimitWarning) about every expansion of the query that hit its cap."""
        notes = []
        for node in nodes:
            if node is None or node is False:
                continue
            for leaf, _ in leaves(node):
                if isinstance(leaf, ExpandLeaf):
                    exp = self.stats.expand(leaf)
                    if exp.truncated and exp.message() not in notes:
                        notes.append(exp.message())
        for note in notes:
            _warnings.warn(note, ExpansionLimitWarning, stacklevel=3)
        return notes

    def _sort_field(self, sort_by: str | None) -> str | None:
        if sort_by is None:
            return None
        ft = self.schema[sort_by]
        if not (isinstance(ft, (NUMERIC, DATETIME)) or sort_by == self.schema.unique_field):
            raise SchemaError(f"cannot sort by {sort_by!r} ({ft.kind}): sort by a NUMERIC or DATETIME field "
                              "or the unique ID field")
        return sort_by

    def _sort_values(self, seg: int, docs: np.ndarray, sort_field: str, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
        """(missing, key) for documents of a segment: ascending key order is the wanted order
        within the segment (for the ID field the key is the term's rank in this segment only)."""
        reader = self.readers[seg]
        if sort_field == self.schema.unique_field:
            ranks = self._id_ranks(seg)
            key = ranks[docs]
            missing = key < 0
        else:
            col = reader.columns.get(sort_field)
            if col is None:
                return np.ones(len(docs), dtype=bool), np.zeros(len(docs), dtype=np.int64)
            key = np.asarray(col)[docs]
            missing = key == MISSING_TIME if key.dtype.kind == "i" else np.isnan(key)
        key = np.where(missing, 0, key)
        return missing, -key if reverse else key

    def _id_ranks(self, seg: int) -> np.ndarray:
        """For each document of a segment, the rank of its unique key among the segment's keys
        in code-point order (-1: none); computed once per segment."""
        cached = self._id_rank_cache.get(seg)
        if cached is None:
            fr = self.readers[seg].fields[self.schema.unique_field]
            n_terms = len(fr.trie)
            term_of_doc = self._doc_terms(seg)
            rank_of_term = np.empty(n_terms, dtype=np.int64)
            rank_of_term[np.asarray(fr.lex_ids)] = np.arange(n_terms)
            cached = np.where(term_of_doc >= 0, rank_of_term[np.maximum(term_of_doc, 0)], -1)
            self._id_rank_cache[seg] = cached
        return cached

    def _sort_cut(self, seg: int, rows: np.ndarray, sort_field: str, reverse: bool, want: int
                  ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The segment's first `want` rows in sort order, with their (missing, key)."""
        missing, key = self._sort_values(seg, rows[:, 2].astype(np.int64), sort_field, reverse)
        order = np.lexsort((rows[:, 4], rows[:, 3], rows[:, 2], -rows[:, 0], key, missing))[:want]
        return rows[order], (missing[order], key[order])

    def _sorted_order(self, table: np.ndarray, keys: list[tuple[np.ndarray, np.ndarray]], sort_field: str,
                      reverse: bool) -> np.ndarray:
        """The order of the segments' pre-cut rows: missing values last, then the key, then score,
        then index order. Keys of the ID field are compared as strings (ranks are per segment)."""
        missing = np.concatenate([m for m, _ in keys])
        tiebreak = (table[:, 4], table[:, 3], table[:, 2], table[:, 1], -table[:, 0])
        if sort_field != self.schema.unique_field:
            return np.lexsort((*tiebreak, np.concatenate([k for _, k in keys]), missing))
        order = np.lexsort((*tiebreak, missing))  # tie-breaks first; the stable sort by key keeps them
        present = [int(i) for i in order if not missing[i]]
        names = {i: self.readers[int(table[i, 1])].fields[sort_field].unit_term(int(table[i, 2])) for i in present}
        present.sort(key=names.__getitem__, reverse=reverse)
        return np.array(present + [int(i) for i in order if missing[i]], dtype=np.int64)

    # -- explain ------------------------------------------------------------------------------
    def explain(self, query: "str | Query", doc_id: Any, *, fields: "Sequence[str] | Mapping[str, float] | None" = None,
                operator: str | None = None, lenient: bool = False, k1: float | None = None,
                b: float | None = None, max_expansions: int | None = None) -> Explanation:
        """How the document with unique key `doc_id` scores for `query`: a tree of the BM25
        arithmetic (idf with N and df, tf, lengths, k1, b, boosts, BM25F sums, phrase frequencies)
        whose `value` is the score `search()` gives the document (0 when it does not match).
        `print(explanation)` shows it as indented lines."""
        key_field = self.schema.unique_field
        if key_field is None:
            raise SchemaError("explain needs a unique ID field to name the document")
        where = None
        for seg, reader in enumerate(self.readers):
            found = term_postings(reader, key_field, str(doc_id))
            if found is not None:
                docs = np.asarray(found[0])
                live = docs if reader.live is None else docs[reader.live[docs]]
                if len(live):
                    where = (seg, int(live[0]))
        if where is None:
            raise SearchlibError(f"no document with {key_field} {doc_id!r} in this snapshot")
        seg, doc = where
        q = self.parse(query, lenient=lenient, operator=operator)
        node = self._compiler(fields, operator, lenient, max_expansions).compile(q)
        if node is None:
            return Explanation(0.0, f"no match: the query {str(q)!r} has no searchable words")
        params = self._params(k1, b)
        evaluator = self._evaluators_for(seg, params)[0]
        m = evaluator.evaluate(node)
        if not m.docs[doc]:
            return Explanation(0.0, f"no match: document {doc_id!r} does not satisfy {str(q)!r}")
        passage = None  # the document's best passage, as _top ranks it, when it beats the rest
        top = float(m.doc_score[doc]) if m.doc_score is not None else 0.0
        only = np.zeros(self.readers[seg].doc_count, dtype=bool)
        only[doc] = True
        for fname, units, _, total in self._passage_totals(self.readers[seg], m, only):
            if len(total) and float(total.max()) > top:
                best = int(np.argmax(total))
                passage, top = (fname, int(units[best])), float(total[best])
        expl = evaluator.explain(node, doc, passage)
        where_text = "the whole document"
        if passage is not None:
            first = int(np.searchsorted(np.asarray(self.readers[seg].fields[passage[0]].unit_doc), doc))
            where_text = f"its best passage, {passage[0]} #{passage[1] - first}"
        return Explanation(expl.value, f"score of {doc_id!r} ({where_text}), k1={params.k1:g} b={params.b:g}:",
                           [expl])

    # -- collecting -------------------------------------------------------------------------
    @staticmethod
    def _best(scores: np.ndarray, k: int) -> np.ndarray:
        """Indices of the k largest scores (unordered), without sorting everything. Among equal
        scores the earlier index wins, so the best k + j always include the best k: pages of a
        search never overlap, even where every match scores alike."""
        n = len(scores)
        if n <= k:
            return np.arange(n)
        kth = np.partition(scores, n - k)[n - k]
        best = (scores >= kth).nonzero()[0]
        if len(best) > k:  # ties at the cut: keep the earliest
            above = best[scores[best] > kth]
            best = np.concatenate([above, best[scores[best] == kth][:k - len(above)]])
        return best

    def _passage_totals(self, reader: SegmentReader, m, docs: np.ndarray):
        """For each split field with scores: (field, units, their documents, total score) of the
        passages of matching documents."""
        for fname, pscore in m.passage_score.items():
            unit_doc = np.asarray(reader.fields[fname].unit_doc)
            units = np.flatnonzero(docs[unit_doc] & (pscore > 0))
            yield fname, units, unit_doc[units], _passage_scores(m, pscore, units, unit_doc[units])

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
        scores = base
        if m.passage_score:  # a document's score is its best passage's
            best_score = np.zeros(reader.doc_count, dtype=np.float32)
            best_score[doc_ids] = base
            for _, _, udocs, total in self._passage_totals(reader, m, docs):
                np.maximum.at(best_score, udocs, total)
            scores = best_score[doc_ids]
        best = self._best(scores, k)
        return [_rows(scores[best], seg, doc_ids[best], -1, -1)]

    # -- hits -------------------------------------------------------------------------------
    def _hits(self, rows: np.ndarray, matches: dict, node: Node, n_passages: int, first_rank: int) -> list[Hit]:
        """Hits for candidate rows (score, segment, doc, passage field, passage unit), ranked from
        `first_rank`; stored fields and passages are read when first used."""
        source = _HitSource(self, matches, node, n_passages)
        keys = self._keys(rows[:, 1].astype(np.int64), rows[:, 2].astype(np.int64))
        return [Hit(key, row[0], None, "", None, rank, source, row)
                for rank, row, key in zip(range(first_rank, first_rank + len(rows)), rows.tolist(), keys)]

    def _ranked_hits(self, ranked: list[tuple[np.ndarray, int, np.ndarray]], offset: int, want: int,
                     matches: dict, node: Node, n_passages: int) -> list[Hit]:
        """Hits offset..want of the segments' best documents (scores, segment, docs), by score,
        then segment, then document."""
        if len(ranked) == 1:
            scores, seg, docs = ranked[0]
            order = (-scores).argsort(kind="stable")[offset:want]  # docs ascend: ties stay in index order
            segs = np.full(len(order), seg) if len(self.readers) > 1 else None
            seg_list = [seg] * len(order)
        else:
            scores = np.concatenate([r[0] for r in ranked])
            segs = np.concatenate([np.full(len(r[0]), r[1]) for r in ranked])
            docs = np.concatenate([r[2] for r in ranked])
            order = np.lexsort((docs, segs, -scores))[offset:want]
            segs = segs[order]
            seg_list = segs.tolist()
        docs = docs[order]
        source = _HitSource(self, matches, node, n_passages)
        return [Hit(key, score, None, "", None, rank, source, [score, seg, doc, -1, -1])
                for rank, key, score, seg, doc in zip(range(offset + 1, want + 1), self._keys(segs, docs),
                                                       scores[order].tolist(), seg_list, docs.tolist())]

    def _keys(self, segs: np.ndarray | None, docs: np.ndarray) -> list:
        """The unique key of each (segment, document) (None without a unique field): its term id
        from the segment's per-document array, its text from the trie. `segs` may be None when
        the searcher has one segment."""
        key_field = self.schema.unique_field
        if key_field is None or not len(docs):
            return [None] * len(docs)
        if len(self.readers) == 1:  # one segment (the common case): one gather, no grouping
            restore = self.readers[0].fields[key_field].trie.restore_key
            return [restore(tid) if tid >= 0 else None for tid in self._doc_terms(0)[docs].tolist()]
        keys: list = [None] * len(docs)
        for seg in distinct(segs).tolist():
            at = (segs == seg).nonzero()[0]
            tids = self._doc_terms(seg)[docs[at]].tolist()
            restore = self.readers[seg].fields[key_field].trie.restore_key
            for i, tid in zip(at.tolist(), tids):
                if tid >= 0:
                    keys[i] = restore(tid)
        return keys

    def _doc_terms(self, seg: int) -> np.ndarray:
        """For each document of a segment, the term id of its unique key (-1: none)."""
        return self.readers[seg].fields[self.schema.unique_field].unit_terms()

    def _load(self, reader: "SegmentReader | None", doc: int) -> dict:
        if not self.readers or reader is None:
            raise SearchlibError("the searcher is closed: read hit fields before closing it")
        return reader.stored.get(doc)

    def _passages(self, row: list, reader: SegmentReader, m, n: int, source: "_HitSource") -> list[Passage]:
        """The hit's passages, best first. `row` is its candidate row (score, segment, doc, passage
        field id or -1, passage unit). A row of one passage (a flat hit) gives that passage; a
        whole-document row (every grouped hit, and a flat hit of a document whose matches are
        outside its split fields) gives the document's best `n` passages over its split fields,
        ties in field-name then text order (only those scoring above 0, or else the first); a
        document without split fields gives its whole snippet field. Scores follow
        _passage_scores, the rule _top ranks by, so the first passage's score is the hit's."""
        doc, field_id, unit = int(row[2]), int(row[3]), int(row[4])
        names, firsts, units, scores = [], [], [], []  # per split field of the document, by name
        for fname in sorted(reader.fields):
            fr = reader.fields[fname]
            if not fr.split or (field_id >= 0 and fname != self._field_names[field_id]):
                continue
            lo, hi = (int(x) for x in np.searchsorted(fr.unit_doc, [doc, doc + 1]))
            if lo == hi:
                continue
            these = np.arange(lo, hi) if field_id < 0 else np.array([unit])
            pscore = m.passage_score.get(fname) if m is not None else None
            names.append(fname)
            firsts.append(lo)
            units.append(these)
            scores.append(_passage_scores(m, pscore, these, doc))
        if not names:
            fname = source.snippet_field()
            text = self._load(reader, doc).get(fname) if fname else None
            return [Passage(fname, 0, len(text), row[0], 0, text)] if isinstance(text, str) else []
        which = np.concatenate([np.full(len(u), i) for i, u in enumerate(units)])
        all_units, all_scores = np.concatenate(units), np.concatenate(scores)
        best = np.lexsort((all_units, which, -all_scores))[:n]  # score, then field name, then text order
        best = best[all_scores[best] > 0] if all_scores[best[0]] > 0 else best[:1]
        stored = self._load(reader, doc) if any(self.schema.fields[f].stored for f in names) else {}
        out = []
        for f, u, score in zip(which[best].tolist(), all_units[best].tolist(), all_scores[best].tolist()):
            fname = names[f]
            start, end = (int(x) for x in reader.fields[fname].unit_span[u])
            text = stored.get(fname) if self.schema.fields[fname].stored else None
            out.append(Passage(fname, start, end, score, u - firsts[f],
                               text[start:end] if isinstance(text, str) else None))
        return out

    def _snippet_field(self, terms: dict) -> str | None:
        chosen = self.settings.highlight.field
        if chosen:
            return chosen
        stored_text = [f for f, ft in self.schema.items() if isinstance(ft, TEXT) and ft.stored]
        if not stored_text:
            return None
        pool = [f for f in stored_text if f in terms] or stored_text
        return max(pool, key=lambda f: (self.schema.fields[f].passages is not None, self.stats.avg_length(f)))

    def _snippet(self, hit: Hit, formatter: "str | Formatter | None") -> str:
        """The hit's best passage highlighted (a span of a split field, or the whole snippet
        field); "" when the hit has no passage or the passage's field is not stored TEXT."""
        passages = hit.passages
        if not passages:  # no split field, and the snippet field holds no stored text
            return ""
        best = passages[0]
        ft = self.schema.fields.get(best.field)
        text = hit.fields.get(best.field)
        if not isinstance(text, str) or not isinstance(ft, TEXT):
            return ""
        hl = self.settings.highlight
        weights, phrases = hit._source.highlight_terms().get(best.field, ({}, []))
        return highlight(text, ft.analyzer, weights, phrases,
                         formatter=get_formatter(formatter or hl.formatter), fragment_chars=hl.fragment_chars,
                         max_fragments=hl.max_fragments, separator=hl.separator, span=(best.start, best.end))


class _HitSource:
    """What the hits of one search share to read their fields and passages when first asked."""

    __slots__ = ("searcher", "matches", "node", "n_passages", "_terms", "_snippet_field")

    def __init__(self, searcher: "Searcher", matches: dict, node: Node, n_passages: int):
        self.searcher, self.matches, self.node, self.n_passages = searcher, matches, node, n_passages
        self._terms: dict | None = None
        self._snippet_field: "str | None | bool" = False  # not chosen yet

    def highlight_terms(self) -> dict:
        """The query's terms to mark, per field (see _highlight_terms), worked out once per search."""
        if self._terms is None:
            self._terms = _highlight_terms(self.node, self.searcher.stats)
        return self._terms

    def snippet_field(self) -> str | None:
        """The field whole-field passages and snippets come from, chosen once per search."""
        if self._snippet_field is False:
            self._snippet_field = self.searcher._snippet_field(self.highlight_terms())
        return self._snippet_field

    def fields(self, row: list) -> dict:
        seg = int(row[1])
        return self.searcher._load(self.searcher.readers[seg] if self.searcher.readers else None, int(row[2]))

    def passages(self, row: list) -> list[Passage]:
        seg = int(row[1])
        if not self.searcher.readers:
            raise SearchlibError("the searcher is closed: read hit passages before closing it")
        return self.searcher._passages(row, self.searcher.readers[seg], self.matches[seg], self.n_passages, self)


def _passage_scores(m, pscore: "np.ndarray | None", units: np.ndarray, docs) -> np.ndarray:
    """The scores of passages `units` of one split field, whose documents are `docs` (an array, or
    one document): the passage's own score (`pscore`, the field's passage scores; None when the
    query has no term in the field) plus its document's score from fields not split, added in
    float32. The one rule _top ranks by, explain reports and Passage.score shows."""
    total = pscore[units] if pscore is not None else np.zeros(len(units), dtype=np.float32)
    if m is not None and m.doc_score is not None:
        total = total + m.doc_score[docs]
    return total


def parse_index_query(schema: Schema, settings: Settings, text: "str | Query", lenient: bool = False,
                      operator: str | None = None) -> Query:
    """Query text parsed with an index's field names and default operator (`operator`, when given,
    instead); a Query passes through. What Searcher.parse and the Index's parsing both use."""
    if isinstance(text, Query):
        return text
    return parse_query(text, fields=schema, default_operator=operator or settings.operator, lenient=lenient)


def _rows(scores: np.ndarray, seg: int, docs: np.ndarray, field_id: int, units) -> np.ndarray:
    rows = np.empty((len(scores), 5), dtype=np.float64)
    rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4] = scores, seg, docs, field_id, units
    return rows


def _highlight_terms(node: Node, stats: Stats) -> dict[str, tuple[dict[str, float], list]]:
    """Per field: {term: idf} and exact phrases [(relative position, term), ...] of the positive
    leaves. Expanded prefix/wildcard/fuzzy terms and the words of sloppy phrases are marked as
    words; an exact phrase is marked as one span."""
    out: dict[str, tuple[dict[str, float], list]] = {}

    def add(fname: str, term: str, weight: float) -> None:
        weights = out.setdefault(fname, ({}, []))[0]
        weights[term] = max(weights.get(term, 0.0), weight)

    for leaf, negated in leaves(node):
        if negated:
            continue
        if isinstance(leaf, TermLeaf):
            add(leaf.field, leaf.term, stats.idf(leaf.field, leaf.term))
        elif isinstance(leaf, FieldsLeaf):
            weight = stats.fields_idf(leaf.terms)
            for fname, term in leaf.terms.items():
                add(fname, term, weight)
        elif isinstance(leaf, PhraseLeaf):
            if not leaf.slop:
                out.setdefault(leaf.field, ({}, []))[1].append(list(leaf.terms))
            for _, t in leaf.terms:
                add(leaf.field, t, stats.idf(leaf.field, t))
        elif isinstance(leaf, ExpandLeaf):
            exp, idfs = stats.expansion_idf(leaf)
            for term, weight in zip(exp.terms, idfs.tolist()):
                add(leaf.field, term, weight)
    return out


def _value_text(value: Any) -> str:
    """A filter value as query text (dates and times in ISO 8601)."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        raise TypeError(f"a filter value cannot be a bool ({value!r})")
    return str(value)


def _exact(name: str, ft: FieldType, value: Any) -> Query:
    """A filter clause matching `value` exactly in field `name` (a TEXT value as a phrase)."""
    text = _value_text(value)
    return Phrase(name, text.split()) if isinstance(ft, TEXT) else Term(name, text)
