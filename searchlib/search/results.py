"""What a search returns: Results, Hit, Passage, and the lazy loading of stored fields, passages and snippets.

A hit is built from a collector's row (score, segment, document, passage field, unit) and reads
its stored fields, passages and highlights only when asked (most callers need the key and score),
from the search's `HitSource`, which the hits of one search share with the search's snippet
options (`snippet_options`: the index's highlight settings and the query's overrides). Snippets
mark what the query's Weight matched (`Weight.terms()`, positions through search/marks.py), so
highlighting reads the same object as scoring; the snippets of a search's hits are made together
(`HitSource.snippets`), the highlights of other fields when `Hit.highlights` is first read.
"""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields, replace
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from ..config import FORMATTER_NAMES, HighlightSettings
from ..errors import IndexCorruptError, InvalidArgumentError, SearchlibError
from ..highlight import FORMATTERS, Formatter, get_formatter, make_snippet, rendered_from_arrays
from ..query.ast import Query
from ..schema import TEXT
from ..storage.components import Component
from .collectors import Ranked
from .dense import Matches, passage_scores
from .marks import NO_MARKS, FieldMarks, has_match
from .weight import FieldTerms, Weight


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
                 "_row", "_highlights")

    def __init__(self, id: Any, score: float, fields: "dict[str, Any] | None" = None, snippet: str = "",
                 passages: "list[Passage] | None" = None, rank: int = 0, source: "HitSource | None" = None,
                 row: "list | None" = None):
        self.id, self.score, self.snippet, self.rank = id, score, snippet, rank
        self.group_value = self.group_size = None  # set by a collapsing search: the group and its size
        self._fields, self._passages = fields, passages
        self._source, self._row = source, row  # where lazily read fields and passages come from
        self._highlights: "dict[str, str] | None" = None

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

    @property
    def highlights(self) -> dict[str, str]:
        """Field -> highlighted text, for every stored TEXT field the hit matched in (of the
        search's highlight fields): the best fragments of the field (of its best passage, for a
        field split into passages) with what the query matched there marked, through the
        search's formatter. Elasticsearch's `highlight.fields`; a field without a match is absent."""
        if self._highlights is None:
            self._highlights = self._source.highlights(self) if self._source is not None else {}
        return dict(self._highlights)

    def highlight(self, field: str) -> str:
        """The field highlighted (see `highlights`); for a stored TEXT field the hit did not match
        in, its leading fragment without marks (through the same formatter, so it is safe to show
        the same way); "" when the document has no text in it."""
        found = self.highlights.get(field)
        if found is not None:
            return found
        return self._source.unmarked(self, field) if self._source is not None else ""

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
        if self._highlights:
            out["highlights"] = dict(self._highlights)
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
        self.every_group: tuple = ([], [])  # a collapsing search's every group value and size (for shards)
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
         first_rank: int, options: "SnippetOptions | None" = None) -> list[Hit]:
    """Hits for a collector's merged rows, ranked from `first_rank`; stored fields, passages and
    snippets are read when first used, through one HitSource (`options`: how snippets are made,
    the index's highlight settings when None)."""
    if options is None:
        options = snippet_options(searcher.settings.highlight)
    source = HitSource(searcher, weight, matches, n_passages, options)
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
    at_seg: dict[int, list[int]] = {}  # a page of hits: grouped in Python, cheaper than numpy calls per segment
    for i, seg in enumerate(segs.tolist()):
        at_seg.setdefault(seg, []).append(i)
    for seg, at in at_seg.items():
        fr = readers[seg].fields[key_field]
        for i, key in zip(at, fr.dictionary.terms_of(fr.unit_term_ids(docs[at]).tolist())):
            keys[i] = key
    return keys


@dataclass(frozen=True)
class SnippetOptions:
    """How one search makes its snippets: the index's highlight settings with the query's
    overrides (`snippet_options`). `fields` limits `Hit.highlights` (None: every stored TEXT field)."""

    formatter: Formatter
    fragment_chars: int
    max_fragments: int
    separator: str
    field: str | None
    fields: tuple[str, ...] | None = None


_OPTION_KEYS = {f.name for f in dataclass_fields(HighlightSettings)} | {"fields"}


