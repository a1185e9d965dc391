"""A django-haystack backend: searchlib in place of Whoosh, by changing one setting.

    HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "searchlib.integrations.haystack.SearchlibEngine",
                                        "PATH": BASE_DIR / "search_index"}}

then `manage.py rebuild_index`. Everything haystack does through a backend works as with its Whoosh
backend: `update`/`remove`/`clear` (signal processors, `update_index`, `rebuild_index`,
`clear_index`), and SearchQuerySet's `filter`/`exclude` with every lookup (content, contains,
exact, gt, gte, lt, lte, in, range, startswith, endswith, fuzzy), `auto_query`, `raw_search`,
`models`, `narrow`, `order_by`, `boost`, `highlight`, `autocomplete`, slicing and counts.

How haystack's fields become searchlib fields (`SearchlibSearchBackend.build_schema`): text fields
(CharField and the document field) are stored TEXT with the connection's ANALYZER (default
"english": lower-case, stop words, Porter stemming, as Whoosh's StemmingAnalyzer); faceted copies
(`*_exact`) are exact ID terms; MultiValueField a KEYWORD whose values are each one term;
Integer/Float NUMERIC, Date/DateTime DATETIME, Boolean a KEYWORD of true/false; EdgeNgramField and
NgramField are TEXT searched by prefix (`word*`) and substring (`*word*`) instead of being indexed
as n-grams; a field with `indexed=False` and LocationField are stored only. Options besides PATH:
ANALYZER (a searchlib analyzer name or spec), PASSAGES (split the document field into passages:
"paragraph", "sentences", "window"), INCLUDE_SPELLING, SILENTLY_FAIL, BATCH_SIZE as in haystack.

Queries are built as searchlib query text (the `SearchlibSearchQuery` below), so `raw_search`
takes searchlib's query language; unfielded words search the document field, and words combine
with haystack's default operator (AND, or HAYSTACK_DEFAULT_OPERATOR).
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Iterable, Mapping

try:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.utils.encoding import force_str
    from haystack.backends import BaseEngine, BaseSearchBackend, BaseSearchQuery, log_query
    from haystack.constants import DEFAULT_OPERATOR, DJANGO_CT, DJANGO_ID, FUZZY_WHOOSH_MAX_EDITS, ID
    from haystack.exceptions import SearchBackendError, SkipDocument
    from haystack.inputs import Clean, Exact, PythonData
    from haystack.models import SearchResult
    from haystack.utils import get_identifier, get_model_ct
    from haystack.utils import log as logging
    from haystack.utils.app_loading import haystack_get_model
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("searchlib.integrations.haystack needs Django and django-haystack 3: "
                      "pip install \"searchlib[django]\"") from exc

from ..errors import DocumentError, SearchlibError
from ..highlight import HtmlFormatter
from ..index import Index
from ..query.ast import Boolean, Query
from ..schema import DATETIME, ID as ID_FIELD, KEYWORD, NUMERIC, STORED, TEXT, Schema
from ..search import Hit, Searcher
from .retrieval import escape

_NOTHING = "(*:* AND NOT *:*)"  # matches no document (an `in` lookup with no values)
_ALL_VALUES = 1_000_000  # a field facet counts every value, as Whoosh's backend does, unless limited
_SORTABLE = (NUMERIC, DATETIME)


class SearchlibSearchBackend(BaseSearchBackend):
    """Indexes and searches one searchlib index (the connection's PATH) for haystack."""

    # What haystack's own clean() escapes: every character searchlib's query language gives a meaning.
    RESERVED_WORDS = ("AND", "NOT", "OR", "TO")
    RESERVED_CHARACTERS = ("\\", "+", "-", "&&", "||", "!", "(", ")", "{", "}", "[", "]", "^", '"', "~", "*",
                           "?", ":", "/", "<", ">", "=")

    def __init__(self, connection_alias: str, **options: Any):
        super().__init__(connection_alias, **options)
        path = options.get("PATH")
        if not path:
            raise ImproperlyConfigured(f"You must specify a 'PATH' in your settings for connection '{connection_alias}'.")
        self.path = Path(path)
        self.analyzer = options.get("ANALYZER", "english")
        self.passages = options.get("PASSAGES")
        self.log = logging.getLogger("haystack")
        self.setup_complete = False
        self.index: Index | None = None
        self.content_field_name = ""
        self.field_types: dict[str, str] = {}  # index field name -> haystack field_type
        self._searcher: Searcher | None = None
        self._schema_changed = False

    # -- schema ---------------------------------------------------------------------------------
    def setup(self) -> None:
        """Open the index at PATH, creating it from the registered SearchIndexes if there is none.
        An index whose schema no longer matches the SearchIndexes is searched and written only
        after `rebuild_index` (which clears it with the new schema)."""
        from haystack import connections
        self.content_field_name, schema = self.build_schema(
            connections[self.connection_alias].get_unified_index().all_searchfields())
        if Index.exists(self.path):
            self.index = Index.open(self.path)
            self._schema_changed = self.index.schema != schema
        else:
            self.index = Index.create(self.path, schema, self._settings())
            self._schema_changed = False
        self._schema = schema
        self.setup_complete = True

    def _settings(self) -> dict:
        return {"default_fields": {self.content_field_name: 1.0}, "operator": DEFAULT_OPERATOR}

    def build_schema(self, fields: Mapping[str, Any]) -> tuple[str, Schema]:
        """(the document field's name, the searchlib Schema) for haystack's search fields."""
        schema: dict[str, Any] = {ID: ID_FIELD(unique=True, stored=True), DJANGO_CT: ID_FIELD(stored=True),
                                  DJANGO_ID: ID_FIELD(stored=True)}
        content = ""
        self.field_types = {}
        for field in fields.values():
            name, kind = field.index_fieldname, field.field_type
            self.field_types[name] = kind
            if field.document:
                content = name
            if not field.indexed or kind == "location":
                schema[name] = STORED()
            elif field.is_multivalued:
                schema[name] = KEYWORD(stored=True)
            elif kind in ("date", "datetime"):
                schema[name] = DATETIME(stored=True)
            elif kind in ("integer", "float"):
                schema[name] = NUMERIC(stored=True)
            elif kind == "boolean":
                schema[name] = KEYWORD(stored=True, lowercase=True)
            elif _is_facet(field):  # a faceted copy (`*_exact`) of a text field: whole values
                schema[name] = ID_FIELD(stored=True)
            elif kind in ("ngram", "edge_ngram"):
                schema[name] = TEXT(analyzer="standard", stored=True, boost=field.boost)
            else:
                schema[name] = TEXT(analyzer=self.analyzer, stored=True, boost=field.boost,
                                    passages=self.passages if field.document else None)
        if len(schema) <= 3:
            raise SearchBackendError("No fields were found in any search_indexes. Please correct this before "
                                     "attempting to search.")
        if not content:
            raise SearchBackendError("No SearchIndex has a field with document=True (the field searched by default).")
        return content, Schema(**schema)

    def _ready(self) -> Index:
        if not self.setup_complete:
            self.setup()
        if self._schema_changed:
            raise SearchBackendError(f"The search index at {self.path} was built with other fields than the "
                                     "SearchIndexes now define: run `manage.py rebuild_index`.")
        return self.index

    # -- writing ----------------------------------------------------------------------------------
    def update(self, index, iterable, commit: bool = True) -> None:
        """Add or replace the documents of `iterable`'s objects (one commit)."""
        ix = self._ready()
        docs = []
        for obj in iterable:
            try:
                prepared = index.full_prepare(obj)
            except SkipDocument:
                self.log.debug("Indexing for object `%s` skipped", obj)
                continue
            docs.append((obj, self._document(prepared)))
        if not docs:
            return
        try:
            with ix.writer(timeout=self.timeout) as w:
                for obj, doc in docs:
                    try:
                        w.update(doc)
                    except DocumentError:  # the rest of the batch is unaffected (searchlib's promise)
                        if not self.silently_fail:
                            raise
                        self.log.exception("Preparing object for update", extra={"data": {
                            "index": index, "object": get_identifier(obj)}})
        except SearchlibError:
            if not self.silently_fail:
                raise
            self.log.exception("Failed to add documents to searchlib index %s", self.path)

    def _document(self, prepared: Mapping[str, Any]) -> dict:
        """A haystack-prepared document as a searchlib document (schema fields only, no None)."""
        doc = {}
        for name, value in prepared.items():
            ftype = self._schema.fields.get(name)
            if ftype is None or value is None:
                continue  # "boost" (document boosts, as in Whoosh 2.5+) and fields of no index
            if isinstance(ftype, KEYWORD):
                values = value if isinstance(value, (list, tuple, set)) else [value]
                value = [_text(v) for v in values]
            elif isinstance(ftype, (TEXT, ID_FIELD)):
                value = _text(value)
            doc[name] = value
        return doc

    def remove(self, obj_or_string, commit: bool = True) -> None:
        ix = self._ready()
        try:
            with ix.writer(timeout=self.timeout) as w:
                w.delete(get_identifier(obj_or_string))
        except SearchlibError:
            if not self.silently_fail:
                raise
            self.log.exception("Failed to remove document '%s' from searchlib", get_identifier(obj_or_string))

    def clear(self, models=None, commit: bool = True) -> None:
        """Remove every document (a fresh index with the current fields), or those of `models`."""
        if not self.setup_complete:
            self.setup()
        if models is not None:
            assert isinstance(models, (list, tuple))
        try:
            if models is None:
                self._close_searcher()
                self.index = Index.create(self.path, self._schema, self._settings(), overwrite=True)
                self._schema_changed = False
            else:
                cts = " OR ".join(f"{DJANGO_CT}:{escape(get_model_ct(m))}" for m in models)
                with self._ready().writer(timeout=self.timeout) as w:
                    w.delete_by_query(cts)
        except SearchlibError:
            if not self.silently_fail:
                raise
            self.log.exception("Failed to clear searchlib index %s", self.path)

    def optimize(self) -> None:
        self._ready().optimize(timeout=self.timeout)

    # -- searching --------------------------------------------------------------------------------
    def searcher(self) -> Searcher:
        """A searcher on the newest commit (kept open between searches)."""
        if self._searcher is None:
            self._searcher = self._ready().searcher()
        else:
            fresh = self._searcher.refresh()
            if fresh is not self._searcher:
                self._searcher.close()
                self._searcher = fresh
        return self._searcher

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    @log_query
    def search(self, query_string, sort_by=None, start_offset=0, end_offset=None, fields="", highlight=False,
               facets=None, date_facets=None, query_facets=None, narrow_queries=None, spelling_query=None,
               within=None, dwithin=None, distance_point=None, models=None, limit_to_registered_models=None,
               result_class=None, boost=None, **kwargs) -> dict:
        query_string = force_str(query_string)
        if not query_string.strip():
            return {"results": [], "hits": 0}
        if within or dwithin or distance_point:
            raise SearchBackendError("The searchlib backend has no spatial search (within, dwithin, distance).")
        searcher = self.searcher()
        restrict = self._restriction(narrow_queries, models, limit_to_registered_models)
        try:
            query: "str | Query" = query_string
            if boost:  # boosted words raise the scores of documents that have them; they are not required
                main = searcher.parse(query_string, operator=DEFAULT_OPERATOR)
                extra = tuple(searcher.parse(f"({escape(str(word))})^{float(value)!r}") for word, value in boost.items())
                query = Boolean(must=(main,), should=extra)
            hits, total = self._ranked(searcher, query, sort_by, start_offset, end_offset, restrict, bool(highlight))
            facet_counts = {}
            if facets or date_facets:
                facet_counts.update(self._facets(searcher, query, restrict, facets or {}, date_facets or {}))
            if query_facets:
                facet_counts["queries"] = self._query_facets(searcher, query, restrict, query_facets)
            suggestion = None
            if self.include_spelling:
                suggestion = self._spelling(searcher, spelling_query or query_string)
        except SearchlibError as exc:
            if not self.silently_fail:
                raise SearchBackendError(f"searchlib could not run {query_string!r}: {exc}") from exc
            self.log.error("Failed to query searchlib using '%s': %s", query_string, exc)
            return {"results": [], "hits": 0, "spelling_suggestion": None}
        results = self._results(hits, bool(highlight), result_class)
        return {"results": results, "hits": total - (len(hits) - len(results)), "facets": facet_counts,
                "spelling_suggestion": suggestion}

    def _facets(self, searcher: Searcher, query, restrict: str | None, facets: Mapping, date_facets: Mapping
                ) -> dict:
        """`facet()` and `date_facet()` counts over every match (searchlib's `search(facets=...)`).
        Field facets: (value, count), most frequent first then by value, all values unless the
        facet asked for a `limit` (and `mincount`, default 1). Date facets: (bucket start, count)
        for each bucket from start_date to end_date, in time order, empty buckets included."""
        spec: dict[str, Any] = {name: None for name in facets}
        buckets = {}
        for name, details in date_facets.items():
            buckets[name] = _date_buckets(details["start_date"], details["end_date"], details["gap_by"],
                                          details.get("gap_amount", 1))
            spec[name] = buckets[name]
        if len(spec) < len(facets) + len(date_facets):
            raise SearchBackendError("a field cannot have both facet() and date_facet() in one search")
        counted = self._count(searcher, query, restrict, spec)
        out: dict[str, dict] = {"fields": {}, "dates": {}}
        for name, options in facets.items():
            limit, least = options.get("limit"), options.get("mincount", 1)
            rows = [(self._facet_value(name, v), n) for v, n in counted.get(name, []) if n >= least]
            out["fields"][name] = rows if limit is None or limit < 0 else rows[:limit]
        for name in date_facets:
            found = dict(counted.get(name, []))
            out["dates"][name] = [(low, found.get((low, high), 0)) for low, high in buckets[name]]
        return out

    def _facet_value(self, name: str, value: Any) -> Any:
        if self.field_types.get(name) == "boolean":
            return value == "true"
        if self.field_types.get(name) == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def _count(self, searcher: Searcher, query, restrict: str | None, spec: Mapping[str, Any]) -> dict[str, list]:
        """searchlib's facets over every match: per field of `spec`, (value, count) most frequent
        first then by value (spec None), or ((low, high), count) per range in the order given."""
        return searcher.search(query, limit=0, fields=[self.content_field_name], operator=DEFAULT_OPERATOR,
                               filter=restrict, highlight=False, facets=spec, facet_limit=_ALL_VALUES).facets

    def _query_facets(self, searcher: Searcher, query, restrict: str | None, query_facets) -> dict[str, int]:
        """`query_facet(field, query)` counts, keyed "field:query" as Solr's backend keys them: the
        documents matching the search and the facet query (a count, no hits are read)."""
        counts = {}
        for field, facet_query in query_facets:
            clause = f"{field}:({facet_query})"
            where = clause if restrict is None else f"({restrict}) AND {clause}"
            counts[f"{field}:{facet_query}"] = searcher.search(
                query, limit=0, fields=[self.content_field_name], operator=DEFAULT_OPERATOR, filter=where,
                highlight=False).total
        return counts

    def _restriction(self, narrow_queries, models, limit_to_registered_models) -> str | None:
        """The filter every result must pass: the models asked for (or all registered ones) and the
        narrow() queries, as searchlib query text."""
        if limit_to_registered_models is None:
            limit_to_registered_models = getattr(settings, "HAYSTACK_LIMIT_TO_REGISTERED_MODELS", True)
        if models:
            choices = sorted(get_model_ct(m) for m in models)
        elif limit_to_registered_models:
            choices = self.build_models_list()
        else:
            choices = []
        parts = []
        if choices:
            parts.append("(" + " OR ".join(f"{DJANGO_CT}:{escape(ct)}" for ct in choices) + ")")
        parts.extend(f"({force_str(nq)})" for nq in (narrow_queries or ()))
        return " AND ".join(parts) or None

    def _ranked(self, searcher: Searcher, query, sort_by, start_offset, end_offset, restrict, highlight: bool
                ) -> tuple[list[Hit], int]:
        """The page of hits between the offsets, in haystack's order_by order, and the total;
        `highlight`: snippets of the document field in <em>, as haystack's Whoosh backend marks them."""
        start = int(start_offset or 0)
        end = searcher.doc_count() if end_offset is None else max(int(end_offset), start)
        fields = [self.content_field_name]
        options = {"fields": fields, "operator": DEFAULT_OPERATOR, "filter": restrict, "highlight": highlight,
                   "formatter": HtmlFormatter("em")}
        if not sort_by:
            res = searcher.search(query, limit=end - start, offset=start, **options)
            return list(res), res.total
        keys = [(s[1:], True) if s.startswith("-") else (s, False) for s in sort_by]
        for name, _ in keys:
            if name not in searcher.schema:
                raise SearchBackendError(f"cannot order by {name!r}: the search index has no such field")
        if len(keys) == 1:
            name, reverse = keys[0]
            if isinstance(searcher.schema.fields[name], _SORTABLE) or name == searcher.schema.unique_field:
                res = searcher.search(query, limit=end - start, offset=start, sort_by=name, reverse=reverse, **options)
                return list(res), res.total
        # Several keys, or a text field: every match is ordered by its stored values (Whoosh
        # refuses mixed directions; here each key has its own). Ties keep the score order.
        res = searcher.search(query, limit=searcher.doc_count(), **options)
        hits = list(res)
        for name, reverse in reversed(keys):
            present = [h for h in hits if h.fields.get(name) is not None]
            missing = [h for h in hits if h.fields.get(name) is None]
            present.sort(key=lambda h: _sort_key(h.fields[name]), reverse=reverse)
            hits = present + missing  # missing values last, either direction (as searchlib's sort_by)
        return hits[start:end], res.total

    def _results(self, hits: list[Hit], highlight, result_class) -> list:
        from haystack import connections
        result_class = result_class or SearchResult
        unified = connections[self.connection_alias].get_unified_index()
        indexed = unified.get_indexed_models()
        out = []
        for hit in hits:
            stored = dict(hit.fields)
            app_label, model_name = stored[DJANGO_CT].split(".")
            model = haystack_get_model(app_label, model_name)
            if model is None or model not in indexed:
                continue
            index = unified.get_index(model)
            additional = {}
            for key, value in stored.items():
                if key in (DJANGO_CT, DJANGO_ID):
                    continue
                additional[key] = self._to_python(key, value, index.fields.get(key))
            if highlight:
                additional["highlighted"] = {self.content_field_name: [hit.snippet]}
            out.append(result_class(app_label, model_name, stored[DJANGO_ID], hit.score, **additional))
        return out

    def _to_python(self, name: str, value: Any, field) -> Any:
        """A stored value back as haystack's field gives it (dates, booleans, lists)."""
        kind = self.field_types.get(name)
        if kind == "boolean" and isinstance(self._schema.fields.get(name), KEYWORD):
            values = [v == "true" for v in (value if isinstance(value, list) else [value])]
            return values if field is not None and field.is_multivalued else values[0]
        if kind in ("date", "datetime") and isinstance(self._schema.fields.get(name), DATETIME) and \
                isinstance(value, (str, _dt.datetime)):
            moment = DATETIME.parse(value)  # aware, in UTC
            if kind == "date":
                return moment.date()
            return moment if getattr(settings, "USE_TZ", False) else moment.replace(tzinfo=None)
        if field is not None and hasattr(field, "convert") and not field.is_multivalued:
            return field.convert(value)
        return value


    def _spelling(self, searcher: Searcher, text: str) -> str | None:
        """searchlib's "did you mean" for the query, as the words alone (Whoosh's backend also
        returns the corrected words without the query's syntax); None when nothing needs correcting."""
        found = searcher.suggest(force_str(text), 1, fields=[self.content_field_name])
        if not found:
            return None
        words = found[0]
        for char in self.RESERVED_CHARACTERS:
            words = words.replace(char, " ")
        return " ".join(w for w in words.split() if w not in self.RESERVED_WORDS) or None

    def more_like_this(self, model_instance, additional_query_string=None, start_offset=0, end_offset=None,
                       models=None, limit_to_registered_models=None, result_class=None, **kwargs) -> dict:
        """Documents like `model_instance`'s, by the key terms of its document field (searchlib's
        `more_like_this`: tf x idf from the postings; a term must be in at least one other document),
        narrowed by the rest of the SearchQuerySet and its models."""
        searcher = self.searcher()
        narrow = {additional_query_string} if additional_query_string and additional_query_string != "*" else None
        restrict = self._restriction(narrow, models, limit_to_registered_models)
        start = int(start_offset or 0)
        end = searcher.doc_count() if end_offset is None else max(int(end_offset), start)
        try:
            res = searcher.more_like_this(get_identifier(model_instance), fields=[self.content_field_name],
                                          limit=end, filter=restrict, highlight=False, min_term_freq=1,
                                          min_doc_freq=2)
        except SearchlibError as exc:
            if not self.silently_fail:
                raise SearchBackendError(f"searchlib could not find documents like {model_instance!r}: {exc}") \
                    from exc
            self.log.error("Failed to find documents like %r: %s", model_instance, exc)
            return {"results": [], "hits": 0}
        hits = list(res)[start:end]
        results = self._results(hits, False, result_class)
        return {"results": results, "hits": res.total - (len(hits) - len(results))}


def _date_buckets(start: Any, end: Any, gap_by: str, amount: int = 1) -> list[tuple]:
    """[low, high) buckets of `amount` `gap_by`s (year, month, day, hour, minute, second) from
    `start` to `end`, the last one cut at `end` (as Whoosh's DateRangeFacet)."""
    def moment(value):
        return value if isinstance(value, _dt.datetime) else _dt.datetime(value.year, value.month, value.day)
    low, end = moment(start), moment(end)
    if not isinstance(amount, int) or amount < 1:
        raise SearchBackendError(f"gap_amount must be a whole number >= 1, got {amount!r}")
    out = []
    while low < end and len(out) < 10_000:
        if gap_by in ("year", "month"):
            months = low.month - 1 + amount * (12 if gap_by == "year" else 1)
            year = low.year + months // 12
            day = min(low.day, 28)  # a start after the 28th would not exist in every month
            high = low.replace(year=year, month=months % 12 + 1, day=day)
        else:
            high = low + _dt.timedelta(**{f"{gap_by}s": amount})
        high = min(high, end)
        out.append((low, high))
        low = high
    return out


def _is_facet(field) -> bool:
    from haystack.fields import FacetField
    return isinstance(field, FacetField)


def _text(value: Any) -> str:
    """A value as text for a TEXT, ID or KEYWORD field (booleans as true/false, dates in ISO 8601)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return force_str(value)


def _sort_key(value: Any) -> tuple:
    """Values of one field in a sortable form (text case-insensitively, lists by their first value)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, str):
        return (1, value.lower())
    return (0, value)


