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
from ..query.ast import Nothing, Query
from ..query.budget import check_clauses, check_length
from ..query.compile import AllLeaf, BoolNode, Compiler, ExpandLeaf, Node, leaves
from ..query.expand import Expansion, ExpansionLimitWarning
from ..query.filters import filter_query
from ..query.parser import parse_query, plain_phrase, plain_words
from ..schema import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema
from ..scoring import BM25, Explanation
from ..storage.manifest import Manifest, read_manifest
from ..storage.segment import SegmentReader
from ..storage.components import SEGMENTS_DIR
from .collectors import Collapsed, Collector, Faceted, FieldOrder, Filtered, SortedBy, TopScores
from .complete import Completion, complete as complete_text
from .facets import DocTermsCache, counters as facet_counters
from .feedback import FeedbackModel, expand_node, feedback_model, original_words
from .proximity import with_pairs
from .postings import term_postings
from .results import Results, SnippetOptions, hits, snippet_options
from .similar import DEFAULTS as MLT_DEFAULTS, Compiled, KeyTerm, key_terms, like_query
from .stats import Stats
from .suggest import Corrector
from .weight import Scorers, Weight
from .weighted import weigh


TOTAL_THRESHOLD = 1_000  # matches counted exactly before a search by score may prune (Lucene's default too)


