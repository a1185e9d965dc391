"""The Searcher: one committed snapshot held open, and the search that runs through the stages.

A Searcher holds one commit open (its segments memory-mapped) and answers any number of queries
against exactly that commit; `refresh()` moves to a newer one. It owns the snapshot's lifecycle and
wires the stages together; each stage lives in its own module:

    text --parse--> Query --compile--> Node --(Stats)--> Weight --scorer per segment--> SegmentMatches
         --collectors--> ranked rows --results--> Hits (stored fields, passages, snippets when read)
"""
from __future__ import annotations

import math
import time
import warnings as _warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..config import Settings
from ..errors import IndexFileMissingError, InvalidArgumentError, SchemaError, SearchlibError
from ..highlight import Formatter
from ..query.ast import Query
from ..query.budget import check_clauses, check_length
from ..query.compile import BoolNode, Compiler, ExpandLeaf, Node, leaves
from ..query.expand import Expansion, ExpansionLimitWarning
from ..query.filters import filter_query
from ..query.parser import parse_query, plain_phrase, plain_words
from ..schema import DATETIME, NUMERIC, Schema
from ..scoring import BM25, Explanation
from ..storage.manifest import Manifest, read_manifest
from ..storage.segment import SegmentReader
from ..storage.components import SEGMENTS_DIR
from .collectors import Filtered, SortedBy, TopScores
from .proximity import with_pairs
from .feedback import FeedbackModel, bo1_weights, collection_freq, expanded_node, feedback_model, rm3_weights, term_vectors
from .postings import term_postings
from .results import Results, hits
from .stats import Stats
from .weight import Scorers, Weight
from .weighted import weigh


