"""Tokenizers and filters by name: searchlib's own, those registered in this process
(`register(name, factory)`), and those installed packages declare in the `searchlib.analyzers`
entry point group.

An index records each component of an analyzer as its name and parameters (JSON data, never code),
and opening the index builds it again by name. So a component of your own must be registered in
every process that opens the index: when it is not, opening fails with an error naming it and
saying how to register it, rather than analysing queries differently from the documents.

An entry point's name is the component's name and its object a Tokenizer or Filter subclass:

    [options.entry_points]
    searchlib.analyzers =
        mytok = mypackage.analysis:MyTokenizer

Entry points are read the first time a name is not found among the others, so they cost nothing
when unused.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from .cjk import CJKTokenizer
from .filters import FILTERS, Filter
from .segmenters import SEGMENTERS
from .tokenizers import TOKENIZERS, Tokenizer
from .unicode import CaseFoldFilter, NormalizeFilter, UnicodeWordTokenizer

ENTRY_POINT_GROUP = "searchlib.analyzers"
KINDS = ("tokenizer", "filter")

TOKENIZERS.update({"unicode": UnicodeWordTokenizer, "cjk": CJKTokenizer, **SEGMENTERS})
FILTERS.update({"normalize": NormalizeFilter, "casefold": CaseFoldFilter})

_BUILTIN = {"tokenizer": TOKENIZERS, "filter": FILTERS}
_BASES = {"tokenizer": Tokenizer, "filter": Filter}
_registered: dict[str, dict[str, Callable[..., Any]]] = {"tokenizer": {}, "filter": {}}
_entry_points_read = False


class UnknownComponentError(ValueError):
    """A tokenizer or filter name that is neither built in, registered nor an installed entry point."""


def _kind_of(factory: Any) -> str | None:
    if isinstance(factory, type):
        for kind, base in _BASES.items():
            if issubclass(factory, base):
                return kind
    return None


def register(name: str, factory: Callable[..., Any], kind: str | None = None, replace: bool = False) -> None:
    """Make `factory` the tokenizer or filter called `name` in analyzer specs, schemas and YAML.

    `factory` is a Tokenizer or Filter subclass (its kind follows), or any callable returning one,
    with `kind="tokenizer"` or `kind="filter"`. It is called with the spec's parameters as keyword
    arguments (`{"type": name, "min": 2}` calls `factory(min=2)`), which must be JSON data: the
    index records the name and the parameters, so the component needs no `spec()` of its own.
    Registering a built-in name, or another factory under a registered name without `replace=True`,
    is an error.
    """
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"a component name is a non-empty string without surrounding spaces, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable, got {type(factory).__name__}")
    inferred = _kind_of(factory)
    if kind is None:
        kind = inferred
        if kind is None:
            raise ValueError(f"cannot tell whether {name!r} is a tokenizer or a filter: pass kind='tokenizer' "
                             "or kind='filter'")
    if kind not in KINDS:
        raise ValueError(f"kind must be 'tokenizer' or 'filter', got {kind!r}")
    if inferred is not None and inferred != kind:
        raise ValueError(f"{factory.__name__} is a {inferred}, not a {kind}")
    if name in _BUILTIN[kind]:
        raise ValueError(f"{name!r} is a built-in {kind}; choose another name")
    known = _registered[kind].get(name)
    if known is not None and known is not factory and not replace:
        raise ValueError(f"a {kind} called {name!r} is already registered ({known!r}); pass replace=True "
                         "to replace it")
    _registered[kind][name] = factory


def unregister(name: str, kind: str) -> None:
    """Forget a registered component (analyzers already built with it keep it)."""
    _registered[kind].pop(name, None)


def _read_entry_points() -> None:
    from importlib.metadata import entry_points  # here: only an unknown name reads what is installed

    global _entry_points_read
    _entry_points_read = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if any(ep.name in _BUILTIN[k] or ep.name in _registered[k] for k in KINDS):
            continue  # a name taken in this process wins over an installed one
        try:
            factory = ep.load()
        except Exception as exc:  # a broken plugin must not break other analyzers: say so when used
            _registered["tokenizer"].setdefault(ep.name, _broken(ep, exc))
            continue
        kind = _kind_of(factory)
        if kind is None:
            _registered["tokenizer"].setdefault(ep.name, _broken(ep, TypeError(
                f"{ep.value} is not a Tokenizer or Filter subclass")))
            continue
        _registered[kind][ep.name] = factory


def _broken(ep: Any, exc: Exception) -> Callable[..., Any]:
    def fail(**_: Any):
        raise ValueError(f"the {ENTRY_POINT_GROUP!r} entry point {ep.name!r} ({ep.value}) cannot be used: {exc}")
    return fail


def lookup(kind: str, name: str) -> Callable[..., Any]:
    """The factory of the `kind` ("tokenizer" or "filter") called `name`."""
    for attempt in range(2):
        factory = _BUILTIN[kind].get(name) or _registered[kind].get(name)
        if factory is not None:
            return factory
        if attempt == 0 and not _entry_points_read:
            _read_entry_points()
        else:
            break
    other = "filter" if kind == "tokenizer" else "tokenizer"
    hint = f" ({name!r} is a {other})" if name in _BUILTIN[other] or name in _registered[other] else ""
    raise UnknownComponentError(
        f"unknown {kind} {name!r}{hint}: it is not built in, not registered in this process and no installed "
        f"package provides it as a {ENTRY_POINT_GROUP!r} entry point. A {kind} of your own must be registered "
        f"in every process that builds or opens an index with it: searchlib.analysis.register({name!r}, factory). "
        f"Built-in {kind}s: {', '.join(sorted(_BUILTIN[kind]))}")


def build(kind: str, spec: "str | dict") -> Any:
    """The tokenizer or filter a spec (`"name"` or `{"type": name, **params}`) describes."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"a {kind} is a name or a mapping with 'type', got {spec!r}")
    name = spec["type"]
    params = {k: v for k, v in spec.items() if k != "type"}
    factory = lookup(kind, name)
    try:
        component = factory(**params)
    except TypeError as exc:
        raise ValueError(f"bad options for {kind} {name!r}: {exc}") from None
    if not isinstance(component, _BASES[kind]):
        raise ValueError(f"the {kind} {name!r} built a {type(component).__name__}, not a {_BASES[kind].__name__}")
    if name in _registered[kind] and name not in _BUILTIN[kind]:
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError(f"the parameters of {kind} {name!r} must be JSON data (the index records them), "
                             f"got {params!r}") from None
        component.registered_spec = dict(spec)  # what Tokenizer.spec / Filter.spec return
    return component
