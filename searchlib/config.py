"""Index settings and YAML configuration: load, validate, dump.

A YAML file holds everything a user would otherwise write in Python: the schema, named
analyzers (tokenizer + filter chain), passage splitting, BM25 parameters, the default search
fields and operator, and highlight settings. It is read with `yaml.safe_load` only, every key is
checked, and a mistake raises ConfigError naming the key path and what is allowed.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence


from .analysis import PRESETS, from_spec
from .errors import ConfigError, SchemaError
from .schema import FIELD_TYPES, PassageSpec, Schema, is_positive_number, is_whole_number
from .scoring import BM25

OPERATORS = ("OR", "AND")
# The snippet formatters a configuration may name; highlight.FORMATTERS gives each its class (a
# test keeps the two equal), so settings are checked without importing the highlighter.
FORMATTER_NAMES = ("html", "ansi", "plain")


@dataclass
class HighlightSettings:
    formatter: str = "html"
    fragment_chars: int = 200
    max_fragments: int = 3
    separator: str = " … "
    field: str | None = None  # the field snippets come from; None: chosen from the schema


LIMITS = ("max_query_chars", "max_clauses", "max_expanding_clauses")
DEFAULT_LOCK_TIMEOUT = 30.0  # seconds a writer waits for the lock by default


@dataclass
class Settings:
    """How an index searches by default; saved with the index and overridable per query."""

    k1: float = 1.2
    b: float = 0.75
    scoring: str = "bm25"  # the BM25 variant (scoring.VARIANTS)
    delta: float | None = None  # BM25L's/BM25+'s delta; None: the variant's default
    expansion: str | None = None  # pseudo-relevance feedback by default: "rm3", "bo1" or None
    # weight of adjacent query words as sloppy phrases (search/proximity.py); 0: off. 0.1 lifts nDCG@10 on
    # SciFact and CACM alike (+0.53 points over their 352 queries, p 0.04) but makes multi-word
    # queries 1.5-3x slower, so it is the user's choice (README "Relevance")
    proximity: float = 0.0
    default_fields: dict[str, float] | None = None  # None: every TEXT field, with its boost
    operator: str = "OR"
    passages_per_hit: int = 3
    highlight: HighlightSettings = field(default_factory=HighlightSettings)
    # the work one query may ask for (QuerySyntaxError beyond, lenient or not): its length, its
    # clauses after analysis (Lucene's maxClauseCount), and its prefix/wildcard/fuzzy clauses,
    # each of which scans the term dictionary
    max_query_chars: int = 32_768
    max_clauses: int = 1024
    max_expanding_clauses: int = 64
    # how long `Index.writer()` waits for another writer to finish before IndexLockedError (YAML
    # `writer.lock_timeout`); waiting is what a web application's concurrent saves want
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "settings", schema: Schema | None = None
                  ) -> "Settings":
        """Settings from `to_json()` output (or the flattened YAML), validated (against `schema`
        when given); a missing key keeps its default. ConfigError names the key under `where`."""
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError(where, f"settings are a mapping of keys to values, not {type(data).__name__}")
        data = dict(data or {})
        _check_keys(data, {"k1", "b", "scoring", "delta", "expansion", "proximity", "default_fields", "operator",
                           "passages_per_hit", "highlight", "lock_timeout", *LIMITS}, where)
        hl = _section(data, "highlight", f"{where}.highlight")
        data.pop("highlight", None)
        _check_keys(hl, set(HighlightSettings.__dataclass_fields__), f"{where}.highlight")
        settings = cls(**data, highlight=HighlightSettings(**hl))
        settings.validate(where, schema)
        return settings

    def validate(self, where: str = "settings", schema: Schema | None = None) -> None:
        for key, arg in (("k1", "k1"), ("b", "b"), ("scoring", "variant"), ("delta", "delta")):
            try:
                BM25(**{arg: getattr(self, key)})
            except ValueError as exc:
                raise ConfigError(f"{where}.{key}", str(exc)) from None
        if isinstance(self.proximity, bool) or not isinstance(self.proximity, (int, float)) \
                or not 0 <= self.proximity <= 100:
            raise ConfigError(f"{where}.proximity", f"must be a number between 0 and 100, got {self.proximity!r}")
        if self.expansion not in (None, "none", "rm3", "bo1"):
            raise ConfigError(f"{where}.expansion", f"{self.expansion!r} is not one of rm3, bo1, none")
        if self.operator not in OPERATORS:
            raise ConfigError(f"{where}.operator", f"{self.operator!r} is not one of {', '.join(OPERATORS)}")
        for key in ("passages_per_hit", *LIMITS):
            if not is_whole_number(getattr(self, key), 1):
                raise ConfigError(f"{where}.{key}", f"must be a whole number >= 1, got {getattr(self, key)!r}")
        t = self.lock_timeout
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise ConfigError(f"{where}.lock_timeout", f"must be a number of seconds >= 0, got {self.lock_timeout!r}")
        hl = self.highlight
        if hl.formatter not in FORMATTER_NAMES:
            raise ConfigError(f"{where}.highlight.formatter",
                              f"{hl.formatter!r} is not one of {', '.join(FORMATTER_NAMES)}")
        for key in ("fragment_chars", "max_fragments"):
            value = getattr(hl, key)
            if not is_whole_number(value, 1):
                raise ConfigError(f"{where}.highlight.{key}", f"must be a whole number >= 1, got {value!r}")
        if not isinstance(hl.separator, str):
            raise ConfigError(f"{where}.highlight.separator", "must be text")
        if self.default_fields is not None:
            if isinstance(self.default_fields, str):  # per query a lone name is fine; saved settings list them
                raise ConfigError(f"{where}.default_fields", "a list of field names or a mapping of name to boost")
            self.default_fields = field_boosts(self.default_fields, f"{where}.default_fields")
        if schema is not None:
            for name in self.default_fields or {}:
                if name not in searchable(schema):
                    raise ConfigError(f"{where}.default_fields.{name}",
                                      f"not a searchable field; searchable fields: {', '.join(searchable(schema))}")
            if hl.field is not None and (hl.field not in schema or schema.fields[hl.field].kind != "text"
                                         or not schema.fields[hl.field].stored):
                raise ConfigError(f"{where}.highlight.field", f"{hl.field!r} is not a stored TEXT field")

    def fields_for(self, schema: Schema, fields: "str | Sequence[str] | Mapping[str, float] | None" = None
                   ) -> dict[str, float]:
        """The fields a query searches with their boosts: `fields` (a query's own choice, checked as
        field_boosts checks it, ConfigError naming "fields.<name>") when given, else the default
        fields. The names are not checked against `schema`."""
        if fields is not None:
            return field_boosts(fields, "fields")
        if self.default_fields is not None:
            return dict(self.default_fields)
        return {name: 1.0 for name in schema.text_fields()}


def searchable(schema: Schema) -> list[str]:
    return [n for n, f in schema.items() if f.indexed]


def field_boosts(fields: "str | Sequence[str] | Mapping[str, float]", where: str = "fields") -> dict[str, float]:
    """`fields` as {field name: boost}: a name, or a list of names, means boost 1.0 each; a mapping
    gives each name its boost, a positive finite number (not a bool). The one rule for default
    fields in settings, YAML and per query. ConfigError (a ValueError) naming `where`, or
    `where.<name>` for a bad boost, otherwise; the names are not checked against a schema."""
    if isinstance(fields, str):
        fields = [fields]
    if isinstance(fields, (list, tuple)):
        fields = {name: 1.0 for name in fields}
    elif not isinstance(fields, Mapping):
        raise ConfigError(where, "a list of field names or a mapping of name to boost")
    boosts = {}
    for name, boost in fields.items():
        if not isinstance(name, str):
            raise ConfigError(where, f"field names must be text, got {name!r}")
        if not is_positive_number(boost):
            raise ConfigError(f"{where}.{name}", f"boost must be a positive number, got {boost!r}")
        boosts[name] = float(boost)
    return boosts


def _check_keys(data: Mapping, allowed: set[str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise ConfigError(where, f"expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}" if where else str(key),
                              f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _section(data: Mapping, key: str, where: str) -> dict:
    """The mapping under `key` (empty if absent or null); ConfigError naming it if it is not a mapping."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(where, f"expected a mapping, got {type(value).__name__}")
    return dict(value)


