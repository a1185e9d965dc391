"""The exception hierarchy: every error searchlib raises on purpose is a SearchlibError."""
from __future__ import annotations

import os


class SearchlibError(Exception):
    """Root of every error searchlib raises deliberately."""


class ConfigError(SearchlibError, ValueError):
    """A configuration value is missing, unknown or out of range; `key_path` names it, `source`
    the file it came from (if any)."""

    def __init__(self, key_path: str, message: str, source: str | None = None):
        self.key_path = key_path
        self.message = message
        self.source = source
        parts = [p for p in (source, key_path, message) if p]
        super().__init__(": ".join(parts))


class InvalidArgumentError(SearchlibError, ValueError):
    """An argument of a call is out of range or of the wrong kind (a negative limit, a NaN k1, a
    filter that is neither a query nor a mapping); the message names the argument."""


class SchemaError(SearchlibError, ValueError):
    """A schema is inconsistent, or a name refers to a field the schema does not have."""


class QuerySyntaxError(SearchlibError, ValueError):
    """A query string does not parse; `column` is 1-based and points at the problem."""

    def __init__(self, message: str, column: int, query: str = ""):
        self.column = column
        self.query = query
        self.reason = message
        named = f"column {column}" in message
        super().__init__(message if named else f"{message} (column {column})")


class IndexNotFoundError(SearchlibError, FileNotFoundError):
    """The path holds no searchlib index."""


class IndexLockedError(SearchlibError):
    """Another writer holds the index's write lock."""


class IndexCorruptError(SearchlibError):
    """An index file is damaged, truncated or inconsistent; `path` names it."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message  # what is wrong, without the path
        super().__init__(f"{path}: {message}")


class IndexFileMissingError(IndexCorruptError):
    """A file a manifest names is not there. Between a reader listing a commit and opening its
    files, a writer may retire that commit: Searcher.open retries this error (and only this one)
    on the newer commit."""


class IndexFormatError(IndexCorruptError):
    """The index was written in an on-disk format this version does not read (an older
    release's): nothing is wrong with its files, but it must be rebuilt."""


class IndexIOError(SearchlibError, OSError):
    """The operating system refused to open, map, read or write a file of an index: too many open
    files or no memory while opening (the index is not damaged), a full disk while writing (the
    batch is rolled back). `errno`, `strerror` and `filename` are those of the OSError; the
    message says what happened, to which file, and what it means for the index."""

    def __init__(self, errno: int, filename: str, message: str):
        super().__init__(errno, os.strerror(errno), filename)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return type(self), (self.errno, self.filename, self.message)


class DocumentError(SearchlibError, ValueError):
    """A document cannot be indexed; the message names the document and the field."""
