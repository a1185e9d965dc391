"""Reading documents from files: a folder of .txt/.md files, a JSONL file or a CSV file.

This is the bridge between files on disk and `IndexWriter.add`/`update`, used by the `searchlib`
command and the example script. The loaders yield plain dicts and know nothing about schemas or
indexes; `index_documents` writes them into an index, the one policy both callers share (keys
outside the schema are named and left out; a document with a key replaces the indexed one).
Files are read as UTF-8 by default (`encoding=` another codec; a leading byte order mark is
dropped); a file that does not decode, a line that is not valid JSON (or nests over MAX_NESTING
levels deep), a JSONL/CSV record without an id, or a CSV quote never closed (which would swallow
the rows after it), raises DocumentError naming the file and where in it the problem is, so a
large import does not fail with a bare traceback, nor succeed with documents missing. With
`on_error="skip"` such a file, line or row is left out instead and listed in
`Documents.skipped` (an unclosed CSV quote or an undecodable CSV line still stops: the rows
after it cannot be told apart).

`Documents.fingerprint()` (and `corpus_fingerprint`) hashes the names, sizes and modification
times of the files a load reads, without reading them, so a caller can tell cheaply that a
corpus has not changed.
"""
from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import json
import os
import sys
import warnings
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from .errors import DocumentError
from .indexing import buffer as _buffer
from .storage.stored import MAX_NESTING, nested_deeper

if TYPE_CHECKING:
    from .indexing.writer import IndexWriter

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
TITLE_MAX_CHARS = 120  # a first line at least this long is prose, not a title

_BOM = "\ufeff"


ON_ERROR = ("stop", "skip")
IDS = ("require", "content")


