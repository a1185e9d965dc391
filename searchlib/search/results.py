"""What a search returns: Results, Hit, Passage, and the lazy loading of stored fields and passages.

A hit is built from a collector's row (score, segment, document, passage field, unit) and reads
its stored fields, passages and snippet only when asked (most callers need the key and score), from
the search's `HitSource`, which the hits of one search share. Snippets mark the terms the query's
Weight reports for the field (`Weight.terms()`), so highlighting reads the same object as scoring.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import IndexCorruptError, SearchlibError
from ..highlight import Formatter, get_formatter, highlight
from ..query.ast import Query
from ..schema import TEXT
from ..storage.components import Component
from .collectors import Ranked
from .dense import Matches, passage_scores
from .postings import distinct
from .weight import Weight


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

    __slots__ = ("id", "score", "snippet", "rank", "group_value", "group_size", "_fields", "_passages", "_source",
                 "_row")

    def __init__(self, id: Any, score: float, fields: "dict[str, Any] | None" = None, snippet: str = "",
                 passages: "list[Passage] | None" = None, rank: int = 0, source: "HitSource | None" = None,
                 row: "list | None" = None):
        self.id, self.score, self.snippet, self.rank = id, score, snippet, rank
        self.group_value = self.group_size = None  # set by a collapsing search: the group and its size
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

    def more_like_this(self, **options: Any) -> "Results":
        """Documents like this one (Searcher.more_like_this), from the searcher that found it."""
        if self._source is None:
            raise SearchlibError("this hit was not found by a searcher")
        return self._source.searcher.more_like_this(self.id, **options)

    def to_dict(self) -> dict:
        out = {"rank": self.rank, "id": self.id, "score": round(self.score, 6), "fields": self.fields,
               "snippet": self.snippet, "passages": [p.to_dict() for p in self.passages]}
        if self.group_size is not None:
            out.update(group_value=self.group_value, group_size=self.group_size)
        return out

    def __repr__(self) -> str:
        return f"Hit(rank={self.rank}, id={self.id!r}, score={self.score:.4f})"


class Results:
    """The hits of one search, best first; `total` counts the matching documents: all of them
    when `total_is_exact`, else at least that many (a search by score counts exactly up to its
    `total_threshold`, 1,000 by default, then may skip documents that cannot enter its hits).

    `query` is the query that ran (for plain words, built when first read). `warnings` lists what
    the search could not do in full (a prefix, wildcard or fuzzy query that hit its expansion
    cap). `page`, `page_count` and `page_size` are set by `Searcher.search_page`. `facets` maps
    each requested facet to its [(value, count), ...]; `groups` counts the groups of a collapsing
    search; `suggestion` is a corrected query that finds more (search(suggest=...)), or None;
    `expanded_query` the words pseudo-relevance feedback added, {word: weight} (search(expand=...)).
    """

    def __init__(self, query: "Query | Callable[[], Query]", hits: list[Hit], total: int, elapsed_ms: float,
                 warnings: list[str] | None = None, page: int | None = None, page_count: int | None = None,
                 page_size: int | None = None, total_is_exact: bool = True):
        self._query = query
        self.total_is_exact = total_is_exact
        self.hits, self.total, self.elapsed_ms = hits, total, elapsed_ms
        self.warnings = [] if warnings is None else warnings
        self.page, self.page_count, self.page_size = page, page_count, page_size
        self.facets: dict[str, list] = {}
        self.groups: int | None = None
        self.suggestion: str | None = None
        self.expanded_query: "dict[str, float] | None" = None

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
        out = {"query": str(self.query), "total": self.total, "total_is_exact": self.total_is_exact,
               "elapsed_ms": round(self.elapsed_ms, 3),
               "hits": [h.to_dict() for h in self.hits]}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.page is not None:
            out.update(page=self.page, page_count=self.page_count, page_size=self.page_size)
        if self.facets:
            out["facets"] = {name: [[_json_key(v), c] for v, c in counts] for name, counts in self.facets.items()}
        if self.groups is not None:
            out["groups"] = self.groups
        if self.suggestion is not None:
            out["suggestion"] = self.suggestion
        if self.expanded_query is not None:
            out["expanded_query"] = dict(self.expanded_query)
        return out


def _json_key(value: Any) -> Any:
    """A facet key as JSON has it: a range as a list, a datetime as ISO text."""
    if isinstance(value, tuple):
        return [_json_key(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def hits(searcher, ranked: Ranked, weight: Weight, matches: dict[int, "Matches | None"], n_passages: int,
         first_rank: int) -> list[Hit]:
    """Hits for a collector's merged rows, ranked from `first_rank`; stored fields, passages and
    snippets are read when first used, through one HitSource."""
    source = HitSource(searcher, weight, matches, n_passages)
    keys = unique_keys(searcher, ranked.segs, ranked.docs)
    ranks = range(first_rank, first_rank + len(keys))
    if ranked.rows is not None:
        return [Hit(key, row[0], None, "", None, rank, source, row) for rank, row, key in zip(ranks, ranked.rows, keys)]
    segs = [0] * len(keys) if ranked.segs is None else ranked.segs.tolist()
    return [Hit(key, score, None, "", None, rank, source, [score, seg, doc, -1, -1])  # a whole document's row
            for rank, key, score, seg, doc in zip(ranks, keys, ranked.scores, segs, ranked.docs.tolist())]


def unique_keys(searcher, segs: np.ndarray | None, docs: np.ndarray) -> list:
    """The unique key of each (segment, document) (None without a unique field): its term id
    from the segment's per-document array, its text from the dictionary. `segs` may be None when
    the searcher has one segment."""
    key_field = searcher.schema.unique_field
    if key_field is None or not len(docs):
        return [None] * len(docs)
    readers = searcher.readers
    if len(readers) == 1:  # one segment (the common case): one gather, no grouping
        fr = readers[0].fields[key_field]
        return fr.dictionary.terms_of(fr.unit_term_ids(docs).tolist())
    keys: list = [None] * len(docs)
    for seg in distinct(segs).tolist():
        at = (segs == seg).nonzero()[0]
        fr = readers[seg].fields[key_field]
        for i, key in zip(at.tolist(), fr.dictionary.terms_of(fr.unit_term_ids(docs[at]).tolist())):
            keys[i] = key
    return keys


class HitSource:
    """What the hits of one search share to read their fields, passages and snippets when first
    asked: the searcher (its open segments), the Weight, and each segment's dense matches."""

    __slots__ = ("searcher", "weight", "matches", "n_passages", "_terms", "_snippet_field")

    def __init__(self, searcher, weight: Weight, matches: dict, n_passages: int):
        self.searcher, self.weight, self.matches, self.n_passages = searcher, weight, matches, n_passages
        self._terms: dict | None = None
        self._snippet_field: "str | None | bool" = False  # not chosen yet

    def terms(self) -> dict:
        """The query's terms to mark, per field (Weight.terms), worked out once per search."""
        if self._terms is None:
            self._terms = self.weight.terms()
        return self._terms

    def snippet_field(self) -> str | None:
        """The field whole-field passages and snippets come from, chosen once per search: the
        configured one, or the longest stored TEXT field the query has terms in (split fields
        first)."""
        if self._snippet_field is False:
            schema, settings = self.searcher.schema, self.searcher.settings
            chosen = settings.highlight.field
            if not chosen:
                stored_text = [f for f, ft in schema.items() if isinstance(ft, TEXT) and ft.stored]
                if stored_text:
                    terms = self.terms()
                    pool = [f for f in stored_text if f in terms] or stored_text
                    chosen = max(pool, key=lambda f: (schema.fields[f].passages is not None,
                                                      self.weight.stats.avg_length(f)))
            self._snippet_field = chosen or None
        return self._snippet_field

    def _reader(self, row: list, what: str):
        readers = self.searcher.readers
        if not readers:
            raise SearchlibError(f"the searcher is closed: read hit {what} before closing it")
        return readers[int(row[1])]

    def fields(self, row: list) -> dict:
        return self.searcher.schema.typed(self._reader(row, "fields").stored.get(int(row[2])))

    def passages(self, row: list) -> list[Passage]:
        """The hit's passages, best first. A row of one passage (a flat hit) gives that passage; a
        whole-document row (every grouped hit, and a flat hit of a document whose matches are
        outside its split fields) gives the document's best `n_passages` over its split fields,
        ties in field-name then text order (only those scoring above 0, or else the first); a
        document without split fields gives its whole snippet field. Scores follow
        dense.passage_scores, the rule collectors rank by, so the first passage's score is the hit's."""
        reader = self._reader(row, "passages")
        schema = self.searcher.schema
        m = self.matches.get(int(row[1]))
        doc, field_id, unit = int(row[2]), int(row[3]), int(row[4])
        field_name = self.searcher.field_names[field_id] if field_id >= 0 else None
        names, firsts, units, scores = [], [], [], []  # per split field of the document, by name
        for fname in sorted(reader.fields):
            fr = reader.fields[fname]
            if not fr.split or (field_name is not None and fname != field_name):
                continue
            lo, hi = (int(x) for x in np.searchsorted(fr.unit_doc, [doc, doc + 1]))
            if lo == hi:
                continue
            these = np.arange(lo, hi) if field_id < 0 else np.array([unit])
            pscore = m.passage_score.get(fname) if m is not None else None
            names.append(fname)
            firsts.append(lo)
            units.append(these)
            scores.append(passage_scores(m, pscore, these, doc))
        if not names:
            fname = self.snippet_field()
            text = reader.stored.get(doc).get(fname) if fname else None
            return [Passage(fname, 0, len(text), row[0], 0, text)] if isinstance(text, str) else []
        which = np.concatenate([np.full(len(u), i) for i, u in enumerate(units)])
        all_units, all_scores = np.concatenate(units), np.concatenate(scores)
        best = np.lexsort((all_units, which, -all_scores))[:self.n_passages]  # score, then field name, then text order
        best = best[all_scores[best] > 0] if all_scores[best[0]] > 0 else best[:1]
        stored = reader.stored.get(doc) if any(schema.fields[f].stored for f in names) else {}
        out = []
        for f, u, score in zip(which[best].tolist(), all_units[best].tolist(), all_scores[best].tolist()):
            fname = names[f]
            start, end = (int(x) for x in reader.fields[fname].unit_span[u])
            text = stored.get(fname) if schema.fields[fname].stored else None
            if isinstance(text, str) and not 0 <= start <= end <= len(text):  # where the two files meet
                raise IndexCorruptError(str(reader.directory / Component.USPAN.file(fname)),
                                        f"passage {u} spans characters {start}:{end} of document {doc}, whose "
                                        f"stored {fname!r} has {len(text)}")
            out.append(Passage(fname, start, end, score, u - firsts[f],
                               text[start:end] if isinstance(text, str) else None))
        return out

    def snippet(self, hit: Hit, formatter: "str | Formatter | None") -> str:
        """The hit's best passage highlighted (a span of a split field, or the whole snippet
        field); "" when the hit has no passage or the passage's field is not stored TEXT."""
        passages = hit.passages
        if not passages:  # no split field, and the snippet field holds no stored text
            return ""
        best = passages[0]
        schema = self.searcher.schema
        ft = schema.fields.get(best.field)
        text = hit.fields.get(best.field)
        if not isinstance(text, str) or not isinstance(ft, TEXT):
            return ""
        hl = self.searcher.settings.highlight
        weights, phrases = self.terms().get(best.field, ({}, []))
        return highlight(text, ft.analyzer, weights, phrases,
                         formatter=get_formatter(formatter or hl.formatter), fragment_chars=hl.fragment_chars,
                         max_fragments=hl.max_fragments, separator=hl.separator, span=(best.start, best.end))
