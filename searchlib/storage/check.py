"""Verifying a whole index on disk: every file against its manifest entry, and the structure inside.

`check_index(path)` re-reads every file named by the kept commits (the newest manifest and the
older ones kept for readers) and compares its size and CRC-32 with the manifest, always from disk
(files.verify with `fresh`: the per-process memory that lets searchers skip re-verification is
not trusted, only updated). It then checks that the files of each segment agree with each other
and with the manifest: posting arrays against their pointers, unit numbers against the unit
count, position counts against term frequencies, the term dictionary's terms, offsets and keys
against each other, stored blocks against their offsets, deletion bitsets against the document
count, and meta.json counts against the manifest. Every problem is collected (checking goes on
after the first), each naming the file concerned.

As Lucene's CheckIndex runs over the codec's readers, the files are decoded by the code searching
uses (arrays, meta.json, the term dictionary, stored blocks) and judged by the validators
opening a segment shares: both read the bytes the same way, and a finding of a
shared validator reads the same in a check report and in the searcher's IndexCorruptError.

Nothing is ever read outside the index directory: names in a manifest are validated before use
and symbolic links are reported, not followed. Leftovers of an interrupted writer (files no kept
commit references) are not damage; they are listed as notes and the next writer removes them.
"""
from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import IndexCorruptError, IndexNotFoundError
from . import pairs as pair_files
from . import validate
from .blocks import block_bounds
from .components import SEGMENTS_DIR, Component, segment_number
from .files import EXHAUSTED, LINK_REFUSED, missing, read_array, verify
from .manifest import KEEP_MANIFESTS, Manifest, SegmentEntry, generations, leftovers, manifest_name, read_manifest
from .segment import META, column_problem, deletes_problem, load_meta, meta_problem
from .spans import STRIDE
from .stored import FIRSTS, DATA, POINTERS, StoredReader, firsts_problem, fixed_firsts, offsets_problem
from .termdict import TermDictionary


