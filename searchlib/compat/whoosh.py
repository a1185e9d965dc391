"""Migration from Whoosh: turn an existing Whoosh index into a searchlib index.

    from searchlib.compat.whoosh import import_index
    report = import_index("old_whoosh_index", "indexes/migrated")
    print(report)

Each Whoosh field becomes the nearest searchlib field: TEXT -> TEXT, ID -> ID (the `unique` one is
the document key), KEYWORD -> KEYWORD, NUMERIC -> NUMERIC, DATETIME -> DATETIME, STORED -> STORED,
BOOLEAN -> a KEYWORD holding "true"/"false", and NGRAM, IDLIST or custom analysed fields -> TEXT.
Analyzers are rebuilt from their parts (see `compat.whoosh_analysis`): the tokenizer's pattern, the
exact stop list and minimum length, the stemmer; so the migrated index splits and matches words the
way the Whoosh index did, and a part with no searchlib counterpart is named in the report.

Every stored document is copied. A field Whoosh did not store cannot be recovered (an index keeps
terms, not text) unless it had a text sort column (`sortable=True`): such fields stay in the new
schema, and the report lists them, with every value that could not be converted and every
approximation made, so nothing is lost silently.

Whoosh is an optional dependency (`pip install searchlib[whoosh]`). Opening a Whoosh index
unpickles its table of contents, which can run code: migrate only indexes you trust. The searchlib
index written contains no pickle.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import DocumentError, SearchlibError
from ..index import Index
from ..schema import DATETIME, FIELD_NAME, ID, KEYWORD, NUMERIC, STORED, TEXT, FieldType, Schema
from .whoosh_analysis import translate_analyzer


# -- the report ----------------------------------------------------------------------------------


@dataclass
class FieldMapping:
    """How one Whoosh field became a searchlib field."""

    name: str  # the searchlib field name
    whoosh_name: str
    whoosh_type: str  # e.g. "TEXT(stored, phrase)"
    searchlib_type: str  # e.g. "TEXT(stored, phrase, boost=2)"
    analyzer: str = ""  # "Whoosh chain -> searchlib chain", for analysed fields
    notes: list[str] = field(default_factory=list)


@dataclass
class MigrationReport:
    """What `import_index` did: the field mappings, what could not be carried over, and the count."""

    whoosh_dir: str
    index_path: str
    fields: list[FieldMapping]
    unique_field: str | None
    documents: int = 0
    unrecoverable: list[str] = field(default_factory=list)  # fields Whoosh did not store: left empty
    from_columns: list[str] = field(default_factory=list)  # unstored fields read back from sort columns
    dropped_values: dict[str, int] = field(default_factory=dict)  # field -> values that could not be copied
    skipped_documents: list[str] = field(default_factory=list)  # one reason per document not copied
    notes: list[str] = field(default_factory=list)

    def mapping(self, name: str) -> FieldMapping:
        """The mapping of the searchlib field `name`."""
        for m in self.fields:
            if m.name == name:
                return m
        raise KeyError(name)

    def __str__(self) -> str:
        lines = [f"Migrated Whoosh index {self.whoosh_dir} to searchlib index {self.index_path}: "
                 f"{self.documents} documents copied"]
        lines.append(f"Unique key: {self.unique_field or 'none (update and delete by key are unavailable)'}")
        lines.append("")
        rows = [("field", "Whoosh", "searchlib")]
        for m in self.fields:
            label = m.name if m.name == m.whoosh_name else f"{m.name} (Whoosh: {m.whoosh_name})"
            rows.append((label, m.whoosh_type, m.searchlib_type))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for i, row in enumerate(rows):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            if i == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        details = [(m.name, note) for m in self.fields
                   for note in ([f"analyzer {m.analyzer}"] if m.analyzer else []) + m.notes]
        if details:
            lines += ["", "Field notes:"] + [f"  {name}: {note}" for name, note in details]
        lines.append("")
        if self.unrecoverable:
            lines.append("Not stored by Whoosh, cannot be recovered (the fields exist in the new index, but documents "
                         f"have no content for them; re-index from the source to fill them): "
                         f"{', '.join(self.unrecoverable)}")
        else:
            lines.append("No field is unrecoverable: Whoosh stored every field (or kept it in a sort column).")
        if self.from_columns:
            lines.append(f"Not stored by Whoosh, recovered from its sort columns: {', '.join(self.from_columns)}")
        for name, count in self.dropped_values.items():
            lines.append(f"Values not copied: {name}: {count}")
        if self.skipped_documents:
            lines.append(f"Documents not copied: {len(self.skipped_documents)}")
            lines += [f"  {reason}" for reason in self.skipped_documents[:20]]
            if len(self.skipped_documents) > 20:
                lines.append(f"  ... and {len(self.skipped_documents) - 20} more")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)


# -- fields --------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """One field's migration: its searchlib type, its report row, and where its values come from."""

    whoosh_name: str
    ftype: FieldType
    mapping: FieldMapping
    source: str | None  # "stored", "column", or None (unrecoverable)