class Searcher:
    """Answers queries against one committed snapshot of an index. Close it (or use `with`)."""

    def __init__(self, directory: Path, manifest: Manifest, readers: list[SegmentReader]):
        self.directory = Path(directory)
        self.manifest = manifest
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)
        self.readers = readers
        self._closed = False
        self.stats = Stats(readers)
        self.scorers = Scorers(self.stats)
        self.field_names = list(self.schema)
        self._field_ids = {name: i for i, name in enumerate(self.field_names)}
        self._compilers: dict[tuple, Compiler] = {}
        self._default_params = BM25(self.settings.k1, self.settings.b, self.settings.scoring, self.settings.delta)

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
            except BaseException as exc:  # whatever failed, nothing opened so far stays open
                for r in readers:
                    r.close()
                if not isinstance(exc, IndexFileMissingError) or attempt == attempts - 1:
                    raise
                if read_manifest(directory).generation == manifest.generation:
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
        self._check_open()
        for reader in self.readers:
            for doc in reader.live_docs():
                yield reader.stored.get(int(doc))

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise SearchlibError("the searcher is closed: open a new one with Index.searcher()")

    def __enter__(self) -> "Searcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- searching --------------------------------------------------------------------------
    def search(self, query: "str | Query", limit: int = 10, *, offset: int = 0,
               fields: "Sequence[str] | Mapping[str, float] | None" = None, operator: str | None = None,
               lenient: bool = False, group: bool = True, highlight: bool = True,
               formatter: "str | Formatter | None" = None, k1: float | None = None, b: float | None = None,
               passages: int | None = None, filter: "str | Query | Mapping[str, Any] | None" = None,
               sort_by: str | None = None, reverse: bool = False, max_expansions: int | None = None,
               scoring: str | None = None, delta: float | None = None,
               expand: "str | FeedbackModel | None" = None, proximity: float | None = None) -> Results:
        """Run a query; return the best `limit` hits after `offset`, and the total match count.

        `fields` overrides the default fields (names, or name -> boost); `operator` the default
        operator ("OR"/"AND"). `lenient=True` never raises on malformed text. `group=False`
        returns one hit per matching passage instead of per document (a document that matches
        only outside its split fields stays one whole-document hit). `k1`/`b` override BM25 settings,
        `scoring` the BM25 variant ("bm25", "robertson", "bm25l", "bm25+"; see scoring.py) and
        `delta` BM25L's or BM25+'s delta. `expand` ("rm3", "bo1", a FeedbackModel, or the
        settings' `expansion` when None; "none" turns it off) expands the query with words of its
        best documents (pseudo-relevance feedback, feedback.py): the query runs once for those
        documents, then expanded; `Results.expanded_query` lists the words added and their weights.
        `proximity` (default: the settings') is the weight of adjacent query words searched again as
        sloppy phrases (proximity.py); 0 turns it off.

        `filter` restricts the matches without changing their scores: a query (text is parsed
        strictly) or a mapping {field: value} where a value matches exactly, a list matches any of
        its values and a (low, high) tuple is an inclusive range (None leaves an end open).
        `sort_by` orders hits by a NUMERIC or DATETIME field or the unique ID field instead of by
        score (`reverse=True`: largest first); documents without a value come last, ties go by
        score, then index order, so pages never overlap. `max_expansions` caps the terms a
        prefix, wildcard or fuzzy query expands to (default 1024, fuzzy 50); hitting the cap
        issues an ExpansionLimitWarning and is noted in `Results.warnings`. Ranges, exact
        NUMERIC/DATETIME values and `field:*` are constant-score clauses worth their boost, as in
        Lucene; an unfielded word over several TEXT fields is scored BM25F (see search/leaves.py).
        """
        started = time.perf_counter()
        if self._closed:
            self._check_open()
        if type(limit) is not int or limit < 0 or type(offset) is not int or offset < 0:
            _whole("limit", limit, 0)
            _whole("offset", offset, 0)
        q, node = self._compile(query, fields, operator, lenient, max_expansions)            # parse, compile
        restrict = self._filter_node(filter, fields, operator, max_expansions) if filter is not None else None
        if node is None or restrict is False:  # nothing can match: the expansions are still reported
            expanded = [self.stats.expand(leaf) for part in (node, restrict) if part
                        for leaf, _ in leaves(part) if isinstance(leaf, ExpandLeaf)]
            return Results(q, [], 0, (time.perf_counter() - started) * 1000, self._warn(expanded))
        params = self._params(k1, b, scoring, delta)
        node = self._with_pairs(node, proximity)
        model = self._feedback_model(expand)
        added = None
        if model is not None:                                                                   # expand (feedback)
            node, added = self._expand(node, restrict, params, model, fields)
        weight = Weight(node, self.stats, params, self.scorers)                                # weight
        top = TopScores(offset + limit, group, self._field_ids, len(self.readers) == 1) if sort_by is None \
            else self._sorted_by(sort_by, reverse, offset + limit, group)                       # collectors
        collector, expanded = top, weight.expansions
        if restrict is not None:  # the filter is weighed like the query; segments only match it
            expanded = list(expanded)
            collector = Filtered(weigh(restrict, self.stats, expanded), [top])
        matches = {}
        for seg in range(len(self.readers)):                                                   # score each segment
            batch = weight.scorer(seg).matches(weight.root, top)  # the scorer may ask top for its threshold
            matches[seg] = batch.matches
            collector.collect(batch)
        ranked = top.result(offset)                                                             # merge segments
        found = hits(self, ranked, weight, matches, passages or self.settings.passages_per_hit, offset + 1)
        if highlight:                                                                           # snippets
            for hit in found:
                hit.snippet = hit._source.snippet(hit, formatter)
        results = Results(q, found, top.total, (time.perf_counter() - started) * 1000, self._warn(expanded))
        results.expanded_query = added
        return results

    def _with_pairs(self, node: Node, proximity: float | None) -> Node:
        weight = self.settings.proximity if proximity is None else proximity
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 100:
            raise InvalidArgumentError(f"proximity must be a number between 0 and 100, got {weight!r}")
        return with_pairs(node, float(weight), self.schema) if weight else node

    def _feedback_model(self, expand: "str | FeedbackModel | None") -> "FeedbackModel | None":
        expand = self.settings.expansion if expand is None else expand
        return None if expand is None or expand == "none" else feedback_model(expand)

    def _expand(self, node: Node, restrict, params: BM25, model: FeedbackModel, fields
                ) -> "tuple[Node, dict[str, dict[str, float]]]":
        """The node expanded by pseudo-relevance feedback from its best `model.docs` documents
        (filtered as the search is), and the words added per field with their weights."""
        weight = Weight(node, self.stats, params, self.scorers)
        top = TopScores(model.docs, True, self._field_ids, len(self.readers) == 1)
        collector = top if restrict is None else Filtered(weigh(restrict, self.stats, []), [top])
        for seg in range(len(self.readers)):
            collector.collect(weight.scorer(seg).matches(weight.root, top))
        ranked = top.result(0)
        if not len(ranked.docs):
            return node, {}
        segs = ranked.segs if ranked.segs is not None else np.zeros(len(ranked.docs), dtype=np.int64)
        picked = list(zip(segs.tolist(), ranked.docs.tolist()))
        scores = np.array(ranked.scores if ranked.scores is not None else [r[0] for r in ranked.rows])
        text_fields = {f: w * self.schema.fields[f].boost for f, w in self.settings.fields_for(self.schema, fields).items()
                       if self.schema.fields[f].kind == "text"}
        if not text_fields:
            return node, {}
        words: list[str] = []
        tf = np.zeros((len(picked), 0))
        df = np.zeros(0)
        for f in text_fields:  # the fields' words together (one analyzer per word, as BM25F assumes)
            fwords, ftf, fdf = term_vectors(self.readers, f, picked)
            index = {w: i for i, w in enumerate(words)}
            extra = [w for w in fwords if w not in index]
            index.update({w: len(words) + i for i, w in enumerate(extra)})
            words = words + extra
            tf = np.hstack([tf, np.zeros((len(picked), len(extra)))])
            df = np.concatenate([df, np.zeros(len(extra))])
            cols = [index[w] for w in fwords]
            tf[:, cols] += ftf
            df[cols] = np.maximum(df[cols], fdf)  # documents holding the word: at least its most common field's
        n_docs = max(self.stats.doc_count, 1)
        if model.method == "rm3":
            chosen = rm3_weights(words, tf, scores, df, n_docs, model.terms)
        else:
            cf = sum(collection_freq(self.readers, f, words) for f in text_fields)
            chosen = bo1_weights(words, tf, cf, n_docs, model.terms)
        return expanded_node(node, chosen, model, text_fields), chosen

    def search_page(self, query: "str | Query", page: int, page_size: int = 10, **options: Any) -> Results:
        """Page `page` (from 1) of `page_size` hits; `page_count` says how many pages there are.
        A page past the last one has no hits. Takes every option of `search()`."""
        _whole("page", page, 1)
        _whole("page_size", page_size, 1)
        res = self.search(query, limit=page_size, offset=(page - 1) * page_size, **options)
        res.page, res.page_size, res.page_count = page, page_size, math.ceil(res.total / page_size)
        return res

    def explain(self, query: "str | Query", doc_id: Any, *, fields: "Sequence[str] | Mapping[str, float] | None" = None,
                operator: str | None = None, lenient: bool = False, k1: float | None = None,
                b: float | None = None, max_expansions: int | None = None, scoring: str | None = None,
                delta: float | None = None, expand: "str | FeedbackModel | None" = None,
                proximity: float | None = None) -> Explanation:
        """How the document with unique key `doc_id` scores for `query`: a tree of the BM25
        arithmetic (idf with N and df, tf, lengths, k1, b, boosts, BM25F sums, phrase frequencies)
        whose `value` is exactly the score `search()` gives the document (0 when it does not
        match). `print(explanation)` shows it as indented lines."""
        self._check_open()
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
        q, node = self._compile(self.parse(query, lenient=lenient, operator=operator), fields, operator, lenient,
                                max_expansions)
        if node is None:
            return Explanation(0.0, f"no match: the query {str(q)!r} has no searchable words")
        params = self._params(k1, b, scoring, delta)
        node = self._with_pairs(node, proximity)
        model = self._feedback_model(expand)
        if model is not None:  # the query search(expand=...) runs, feedback words and all
            node, _ = self._expand(node, None, params, model, fields)
        seg, doc = where
        explained = Weight(node, self.stats, params, self.scorers).explain(seg, doc, self.schema)
        if explained is None:
            return Explanation(0.0, f"no match: document {doc_id!r} does not satisfy {str(q)!r}")
        expl, passage = explained
        where_text = "the whole document"
        if passage is not None:
            first = int(np.searchsorted(np.asarray(self.readers[seg].fields[passage[0]].unit_doc), doc))
            where_text = f"its best passage, {passage[0]} #{passage[1] - first}"
        variant = "" if params.variant == "bm25" else f" {params.variant}" + (f" delta={params.d:g}" if params.d else "")
        return Explanation(expl.value, f"score of {doc_id!r} ({where_text}), k1={params.k1:g} b={params.b:g}{variant}:",
                           [expl])

    # -- query text to a compiled node --------------------------------------------------------
    def parse(self, text: "str | Query", lenient: bool = False, operator: str | None = None) -> Query:
        """Parse query text with this index's fields and default operator (a Query passes through)."""
        return parse_index_query(self.schema, self.settings, text, lenient, operator)

    def _compiler(self, fields, operator: str | None, lenient: bool, max_expansions: int | None) -> Compiler:
        """A compiler for these options; compilers hold no per-query state, so they are reused.
        A bad boost in `fields` is a ConfigError naming "fields.<name>", as in settings; the
        Compiler refuses unknown or unsearchable fields (SchemaError)."""
        if max_expansions is not None:
            _whole("max_expansions", max_expansions, 1)
        if fields is None or isinstance(fields, str):
            fields_key = fields
        elif isinstance(fields, Mapping):
            fields_key = ("map", tuple(fields.items()))
        else:
            fields_key = tuple(fields)
        key = (fields_key, operator or self.settings.operator, lenient, max_expansions)
        compiler = self._compilers.get(key)
        if compiler is None:
            compiler = Compiler(self.schema, self.settings.fields_for(self.schema, fields), default_and=key[1] == "AND",
                                lenient=lenient, max_expansions=max_expansions)
            if len(self._compilers) < 64:
                self._compilers[key] = compiler
        return compiler

    def _compile(self, query: "str | Query", fields, operator: str | None, lenient: bool, max_expansions: int | None
                 ) -> "tuple[Query | Callable[[], Query], Node | None]":
        """(the query, or a function that parses it, for Results) and its compiled node. Plain
        words and lone plain phrases, the usual text, compile without building query objects."""
        compiler = self._compiler(fields, operator, lenient, max_expansions)
        if isinstance(query, str):
            if len(query) > self.settings.max_query_chars:
                check_length(query, self.settings)
            words = plain_words(query)
            phrase = plain_phrase(query) if words is None else None
            if words is not None or phrase is not None:
                if words is not None:
                    node = compiler.compile_words(words[0], (words[1] or operator or self.settings.operator) == "AND")
                else:
                    node = compiler.compile_phrase(*phrase)
                if type(node) is BoolNode:
                    check_clauses(node, self.settings)
                return (lambda: self.parse(query, lenient=lenient, operator=operator)), node
        q = self.parse(query, lenient=lenient, operator=operator)
        node = compiler.compile(q)
        if type(node) is BoolNode:
            check_clauses(node, self.settings)
        return q, node

    def _params(self, k1: float | None, b: float | None, scoring: str | None = None, delta: float | None = None) -> BM25:
        if k1 is None and b is None and scoring is None and delta is None:
            return self._default_params
        s = self.settings
        scoring = s.scoring if scoring is None else scoring
        if delta is None and scoring == s.scoring:
            delta = s.delta
        return BM25(s.k1 if k1 is None else k1, s.b if b is None else b, scoring, delta)

    def _filter_node(self, spec, fields, operator: str | None, max_expansions: int | None) -> "Node | bool":
        """The compiled filter, or False when it can match nothing (text is parsed strictly)."""
        if isinstance(spec, Mapping):
            q = filter_query(self.schema, spec)
        elif isinstance(spec, (str, Query)):
            q = self.parse(spec, lenient=False, operator=operator)
        else:
            raise InvalidArgumentError(f"filter must be query text, a Query or a mapping of field to value, "
                                       f"not {type(spec).__name__}")
        node = self._compiler(fields, operator, False, max_expansions).compile(q)
        if type(node) is BoolNode:
            check_clauses(node, self.settings)
        return False if node is None else node

    def _warn(self, expansions: "list[Expansion]") -> list[str]:
        """Warn (ExpansionLimitWarning) about every expansion of the query that hit its cap."""
        notes = []
        for exp in expansions:
            if exp.truncated and exp.message() not in notes:
                notes.append(exp.message())
        for note in notes:
            _warnings.warn(note, ExpansionLimitWarning, stacklevel=3)
        return notes

    # -- collectors ---------------------------------------------------------------------------
    def _sorted_by(self, sort_by: str, reverse: bool, k: int, group: bool) -> SortedBy:
        """The first k in a field's order (a NUMERIC or DATETIME field, or the unique ID)."""
        ft = self.schema[sort_by]
        is_id = sort_by == self.schema.unique_field
        if not (isinstance(ft, (NUMERIC, DATETIME)) or is_id):
            raise SchemaError(f"cannot sort by {sort_by!r} ({ft.kind}): sort by a NUMERIC or DATETIME field "
                              "or the unique ID field")
        return SortedBy(sort_by, reverse, k, group, self._field_ids, is_id, self._id_ranks,
                        lambda seg, doc: self.readers[seg].fields[sort_by].unit_term(doc))

    def _id_ranks(self, seg: int) -> np.ndarray:
        """For each document of a segment, the rank of its unique key among the segment's keys
        in code-point order (-1: none): its term id, which is that rank (built once per segment)."""
        return self.readers[seg].fields[self.schema.unique_field].unit_terms()


def parse_index_query(schema: Schema, settings: Settings, text: "str | Query", lenient: bool = False,
                      operator: str | None = None) -> Query:
    """Query text parsed with an index's field names and default operator (`operator`, when given,
    instead); a Query passes through. What Searcher.parse and the Index's parsing both use."""
    if isinstance(text, Query):
        return text
    if len(text) > settings.max_query_chars:
        check_length(text, settings)
    return parse_query(text, fields=schema, default_operator=operator or settings.operator, lenient=lenient)


def _whole(name: str, value: Any, least: int) -> None:
    """Refuse a `name` that is not a whole number >= `least` (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidArgumentError(f"{name} must be a whole number >= {least}, got {value!r}")