@dataclass
class Problem:
    """One piece of damage: the file (or directory) concerned and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class CheckReport:
    """The outcome of `check_index`: `ok` when no problem was found."""

    path: Path
    generation: int | None = None  # newest commit
    generations: list[int] = field(default_factory=list)  # commits checked, newest first
    segments: int = 0
    documents: int = 0  # live documents in the newest commit
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # harmless findings (leftovers of interrupted writers)
    _seen: set[tuple[str, str]] = field(default_factory=set, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def damaged_files(self) -> list[str]:
        """The paths named by problems, each once, in the order found."""
        return list(dict.fromkeys(p.path for p in self.problems))

    def add(self, path: "Path | str", message: str) -> None:
        """Record a problem, once however often it is found (a set remembers which: looking it up
        in the list made a check quadratic in the problems it found)."""
        key = (str(path), message)
        if key not in self._seen:
            self._seen.add(key)
            self.problems.append(Problem(*key))

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "generation": self.generation,
                "generations": self.generations, "segments": self.segments, "documents": self.documents,
                "files_checked": self.files_checked,
                "problems": [{"path": p.path, "message": p.message} for p in self.problems],
                "notes": list(self.notes)}

    def format(self) -> str:
        """A readable report: a summary line, then one line per problem naming its file."""
        lines = [f"Index       {self.path}"]
        if self.generation is not None:
            kept = ", ".join(str(g) for g in self.generations)
            lines.append(f"Generation  {self.generation} (commits checked: {kept})")
            lines.append(f"Contents    {self.segments} segments, {self.documents:,} live documents, "
                         f"{self.files_checked} files verified")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.ok:
            lines.append("OK: no damage found")
        else:
            lines.append(f"DAMAGED: {len(self.problems)} problem(s) in {len(self.damaged_files)} file(s)")
            for p in self.problems:
                lines.append(f"  {_relative(p.path, self.path)}: {p.message}")
        return "\n".join(lines)


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def check_index(path: "str | Path") -> CheckReport:
    """Verify the index at `path`; IndexNotFoundError if there is no index there at all."""
    root = Path(path)
    gens = generations(root)
    if not gens:
        raise IndexNotFoundError(f"{root}: no searchlib index here (no manifest file)")
    report = CheckReport(root)
    kept = list(reversed(gens[-KEEP_MANIFESTS:]))
    report.generations = kept
    report.generation = kept[0]
    verified: dict[tuple, bool] = {}  # (segment, file, size, crc) -> the file matched its entry
    checked_segments: set[tuple] = set()
    referenced: dict[str, set[str]] = {}
    for i, gen in enumerate(kept):
        manifest_path = root / manifest_name(gen)
        try:
            manifest = read_manifest(root, gen)
        except IndexCorruptError as exc:
            report.add(manifest_path, exc.message if exc.path == str(manifest_path) else str(exc))
            continue
        _check_manifest(manifest, manifest_path, report)
        if i == 0:
            report.segments = len(manifest.segments)
            report.documents = sum(e.live_count for e in manifest.segments)
        for entry in manifest.segments:
            referenced.setdefault(entry.name, set()).update(entry.files)
            _check_segment(root, entry, report, verified, checked_segments)
    report.files_checked = len(verified) + len(kept)
    _note_leftovers(root, gens, referenced, report)
    return report


# -- manifests ------------------------------------------------------------------------------------

def _check_manifest(manifest: Manifest, path: Path, report: CheckReport) -> None:
    names = [e.name for e in manifest.segments]
    if len(set(names)) != len(names):
        report.add(path, "names a segment more than once")
    for e in manifest.segments:
        if e.doc_count < 0 or not 0 <= e.deleted <= e.doc_count:
            report.add(path, f"segment {e.name}: impossible counts ({e.doc_count} documents, {e.deleted} deleted)")
        number = segment_number(e.name)
        if number is not None and number > manifest.counter:
            report.add(path, f"segment {e.name} is numbered above the segment counter {manifest.counter}")
        if META not in e.files:
            report.add(path, f"segment {e.name}: no {META} entry")


# -- files ----------------------------------------------------------------------------------------

def _verify_file(path: Path, entry: dict, report: CheckReport) -> bool:
    """Size and CRC-32 of one file, read from disk; record a problem and return False if wrong."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        report.add(path, missing(path).message)
        return False
    except OSError as exc:
        _unless_exhausted(exc)
        report.add(path, f"cannot be examined: {exc.strerror or exc}")
        return False
    if stat.S_ISLNK(st.st_mode):
        report.add(path, LINK_REFUSED)
        return False
    if not stat.S_ISREG(st.st_mode):
        report.add(path, "is not a regular file")
        return False
    if not isinstance(entry, dict) or "size" not in entry or "crc32" not in entry:
        report.add(path, "the manifest entry has no size and checksum")
        return False
    try:  # read from disk even if this process verified it before; the readers then trust it
        verify(path, entry, fresh=True)
    except IndexCorruptError as exc:
        report.add(path, exc.message)
        return False
    except OSError as exc:
        _unless_exhausted(exc)
        report.add(path, f"cannot be read: {exc.strerror or exc}")
        return False
    return True


def _unless_exhausted(exc: BaseException) -> None:
    """Raise `exc` again if it says the process ran out of descriptors or memory: that is no finding
    about the index, and the check cannot go on (IndexIOError says so)."""
    if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno in EXHAUSTED):
        raise exc


def _check_segment(root: Path, entry: SegmentEntry, report: CheckReport, verified: dict[tuple, bool],
                   checked: set[tuple]) -> None:
    seg_root = root / SEGMENTS_DIR
    directory = seg_root / entry.name
    for d in (seg_root, directory):
        if d.is_symlink():
            report.add(d, LINK_REFUSED)
            return
        if d.exists() and not d.is_dir():
            report.add(d, "is not a directory")
            return
    if not directory.is_dir():
        report.add(directory, "segment directory is missing")
        return
    good: set[str] = set()
    for fname, fentry in sorted(entry.files.items()):
        key = (entry.name, fname, json.dumps(fentry, sort_keys=True))
        if key not in verified:
            verified[key] = _verify_file(directory / fname, fentry, report)
        if verified[key]:
            good.add(fname)
    # A segment's files other than its deletions never change, so with several kept commits its
    # structure is checked once (the key holds its file entries so that a manifest naming other
    # files is still checked); its deletions are checked once per deletions file and count.
    structure_key = ("structure", entry.name, entry.doc_count,
                     tuple(sorted((f, json.dumps(e, sort_keys=True)) for f, e in entry.files.items()
                                  if f != entry.deletes)))
    deletes_key = ("deletes", entry.name, entry.deletes, entry.deleted, entry.doc_count)
    structure, deletes = structure_key not in checked, entry.deletes is not None and deletes_key not in checked
    checked.update((structure_key, deletes_key))
    _SegmentStructure(directory, entry, good, report).check(structure, deletes)