def snippet_options(settings: HighlightSettings, overrides: "Mapping[str, Any] | None" = None,
                    formatter: "str | Formatter | None" = None, schema=None) -> SnippetOptions:
    """The snippet options of a search: `settings` (the index's), then the query's `overrides`
    (search(highlight={...}): formatter, fragment_chars, max_fragments, separator, field, fields),
    then its `formatter` argument. A bad override is an InvalidArgumentError naming it."""
    chosen = {f.name: getattr(settings, f.name) for f in dataclass_fields(HighlightSettings)}
    chosen["fields"] = None
    if overrides:
        unknown = sorted(set(overrides) - _OPTION_KEYS)
        if unknown:
            raise InvalidArgumentError(f"unknown highlight option {unknown[0]!r}; choose from "
                                       f"{', '.join(sorted(_OPTION_KEYS))}")
        chosen.update(overrides)
    if formatter is not None:
        chosen["formatter"] = formatter
    for key in ("fragment_chars", "max_fragments"):
        value = chosen[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"highlight {key} must be a whole number >= 1, got {value!r}")
    if not isinstance(chosen["separator"], str):
        raise InvalidArgumentError(f"highlight separator must be text, got {chosen['separator']!r}")
    fmt = chosen["formatter"]
    if not isinstance(fmt, Formatter) and fmt not in FORMATTER_NAMES:
        raise InvalidArgumentError(f"formatter must be one of {', '.join(FORMATTER_NAMES)} or a Formatter, "
                                   f"got {fmt!r}")
    fields = chosen["fields"]
    if isinstance(fields, str):
        fields = (fields,)
    if fields is not None:
        fields = tuple(fields)
    if schema is not None:
        for name in (chosen["field"], *(fields or ())):
            if name is not None and not (name in schema.fields and isinstance(schema.fields[name], TEXT)
                                         and schema.fields[name].stored):
                raise InvalidArgumentError(f"highlight field {name!r} is not a stored TEXT field")
    return SnippetOptions(get_formatter(fmt), chosen["fragment_chars"], chosen["max_fragments"],
                          chosen["separator"], chosen["field"], fields)


