"""Fields and schemas: what each field holds and how it is indexed, stored and scored."""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from .analysis import Analyzer, get_analyzer
from .errors import SchemaError

FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
PASSAGE_MODES = ("paragraph", "sentences", "window")


def is_whole_number(value: Any, minimum: int = 0) -> bool:
    """True for an int (not a bool) >= `minimum`: the rule of every count in schemas and settings."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_positive_number(value: Any) -> bool:
    """True for a finite int or float (not a bool) > 0: the rule of every boost."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0)


@dataclass(frozen=True)
class PassageSpec:
    """How a TEXT field is split into passages (the units BM25 ranks).

    A passage is `size` units, consecutive passages sharing `overlap` units; the unit is a paragraph
    (blocks separated by blank lines), a sentence, or a token ("window").
    """

    mode: str = "paragraph"
    size: int = 1
    overlap: int = 0

    def __post_init__(self):
        if self.mode not in PASSAGE_MODES:
            raise SchemaError(f"passage mode {self.mode!r} is not one of {', '.join(PASSAGE_MODES)}")
        if not is_whole_number(self.size, 1):
            raise SchemaError(f"passage size must be a whole number >= 1, got {self.size!r}")
        if not is_whole_number(self.overlap) or self.overlap >= self.size:
            raise SchemaError(f"passage overlap must be >= 0 and < size ({self.size}), got {self.overlap!r}")

    @classmethod
    def coerce(cls, value: "PassageSpec | str | Mapping | None") -> "PassageSpec | None":
        if value is None or value is False or value == "none":
            return None
        if isinstance(value, PassageSpec):
            return value
        if isinstance(value, str):
            defaults = {"paragraph": {}, "sentences": {"size": 3}, "window": {"size": 100, "overlap": 20}}
            if value not in defaults:
                raise SchemaError(f"passage mode {value!r} is not one of none, {', '.join(PASSAGE_MODES)}")
            return cls(mode=value, **defaults[value])
        if isinstance(value, Mapping):
            unknown = set(value) - {"mode", "size", "overlap"}
            if unknown:
                raise SchemaError(f"unknown passage keys {sorted(unknown)}; allowed: mode, size, overlap")
            base = cls.coerce(value.get("mode", "paragraph"))
            if base is None:  # {mode: none}: no passages, like `passages: none`
                if len(value) > 1:
                    raise SchemaError(f"passage mode none takes no size or overlap, got {dict(value)!r}")
                return None
            size = value.get("size", base.size)
            overlap = base.overlap
            if "overlap" not in value and is_whole_number(size, 1) and size != base.size:
                overlap = base.overlap * size // base.size  # keep the default's proportion (window: 20%)
            return cls(mode=base.mode, size=size, overlap=value.get("overlap", overlap))
        raise SchemaError(f"passages must be none, a mode name or a mapping, not {value!r}")

    def to_json(self) -> dict:
        return {"mode": self.mode, "size": self.size, "overlap": self.overlap}


class FieldType:
    """Base of the field types. `indexed` fields have a term dictionary; `stored` ones come back in hits."""

    kind = ""
    indexed = False
    column = False  # kept as a numeric column (NUMERIC, DATETIME)

    def __init__(self, stored: bool = False):
        self.stored = bool(stored)

    def to_json(self) -> dict:
        return {"type": self.kind, "stored": self.stored}

    def from_stored(self, value: Any) -> Any:
        """A stored value (as JSON gave it back) as the field's Python type."""
        return value

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "type")
        return f"{type(self).__name__}({args})"