def _value(value: Any) -> str:
    """A Python value as one term or range end of the query language."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return repr(value)
    text = force_str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SearchlibSearchQuery(BaseSearchQuery):
    """Builds searchlib query text from haystack's query tree (SQ nodes and lookups)."""

    def matching_all_fragment(self) -> str:
        return "*:*"

    def clean(self, query_fragment):
        """User text as plain words: searchlib's operator characters escaped, AND/OR/NOT/TO lower-cased."""
        if not isinstance(query_fragment, str):
            return query_fragment
        return escape(query_fragment)

    def build_query(self) -> str:
        """The query text; boosts are passed to the backend separately (`boost=`) so that a boosted
        word raises scores without being required (appended to the text, it would be with AND)."""
        final = self.query_filter.as_query_string(self.build_query_fragment)
        return final or self.matching_all_fragment()

    def build_query_fragment(self, field: str, filter_type: str, value: Any) -> str:
        from haystack import connections
        if not hasattr(value, "input_type_name"):
            if hasattr(value, "values_list"):  # a ValuesListQuerySet
                value = list(value)
            value = Clean(value) if isinstance(value, str) and value != " " else PythonData(value)
        prepared = value.prepare(self)
        if field == "content":
            name, kind = "", "string"
        else:
            name = connections[self._using].get_unified_index().get_index_fieldname(field)
            if not self.backend.setup_complete:
                self.backend.setup()
            kind = self.backend.field_types.get(name, "string")
            if isinstance(self.backend._schema.fields.get(name), ID_FIELD):
                kind = "exact"
        prefix = f"{name}:" if name else ""
        raw = value.query_string if isinstance(value, (Clean, PythonData)) else prepared

        if not value.post_process:  # Raw, AutoQuery: searchlib text as it is
            frag = str(prepared)
            return f"{prefix}({frag})" if prefix and " " in frag.strip() else f"{prefix}{frag}"
        if filter_type == "content" and kind == "exact" and not isinstance(raw, (list, tuple, set)):
            filter_type = "exact"  # a faceted copy (`*_exact`) holds whole values: the value is one term
        if filter_type in ("content", "contains", "startswith", "endswith", "fuzzy"):
            if value.input_type_name == "exact":
                return f"{prefix}{prepared}"
            if isinstance(prepared, str):
                words = prepared.split()
            else:
                words = [escape(_value(prepared).strip('"'))]
            if not words:
                return _NOTHING
            terms = [self._term(filter_type, kind, w) for w in words]
            body = terms[0] if len(terms) == 1 else "(" + " AND ".join(terms) + ")"
            return f"{prefix}{body}" if body.startswith("(") else f"{prefix}({body})"
        if filter_type == "in":
            options = [_value(v) for v in (raw if isinstance(raw, (list, tuple, set)) else list(raw))]
            return f"{prefix}({' OR '.join(options)})" if options else _NOTHING
        if filter_type == "range":
            low, high = list(raw)
            return f"{prefix}[{_value(low)} TO {_value(high)}]"
        if filter_type == "exact":
            if value.input_type_name == "exact":
                return f"{prefix}{prepared}"
            return f"{prefix}{_value(raw)}"
        ends = {"gt": "{%s TO *]", "gte": "[%s TO *]", "lt": "[* TO %s}", "lte": "[* TO %s]"}
        if filter_type in ends:
            return prefix + ends[filter_type] % _value(raw)
        raise SearchBackendError(f"the searchlib backend does not know the lookup {filter_type!r}")

    @staticmethod
    def _term(filter_type: str, kind: str, word: str) -> str:
        """One already-escaped word as the clause a lookup means (n-gram fields match by prefix or substring)."""
        if filter_type == "content":
            filter_type = {"edge_ngram": "startswith", "ngram": "contains"}.get(kind, "content")
        if filter_type == "contains":
            return f"*{word}*"
        if filter_type == "startswith":
            return f"{word}*"
        if filter_type == "endswith":
            return f"*{word}"
        if filter_type == "fuzzy":
            return f"{word}~{min(2, max(1, FUZZY_WHOOSH_MAX_EDITS))}"
        return word


class SearchlibEngine(BaseEngine):
    backend = SearchlibSearchBackend
    query = SearchlibSearchQuery