# -- structure of one segment ---------------------------------------------------------------------

class _SegmentStructure:
    """Cross-checks the verified files of one segment, decoded by the code that searching uses
    (files.read_array, segment.load_meta, termdict.TermDictionary, StoredReader) and
    judged by the validators opening shares (meta_problem, column_problem, deletes_problem,
    pairs.problems), then scanned further. Files that failed verification are skipped (their
    damage is already reported) and every check is guarded, so a malformed file is a problem in
    the report, never an exception."""

    def __init__(self, directory: Path, entry: SegmentEntry, good: set[str], report: CheckReport):
        self.directory = directory
        self.entry = entry
        self.good = good
        self.report = report

    def problem(self, fname: str, message: str) -> None:
        self.report.add(self.directory / fname, message)

    def guarded(self, fname: str, check: Callable[[], None]) -> None:
        try:
            check()
        except _Skip:
            pass
        except IndexCorruptError as exc:  # a reader refused the file: its own words
            self.report.add(exc.path, exc.message)
        except Exception as exc:  # malformed content of any kind is a finding, not a crash
            _unless_exhausted(exc)
            self.problem(fname, f"unreadable: {type(exc).__name__}: {exc}")

    def usable(self, fname: str) -> bool:
        """Whether a file is listed and verified; one the manifest does not list is reported."""
        if fname not in self.entry.files:
            self.problem(fname, "missing from the manifest")
            return False
        return fname in self.good

    def array(self, fname: str) -> np.ndarray:
        """A verified array file, or _Skip when it is absent or already reported as damaged."""
        if not self.usable(fname):
            raise _Skip
        try:  # as a searcher loads it (the file was verified from disk just before)
            return read_array(self.directory / fname, self.entry.files[fname]["size"])
        except IndexCorruptError as exc:
            self.problem(fname, exc.message)
            raise _Skip from None

    def check(self, structure: bool = True, deletes: bool = True) -> None:
        """Check the segment's fields, columns and stored documents (`structure`) and its
        deletions bitset (`deletes`)."""
        doc_count = self.entry.doc_count
        meta = self.meta() if structure else None
        if meta is not None:
            for name, info in meta.get("fields", {}).items():
                self.guarded(Component.PTR.file(name), lambda: self.field(name, info, doc_count))
            for fname in self.entry.files:
                if Component.COLUMN.field_of(fname) is not None:
                    self.guarded(fname, lambda: self.column(fname, doc_count))
            self.guarded(POINTERS, lambda: self.stored(doc_count))
        if deletes and self.entry.deletes is not None:
            self.guarded(self.entry.deletes, lambda: self.deletes(doc_count))

    def meta(self) -> dict | None:
        """meta.json, judged as a searcher judges it (segment.meta_problem); None when unusable.
        A document count other than the manifest's is reported, and the checks go on with the
        manifest's."""
        if META not in self.good:
            return None
        try:
            meta = load_meta(self.directory / META)
        except IndexCorruptError as exc:
            self.problem(META, exc.message)
            return None
        problem = meta_problem(meta, self.entry.doc_count)
        if problem is not None:
            self.problem(META, problem)
            if meta_problem(meta) is not None:  # not only the count: the rest cannot be relied on
                return None
        return meta

    def field(self, name: str, info: dict, doc_count: int) -> None:
        _FieldStructure(self, name, info, doc_count).check()

    def column(self, fname: str, doc_count: int) -> None:
        problem = column_problem(self.array(fname), doc_count)
        if problem is not None:
            self.problem(fname, problem)

    def stored(self, doc_count: int) -> None:
        """Block offsets covering stored.bin and the blocks' first documents covering the
        segment's, then every block decoded by a StoredReader, holding its share of the documents
        as JSON objects."""
        offsets = self.array(POINTERS)
        size = int(self.entry.files.get(DATA, {}).get("size", -1))
        if FIRSTS in self.entry.files:
            firsts = self.array(FIRSTS)
            problem = firsts_problem(firsts, doc_count)
            if problem is not None:
                self.problem(FIRSTS, problem)
                return
            problem = offsets_problem(offsets, doc_count, size, len(firsts) - 1)
        else:
            problem = offsets_problem(offsets, doc_count, size)
            firsts = fixed_firsts(len(offsets) - 1, doc_count)
        if problem is not None:
            self.problem(POINTERS, problem)
            return
        blocks = len(offsets) - 1
        if DATA not in self.good:
            return
        reader = StoredReader(self.directory, self.entry.files)
        try:
            for b in range(blocks):
                expected = int(firsts[b + 1] - firsts[b])
                try:
                    docs = reader.block(b)
                except IndexCorruptError as exc:
                    self.problem(DATA, exc.message)
                    continue
                if not isinstance(docs, list) or len(docs) != expected or not all(isinstance(d, dict) for d in docs):
                    self.problem(DATA, f"stored block {b} does not hold {expected} documents")
        finally:
            reader.close()

    def deletes(self, doc_count: int) -> None:
        fname = self.entry.deletes
        problem = deletes_problem(self.array(fname), doc_count, self.entry.deleted)
        if problem is not None:
            self.problem(fname, problem)


