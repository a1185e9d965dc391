"""Reading documents from files: a folder of .txt/.md files, a JSONL file or a CSV file.

This is the bridge between files on disk and `IndexWriter.add`/`update`, used by the `searchlib`
command and the example script. The loaders yield plain dicts and know nothing about schemas or
indexes; `index_documents` writes them into an index, the one policy both callers share (keys
outside the schema are named and left out; a document with a key replaces the indexed one).
Files are read as UTF-8 (a leading byte order mark is dropped); a file that is not valid UTF-8,
a line that is not valid JSON (or nests over MAX_NESTING levels deep), or a CSV quote never
closed (which would swallow the rows after it), raises DocumentError naming the file and where
in it the problem is, so a large import does not fail with a bare traceback, nor succeed with
documents missing.

`Documents.fingerprint()` (and `corpus_fingerprint`) hashes the names, sizes and modification
times of the files a load reads, without reading them, so a caller can tell cheaply that a
corpus has not changed.
"""
from __future__ import annotations

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


def load_documents(path: "str | Path", *, id_field: str = "id", text_field: str = "body",
                   title_field: str = "title", exclude: Iterable[str] = ()) -> "Documents":
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

    `exclude` holds glob patterns matched against relative paths inside a folder from the right
    (so "README.md" skips a README.md at any depth, "drafts/*" the files of any drafts folder).
    The path is checked and a folder listed now (FileNotFoundError if it does not exist); files
    are read lazily, as the returned iterator is consumed.
    """
    source = _existing(path)
    keys = _Keys(id_field, text_field, title_field)
    folder = source.is_dir()
    suffix = "" if folder else source.suffix.lower()
    if not folder and suffix not in TEXT_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES:
        raise DocumentError(f"{source}: cannot read documents from a {suffix or 'suffix-less'} file; expected a "
                            f"folder of {'/'.join(TEXT_SUFFIXES)} files, or a {'/'.join(JSONL_SUFFIXES)} or .csv file")
    root, files = _source_files(source, tuple(exclude))
    if suffix in JSONL_SUFFIXES:
        documents = _load_jsonl(source, keys)
    elif suffix in CSV_SUFFIXES:
        documents = _load_csv(source, keys)
    else:  # a folder, or one text file
        documents = _load_text_files(root, files, keys)
    return Documents(root, files, documents)


class Documents(Iterator[dict]):
    """What load_documents returns: an iterator of documents, read as it is consumed, that also
    knows the files they come from (listed once, by load_documents), so `fingerprint()` describes
    exactly the files the iteration reads."""

    def __init__(self, root: Path, files: list[Path], documents: Iterator[dict]):
        self._root, self._files, self._documents = root, files, documents

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
                    warn: Callable[[str], None] | None = None) -> int:
    """Write `documents` with `writer` (not committed) and return how many were written.

    Keys the schema has no field for are left out, each named once through `warn` (default: a
    UserWarning): JSONL and CSV files often carry extra columns (BEIR's `metadata`); failing on
    them would make such files useless, and dropping them silently would hide a typo. A document
    with a value for the schema's unique field replaces the indexed one with that key
    (`writer.update`; a key seen twice keeps its last version); any other is added.
    """
    fields = set(writer.schema)
    key = writer.schema.unique_field
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
        if key is not None and doc.get(key) is not None:
            writer.update(doc)
        else:
            writer.add(doc)
        count += 1
    return count


# -- shared helpers ------------------------------------------------------------------------------


class _Keys:
    """The output key names of the id, body and title (the caller's schema field names)."""

    def __init__(self, id_field: str, text_field: str, title_field: str):
        self.id, self.text, self.title = id_field, text_field, title_field

    def map_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A JSONL/CSV record with its id, title and text renamed to the caller's field names.

        `_id` wins over `id` (BEIR corpora have `_id`); ids become text, as an ID field stores them.
        `title` and `text` are renamed only when the record has no key of the target name already.
        """
        doc = dict(record)
        for source in ("_id", "id"):
            if doc.get(source) is not None:
                doc[self.id] = str(doc.pop(source))
                break
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


def _decode(data: bytes, file: Path, offset: int = 0) -> str:
    """UTF-8 text of `data` (found at byte `offset` of `file`), or DocumentError saying where it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{file}: not valid UTF-8 ({exc.reason} at byte {offset + exc.start})") from None


def _lines(file: Path) -> Iterator[str]:
    """The decoded lines of `file`, line endings kept, read one at a time (large files stay cheap)."""
    offset = 0
    with open(file, "rb") as handle:
        for raw in handle:
            line = _decode(raw, file, offset)
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


def _load_text_files(root: Path, files: list[Path], keys: _Keys) -> Iterator[dict]:
    """One document per file; two files mapping to the same id (a.txt, a.md) are an error."""
    seen: dict[str, Path] = {}
    for file in files:
        relative = file.relative_to(root).as_posix()
        doc_id = relative[: -len(file.suffix)] if file.suffix else relative
        if doc_id in seen:
            raise DocumentError(f"{file}: same document id {doc_id!r} as {seen[doc_id]}; rename one of them")
        seen[doc_id] = file
        text = _decode(file.read_bytes(), file)
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


def _load_jsonl(file: Path, keys: _Keys) -> Iterator[dict]:
    for number, line in enumerate(_lines(file), 1):
        if not line.strip():
            continue
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
        yield keys.map_record(record)


class _CsvLines:
    """The decoded lines of a CSV file for csv.reader, noting when the reader asks past the last one.

    A complete row never needs the next line, so a reader that ran off the end while building a
    row was inside a quoted value: csv (not strict) then returns everything after the quote as
    that value, rows and all, without a word.
    """

    def __init__(self, file: Path):
        self._lines = _lines(file)
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


def _load_csv(file: Path, keys: _Keys) -> Iterator[dict]:
    lines = _CsvLines(file)
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
        if len(row) > len(header):
            raise DocumentError(f"{file}, line {reader.line_num}: {len(row)} values for {len(header)} columns")
        yield keys.map_record({name: value for name, value in zip(header, row) if value != ""})