# Where Settings.validate's checks live in the YAML layout (Settings are flat; YAML nests them).
_YAML_PATHS = {"k1": "search.bm25.k1", "b": "search.bm25.b", "scoring": "search.bm25.scoring",
               "delta": "search.bm25.delta", "expansion": "search.expansion", "proximity": "search.proximity", "operator": "search.operator",
               "passages_per_hit": "search.passages_per_hit", "default_fields": "search.default_fields",
               "highlight": "highlight", "lock_timeout": "writer.lock_timeout", **{key: f"search.{key}" for key in LIMITS}}


# -- YAML -------------------------------------------------------------------------------------
@dataclass
class Config:
    """A loaded configuration: where the index lives, its schema and its settings."""

    path: Path | None
    schema: Schema
    settings: Settings


_TOP = {"path", "schema", "analyzers", "search", "highlight", "writer"}
# A field's YAML keys are its type's constructor parameters (plus "type"); those with a true/false
# default are flags.
_FIELD_PARAMS = {kind: inspect.signature(cls).parameters for kind, cls in FIELD_TYPES.items()}
_FIELD_KEYS = {kind: {"type", *params} for kind, params in _FIELD_PARAMS.items()}
_FIELD_FLAGS = {kind: {name for name, p in params.items() if isinstance(p.default, bool)}
                for kind, params in _FIELD_PARAMS.items()}


def _analyzer(value: Any, named: dict, where: str):
    if isinstance(value, str):
        if value in named:
            return named[value]
        if value in PRESETS:
            return value
        raise ConfigError(where, f"unknown analyzer {value!r}; presets: {', '.join(sorted(PRESETS))}"
                          + (f"; defined in analyzers: {', '.join(named)}" if named else ""))
    if isinstance(value, Mapping):
        try:
            return from_spec(dict(value))
        except (ValueError, TypeError) as exc:
            raise ConfigError(where, str(exc)) from None
    raise ConfigError(where, f"expected an analyzer name or mapping, got {type(value).__name__}")


