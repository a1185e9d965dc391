"""searchlib: an embeddable full-text search engine: BM25 passage ranking, phrases, highlighted snippets.

    from searchlib import Index, Schema, TEXT, ID
    ix = Index.create("indexes/news", Schema(id=ID(unique=True), body=TEXT(analyzer="english", stored=True)))
    with ix.writer() as w:
        w.add({"id": "a1", "body": "..."})
    with ix.searcher() as s:
        for hit in s.search('"late miscarriage" storyline'):
            print(hit.id, hit.score, hit.snippet)
"""
from .analysis import Analyzer, get_analyzer
from .config import Config, Settings, load_config
from .errors import (ConfigError, DocumentError, IndexCorruptError, IndexFileMissingError, IndexFormatError,
                     IndexIOError, IndexLockedError, IndexNotFoundError, InvalidArgumentError, QuerySyntaxError,
                     SchemaError, SearchlibError)
from .index import Index, SettingsIgnoredWarning
from .indexing.writer import IndexWriter
from .query.ast import Boolean, Every, Fuzzy, Nothing, Phrase, Prefix, Query, Range, Term, Wildcard
from .query.expand import ExpansionLimitWarning
from .query.parser import parse_query
from .schema import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, PassageSpec, Schema
from .scoring import Explanation
from .search import Hit, Passage, Results, Searcher
from .writequeue import QueueApplier, QueueEntryWarning, QueueReport

__version__ = "0.1.0"

__all__ = [
    "Analyzer", "Boolean", "Config", "ConfigError", "DATETIME", "DocumentError", "Every", "ExpansionLimitWarning",
    "Explanation", "Fuzzy", "Hit", "ID", "Index",
    "IndexCorruptError", "InvalidArgumentError", "IndexFileMissingError", "IndexFormatError", "IndexIOError", "IndexLockedError",
    "IndexNotFoundError", "IndexWriter", "KEYWORD", "NUMERIC", "Nothing",
    "Passage", "PassageSpec", "Phrase", "Prefix", "Query", "QueueApplier", "QueueEntryWarning", "QueueReport",
    "QuerySyntaxError", "Range", "Results", "STORED", "Schema", "SchemaError",
    "Searcher", "SearchlibError", "Settings", "SettingsIgnoredWarning", "TEXT", "Term", "Wildcard", "get_analyzer", "load_config", "parse_query",
]