class _FieldStructure:
    """The checks of one indexed field of a segment: term dictionary, postings, positions, unit
    lengths, passages and pair postings, against each other and meta.json."""

    def __init__(self, segment: _SegmentStructure, name: str, info: dict, doc_count: int):
        self.segment = segment
        self.name = name
        self.info = info
        self.doc_count = doc_count
        self.units = int(info.get("units", doc_count))

    def file(self, component: Component) -> str:
        return component.file(self.name)

    def problem(self, component: Component, message: str) -> None:
        self.segment.problem(self.file(component), message)

    def array(self, component: Component) -> np.ndarray:
        return self.segment.array(self.file(component))

    def optional(self, component: Component) -> np.ndarray | None:
        try:
            return self.array(component)
        except _Skip:
            return None

    def guarded(self, component: Component, check: Callable[[], None]) -> None:
        self.segment.guarded(self.file(component), check)

    def check(self) -> None:
        info = self.info
        n_terms = int(info.get("terms", -1))
        self.guarded(Component.LEX, self.dictionary)
        self.guarded(Component.PTR, self.counts)
        ptr = self.array(Component.PTR)
        if ptr.ndim != 1 or len(ptr) != n_terms + 1:
            self.problem(Component.PTR, f"has {len(ptr)} entries for {n_terms} terms (expected terms + 1)")
            raise _Skip
        if len(ptr) and (ptr[0] != 0 or np.any(np.diff(ptr) < 0)):
            self.problem(Component.PTR, "posting pointers do not start at 0 and increase")
            raise _Skip
        postings = int(ptr[-1])
        if postings != info.get("postings"):
            self.problem(Component.PTR, f"points at {postings} postings, meta.json says {info.get('postings')}")
        tf = self.postings(ptr, postings)
        if info.get("positions"):
            self.guarded(Component.POS, lambda: self.positions(ptr, tf, postings))
        if "units" in info:
            self.guarded(Component.LEN, self.lengths)
        if info.get("split"):
            self.guarded(Component.UDOC, self.passages)
        if "pairs" in info:
            self.guarded(Component.PAIRKEY, lambda: self.pairs(n_terms))
        if "units" in info and self.file(Component.BLOCKPTR) in self.segment.entry.files:
            self.guarded(Component.BLOCKMAX, lambda: self.blocks(ptr))
        if "doc_terms" in info:
            self.guarded(Component.DOCTERM, lambda: self.doc_terms(ptr))
        if info.get("offsets"):
            self.guarded(Component.OFFS, self.spans)

    def spans(self) -> None:
        """The token spans against their pointers, decoded unit by unit (validate.spans_problems:
        exceptions exactly the escaped positions, every span within its text's range); skipped
        when their sizes are already reported (counts)."""
        files = self.segment.entry.files
        used = [c for c in (Component.OFFS, Component.OFFX, Component.OFFK, Component.OPTR, Component.USPAN)
                if self.file(c) in files]
        if not all(self.segment.usable(self.file(c)) for c in used) or Component.OPTR not in used:
            return
        offs, optr = self.array(Component.OFFS), self.array(Component.OPTR)
        offx = self.array(Component.OFFX) if Component.OFFX in used else None
        offk = self.array(Component.OFFK) if Component.OFFK in used else None
        span = self.array(Component.USPAN) if Component.USPAN in used else None
        packed = offs.dtype == np.uint8 and offs.ndim == 1 and offx is not None and offx.ndim == 2 \
            and offx.shape[0] == 3 and offx.dtype == np.int64 and offk is not None and offk.dtype == np.uint32 \
            and offk.shape == (-(-len(offs) // STRIDE),)
        wide = offs.dtype == np.uint32 and offs.shape[1:] == (2,) and offx is None
        if not (packed or wide) or optr.shape != (self.units + 1,) or optr.dtype.kind != "i" \
                or (span is not None and span.shape != (self.units, 2)):
            return  # (reported by counts)
        if len(optr) and (optr[0] != 0 or optr[-1] != len(offs) or np.any(optr[1:] < optr[:-1])):
            return
        self.report(validate.spans_problems(offs, offx, offk, optr, None if span is None else span[:, 0]))

    def doc_terms(self, ptr: np.ndarray) -> None:
        """The terms per document against the postings they invert (validate.doc_terms_problems)."""
        pointers = self.file(Component.DOCPTR) in self.segment.entry.files  # (absent: one term per document)
        used = (Component.UNIT, Component.DOCTERM) + ((Component.DOCPTR,) if pointers else ())
        if not all(self.segment.usable(self.file(c)) for c in used):
            return
        dterm, unit = self.array(Component.DOCTERM), self.array(Component.UNIT)
        dptr = self.array(Component.DOCPTR) if pointers else None
        sizes = (len(dptr) == self.doc_count + 1 and int(dptr[-1]) == len(dterm)) if pointers \
            else len(dterm) == self.doc_count
        if not sizes or len(unit) != int(ptr[-1]) or (len(unit) and int(unit.max()) >= self.doc_count):
            return  # (reported by counts and postings)
        self.report(validate.doc_terms_problems(ptr, unit, dptr, dterm, self.doc_count, self.info["doc_terms"]))

    def blocks(self, ptr: np.ndarray) -> None:
        """The block bounds against the postings they bound (recomputed: blocks.py)."""
        if not all(self.segment.usable(self.file(c)) for c in (Component.UNIT, Component.TF, Component.LEN,
                                                             Component.BLOCKPTR, Component.BLOCKMAX)):
            return
        bptr, bmax = block_bounds(ptr, self.array(Component.UNIT), self.array(Component.TF),
                                  self.array(Component.LEN))
        if not np.array_equal(bptr, self.array(Component.BLOCKPTR)):
            self.problem(Component.BLOCKPTR, "block pointers are not those of the postings")
        elif not np.array_equal(bmax, self.array(Component.BLOCKMAX)):
            self.problem(Component.BLOCKMAX, "block bounds are not those of the postings (pruning would skip "
                                             "postings that score higher)")

    def dictionary(self) -> None:
        """The term dictionary, opened as a searcher opens it (termdict.TermDictionary: its
        files against each other and meta.json's term count), then scanned term by term: every
        term UTF-8, in strict code-point order, with its key."""
        lex = self.file(Component.LEX)
        usable = self.segment.usable(lex)  # (one the manifest does not list is reported)
        offsets, keys = self.array(Component.LEXOFF), self.array(Component.LEXKEY)
        if not usable:
            return
        size = int(self.segment.entry.files[lex]["size"])
        dictionary = TermDictionary.open(self.segment.directory, self.name, size, offsets, keys, self.info["terms"])
        for component, message in dictionary.scan_problems():
            self.problem(component, message)

    def counts(self) -> None:
        """The field's arrays against their types, each other and meta.json's counts, as opening
        judges them (validate.field_problem); skipped when one of them is already reported."""
        listed = [c for c in validate.FIELD_DTYPES if self.file(c) in self.segment.entry.files]
        if any(self.file(c) not in self.segment.good for c in listed):
            return
        arrays = {c: self.array(c) if c in listed else None for c in validate.FIELD_DTYPES}
        if any(arrays[c] is None for c in (Component.PTR, Component.UNIT, Component.TF)):
            return
        problem = validate.field_problem(self.name, self.info, arrays, self.doc_count)
        self.report([problem] if problem is not None else [])

    def report(self, found: "list[tuple[Component | None, str]]") -> None:
        for component, message in found:
            self.segment.problem(META if component is None else self.file(component), message)

    def postings(self, ptr: np.ndarray, postings: int) -> np.ndarray | None:
        """Units and frequencies as a searcher requires them (validate.postings_problems: units in
        range and ascending within a term, frequencies of at least 1); the frequencies (None when
        unusable)."""
        unit, tf = self.optional(Component.UNIT), self.optional(Component.TF)
        if unit is not None and len(unit) != postings:
            self.problem(Component.UNIT, f"has {len(unit)} postings, the pointers say {postings}")
            unit = None
        if tf is not None and len(tf) != postings:
            self.problem(Component.TF, f"has {len(tf)} frequencies, the pointers say {postings}")
            tf = None
        empty = np.zeros(0, dtype=np.uint32)
        self.report(validate.postings_problems(ptr, empty if unit is None else unit, empty if tf is None else tf,
                                               self.units))
        return tf

    def positions(self, ptr: np.ndarray, tf: np.ndarray | None, postings: int) -> None:
        pptr = self.array(Component.PPTR)
        pos = self.array(Component.POS)
        if tf is None or len(tf) != postings:
            raise _Skip
        total = int(tf.sum(dtype=np.int64))
        if len(pos) != total:
            self.problem(Component.POS, f"has {len(pos)} positions, the term frequencies sum to {total}")
        if pptr.ndim != 1 or len(pptr) != len(ptr) or pptr[0] != 0:
            self.problem(Component.PPTR, "position pointers do not match the term frequencies")
            return
        self.report(validate.positions_problems(ptr, tf, pptr))

    def pairs(self, n_terms: int) -> None:
        """Pair postings (pairs.py): what a searcher requires (pairs.problems: types, counts;
        validate.pairs_problems: keys strictly ascending with both term ids in the dictionary,
        every pair with a posting, frequencies of at least 1, units in range and ascending within
        a pair)."""
        arrays = [self.array(component) for component in pair_files.COMPONENTS]
        found = pair_files.problems(arrays, self.info.get("pairs"), self.info.get("pair_postings"))
        self.report(found or validate.pairs_problems(arrays, n_terms, self.units))

    def lengths(self) -> None:
        lengths = self.array(Component.LEN)
        if len(lengths) != self.units:
            self.problem(Component.LEN, f"has {len(lengths)} lengths, meta.json says {self.units} units")
            return
        self.report(validate.lengths_problems(lengths, self.info))

    def passages(self) -> None:
        units = self.units
        udoc = self.array(Component.UDOC)
        span = self.array(Component.USPAN)
        if len(udoc) != units:
            self.problem(Component.UDOC, f"has {len(udoc)} entries, meta.json says {units} units")
        if span.shape != (units, 2):
            self.problem(Component.USPAN, f"has shape {span.shape}, expected ({units}, 2)")
        if len(udoc) == units and span.shape == (units, 2):
            self.report(validate.passages_problems(udoc, span, self.doc_count))


class _Skip(Exception):
    """A file needed by a check is absent or already reported; skip that check."""


# -- leftovers ------------------------------------------------------------------------------------

def _note_leftovers(root: Path, gens: list[int], referenced: dict[str, set[str]], report: CheckReport) -> None:
    older = gens[:-KEEP_MANIFESTS]
    if older:
        report.notes.append(f"{len(older)} older manifest(s) no longer kept; the next writer removes them")
    found = leftovers(root, referenced)
    leftover_names = [p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in found]
    if leftover_names:
        shown = ", ".join(leftover_names[:5]) + (f" and {len(leftover_names) - 5} more"
                                                 if len(leftover_names) > 5 else "")
        report.notes.append(f"unreferenced leftovers of an interrupted writer (removed by the next writer): {shown}")