def config_from_dict(data: Any, base_dir: Path | None = None) -> Config:
    """Validate a configuration mapping (as parsed from YAML) into a Config."""
    if not isinstance(data, Mapping):
        raise ConfigError("", f"the configuration must be a mapping at the top level, got {type(data).__name__}")
    _check_keys(data, _TOP, "")
    named = {}
    for name, spec in _section(data, "analyzers", "analyzers").items():
        if name in PRESETS:
            raise ConfigError(f"analyzers.{name}", "this name is a preset; choose another")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"analyzers.{name}", "an analyzer is a mapping with tokenizer and filters")
        named[name] = _analyzer(spec, {}, f"analyzers.{name}")

    schema_data = data.get("schema")
    if not isinstance(schema_data, Mapping) or not schema_data:
        raise ConfigError("schema", "required: a mapping of field names to field definitions")
    fields = {}
    for fname, spec in schema_data.items():
        where = f"schema.{fname}"
        if isinstance(spec, str):
            spec = {"type": spec}
        if not isinstance(spec, Mapping):
            raise ConfigError(where, "a field is a type name or a mapping with 'type'")
        spec = dict(spec)
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            raise ConfigError(f"{where}.type", f"{kind!r} is not one of {', '.join(FIELD_TYPES)}")
        _check_keys(spec, _FIELD_KEYS[kind], where)
        spec.pop("type")
        if "analyzer" in spec:
            spec["analyzer"] = _analyzer(spec["analyzer"], named, f"{where}.analyzer")
        if "passages" in spec:
            try:
                spec["passages"] = PassageSpec.coerce(spec["passages"])
            except SchemaError as exc:
                raise ConfigError(f"{where}.passages", str(exc)) from None
        for flag in _FIELD_FLAGS[kind]:
            if flag in spec and not isinstance(spec[flag], bool):
                raise ConfigError(f"{where}.{flag}", f"must be true or false, got {spec[flag]!r}")
        try:
            fields[fname] = FIELD_TYPES[kind](**spec)
        except SchemaError as exc:
            raise ConfigError(where, str(exc)) from None
    try:
        schema = Schema(**fields)
    except SchemaError as exc:
        raise ConfigError("schema", str(exc)) from None

    search = _section(data, "search", "search")
    _check_keys(search, {"default_fields", "operator", "bm25", "expansion", "proximity", "passages_per_hit", *LIMITS}, "search")
    bm25 = _section(search, "bm25", "search.bm25")
    _check_keys(bm25, {"k1", "b", "scoring", "delta"}, "search.bm25")
    if search.get("operator") is not None:
        search["operator"] = str(search["operator"]).upper()
    writer = _section(data, "writer", "writer")
    _check_keys(writer, {"lock_timeout"}, "writer")
    # Settings are flat: search.*, search.bm25.* and writer.* side by side; a null key keeps its default.
    flat = {key: value for key, value in {**search, **bm25, **writer, "highlight": data.get("highlight")}.items()
            if key != "bm25" and value is not None}
    try:
        settings = Settings.from_json(flat, "", schema)
    except ConfigError as exc:
        head, _, rest = exc.key_path.lstrip(".").partition(".")
        key_path = _YAML_PATHS.get(head, head) + (f".{rest}" if rest else "")
        raise ConfigError(key_path, exc.message) from None

    path = data.get("path")
    if path is not None:
        if not isinstance(path, str) or not path.strip():
            raise ConfigError("path", "must be a directory path")
        path = Path(path).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
    return Config(path=path, schema=schema, settings=settings)


def load_config(source: "str | Path") -> Config:
    """Read and validate a YAML configuration file (safe loading only)."""
    source = Path(source)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", "no such configuration file", str(source)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"not UTF-8 text ({exc.reason} at byte {exc.start})", str(source)) from None
    import yaml  # here, not at the top: a search never reads a configuration file

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("", f"invalid YAML{where}: {getattr(exc, 'problem', exc)}", str(source)) from None
    try:
        return config_from_dict(data, base_dir=source.parent)
    except ConfigError as exc:
        raise ConfigError(exc.key_path, exc.message, str(source)) from None


def dump_config(config: Config) -> str:
    """YAML text that loads back to an equivalent configuration."""
    s = config.settings
    data: dict[str, Any] = {}
    if config.path is not None:
        data["path"] = str(config.path)
    data["schema"] = config.schema.to_json()
    data["search"] = {"default_fields": s.default_fields, "operator": s.operator, "expansion": s.expansion,
                      "proximity": s.proximity,
                      "bm25": {"k1": s.k1, "b": s.b, "scoring": s.scoring, "delta": s.delta}, "passages_per_hit": s.passages_per_hit,
                      **{key: getattr(s, key) for key in LIMITS}}
    data["highlight"] = asdict(s.highlight)
    data["writer"] = {"lock_timeout": s.lock_timeout}
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