def _map_field(name: str, wf: Any, key: str | None) -> tuple[FieldType, FieldMapping]:
    """The searchlib field for Whoosh field `wf` and the report row describing the choice."""
    from whoosh import fields as wf_types

    notes: list[str] = []
    analyzer = ""
    boost = float(getattr(wf.format, "field_boost", 1.0) or 1.0) if wf.format is not None else 1.0
    ftype: FieldType
    if isinstance(wf, wf_types.DATETIME):
        ftype = DATETIME(stored=wf.stored)
        notes.append("datetimes without a time zone are taken as UTC")
    elif isinstance(wf, wf_types.NUMERIC):
        ftype = NUMERIC(stored=wf.stored)
        if getattr(wf, "decimal_places", 0):
            notes.append("Whoosh kept these numbers as decimal strings; they become floats")
    elif isinstance(wf, wf_types.BOOLEAN):
        ftype = KEYWORD(stored=wf.stored, lowercase=True)
        notes.append('BOOLEAN becomes a KEYWORD holding "true" or "false" (query flag:true); Whoosh also '
                     "accepted yes/no/1/0 in queries, searchlib does not")
    elif isinstance(wf, wf_types.ID):
        ftype = ID(unique=name == key, stored=wf.stored)
        if _has_lowercase(wf.analyzer):
            notes.append("Whoosh lower-cased these IDs; searchlib matches them exactly as stored")
    elif isinstance(wf, wf_types.KEYWORD):
        ftype = KEYWORD(stored=wf.stored, lowercase=_has_lowercase(wf.analyzer), commas=_splits_on_commas(wf.analyzer))
        if getattr(wf, "scorable", False):
            notes.append("Whoosh scored this field (scorable=True); a searchlib KEYWORD matches without adding "
                         "to the score")
    elif isinstance(wf, wf_types.STORED):
        ftype = STORED()
    elif getattr(wf, "analyzer", None) is not None and wf.format is not None:  # TEXT, NGRAM, IDLIST, custom
        translation = translate_analyzer(wf.analyzer)
        ftype = TEXT(analyzer=translation.spec, stored=wf.stored, boost=boost,
                     positions=bool(wf.format.supports("positions")))
        analyzer = f"{translation.whoosh} -> {translation.describe()}"
        notes += translation.notes
        if not isinstance(wf, wf_types.TEXT):
            notes.append(f"Whoosh {type(wf).__name__} field becomes TEXT")
        if isinstance(wf, wf_types.NGRAM):
            notes.append("n-gram matching is lost: searchlib matches whole words")
    else:  # COLUMN and other fields that are not indexed
        ftype = STORED()
        notes.append(f"Whoosh {type(wf).__name__} field becomes STORED (not searchable)")
    if boost != 1.0 and not isinstance(ftype, TEXT):
        notes.append(f"field boost {boost:g} dropped: only TEXT fields are scored with a boost")
    if getattr(wf, "unique", False) and not (isinstance(ftype, ID) and ftype.unique):
        notes.append("unique in Whoosh; searchlib's document key is the (one) unique ID field")
    return ftype, FieldMapping(name, name, _describe_whoosh_field(wf), _describe_field(ftype), analyzer, notes)


def _has_lowercase(analyzer: Any) -> bool:
    from whoosh import analysis as wa

    return any(isinstance(p, wa.LowercaseFilter) for p in getattr(analyzer, "items", None) or [analyzer])


def _splits_on_commas(analyzer: Any) -> bool:
    from whoosh import analysis as wa

    first = (getattr(analyzer, "items", None) or [analyzer])[0]
    return isinstance(first, wa.RegexTokenizer) and first.expression.pattern == "[^,]+"


