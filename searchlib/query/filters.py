"""Filters written as mappings, as queries: `{"year": (2010, None), "tags": ["tv", "radio"]}`.

`search(filter=...)` takes a query or a mapping of field to value; this turns the mapping into the
query it means, so a filter is compiled and matched like any other query.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from ..errors import InvalidArgumentError
from ..schema import TEXT, FieldType, Schema
from .ast import Boolean, Every, Nothing, Phrase, Query, Range, Term


def filter_query(schema: Schema, spec: Mapping[str, Any]) -> Query:
    """A filter mapping as a query: every field must match its value (a list: any of them;
    a (low, high) tuple: the inclusive range, None for an open end)."""
    clauses: list[Query] = []
    for name, value in spec.items():
        ft = schema[name]  # SchemaError naming the fields there are
        if isinstance(value, tuple):
            if len(value) != 2:
                raise InvalidArgumentError(f"filter {name!r}: a range is a (low, high) tuple, got {value!r}")
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


def _value_text(value: Any) -> str:
    """A filter value as query text (dates and times in ISO 8601)."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        raise InvalidArgumentError(f"a filter value cannot be a bool ({value!r})")
    return str(value)


def _exact(name: str, ft: FieldType, value: Any) -> Query:
    """A filter clause matching `value` exactly in field `name` (a TEXT value as a phrase)."""
    text = _value_text(value)
    return Phrase(name, text.split()) if isinstance(ft, TEXT) else Term(name, text)