class TEXT(FieldType):
    """Analysed text, ranked by BM25; optionally split into passages and stored for snippets."""

    kind = "text"
    indexed = True

    def __init__(self, analyzer: "str | dict | Analyzer" = "standard", stored: bool = False, boost: float = 1.0,
                 passages: "PassageSpec | str | Mapping | None" = None, positions: bool = True,
                 index_phrases: bool = False, offsets: bool | None = None):
        super().__init__(stored)
        try:
            self.analyzer = get_analyzer(analyzer)
        except (ValueError, TypeError) as exc:
            raise SchemaError(str(exc)) from None
        if not is_positive_number(boost):
            raise SchemaError(f"boost must be a positive number, got {boost!r}")
        self.boost = float(boost)
        self.passages = PassageSpec.coerce(passages)
        self.positions = bool(positions)
        if index_phrases and not self.positions:
            raise SchemaError("index_phrases needs positions: a phrase of three or more words is checked "
                              "against them")
        self.index_phrases = bool(index_phrases)
        # Character offsets of every token position, kept so that snippets never re-analyse text
        # (Lucene's offsets in the postings): by default for stored fields, the ones with snippets.
        self._offsets_given = offsets is not None
        self.offsets = (stored if offsets is None else bool(offsets)) and self.positions
        if offsets and not self.positions:
            raise SchemaError("offsets need positions: they are kept per token position")

    def to_json(self) -> dict:
        spec = {**super().to_json(), "analyzer": self.analyzer.spec(), "boost": self.boost,
                "passages": self.passages.to_json() if self.passages else None, "positions": self.positions}
        if self.index_phrases:  # written only when set, so older indexes keep their schema text
            spec["index_phrases"] = True
        if self._offsets_given:  # likewise: the default follows `stored`
            spec["offsets"] = self.offsets
        return spec


class ID(FieldType):
    """An exact identifier, indexed as one term; `unique=True` makes it the key for update/delete."""

    kind = "id"
    indexed = True

    def __init__(self, unique: bool = False, stored: bool = True):
        super().__init__(stored)
        self.unique = bool(unique)
        self.analyzer = get_analyzer("keyword")

    def to_json(self) -> dict:
        return {**super().to_json(), "unique": self.unique}


class KEYWORD(FieldType):
    """Exact tokens such as tags, split on whitespace (or commas); matched exactly, not ranked by BM25."""

    kind = "keyword"
    indexed = True

    def __init__(self, stored: bool = False, lowercase: bool = False, commas: bool = False):
        super().__init__(stored)
        self.lowercase = bool(lowercase)
        self.commas = bool(commas)
        pattern = r"[^,]+" if commas else r"\S+"
        filters = [{"type": "lowercase"}] if lowercase else []
        self.analyzer = get_analyzer({"tokenizer": {"type": "regex", "pattern": pattern}, "filters": filters})

    def split(self, value: Any) -> list[str]:
        if isinstance(value, (list, tuple, set, frozenset)):
            words = [str(v).strip() for v in value]
            return [w.lower() if self.lowercase else w for w in words if w]
        words, _ = self.analyzer.index_terms(str(value))
        return [w.strip() for w in words if w.strip()]

    def to_json(self) -> dict:
        return {**super().to_json(), "lowercase": self.lowercase, "commas": self.commas}


class NUMERIC(FieldType):
    """A number (int or float) kept as a column for filtering and sorting."""

    kind = "numeric"
    column = True

    def __init__(self, stored: bool = True):
        super().__init__(stored)

    def to_value(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):  # a column sorts and filters by value: NaN and ±infinity have none
            raise ValueError(f"{value!r} is not a finite number (NaN and infinity are not valid values)")
        return number

    def from_stored(self, value: Any) -> Any:
        """A number: an int for a whole number given as an int or as text ("2017"), else a float.
        A value no writer stores (a forged index) comes back as it is."""
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                try:
                    return float(value)
                except ValueError:
                    return value
        return value