def _describe_whoosh_field(wf: Any) -> str:
    from whoosh import fields as wf_types

    flags = []
    if isinstance(wf, wf_types.NUMERIC) and not isinstance(wf, wf_types.DATETIME):
        flags.append(getattr(wf.numtype, "__name__", str(wf.numtype)))
    for flag in ("unique", "stored", "scorable"):
        if getattr(wf, flag, False) and not (flag == "scorable" and isinstance(wf, (wf_types.TEXT, wf_types.NGRAM))):
            flags.append(flag)
    if isinstance(wf, wf_types.KEYWORD):
        flags += ["lowercase"] * _has_lowercase(wf.analyzer) + ["commas"] * _splits_on_commas(wf.analyzer)
    if wf.format is not None and wf.format.supports("positions"):
        flags.append("phrase")
    if getattr(wf, "column_type", None) is not None:
        flags.append("sortable")
    boost = getattr(wf.format, "field_boost", 1.0) if wf.format is not None else 1.0
    if boost not in (None, 1.0):
        flags.append(f"field_boost={boost:g}")
    return f"{type(wf).__name__}({', '.join(flags)})"


def _describe_field(ft: FieldType) -> str:
    flags = []
    if isinstance(ft, ID) and ft.unique:
        flags.append("unique")
    if ft.stored and not isinstance(ft, STORED):
        flags.append("stored")
    if isinstance(ft, KEYWORD):
        flags += [f for f in ("lowercase", "commas") if getattr(ft, f)]
    if isinstance(ft, TEXT):
        if ft.positions:
            flags.append("phrase")
        if ft.boost != 1.0:
            flags.append(f"boost={ft.boost:g}")
    return f"{type(ft).__name__}({', '.join(flags)})"


def _field_names(wschema: Any, reader: Any) -> list[str]:
    """Every concrete field name: the schema's, plus names matching its dynamic (glob) fields."""
    found = set(reader.indexed_field_names())
    if getattr(wschema, "_dyn_fields", None):  # stored-only dynamic fields show up only in documents
        for _, stored in reader.iter_docs():
            found.update(stored)
    return list(wschema.names(check_names=found))


def _searchlib_name(name: str, taken: set[str]) -> str:
    """`name` if searchlib accepts it, else a close valid name not in `taken`."""
    if FIELD_NAME.match(name):
        return name
    base = re.sub(r"\W", "_", name, flags=re.ASCII)[:60] or "_"
    if base[0].isdigit():
        base = "_" + base[:59]
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _plan(wschema: Any, reader: Any, report_notes: list[str]) -> tuple[list[_Plan], str | None]:
    """The migration plan of every field, and the searchlib name of the unique key (if any)."""
    from whoosh import fields as wf_types

    names = _field_names(wschema, reader)
    uniques = [n for n in names if getattr(wschema[n], "unique", False)]
    key = next((n for n in uniques if isinstance(wschema[n], wf_types.ID)), None)
    taken = {n for n in names if FIELD_NAME.match(n)}
    plans = []
    for wname in names:
        wf = wschema[wname]
        name = _searchlib_name(wname, taken)
        taken.add(name)
        ftype, mapping = _map_field(wname, wf, key)
        mapping.name = name
        if name != wname:
            mapping.notes.append(f"renamed from {wname!r}: searchlib field names are letters, digits and _")
        if wf.stored:
            source = "stored"
        elif isinstance(ftype, (TEXT, ID, KEYWORD, STORED)) and reader.has_column(wname):
            source = "column"
        else:
            source = None
        plans.append(_Plan(wname, ftype, mapping, source))
    if len(uniques) > 1 or (uniques and key is None):
        report_notes.append(f"Whoosh unique field(s) {', '.join(uniques)}: searchlib keeps one unique ID field "
                            f"({key or 'none'})")
    return plans, next((p.mapping.name for p in plans if p.whoosh_name == key), None)


# -- values --------------------------------------------------------------------------------------