class HitSource:
    """What the hits of one search share to read their fields, passages and snippets when first
    asked: the searcher (its open segments), the Weight, each segment's dense matches and the
    snippet options."""

    __slots__ = ("searcher", "weight", "matches", "n_passages", "options", "_terms", "_snippet_field", "_marks",
                 "_split")

    def __init__(self, searcher, weight: Weight, matches: dict, n_passages: int, options: SnippetOptions):
        self.searcher, self.weight, self.matches, self.n_passages = searcher, weight, matches, n_passages
        self.options = options
        self._terms: dict | None = None
        self._snippet_field: "str | None | bool" = False  # not chosen yet
        self._marks: dict = {}  # (segment, field) -> FieldMarks
        self._split: list = [None] * len(searcher.readers)  # per segment: has it split fields (when asked)

    def terms(self) -> "dict[str, FieldTerms]":
        """The query's terms to mark, per field (Weight.terms), worked out once per search."""
        if self._terms is None:
            self._terms = self.weight.terms()
        return self._terms

    def snippet_field(self) -> str | None:
        """The field whole-field passages and snippets come from by preference, chosen once per
        search: the configured one, or the longest stored TEXT field the query has terms in (split
        fields first). A hit that did not match in it takes a field it matched in (see passages)."""
        if self._snippet_field is False:
            schema = self.searcher.schema
            chosen = self.options.field
            if not chosen:
                stored_text = self._stored_text()
                if stored_text:
                    terms = self.terms()
                    pool = [f for f in stored_text if f in terms] or stored_text
                    chosen = max(pool, key=lambda f: (schema.fields[f].passages is not None,
                                                      self.weight.stats.avg_length(f)))
            self._snippet_field = chosen or None
        return self._snippet_field

    def _stored_text(self) -> list[str]:
        return [f for f, ft in self.searcher.schema.items() if isinstance(ft, TEXT) and ft.stored]

    def _reader(self, row: list, what: str):
        readers = self.searcher.readers
        if not readers:
            raise SearchlibError(f"the searcher is closed: read hit {what} before closing it")
        return readers[int(row[1])]

    def fields(self, row: list) -> dict:
        return self.searcher.schema.typed(self._reader(row, "fields").stored.get(int(row[2])))

    def _whole_field(self, reader, doc: int) -> str | None:
        """The field a hit of a document without split fields (or without text in them) shows:
        the snippet field if the document matched there, else the first unsplit stored TEXT field
        (in schema order) it matched in, else the snippet field."""
        preferred = self.snippet_field()
        terms = self.terms()
        for fname in [preferred, *self._stored_text()]:
            fr = reader.fields.get(fname)
            if fname in terms and fr is not None and not fr.split and has_match(fr, doc, terms[fname]):
                return fname
        return preferred

    def passages(self, row: list) -> list[Passage]:
        """The hit's passages, best first. A row of one passage (a flat hit) gives that passage; a
        whole-document row (every grouped hit, and a flat hit of a document whose matches are
        outside its split fields) gives the document's best `n_passages` over its split fields,
        ties in field-name then text order (only those scoring above 0, or else the first); a
        document without split fields gives the whole stored TEXT field it matched in (_whole_field),
        none when that is empty (no passage of no text carries the score). Scores follow
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
            fname = self._whole_field(reader, doc)
            text = reader.stored.get(doc).get(fname) if fname else None
            return [Passage(fname, 0, len(text), row[0], 0, text)] if isinstance(text, str) and text.strip() else []
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

    # -- snippets ------------------------------------------------------------------------------
    def field_marks(self, seg: int, fname: str) -> "FieldMarks | None":
        """What marking field `fname` of segment `seg` needs (marks.FieldMarks), built once per
        search; None when the query has nothing to mark there."""
        key = (seg, fname)
        found = self._marks.get(key, False)
        if found is False:
            fterms = self.terms().get(fname)
            ft = self.searcher.schema.fields.get(fname)
            found = None
            if fterms is not None and isinstance(ft, TEXT):
                found = FieldMarks(self.searcher.readers[seg].fields.get(fname), fterms, ft.analyzer)
            self._marks[key] = found
        return found

    def _unit_marks(self, seg: int, fname: str, unit: int, text: str, span: tuple[int, int]):
        """The Marks of one unit of a field (whose text is `text[span[0]:span[1]]`)."""
        fm = self.field_marks(seg, fname)
        if fm is None:
            return NO_MARKS
        found = fm.of(np.array([unit]))
        return fm.from_text(unit, text, *span) if found is None else found[1]

    def _render(self, seg: int, text: str, fname: str, marks, span: tuple[int, int]) -> str:
        o = self.options
        fm = self.field_marks(seg, fname)
        if fm is None or not len(marks[0]):
            snippet = make_snippet(text, marks=(), fragment_chars=o.fragment_chars, max_fragments=o.max_fragments,
                                   span=span)
            return snippet.render(o.formatter, o.separator)
        return rendered_from_arrays([text], np.zeros(len(marks[0]), np.int64), *marks, fm.weights,
                                    fragment_chars=o.fragment_chars, max_fragments=o.max_fragments, spans=[span],
                                    formatter=o.formatter, separator=o.separator)[0]

    def snippets(self, hits: list[Hit]) -> None:
        """Set every hit's snippet (`snippet`), the usual case in one go: for the hits of a
        segment without split fields whose document matched in the snippet field, the marks of all
        of them come from one pass over the query's postings (FieldMarks.of) and their fragments
        from one ranking (highlight.snippets_from_arrays)."""
        fname = self.snippet_field()
        by_seg: dict[int, list[Hit]] = {}
        for hit in hits:
            seg = int(hit._row[1])
            reader = self._reader(hit._row, "snippets")
            if self._split[seg] is None:
                self._split[seg] = any(fr.split for fr in reader.fields.values())
            if fname is not None and not self._split[seg] and hit._passages is None:
                by_seg.setdefault(seg, []).append(hit)
            else:
                hit.snippet = self.snippet(hit)
        o = self.options
        for seg, group in by_seg.items():
            fm = self.field_marks(seg, fname)
            found = fm.of(np.array([int(h._row[2]) for h in group])) if fm is not None else None
            if found is None:  # no offsets: one by one
                for hit in group:
                    hit.snippet = self.snippet(hit)
                continue
            which, marks = found
            matched = np.zeros(len(group), dtype=bool)
            matched[which] = True
            stored = self.searcher.readers[seg].stored
            texts, batch = [], []
            for i, hit in enumerate(group):
                text = stored.value(int(hit._row[2]), fname) if matched[i] else None
                if isinstance(text, str):
                    texts.append(text)
                    batch.append(i)
                else:  # matched elsewhere (or nothing stored): one by one
                    hit.snippet = self.snippet(hit)
            if not batch:
                continue
            if len(batch) < len(group):  # marks of the hits left out go; the others are renumbered
                renumber = np.full(len(group), -1, dtype=np.int64)
                renumber[batch] = np.arange(len(batch))
                which = renumber[which]
                keep = which >= 0
                which, marks = which[keep], tuple(m[keep] for m in marks)
            made = rendered_from_arrays(texts, which, *marks, fm.weights, fragment_chars=o.fragment_chars,
                                        max_fragments=o.max_fragments, formatter=o.formatter, separator=o.separator)
            for i, shown in zip(batch, made):
                group[i].snippet = shown

    def _passage_unit(self, reader, fname: str, doc: int, index: int) -> int:
        """The unit of a split field's passage `index` of document `doc`."""
        return int(np.searchsorted(reader.fields[fname].unit_doc, doc)) + index

    def snippet(self, hit: Hit, formatter: "str | Formatter | None" = None) -> str:
        """The hit's best passage highlighted (a span of a split field, or the whole field the
        document matched in) with what the query matched there; when nothing matched in it (a
        document that matched only in an unsplit field beside its split ones), the first field
        of `hit.highlights`. "" when the hit has no passage with stored text. `formatter`, when
        given, replaces the search's from now on (a shard renders hits it searched without)."""
        if formatter is not None:
            fmt = self.options.formatter
            if not (formatter is fmt or isinstance(formatter, str) and type(fmt) is FORMATTERS.get(formatter)):
                self.options = replace(self.options, formatter=get_formatter(formatter))
        passages = hit.passages
        if not passages:
            return ""
        best = passages[0]
        ft = self.searcher.schema.fields.get(best.field)
        text = hit.fields.get(best.field)
        if not isinstance(text, str) or not isinstance(ft, TEXT):
            return ""
        reader = self._reader(hit._row, "snippets")
        seg, doc = int(hit._row[1]), int(hit._row[2])
        unit = self._passage_unit(reader, best.field, doc, best.index) if ft.passages is not None else doc
        span = (best.start, best.end)
        marks = self._unit_marks(seg, best.field, unit, text, span)
        if not len(marks[0]):
            for shown in hit.highlights.values():
                return shown
        return self._render(seg, text, best.field, marks, span)

    def highlights(self, hit: Hit) -> dict[str, str]:
        """Every stored TEXT field the hit matched in (of the options' fields), highlighted: the
        whole field, or for a split field its best passage there that matched."""
        reader = self._reader(hit._row, "highlights")
        seg, doc = int(hit._row[1]), int(hit._row[2])
        m = self.matches.get(seg)
        schema = self.searcher.schema
        wanted = self.options.fields
        out = {}
        for fname, fterms in self.terms().items():
            ft = schema.fields.get(fname)
            if not (isinstance(ft, TEXT) and ft.stored) or (wanted is not None and fname not in wanted):
                continue
            text = hit.fields.get(fname)
            fr = reader.fields.get(fname)
            if not isinstance(text, str) or not text.strip() or fr is None:
                continue
            if not fr.split:
                candidates = [(doc, (0, len(text)))]
            else:
                lo, hi = (int(x) for x in np.searchsorted(fr.unit_doc, [doc, doc + 1]))
                order = np.arange(lo, hi)
                pscore = m.passage_score.get(fname) if m is not None else None
                if pscore is not None:
                    order = order[np.argsort(-pscore[order], kind="stable")]
                candidates = [(u, tuple(int(x) for x in fr.unit_span[u])) for u in order.tolist()]
            for unit, span in candidates:
                if not 0 <= span[0] <= span[1] <= len(text) or not has_match(fr, unit, fterms):
                    continue
                marks = self._unit_marks(seg, fname, unit, text, span)
                if len(marks[0]):
                    out[fname] = self._render(seg, text, fname, marks, span)
                    break
        return out

    def unmarked(self, hit: Hit, fname: str) -> str:
        """A stored TEXT field's leading fragment, unmarked, through the search's formatter."""
        text = hit.fields.get(fname)
        if not isinstance(text, str) or not isinstance(self.searcher.schema.fields.get(fname), TEXT):
            return ""
        return self._render(int(hit._row[1]), text, fname, NO_MARKS, (0, len(text)))