def load_documents(path: "str | Path", *, id_field: str = "id", text_field: str = "body",
                   title_field: str = "title", exclude: Iterable[str] = (), encoding: str = "utf-8",
                   on_error: str = "stop", ids: str = "require") -> "Documents":
    """Documents read from `path`, one dict per document, in a stable order.

    - A folder: every .txt and .md file below it (recursively, hidden files and folders skipped),
      sorted by relative path. The id is the relative path without its extension, with '/'
      separators. If the first line is shorter than 120 characters and followed by a blank line,
      it is the title (for .md without a leading "# ") and the rest is the body; otherwise the
      whole text is the body. A single .txt or .md file is read the same way.
    - A .jsonl file: one JSON object per line (blank lines skipped). `_id` (else `id`) becomes the
      id; BEIR-style `title` and `text` become the title and body; other keys are kept as they are.
    - A .csv file: a header row, then one document per row, with the same key mapping as JSONL.
      Empty cells are left out (CSV cannot tell an empty value from a missing one).

    A JSONL/CSV record without an id is an error naming its line (indexing it would give it no
    key, so loading the file again would add it again), unless `ids="content"`: then it gets a
    stable id from its content (`sha256:` and 16 hex digits of its canonical JSON), so loading
    the same file again replaces it. `encoding` is the files' codec; `on_error="skip"` leaves out
    a file, line or record that cannot be read and lists it in `Documents.skipped`.

    `exclude` holds glob patterns matched against relative paths inside a folder from the right
    (so "README.md" skips a README.md at any depth, "drafts/*" the files of any drafts folder).
    The path is checked and a folder listed now (FileNotFoundError if it does not exist); files
    are read lazily, as the returned iterator is consumed.
    """
    source = _existing(path)
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
    if ids not in IDS:
        raise ValueError(f"ids must be one of {', '.join(IDS)}, not {ids!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DocumentError(f"unknown encoding {encoding!r}; for example utf-8, latin-1, cp1252") from None
    errors = _Errors(on_error, encoding)
    keys = _Keys(id_field, text_field, title_field, ids)
    folder = source.is_dir()
    suffix = "" if folder else source.suffix.lower()
    if not folder and suffix not in TEXT_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES:
        raise DocumentError(f"{source}: cannot read documents from a {suffix or 'suffix-less'} file; expected a "
                            f"folder of {'/'.join(TEXT_SUFFIXES)} files, or a {'/'.join(JSONL_SUFFIXES)} or .csv file")
    root, files = _source_files(source, tuple(exclude))
    if suffix in JSONL_SUFFIXES:
        documents = _load_jsonl(source, keys, errors)
    elif suffix in CSV_SUFFIXES:
        documents = _load_csv(source, keys, errors)
    else:  # a folder, or one text file
        documents = _load_text_files(root, files, keys, errors)
    return Documents(root, files, documents, errors.skipped, per_line=suffix in JSONL_SUFFIXES + CSV_SUFFIXES,
                     header=suffix in CSV_SUFFIXES)


class Documents(Iterator[dict]):
    """What load_documents returns: an iterator of documents, read as it is consumed, that also
    knows the files they come from (listed once, by load_documents), so `fingerprint()` describes
    exactly the files the iteration reads. `skipped` lists what `on_error="skip"` left out so far
    (one message each, naming the file and the line), and `total_bytes` the size of the files,
    for a progress bar."""

    def __init__(self, root: Path, files: list[Path], documents: Iterator[dict], skipped: list[str],
                 per_line: bool = False, header: bool = False):
        self._root, self._files, self._documents = root, files, documents
        self._per_line, self._header = per_line, header
        self.skipped = skipped

    def count_hint(self) -> int:
        """About how many documents the load yields, for a progress bar's total: the files of a
        folder, or the non-blank lines of a JSONL file (those of a CSV file, less its header;
        a quoted value spanning lines makes it an overestimate). Reads a JSONL/CSV file once,
        in large chunks (about a second per GB)."""
        if not self._per_line:
            return len(self._files)
        lines = blank = 0
        last = b"\n"
        with open(self._files[0], "rb") as handle:
            while chunk := handle.read(1 << 24):
                lines += chunk.count(b"\n")
                blank += chunk.count(b"\n\n") + (last == b"\n" and chunk[:1] == b"\n")
                last = chunk[-1:]
        lines += last != b"\n"
        return max(0, lines - blank - self._header)

    def __iter__(self) -> "Documents":
        return self

    def __next__(self) -> dict:
        return next(self._documents)

    def fingerprint(self) -> str:
        """A sha256 hex digest of the relative names, sizes and modification times (ns) of the
        files. Costs one stat per file, reads no content: equal fingerprints mean the corpus
        (almost certainly) has not changed since the last run."""
        return _fingerprint(self._root, self._files)


def corpus_fingerprint(path: "str | Path", *, exclude: Iterable[str] = ()) -> str:
    """The fingerprint of the files `load_documents(path, exclude=exclude)` would read (see
    Documents.fingerprint; a caller that also loads should use that, which lists the files once)."""
    return _fingerprint(*_source_files(_existing(path), tuple(exclude)))


def index_documents(writer: "IndexWriter", documents: Iterable[Mapping[str, Any]], *,
                    warn: Callable[[str], None] | None = None, skipped: "list[str] | None" = None) -> int:
    """Write `documents` with `writer` (not committed) and return how many were written.

    Keys the schema has no field for are left out, each named once through `warn` (default: a
    UserWarning): JSONL and CSV files often carry extra columns (BEIR's `metadata`); failing on
    them would make such files useless, and dropping them silently would hide a typo. A document
    with a value for the schema's unique field replaces the indexed one with that key
    (`writer.update`; a key seen twice keeps its last version); any other is added. A document
    the writer refuses (DocumentError: a field over the size limit, say) stops the load, or, when
    a `skipped` list is given, is appended to it and left out.
    """
    fields = set(writer.schema)
    ignored: set[str] = set()
    count = 0
    for doc in documents:
        if not fields.issuperset(doc):
            new = sorted(set(doc) - fields - ignored)
            if new:
                message = f"ignoring key(s) not in the schema: {', '.join(new)}"
                if warn is None:
                    warnings.warn(message, stacklevel=2)
                else:
                    warn(message)
                ignored.update(new)
            doc = {name: value for name, value in doc.items() if name in fields}
        try:
            writer.add(doc)  # with the unique key already indexed, this replaces that document
        except DocumentError as exc:
            if skipped is None:
                raise
            skipped.append(str(exc))
            continue
        count += 1
    return count


# -- shared helpers ------------------------------------------------------------------------------


class _Errors:
    """What a load does with a file, line or record it cannot read: stop (raise), or skip it and
    note the message."""

    def __init__(self, on_error: str, encoding: str):
        self.stop, self.encoding = on_error == "stop", encoding
        self.skipped: list[str] = []

    def handle(self, exc: DocumentError) -> None:
        if self.stop:
            raise exc
        self.skipped.append(str(exc))


class _Keys:
    """The output key names of the id, body and title (the caller's schema field names), and what
    a record without an id gets ("require": an error; "content": an id from its content)."""

    def __init__(self, id_field: str, text_field: str, title_field: str, ids: str = "require"):
        self.id, self.text, self.title, self.ids = id_field, text_field, title_field, ids

    def map_record(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        """A JSONL/CSV record with its id, title and text renamed to the caller's field names.

        `_id` wins over `id` (BEIR corpora have `_id`); ids become text, as an ID field stores them.
        `title` and `text` are renamed only when the record has no key of the target name already.
        A record without an id is a DocumentError naming `where`, or gets one from its content.
        """
        doc = dict(record)
        for source in ("_id", "id", self.id):
            if doc.get(source) is not None:
                doc[self.id] = str(doc.pop(source))
                break
        else:
            if self.ids != "content":
                raise DocumentError(f"{where}: no id (the record has no \"_id\" or \"id\" key, or it is empty); "
                                    "give every record an id, or let searchlib make one from the content "
                                    "(ids=\"content\", --ids content on the command line)")
            canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            doc[self.id] = "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        for source, target in (("title", self.title), ("text", self.text)):
            if source != target and source in doc and target not in doc:
                doc[target] = doc.pop(source)
        return doc


def _source_files(source: Path, exclude: tuple[str, ...]) -> tuple[Path, list[Path]]:
    """The folder relative names are taken from, and the files a load of `source` reads."""
    if source.is_dir():
        return source, _folder_files(source, exclude)
    return source.parent, [source]


def _fingerprint(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        info = file.stat()
        name = file.relative_to(root).as_posix()
        digest.update(f"{name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode("utf-8"))
    return digest.hexdigest()


def _existing(path: "str | Path") -> Path:
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", str(source))
    return source


def _decode(data: bytes, file: Path, offset: int = 0, encoding: str = "utf-8", line: str = "") -> str:
    """The text of `data` (found at byte `offset` of `file`), or DocumentError saying where it does not decode."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        hint = "; pass another encoding (--encoding) or skip such files (--on-error skip)"
        raise DocumentError(f"{file}{line}: not valid {name} ({exc.reason} at byte {offset + exc.start}){hint}") from None


def _lines(file: Path, encoding: str = "utf-8") -> Iterator[str]:
    """The decoded lines of `file`, line endings kept, read one at a time (large files stay cheap).
    A line that does not decode is a DocumentError (the lines before it were yielded)."""
    offset = 0
    with open(file, "rb") as handle:
        for raw in handle:
            line = _decode(raw, file, offset, encoding)
            if offset == 0 and line.startswith(_BOM):
                line = line[1:]
            offset += len(raw)
            yield line


# -- folders of text files -----------------------------------------------------------------------


def _folder_files(root: Path, exclude: tuple[str, ...]) -> list[Path]:
    """The .txt/.md files below `root`, hidden entries and `exclude` matches skipped, sorted by relative path."""
    found: list[tuple[str, Path]] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if name.startswith(".") or not name.lower().endswith(TEXT_SUFFIXES):
                continue
            file = Path(folder) / name
            relative = file.relative_to(root).as_posix()
            if any(PurePosixPath(relative).match(pattern) for pattern in exclude):
                continue
            found.append((relative, file))
    found.sort(key=lambda item: item[0])
    return [file for _, file in found]


def _load_text_files(root: Path, files: list[Path], keys: _Keys, errors: _Errors) -> Iterator[dict]:
    """One document per file; two files mapping to the same id (a.txt, a.md) are an error."""
    seen: dict[str, Path] = {}
    for file in files:
        relative = file.relative_to(root).as_posix()
        doc_id = relative[: -len(file.suffix)] if file.suffix else relative
        if doc_id in seen:
            raise DocumentError(f"{file}: same document id {doc_id!r} as {seen[doc_id]}; rename one of them")
        seen[doc_id] = file
        try:
            text = _decode(file.read_bytes(), file, encoding=errors.encoding)
        except DocumentError as exc:
            errors.handle(exc)
            continue
        yield _text_document(text, doc_id, markdown=file.suffix.lower() == ".md", keys=keys)


def _text_document(text: str, doc_id: str, markdown: bool, keys: _Keys) -> dict:
    """Split a text file into title and body (see load_documents for the rule)."""
    text = text.removeprefix(_BOM).replace("\r\n", "\n").replace("\r", "\n")
    first, _, rest = text.partition("\n")
    second, blank_ends, body = rest.partition("\n")
    title = first[2:].strip() if markdown and first.startswith("# ") else first.strip()
    doc: dict[str, Any] = {keys.id: doc_id}
    if title and len(first) < TITLE_MAX_CHARS and blank_ends and not second.strip():
        doc[keys.title] = title
        doc[keys.text] = body.strip("\n").rstrip()
    else:
        doc[keys.text] = text.strip("\n").rstrip()
    return doc


# -- JSONL and CSV -------------------------------------------------------------------------------


def _load_jsonl(file: Path, keys: _Keys, errors: _Errors) -> Iterator[dict]:
    offset = 0
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            start, offset = offset, offset + len(raw)
            try:
                line = _decode(raw, file, start, errors.encoding, f", line {number}")
                if start == 0 and line.startswith(_BOM):
                    line = line[1:]
                if line.strip():
                    yield keys.map_record(_json_record(file, number, line), f"{file}, line {number}")
            except DocumentError as exc:
                errors.handle(exc)


def _json_record(file: Path, number: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{file}, line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:  # json's decoder stops at Python's recursion limit
        raise DocumentError(f"{file}, line {number}: JSON nested too deeply (arrays or objects inside each "
                            f"other beyond Python's recursion limit of {sys.getrecursionlimit()})") from None
    if not isinstance(record, dict):
        raise DocumentError(f"{file}, line {number}: expected a JSON object, got {type(record).__name__}")
    if line.count("[") + line.count("{") > MAX_NESTING:  # else no value can nest deeper: cheap, in C
        for key, value in record.items():
            if nested_deeper(value, MAX_NESTING):
                raise DocumentError(f"{file}, line {number}: field {key!r} nests arrays or objects more than "
                                    f"{MAX_NESTING} levels deep")
    return record


class _CsvLines:
    """The decoded lines of a CSV file for csv.reader, noting when the reader asks past the last one.

    A complete row never needs the next line, so a reader that ran off the end while building a
    row was inside a quoted value: csv (not strict) then returns everything after the quote as
    that value, rows and all, without a word.
    """

    def __init__(self, file: Path, encoding: str = "utf-8"):
        self._lines = _lines(file, encoding)
        self.ended = False

    def __iter__(self) -> "_CsvLines":
        return self

    def __next__(self) -> str:
        try:
            return next(self._lines)
        except StopIteration:
            self.ended = True
            raise


def _unclosed_quote(file: Path, row: list[str], last_line: int) -> DocumentError:
    """The error for a row whose last value is a quote never closed before the end of the file
    (line `last_line`); the value holds every line break after its quote, so they say where it opened."""
    value = row[-1] if row else ""
    opened = last_line - value.count("\n") + value.endswith("\n")
    return DocumentError(f"{file}, line {opened}: a quote opened on this line is never closed, so every line "
                         "after it would be read into one value; close or remove the quote")


def _csv_rows(file: Path, reader: Any, lines: _CsvLines) -> Iterator[list[str]]:
    """The rows of `reader`, read with csv's field size limit raised to the writer's limit on one
    field value (csv's default, 128 KiB, would refuse values the writer accepts).

    csv keeps that limit for the whole process, so it is raised only while a row is read and put
    back before the row is yielded: code running while a load is paused sees csv's own limit.
    """
    limit = _buffer.MAX_FIELD_BYTES  # characters: a value with more has more bytes of UTF-8 too
    while True:
        previous = csv.field_size_limit(limit)
        try:
            row = next(reader, None)
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise DocumentError(f"{file}, line {reader.line_num}: a value is over the limit of {limit:,} bytes "
                                    f"({limit / 2**20:g} MiB) for one field value; split the document") from None
            raise DocumentError(f"{file}, line {reader.line_num}: invalid CSV ({exc})") from None
        finally:
            csv.field_size_limit(previous)
        if row is None:
            return
        if lines.ended:
            raise _unclosed_quote(file, row, reader.line_num)
        yield row


def _load_csv(file: Path, keys: _Keys, errors: _Errors) -> Iterator[dict]:
    lines = _CsvLines(file, errors.encoding)
    reader = csv.reader(lines)
    rows = _csv_rows(file, reader, lines)
    header = next(rows, None)
    if header is None:
        return
    if len(set(header)) != len(header) or any(not name.strip() for name in header):
        raise DocumentError(f"{file}, line 1: the header needs distinct, non-empty column names, got {header}")
    for row in rows:
        if not row:
            continue
        try:
            if len(row) > len(header):
                raise DocumentError(f"{file}, line {reader.line_num}: {len(row)} values for {len(header)} columns")
            yield keys.map_record({name: value for name, value in zip(header, row) if value != ""},
                                  f"{file}, line {reader.line_num}")
        except DocumentError as exc:
            errors.handle(exc)