class Searcher:
    """Answers queries against one committed snapshot of an index. Close it (or use `with`)."""

    def __init__(self, directory: Path, manifest: Manifest, readers: list[SegmentReader], verify: bool = False):
        self.directory = Path(directory)
        self.verify = verify
        self.manifest = manifest
        self.schema = Schema.from_json(manifest.schema)
        self.settings = Settings.from_json(manifest.settings)
        self.readers = readers
        self._closed = False
        self.stats = Stats(readers)
        self.scorers = Scorers(self.stats)
        self._outside: tuple = (None, None)  # (lengths, Scorers) for statistics supplied from outside
        self.field_names = list(self.schema)
        self._field_ids = {name: i for i, name in enumerate(self.field_names)}
        self._compilers: dict[tuple, Compiler] = {}
        self._default_params = BM25(self.settings.k1, self.settings.b, self.settings.scoring, self.settings.delta)
        self._snippet_options: dict = {}  # formatter name (None: the settings') -> SnippetOptions
        self._doc_terms = DocTermsCache(readers)  # per-document values of KEYWORD/ID fields (facets)

    @classmethod
    def open(cls, directory: Path, attempts: int = 5, generation: int | None = None,
             verify: bool = False) -> "Searcher":
        """Open the newest commit (or exactly commit `generation`, as a sharded index's manifest
        names it). If a concurrent writer removes an old commit's files while they are being
        opened, open the newer commit instead (never instead of a named generation).

        Opening checks each file's size, the checksum of its last bytes and its header, and reads
        the small metadata whole (milliseconds, whatever the index's size); `verify` checksums every
        byte and checks the arrays' contents too (once per process for the same files), as `check`
        does: for an index you do not trust, or to find a flipped byte before it is searched."""
        for attempt in range(attempts):
            manifest = read_manifest(directory, generation)
            readers: list[SegmentReader] = []
            try:
                for entry in manifest.segments:
                    readers.append(SegmentReader(Path(directory) / SEGMENTS_DIR / entry.name, entry.files,
                                                 entry.deletes, doc_count=entry.doc_count, deleted=entry.deleted,
                                                 full=verify))
                return cls(directory, manifest, readers, verify)
            except BaseException as exc:  # whatever failed, nothing opened so far stays open
                for r in readers:
                    r.close()
                if not isinstance(exc, IndexFileMissingError) or attempt == attempts - 1 or generation is not None:
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
        return Searcher.open(self.directory, verify=self.verify)

    def documents(self) -> Iterator[dict]:
        """The stored fields of every live document in this snapshot."""
        self._check_open()
        for reader in self.readers:
            for doc in reader.live_docs():
                yield self.schema.typed(reader.stored.get(int(doc)))

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
    def search(self, query: "str | Query | Compiled", limit: int = 10, *, offset: int = 0,
               fields: "Sequence[str] | Mapping[str, float] | None" = None, operator: str | None = None,
               lenient: bool = False, group: bool = True, highlight: "bool | Mapping[str, Any]" = True,
               formatter: "str | Formatter | None" = None, k1: float | None = None, b: float | None = None,
               passages: int | None = None, filter: "str | Query | Mapping[str, Any] | None" = None,
               sort_by: str | None = None, reverse: bool = False, max_expansions: int | None = None,
               facets: "Sequence[str] | Mapping[str, Any] | None" = None, facet_limit: int = 10,
               post_filter: "str | Query | Mapping[str, Any] | None" = None, collapse: str | None = None,
               suggest: "bool | int" = False, stats: Stats | None = None, exact_total: bool = True,
               total_threshold: int = TOTAL_THRESHOLD, scoring: str | None = None, delta: float | None = None,
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
        `proximity` (default: the settings', 0: off) is the weight of adjacent query
        words searched again as sloppy phrases (proximity.py); 0 turns it off: plain BM25, and
        block-max pruning (prune.py) for queries of several words, which the pairs' phrases forgo.
        `highlight=False` makes no snippets; a mapping sets this query's snippet options
        (`formatter`, `fragment_chars`, `max_fragments`, `separator`, `field`: where snippets
        come from by preference, `fields`: the fields `Hit.highlights` covers).

        `filter` restricts the matches without changing their scores: a query (text is parsed
        strictly) or a mapping {field: value} where a value matches exactly, a list matches any of
        its values and a (low, high) tuple is an inclusive range (None leaves an end open).
        `sort_by` orders hits by a NUMERIC or DATETIME field or the unique ID field instead of by
        score (`reverse=True`: largest first); documents without a value come last, ties go by
        score, then index order, so pages never overlap. `max_expansions` caps the terms a
        prefix, wildcard or fuzzy query expands to (default 1024, fuzzy 50); hitting the cap
        issues an ExpansionLimitWarning and is noted in `Results.warnings`.

        `Results.total` counts every match. With `exact_total=False` it counts exactly up to
        `total_threshold` (1,000) only: beyond it a search by score may skip documents that cannot
        enter the top hits (dynamic pruning, search/prune.py), and the total is then a lower bound
        (`Results.total_is_exact` says which); sorting and filters always count exactly. Pruning is
        opt-in because on the benchmark's corpus it does not pay yet (see the README). Ranges, exact
        NUMERIC/DATETIME values and `field:*` are constant-score clauses worth their boost, as in
        Lucene; an unfielded word over several TEXT fields is scored BM25F (see search/leaves.py).

        `facets` counts field values over every match (`Results.facets`, search/facets.py): field
        names, or a mapping of a field to None, a list of (low, high) ranges or a histogram
        interval; `facet_limit` caps the values of each. `post_filter` (same forms as `filter`)
        narrows the hits but not the facets: with a mapping, each field's facet counts as if that
        field's own clause were absent (drill-sideways), so the other choices stay visible.
        `collapse` keeps the first hit per value of a KEYWORD or ID field, by score or with `sort_by`
        in that order; with `group=False` the best passage per value (`hit.group_size` counts the
        group's matching documents, or passages; `Results.groups` the groups).
        `suggest=True` (or a number n: fewer than n hits; True is 1) sets `Results.suggestion` to a
        corrected query that finds more.
        `stats` replaces this snapshot's statistics (a shard scoring with a coordinator's sums of
        `query_stats` over shards: search/stats.py SuppliedStats).
        """
        started = time.perf_counter()
        if self._closed:
            self._check_open()
        if type(limit) is not int or limit < 0 or type(offset) is not int or offset < 0:
            _whole("limit", limit, 0)
            _whole("offset", offset, 0)
        if type(total_threshold) is not int or total_threshold < 0:
            _whole("total_threshold", total_threshold, 0)
        q, node = self._compile(query, fields, operator, lenient, max_expansions)            # parse, compile
        restrict = self._filter_node(filter, fields, operator, max_expansions) if filter is not None else None
        stats = self.stats if stats is None else stats
        if node is None or restrict is False:  # nothing can match: the expansions are still reported
            expanded = [stats.expand(leaf) for part in (node, restrict) if part
                        for leaf, _ in leaves(part) if isinstance(leaf, ExpandLeaf)]
            res = Results(q, [], 0, (time.perf_counter() - started) * 1000, self._warn(expanded))
            if facets is not None:
                res.facets = {name: c.result() for name, c in self._facet_counters(facets, facet_limit).items()}
            if collapse is not None:
                res.groups = 0
            return res
        params = self._params(k1, b, scoring, delta)
        scorers = self.scorers if stats is self.stats else self._scorers_for(stats)
        model = self._feedback_model(expand)
        words = original_words(node) if model is not None else 0  # RM3 divides its weight among them, not the pairs
        node = self._with_pairs(node, proximity)
        added = None
        if model is not None:                                                                   # expand (feedback)
            if stats is not self.stats:
                raise InvalidArgumentError("expand cannot be combined with supplied stats: the words it adds "
                                           "have no statistics from the other shards")
            node, added = self._expand(node, restrict, params, model, fields, words)
        weight = Weight(node, stats, params, scorers)                                          # weight
        top = self._top(collapse, sort_by, reverse, offset + limit, group)                      # collectors
        collector, expanded = top, list(weight.expansions)
        if facets is not None or post_filter is not None:  # counts every match, then post-filters hits
            collector = self._faceted(facets, facet_limit, post_filter, top, fields, operator, max_expansions, expanded)
        if not exact_total and restrict is None and collector is top and type(top) is TopScores:
            top.prune_total = total_threshold if top.k else None  # segments may prune (search/prune.py)
        if restrict is not None:  # the filter is weighed like the query; segments only match it
            collector = Filtered(weigh(restrict, stats, expanded), [collector])
        matches = self._score(weight, collector, collector)                                    # score each segment
        ranked = top.result(offset)                                                             # merge segments
        found = hits(self, ranked, weight, matches, passages or self.settings.passages_per_hit, offset + 1,
                     self._snippet_options_for(highlight, formatter))
        if found and (highlight or isinstance(highlight, Mapping)):                              # snippets
            found[0]._source.snippets(found)
        res = Results(q, found, top.total, (time.perf_counter() - started) * 1000, self._warn(expanded),
                      total_is_exact=top.total_is_exact)
        if collapse is not None:
            top.annotate(res)
        if isinstance(collector, (Faceted, Filtered)):
            res.facets = _facets_of(collector)
        if suggest is not False and isinstance(query, str):                                     # did you mean
            res.suggestion = self._suggestion(query, res.total, 1 if suggest is True else suggest, fields, filter)
        res.expanded_query = added
        return res

    def _with_pairs(self, node: Node, proximity: float | None) -> Node:
        weight = self.settings.proximity if proximity is None else proximity
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 100:
            raise InvalidArgumentError(f"proximity must be a number between 0 and 100, got {weight!r}")
        return with_pairs(node, float(weight), self.schema) if weight else node

    def _score(self, weight: Weight, collector: Collector, asked: Collector) -> dict:
        """Score every segment into `collector`; `asked` is the collector a segment's scorer may ask
        for the score to beat (the pruning seam). Each segment's dense matches, for the hits."""
        stacked = weight.stacked() if type(collector) is TopScores and asked is collector and collector.prune_total is None \
            else None
        if stacked is not None:  # every segment at once: sparse segments hold no dense matches
            collector.collect_stacked(stacked.matches(weight.root), stacked.reader.bases)
            return dict.fromkeys(range(len(self.readers)))
        matches = {}
        for seg in range(len(self.readers)):
            batch = weight.scorer(seg).matches(weight.root, asked)
            matches[seg] = batch.matches
            collector.collect(batch)
        return matches

    def _snippet_options_for(self, highlight: "bool | Mapping[str, Any]", formatter) -> SnippetOptions:
        """The snippet settings of one search: the index's, made once per searcher and formatter
        name, unless the search passes its own (a mapping, or a formatter object)."""
        if isinstance(highlight, Mapping) or not isinstance(formatter, (str, type(None))):
            return snippet_options(self.settings.highlight, highlight if isinstance(highlight, Mapping) else None,
                                   formatter, self.schema)
        options = self._snippet_options.get(formatter)
        if options is None:
            options = self._snippet_options[formatter] = snippet_options(self.settings.highlight, None, formatter)
        return options

    def _feedback_model(self, expand: "str | FeedbackModel | None") -> "FeedbackModel | None":
        expand = self.settings.expansion if expand is None else expand
        return None if expand is None or expand == "none" else feedback_model(expand)

    def _expand(self, node: Node, restrict, params: BM25, model: FeedbackModel, fields, words: int
                ) -> "tuple[Node, dict[str, float]]":
        """The node expanded by pseudo-relevance feedback from its best `model.docs` documents
        (filtered as the search is), and the words added with their weights; `words`: the
        original query's word count (feedback.original_words, counted before proximity's pairs)."""
        weight = Weight(node, self.stats, params, self.scorers)
        top = TopScores(model.docs, True, self._field_ids, len(self.readers) == 1)
        self._score(weight, top if restrict is None else Filtered(weigh(restrict, self.stats, []), [top]), top)
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
        return expand_node(self.readers, self.stats, node, picked, scores, model, text_fields, words)

    def query_stats(self, query: "str | Query", *, fields: "Sequence[str] | Mapping[str, float] | None" = None,
                    operator: str | None = None, lenient: bool = False,
                    filter: "str | Query | Mapping[str, Any] | None" = None, max_expansions: int | None = None,
                    proximity: float | None = None) -> dict[str, Any]:
        """This snapshot's part of the statistics `search` with these options scores with
        (Stats.gather): what a coordinator of shards sums (stats.sum_stats) and hands back to every
        shard's `search(..., stats=SuppliedStats(...))`. With `proximity` on (as search takes it),
        the pairs' phrases are gathered too: they are scored per field even where their words are
        searched over several fields at once."""
        self._check_open()
        _, node = self._compile(query, fields, operator, lenient, max_expansions)
        if node is not None:
            node = self._with_pairs(node, proximity)
        restrict = self._filter_node(filter, fields, operator, max_expansions) if filter is not None else None
        return self.stats.gather([node, restrict if restrict is not False else None])

    def _scorers_for(self, stats: Stats) -> Scorers:
        """Segment scorers normalising lengths by `stats` (kept for the last lengths seen: a shard
        is handed the same index-wide lengths query after query)."""
        key = (stats.doc_count, tuple(sorted(stats.units.items())), tuple(sorted(stats.tokens.items())))
        if self._outside[0] != key:
            self._outside = (key, Scorers(stats))
        return self._outside[1]

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
                b: float | None = None, max_expansions: int | None = None, stats: Stats | None = None,
                scoring: str | None = None, delta: float | None = None, expand: "str | FeedbackModel | None" = None,
                proximity: float | None = None) -> Explanation:
        """How the document with unique key `doc_id` scores for `query`: a tree of the BM25
        arithmetic (idf with N and df, tf, lengths, k1, b, boosts, BM25F sums, phrase frequencies)
        whose `value` is exactly the score `search()` gives the document (0 when it does not
        match), for the same `scoring`/`delta` (the BM25 variant's formulas are shown), `expand`
        (the expanded query) and `proximity` (the word pairs) options. `print(explanation)` shows
        it as indented lines. `stats` as in `search()`."""
        self._check_open()
        where = self._locate(doc_id, "explain")
        q, node = self._compile(self.parse(query, lenient=lenient, operator=operator), fields, operator, lenient,
                                max_expansions)
        if node is None:
            return Explanation(0.0, f"no match: the query {str(q)!r} has no searchable words")
        params = self._params(k1, b, scoring, delta)
        model = self._feedback_model(expand)
        words = original_words(node) if model is not None else 0
        node = self._with_pairs(node, proximity)
        if model is not None:  # the query search(expand=...) runs, feedback words and all
            node, _ = self._expand(node, None, params, model, fields, words)
        seg, doc = where
        stats = self.stats if stats is None else stats
        scorers = self.scorers if stats is self.stats else self._scorers_for(stats)
        explained = Weight(node, stats, params, scorers).explain(seg, doc, self.schema)
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

    def _locate(self, doc_id: Any, what: str) -> tuple[int, int]:
        """(segment, document) of the live document whose unique key is `doc_id`."""
        key_field = self.schema.unique_field
        if key_field is None:
            raise SchemaError(f"{what} needs a unique ID field to name the document")
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
        return where

    # -- beyond ranking: suggestions, completion, similar documents ---------------------------
    def suggest(self, text: str, limit: int = 5, *, fields: "Sequence[str] | Mapping[str, float] | None" = None,
                max_dist: int = 2, prefix_length: int = 1, popular: float = 10.0) -> list[str]:
        """"Did you mean": corrected versions of query `text`, best first ([] when nothing needs
        correcting). Misspelled words of terms and phrases are replaced by dictionary terms at
        most `max_dist` edits away (OSA) sharing the first `prefix_length` characters, fewest edits
        then most frequent first; a known word only by a term one edit away that is `popular`
        times as frequent. Fields, phrases and operators stay as typed (search/suggest.py)."""
        self._check_open()
        _whole("limit", limit, 1)
        _whole("max_dist", max_dist, 1)
        _whole("prefix_length", prefix_length, 0)
        corrector = Corrector(self.schema, self.readers, self.stats.expander,
                              self.settings.fields_for(self.schema, fields), max_dist, prefix_length, popular)
        return corrector.suggest(text, lambda t: self.parse(t, lenient=True), limit)

    def _suggestion(self, text: str, total: int, below: int, fields, filter) -> str | None:
        """The first correction of `text` that finds more than `total` hits, when `total` < `below`."""
        _whole("suggest", below, 1)
        if total >= below:
            return None
        for corrected in self.suggest(text, 3, fields=fields):
            if self.search(corrected, 0, fields=fields, filter=filter, lenient=True, highlight=False).total > total:
                return corrected
        return None

    def complete(self, text: str, field: str | None = None, limit: int = 10, *, phrases: bool = True
                 ) -> list[Completion]:
        """Completions of the last word of `text` in `field` (default: the first default field),
        most frequent first: (the text with the word completed, document frequency). With
        `index_phrases` on the field, the words that follow the previous word come first
        (search/complete.py)."""
        self._check_open()
        _whole("limit", limit, 1)
        if not isinstance(text, str):
            raise InvalidArgumentError(f"complete takes text, not {type(text).__name__}")
        if field is None:
            field = next(iter(self.settings.fields_for(self.schema)), None)
            if field is None:
                raise SchemaError("the index has no default field to complete from: name one")
        ft = self.schema[field]
        if not isinstance(ft, (TEXT, KEYWORD, ID)):
            raise SchemaError(f"cannot complete {field!r} ({ft.kind}): complete a TEXT, KEYWORD or ID field")
        return complete_text(self.readers, field, ft, text, limit, phrases)

    def key_terms(self, doc_id: Any, fields: "Sequence[str] | None" = None, **options: Any) -> list[KeyTerm]:
        """The most characteristic terms of the document with unique key `doc_id` in `fields`
        (default: the default TEXT fields), as (field, term, tf x idf weight), best first. Options
        (Lucene MoreLikeThis's, with its defaults): min_term_freq=2, min_doc_freq=5,
        max_doc_freq=None, min_word_len=0, max_word_len=0, max_query_terms=25."""
        self._check_open()
        seg, doc = self._locate(doc_id, "key_terms")
        return key_terms(self.readers[seg], doc, self._like_fields(fields), self.stats, **options)

    def more_like_this(self, doc_id: Any, fields: "Sequence[str] | None" = None, limit: int = 10,
                       **options: Any) -> Results:
        """Documents like the one with unique key `doc_id`: its key terms (`key_terms`, same
        options) run as an OR query boosted by weight, the document itself left out. Takes the
        options of `search()` (filter, facets, highlight, ...) besides those of `key_terms`."""
        like = {k: options.pop(k) for k in list(options) if k in MLT_DEFAULTS}
        terms = self.key_terms(doc_id, fields, **like)
        _whole("limit", limit, 0)
        compiled = like_query([KeyTerm(f, t, w * self.schema.fields[f].boost) for f, t, w in terms])
        if compiled is None:
            return Results(Nothing(), [], 0, 0.0)
        res = self.search(compiled, limit + 1, **options)
        source = str(doc_id)
        kept = [h for h in res.hits if str(h.id) != source]
        if len(kept) < len(res.hits):
            res.total -= 1
        res.hits = kept[:limit]
        for rank, hit in enumerate(res.hits, (options.get("offset") or 0) + 1):
            hit.rank = rank
        return res

    def _like_fields(self, fields: "Sequence[str] | None") -> list[str]:
        if fields is None:
            names = [f for f in self.settings.fields_for(self.schema) if isinstance(self.schema.fields.get(f), TEXT)]
        else:
            names = [fields] if isinstance(fields, str) else list(fields)
            for f in names:
                if not isinstance(self.schema[f], TEXT):
                    raise SchemaError(f"more like this reads TEXT fields; {f!r} is {self.schema[f].kind}")
        return names

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
        if isinstance(query, Compiled):  # more-like-this: compiled already
            if type(query.node) is BoolNode:
                check_clauses(query.node, self.settings)
            return query.query, query.node
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
        node = compiler.compile_text(q, query if isinstance(query, str) else None)
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
        node = self._compiler(fields, operator, False, max_expansions).compile_text(q, spec if isinstance(spec, str)
                                                                                    else None)
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
    def _field_order(self, sort_by: str, reverse: bool) -> FieldOrder:
        """The order of a NUMERIC or DATETIME field, or of the unique ID."""
        ft = self.schema[sort_by]
        is_id = sort_by == self.schema.unique_field
        if not (isinstance(ft, (NUMERIC, DATETIME)) or is_id):
            raise SchemaError(f"cannot sort by {sort_by!r} ({ft.kind}): sort by a NUMERIC or DATETIME field "
                              "or the unique ID field")
        return FieldOrder(sort_by, reverse, is_id, self._id_ranks,
                          lambda seg, doc: self.readers[seg].fields[sort_by].unit_term(doc))

    def _facet_counters(self, facets, facet_limit: int) -> dict:
        _whole("facet_limit", facet_limit, 1)
        return facet_counters(facets, self.schema, facet_limit, self.readers, self._doc_terms)

    def _faceted(self, facets, facet_limit: int, post_filter, hits_collector, fields, operator: str | None,
                 max_expansions: int | None, expanded: list) -> Faceted:
        """The collector counting `facets` over every match, with `post_filter` narrowing the hits
        only: a mapping is split into one clause per field (drill-sideways), anything else is one
        clause that no facet sees."""
        counters = self._facet_counters(facets, facet_limit) if facets is not None else {}
        post: list = []
        if post_filter is not None:
            parts = [(name, {name: value}) for name, value in post_filter.items()] \
                if isinstance(post_filter, Mapping) else [(None, post_filter)]
            for name, spec in parts:
                node = self._filter_node(spec, fields, operator, max_expansions)
                if node is False:  # matches nothing: a clause no document passes
                    node = BoolNode(must=[AllLeaf()], must_not=[AllLeaf()])
                post.append((name, weigh(node, self.stats, expanded)))
        return Faceted(counters, post, hits_collector)

    def _top(self, collapse: str | None, sort_by: str | None, reverse: bool, k: int, group: bool):
        """The collector of the hits: best k by score, by a field, or best per value of a field."""
        order = self._field_order(sort_by, reverse) if sort_by is not None else None
        if collapse is not None:
            return self._collapsed(collapse, k, group, order)
        if order is not None:
            return SortedBy(order, k, group, self._field_ids)
        return TopScores(k, group, self._field_ids, len(self.readers) == 1)

    def _collapsed(self, field: str, k: int, group: bool, order: FieldOrder | None) -> Collapsed:
        """The first k hits (by score, or in a field's `order`), one per value of a KEYWORD or ID field."""
        ft = self.schema[field]
        if not isinstance(ft, (KEYWORD, ID)):
            raise SchemaError(f"cannot collapse on {field!r} ({ft.kind}): collapse by a KEYWORD or ID field")

        def doc_groups(seg: int, docs: np.ndarray) -> np.ndarray:
            terms = self._doc_terms.get(seg, field)
            return np.full(len(docs), -1, dtype=np.int64) if terms is None else terms.first(docs)

        def group_names(seg: int, ids: list[int]) -> list:
            fr = self.readers[seg].fields.get(field)
            return [None] * len(ids) if fr is None else fr.dictionary.terms_of(ids)

        return Collapsed(k, group, self._field_ids, doc_groups, group_names, order)

    def _id_ranks(self, seg: int) -> np.ndarray:
        """For each document of a segment, the rank of its unique key among the segment's keys
        in code-point order (-1: none): its term id, which is that rank (built once per segment)."""
        return self.readers[seg].fields[self.schema.unique_field].unit_terms()


def _facets_of(collector) -> dict:
    """The facet counts of a Faceted collector, itself or under a Filtered one ({} without)."""
    while isinstance(collector, Filtered):
        collector = collector.collectors[0]
    return collector.result() if isinstance(collector, Faceted) else {}


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