def convert_value(ft: FieldType, value: Any) -> Any:
    """A stored Whoosh value as the searchlib field `ft` accepts it; ValueError if it cannot be."""
    if isinstance(ft, STORED):
        return _jsonable(value)
    if isinstance(ft, NUMERIC):
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        number = value if isinstance(value, (int, float)) else float(value)
        ft.to_value(number)  # raises ValueError for NaN or infinity, as adding the document would
        return number
    if isinstance(ft, DATETIME):
        ft.to_value(value)  # raises ValueError for anything but a date, datetime or ISO 8601 text
        return value
    if isinstance(ft, KEYWORD):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple, set, frozenset)):
            return [_as_text(v) for v in value]
        return _as_text(value)
    if isinstance(ft, ID) and isinstance(value, int) and not isinstance(value, bool):
        return value
    return _as_text(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if isinstance(value, (int, float, Decimal, _dt.date, _dt.time)):
        return str(value)
    raise ValueError(f"cannot turn a {type(value).__name__} into text")


def _jsonable(value: Any) -> Any:
    """`value` made JSON-serialisable: tuples and sets become lists, dates ISO strings, Decimals floats."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, (float, Decimal)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{number} cannot be stored as JSON")
        return number
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise ValueError(f"a {type(value).__name__} cannot be stored as JSON")


# -- the migration -------------------------------------------------------------------------------


def _require_whoosh() -> None:
    try:
        import whoosh  # noqa: F401
    except ImportError:
        raise SearchlibError("migrating from Whoosh needs the whoosh package: pip install searchlib[whoosh]") from None


def import_index(whoosh_dir: "str | Path", new_index_path: "str | Path", *, overwrite: bool = False,
                 indexname: str | None = None, progress: bool = False) -> MigrationReport:
    """Create a searchlib index at `new_index_path` from the Whoosh index in `whoosh_dir`.

    `overwrite` replaces an existing searchlib index there; `indexname` selects a Whoosh index
    other than the default one in the directory; `progress` shows a progress bar on stderr.
    Returns the report (print it). If copying fails part-way, a directory this call created is
    removed again.
    """
    _require_whoosh()
    from whoosh import index as windex

    whoosh_dir, target = Path(whoosh_dir), Path(new_index_path)
    if not whoosh_dir.is_dir():
        raise SearchlibError(f"{whoosh_dir}: no such directory")
    try:
        wix = windex.open_dir(str(whoosh_dir), indexname=indexname)
    except Exception as exc:  # Whoosh raises many kinds (EmptyIndexError, version errors, unpickling errors)
        raise SearchlibError(f"{whoosh_dir}: cannot open a Whoosh index there ({type(exc).__name__}: {exc})") from None
    try:
        with wix.searcher() as wsearcher:
            return _migrate(wix.schema, wsearcher.reader(), whoosh_dir, target, overwrite, progress)
    finally:
        wix.close()


def _migrate(wschema: Any, reader: Any, whoosh_dir: Path, target: Path, overwrite: bool,
             progress: bool) -> MigrationReport:
    notes: list[str] = []
    plans, key = _plan(wschema, reader, notes)
    report = MigrationReport(str(whoosh_dir), str(target), [p.mapping for p in plans], key, notes=notes,
                             unrecoverable=[p.mapping.name for p in plans if p.source is None],
                             from_columns=[p.mapping.name for p in plans if p.source == "column"])
    schema = Schema(**{p.mapping.name: p.ftype for p in plans})
    existed = target.exists()
    ix = Index.create(target, schema, overwrite=overwrite)
    try:
        _copy_documents(ix, plans, reader, report, progress)
    except BaseException:
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return report


def _copy_documents(ix: Index, plans: list[_Plan], reader: Any, report: MigrationReport, progress: bool) -> None:
    """Copy every live Whoosh document into one commit; count what could not be copied."""
    from tqdm import tqdm

    stored_plans = {p.whoosh_name: p for p in plans if p.source == "stored"}
    columns = [(p, reader.column_reader(p.whoosh_name)) for p in plans if p.source == "column"]
    first_problem: dict[str, str] = {}

    def put(doc: dict, plan: _Plan, value: Any) -> None:
        name = plan.mapping.name
        try:
            doc[name] = convert_value(plan.ftype, value)
        except (ValueError, OverflowError) as exc:
            report.dropped_values[name] = report.dropped_values.get(name, 0) + 1
            first_problem.setdefault(name, str(exc))

    tqdm.monitor_interval = 0  # no monitor thread: the writer may fork analysis workers
    docs = tqdm(reader.iter_docs(), total=reader.doc_count(), desc="Migrating", unit=" docs", disable=not progress)
    with ix.writer() as writer, docs:
        for docnum, stored in docs:
            doc: dict[str, Any] = {}
            for wname, value in stored.items():
                plan = stored_plans.get(wname)
                if plan is None:
                    report.dropped_values[wname] = report.dropped_values.get(wname, 0) + 1
                    first_problem.setdefault(wname, "not a field of the Whoosh schema")
                elif value is not None:
                    put(doc, plan, value)
            for plan, column in columns:
                value = column[docnum]
                if value not in (None, "", b""):  # a text column's default: the document had no value
                    put(doc, plan, value)
            try:
                writer.add(doc)
                report.documents += 1
            except DocumentError as exc:
                report.skipped_documents.append(f"Whoosh document {docnum}: {exc}")
    report.notes += [f"values not copied from {name}, for example: {problem}"
                     for name, problem in first_problem.items()]