class DATETIME(FieldType):
    """A point in time (datetime, date or ISO 8601 string), kept as a column of UTC microseconds."""

    kind = "datetime"
    column = True

    def __init__(self, stored: bool = True):
        super().__init__(stored)

    @staticmethod
    def parse(value: Any) -> _dt.datetime:
        if isinstance(value, _dt.datetime):
            moment = value
        elif isinstance(value, _dt.date):
            moment = _dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            try:
                moment = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"not an ISO 8601 date or time: {value!r}") from None
        else:
            raise ValueError(f"expected a datetime, date or ISO 8601 string, got {type(value).__name__}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_dt.timezone.utc)
        return moment.astimezone(_dt.timezone.utc)

    def from_stored(self, value: Any) -> Any:
        """A timezone-aware datetime in UTC (stored as ISO 8601 text); a value no writer stores
        (a forged index) comes back as it is."""
        try:
            return self.parse(value)
        except (ValueError, OverflowError):
            return value

    def to_value(self, value: Any) -> int:
        moment = self.parse(value)
        delta = moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class STORED(FieldType):
    """Kept with the document and returned in hits; not searchable."""

    kind = "stored"

    def __init__(self):
        super().__init__(True)

    def to_json(self) -> dict:
        return {"type": self.kind}


FIELD_TYPES: dict[str, type[FieldType]] = {cls.kind: cls for cls in (TEXT, ID, KEYWORD, NUMERIC, DATETIME, STORED)}


class Schema:
    """The set of named fields of an index. At most one ID field is `unique` (the document key)."""

    def __init__(self, **fields: FieldType):
        if not fields:
            raise SchemaError("a schema needs at least one field")
        self.fields: dict[str, FieldType] = {}
        for name, ftype in fields.items():
            if not FIELD_NAME.match(name):
                raise SchemaError(f"field name {name!r} must be a letter or _ followed by letters, digits or _ "
                                  "(at most 64 characters)")
            if isinstance(ftype, type) and issubclass(ftype, FieldType):
                ftype = ftype()
            if not isinstance(ftype, FieldType):
                raise SchemaError(f"field {name!r}: expected a field type such as TEXT(), got {ftype!r}")
            self.fields[name] = ftype
        uniques = [n for n, f in self.fields.items() if isinstance(f, ID) and f.unique]
        if len(uniques) > 1:
            raise SchemaError(f"only one field can be unique, got {uniques}")
        self.unique_field: str | None = uniques[0] if uniques else None
        # the stored fields whose JSON value is not yet their Python type (see typed)
        self._typed = {n: f for n, f in self.fields.items() if f.stored and isinstance(f, (NUMERIC, DATETIME))}

    def typed(self, stored: dict) -> dict:
        """A document's stored fields as read back from JSON, each as its field's Python type:
        DATETIME a datetime, NUMERIC a number."""
        if self._typed:
            for name, ftype in self._typed.items():
                if name in stored:
                    stored[name] = ftype.from_stored(stored[name])
        return stored

    def __getitem__(self, name: str) -> FieldType:
        try:
            return self.fields[name]
        except KeyError:
            raise SchemaError(f"no field {name!r}; the schema has {', '.join(self.fields)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def items(self):
        return self.fields.items()

    def text_fields(self) -> list[str]:
        return [n for n, f in self.fields.items() if isinstance(f, TEXT)]

    def to_json(self) -> dict:
        return {name: f.to_json() for name, f in self.fields.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping]) -> "Schema":
        """Rebuild a schema from `to_json()` output (as stored in an index manifest, which may have
        been forged: whatever it holds is a SchemaError naming the field, never a TypeError)."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a schema is a mapping of field names to fields, not {type(data).__name__}")
        fields = {}
        for name, spec in data.items():
            if not isinstance(name, str) or not isinstance(spec, Mapping):
                raise SchemaError(f"field {name!r}: a field is a mapping with its 'type', not {type(spec).__name__}")
            spec = dict(spec)
            kind = spec.pop("type", None)
            if not isinstance(kind, str) or kind not in FIELD_TYPES:
                raise SchemaError(f"field {name!r}: unknown type {kind!r}")
            try:
                fields[name] = FIELD_TYPES[kind](**spec)
            except TypeError as exc:  # an option the type does not take
                raise SchemaError(f"field {name!r}: {exc}") from None
            except SchemaError as exc:  # an analyzer this process cannot build (unregistered, not installed)
                raise SchemaError(f"field {name!r}: {exc}") from None
        return cls(**fields)

    def __eq__(self, other) -> bool:
        return isinstance(other, Schema) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return "Schema(" + ", ".join(f"{n}={f!r}" for n, f in self.fields.items()) + ")"
