"""The term dictionary (storage/termdict.py): its lookups, and that no bytes can make it kill or hang the interpreter.

searchlib 0.1 kept each field's terms in a marisa trie; bit flips in a `.trie` file, with the
manifest re-signed, crashed the interpreter inside marisa's C code (SIGSEGV, SIGBUS) or hung it
(issue 10, item 1). The dictionary is now sorted arrays read by numpy. Here: its interface on
hand-picked and random term sets (against a sorted Python list), its checks at open, the format
change (an index of the old format asks to be rebuilt), and a mutation fuzz of its files in
forked children with a time limit, where the only allowed outcomes are results or a SearchlibError.
"""
from __future__ import annotations

import io
import os
import random
import re
import resource
import shutil
import signal
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import set_manifest_format
from searchlib import ID, NUMERIC, TEXT, Index, IndexCorruptError, IndexFormatError, Schema, SearchlibError
from searchlib.query.expand import wildcard_regex
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR, Component
from searchlib.storage.manifest import read_manifest, write_manifest
from searchlib.storage.termdict import COMPONENTS, TermDictionary, encode

TERMS = sorted(["alpha", "alphabet", "alpine", "beta", "café", "cafés", "caf", "東京", "東京都", "𝔘nicode",
                "abcdefg", "abcdefgh", "abcdefghi", "abcdefghij", "abcdefghik", "z" * 40, "ß", "\uffff", "e\u0301"])


def brute_range(terms: list[str], keep) -> tuple[int, int]:
    """(lo, hi) of the terms for which `keep` holds, which must be one run of the sorted list."""
    ids = [i for i, t in enumerate(terms) if keep(t)]
    assert ids == list(range(ids[0], ids[-1] + 1)) if ids else True
    return (ids[0], ids[-1] + 1) if ids else None


def assert_range(found: tuple[int, int], terms: list[str], keep) -> None:
    expected = brute_range(terms, keep)
    lo, hi = found
    if expected is None:
        assert lo == hi
    else:
        assert (lo, hi) == expected


# -- lookups ------------------------------------------------------------------------------------

def test_ids_are_ranks_and_terms_come_back():
    d = TermDictionary.of(TERMS)
    assert len(d) == len(TERMS)
    assert d.terms() == TERMS
    assert [d.id(t) for t in TERMS] == list(range(len(TERMS)))
    assert [d.term(i) for i in range(len(TERMS))] == TERMS
    assert d.terms(3, 6) == TERMS[3:6]
    assert d.terms_of([4, -1, 0, 4]) == [TERMS[4], None, TERMS[0], TERMS[4]]
    assert d.terms(-5, 10**9) == TERMS and d.terms(7, 2) == []


@pytest.mark.parametrize("absent", ["", "a", "alph", "alphabets", "abcdefghii", "abcdefghijk", "caf\u00e8",
                                    "東", "z" * 39, "z" * 41, "zzz", "\U0010ffff", "\udc80", "alpha\x00"])
def test_absent_terms_have_no_id(absent):
    assert TermDictionary.of(TERMS).id(absent) == -1


def test_terms_sharing_their_first_eight_bytes():
    terms = sorted(f"abcdefgh{i}" for i in range(300)) + ["abcdefgi"]
    d = TermDictionary.of(sorted(terms))
    assert all(d.id(t) == i for i, t in enumerate(d.terms()))
    assert d.id("abcdefgh") == -1 and d.id("abcdefgh3000") == -1
    assert_range(d.prefix_range("abcdefgh2"), d.terms(), lambda t: t.startswith("abcdefgh2"))


def test_lookups_remembered_and_forgotten_give_the_same_ids():
    terms = sorted(f"t{i:05d}" for i in range(2000))
    d = TermDictionary.of(terms)
    for _ in range(2):  # past the memory of recent lookups, and again
        assert [d.id(t) for t in terms] == list(range(2000))
        assert [d.id(t + "x") for t in terms[:700]] == [-1] * 700


@pytest.mark.parametrize("prefix", ["", "a", "al", "alp", "alpha", "alphab", "abcdefgh", "abcdefghi", "caf", "café",
                                    "東", "東京", "𝔘", "z" * 40, "z" * 41, "q", "\uffff", "e"])
def test_prefix_ranges(prefix):
    d = TermDictionary.of(TERMS)
    lo, hi = d.prefix_range(prefix)
    assert_range((lo, hi), TERMS, lambda t: t.startswith(prefix))
    assert d.terms(lo, hi) == [t for t in TERMS if t.startswith(prefix)]


@pytest.mark.parametrize("low, high, include_low, include_high", [
    ("alpha", "beta", True, True), ("alpha", "beta", False, False), (None, "café", True, True),
    ("café", None, False, True), ("b", "a", True, True), ("abcdefgh", "abcdefghij", True, False),
    (None, None, True, True),
    ("東京", "東京", True, True), ("東京", "東京", False, True)])
def test_ranges(low, high, include_low, include_high):
    def inside(t: str) -> bool:
        above = low is None or (t >= low if include_low else t > low)
        below = high is None or (t <= high if include_high else t < high)
        return above and below

    assert_range(TermDictionary.of(TERMS).range(low, high, include_low, include_high), TERMS, inside)


@pytest.mark.parametrize("pattern", ["*", "a*", "*é*", "?", "東京*", "*京", "abcdefgh?", "caf?", "*ß", "*a*a*"])
def test_matching_a_wildcard(pattern):
    d = TermDictionary.of(TERMS)
    lo, hi = d.prefix_range(re.split(r"[?*]", pattern)[0])
    terms, ids = d.matching(wildcard_regex(pattern), lo, hi)
    expected = [t for t in TERMS if re.fullmatch(pattern.replace("?", ".").replace("*", ".*"), t)]
    assert terms == expected
    assert ids.tolist() == [TERMS.index(t) for t in expected]


def test_an_empty_dictionary():
    d = TermDictionary.of([])
    assert len(d) == 0 and d.terms() == [] and d.text() == ""
    assert d.id("") == -1 and d.id("a") == -1
    assert d.prefix_range("a") == (0, 0) and d.prefix_range("") == (0, 0) and d.range(None, None) == (0, 0)
    assert d.matching(wildcard_regex("*"))[0] == []
    assert d.scan_problems() == []
    with pytest.raises(IndexError):
        d.term(0)


def test_a_dictionary_of_one_term():
    d = TermDictionary.of(["solo"])
    assert d.id("solo") == 0 and d.id("sol") == -1 and d.id("solos") == -1 and d.term(0) == "solo"
    assert d.prefix_range("so") == (0, 1) and d.prefix_range("t") == (1, 1) and d.prefix_range("a") == (0, 0)
    assert d.matching(wildcard_regex("*o"))[1].tolist() == [0]
    assert d.terms() == ["solo"] and d.scan_problems() == []


def test_a_term_holding_a_newline_reads_back():
    terms = ["a", "a\nb", "c", "c\n"]  # a TEXT field with a keyword tokenizer can index "a\nb"
    d = TermDictionary.of(terms)
    assert d.terms() == terms and [d.id(t) for t in terms] == [0, 1, 2, 3] and d.id("b") == -1
    assert d.terms_of([3, 1]) == ["c\n", "a\nb"] and d.prefix_range("a") == (0, 2)
    assert d.matching(wildcard_regex("*"))[0] == ["a", "c"] and d.matching(wildcard_regex("b"))[0] == []
    assert d.scan_problems() == []


_TERM_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=12)
_SMALL_ALPHABET = st.text(st.sampled_from("ab\x00\né東𝔘"), max_size=10)  # many shared prefixes and keys


@settings(max_examples=300, deadline=None)
@given(st.sets(_TERM_TEXT | _SMALL_ALPHABET, max_size=40), st.lists(_TERM_TEXT | _SMALL_ALPHABET, max_size=8))
def test_the_dictionary_equals_a_sorted_list(term_set, probes):
    terms = sorted(term_set)
    d = TermDictionary.of(terms)
    assert len(d) == len(terms) and d.terms() == terms and d.scan_problems() == []
    for i, t in enumerate(terms):
        assert d.id(t) == i and d.term(i) == t
    for probe in probes:
        assert d.id(probe) == (terms.index(probe) if probe in term_set else -1)
        assert_range(d.prefix_range(probe), terms, lambda t: t.startswith(probe))
        assert_range(d.range(probe, None, False), terms, lambda t: t > probe)
        assert_range(d.range(None, probe, True, True), terms, lambda t: t <= probe)
        assert_range(d.range(probe, probe + "b"), terms, lambda t: probe <= t <= probe + "b")


# -- checks at open -----------------------------------------------------------------------------

PATHS = {c: f"/ix/segments/seg-00000001/{c.file('body')}" for c in COMPONENTS}


def forged(**replace):
    """The arguments of a TermDictionary of TERMS, with some replaced."""
    files = encode(TERMS)
    args = {"data": files[Component.LEX], "offsets": files[Component.LEXOFF].copy(),
            "keys": files[Component.LEXKEY].copy(), "count": len(TERMS)}
    args.update(replace)
    return args


def refused(component: Component, match: str, **replace) -> None:
    with pytest.raises(IndexCorruptError, match=match) as info:
        TermDictionary(**forged(**replace), paths=PATHS)
    assert info.value.path == PATHS[component]


def test_forged_files_are_refused_at_open_naming_the_file():
    files = encode(TERMS)
    offsets, keys = files[Component.LEXOFF], files[Component.LEXKEY]
    refused(Component.LEXOFF, "offsets", count=len(TERMS) + 1)
    refused(Component.LEXOFF, "float64", offsets=offsets.astype(np.float64))
    refused(Component.LEXOFF, "dimensions", offsets=offsets.reshape(1, -1))
    refused(Component.LEXKEY, "int64", keys=keys.astype(np.int64))
    refused(Component.LEXKEY, "keys", keys=keys[:-1])
    swapped = offsets.copy()
    swapped[[2, 3]] = swapped[[3, 2]]
    refused(Component.LEXOFF, "run up", offsets=swapped)
    beyond = offsets.copy()
    beyond[-1] += 10**12
    refused(Component.LEXOFF, "run up", offsets=beyond)
    negative = offsets.copy()
    negative[1] = -(2**62)
    refused(Component.LEXOFF, "run up", offsets=negative)
    refused(Component.LEX, "newline", data=files[Component.LEX].replace(b"\n", b" ", 1))
    shifted = offsets.copy()
    shifted[2] -= 1
    refused(Component.LEXOFF, "newline", offsets=shifted)
    refused(Component.LEXKEY, "ascending", keys=keys[::-1].copy())


def test_a_term_that_is_not_utf8_is_an_error_naming_the_file():
    data = bytearray(encode(TERMS)[Component.LEX])
    data[0] = 0xFF  # the first byte of the first term
    d = TermDictionary(**forged(data=bytes(data)), paths=PATHS)
    for use in (lambda: d.term(0), lambda: d.terms(), lambda: d.text(), lambda: d.terms_of([1, 0]),
                lambda: d.matching(wildcard_regex("*"))):
        with pytest.raises(IndexCorruptError, match="UTF-8") as info:
            use()
        assert info.value.path == PATHS[Component.LEX]
    assert d.term(1) == TERMS[1]  # the other terms still read
    assert d.scan_problems()[-1][0] is Component.LEX


def test_consistent_but_wrong_files_give_answers_and_check_reports_them():
    files = encode(TERMS)
    keys = files[Component.LEXKEY].copy()
    keys[:] = keys[0]  # all equal: non-decreasing, so opening accepts them
    d = TermDictionary(**forged(keys=keys), paths=PATHS)
    d.id("beta"), d.prefix_range("al"), d.range("a", "c")  # answers, maybe wrong; no failure
    assert [c for c, _ in d.scan_problems()] == [Component.LEXKEY]
    unsorted = ["a", *(f"abcdefgh{i}" for i in range(50, 0, -1)), "b"]  # equal keys, terms out of order
    u = TermDictionary.of(unsorted)
    assert [message for _, message in u.scan_problems()] == ["terms are not in code-point order at term 2"]
    assert [u.id(t) for t in unsorted]  # bisection over unsorted terms still ends


# -- in an index --------------------------------------------------------------------------------

def test_unicode_terms_and_an_empty_field_in_an_index(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard"), notes=TEXT(analyzer="standard"))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        w.add({"id": "東京-1", "body": "東京 café naïve", "notes": ""})
        w.add({"id": "b", "body": "cafés straße"})
        w.add({"id": "a", "body": "cafe"})
    with ix.searcher() as s:
        (reader,) = s.readers
        assert reader.fields["notes"].dictionary.terms() == []
        for query in ("notes:x", "notes:x*", "notes:*x", "notes:x~1", "notes:[a TO z]"):
            assert s.search(query).total == 0
        assert reader.fields["id"].dictionary.terms() == ["a", "b", "東京-1"]
        assert {h.id for h in s.search("caf*")} == {"東京-1", "b", "a"}
        assert {h.id for h in s.search("東*")} == {"東京-1"}
        assert [h.id for h in s.search("caf*", sort_by="id")] == ["a", "b", "東京-1"]
        assert {h.id for h in s.search("cafe~1")} == {"東京-1", "a"}  # cafés is two edits away
    assert check_index(ix.path).ok


def test_an_index_of_the_old_format_asks_to_be_rebuilt(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True)))
    with ix.writer() as w:
        w.add({"id": "1"})
    manifest = set_manifest_format(ix.path, "searchlib-1")
    expected = r"built by searchlib 0\.1 \(format searchlib-1\): rebuild it"
    for use in (lambda: Index.open(ix.path), lambda: Index(ix.path).searcher(), lambda: ix.writer()):
        with pytest.raises(IndexFormatError, match=expected) as info:
            use()
        assert info.value.path == str(manifest) and isinstance(info.value, IndexCorruptError)
    report = check_index(ix.path)
    assert [p.path for p in report.problems] == [str(manifest)] and "rebuild it" in report.format()
    set_manifest_format(ix.path, "searchlib-99")
    with pytest.raises(IndexCorruptError, match="unsupported format 'searchlib-99'"):
        Index.open(ix.path)
    Index.create(ix.path, Schema(id=ID(unique=True, stored=True)), overwrite=True)  # rebuilding works
    assert Index.open(ix.path).doc_count() == 0


# -- mutation fuzz ------------------------------------------------------------------------------

FUZZ_MUTATIONS = int(os.environ.get("SEARCHLIB_FUZZ_MUTATIONS", "120"))  # per dictionary file kind
FUZZ_SEED = int(os.environ.get("SEARCHLIB_FUZZ_SEED", "10"))
CHILD_SECONDS = 20.0  # a child still running then hangs (a normal one takes some tens of milliseconds)
CHILD_EXTRA_MEMORY = 1 << 30  # address space a child may take beyond what it inherits
FUZZ_WORDS = ("alpha", "alphabet", "alpine", "beta", "better", "gamma", "delta", "delphi", "epsilon", "zeta", "café",
              "cafés", "naïve", "straße", "東京", "ünïcödé", "a", "ab", "abc", "abcdefghij", "abcdefghijk")
FUZZ_QUERIES = ("alpha", "alp*", "*ta", "a?c*", "alpah~1", "cafe~1", '"alpha beta"', "body:[b TO e]",
                "body:{alpha TO zeta}", "id:d07", "tag:t3", "東京 OR straße")


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory) -> Path:
    """An index of two segments, with an ID, a second ID-like field, a TEXT and a NUMERIC field."""
    path = tmp_path_factory.mktemp("fuzz") / "ix"
    schema = Schema(id=ID(unique=True, stored=True), tag=ID(stored=True), n=NUMERIC(),
                    body=TEXT(analyzer="standard", stored=True))
    ix = Index.create(path, schema)
    rng = random.Random(3)
    docs = [{"id": f"d{i:02d}", "tag": f"t{i % 5}", "n": i,
             "body": " ".join(rng.choice(FUZZ_WORDS) for _ in range(rng.randint(3, 12)))} for i in range(40)]
    for part in (docs[:30], docs[30:]):
        with ix.writer() as w:
            for doc in part:
                w.add(doc)
    return path


def exercise(path: Path) -> None:
    """What a user of a hostile index does: search it every way, read the hits, then check it."""
    with Index(path, verify=True).searcher() as s:  # an untrusted index: opened with verification
        for query in FUZZ_QUERIES:
            for hit in s.search(query, limit=5):
                hit.id, hit.fields
        for hit in s.search("alpha OR beta", limit=10, sort_by="id"):
            hit.id
    check_index(path)


def child(path: Path, report_fd: int) -> int:
    """Exercise the index under a memory limit; the exit status says how it ended."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    statm = Path("/proc/self/statm")
    if statm.exists():
        limit = int(statm.read_text().split()[0]) * resource.getpagesize() + CHILD_EXTRA_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        exercise(path)
        return 0
    except SearchlibError:
        return 10
    except BaseException:  # noqa: BLE001 -- anything else is a finding, told to the parent
        os.write(report_fd, traceback.format_exc()[-3000:].encode())
        return 11


def run_forked(path: Path) -> tuple[str, str]:
    """(outcome, details) of exercising the index at `path` in a forked child with a time limit."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        status = 12
        try:
            os.close(read_fd)
            status = child(path, write_fd)
        finally:
            os._exit(status)
    os.close(write_fd)
    deadline = time.monotonic() + CHILD_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
            return "hang", ""
        time.sleep(0.002)
    with os.fdopen(read_fd, "rb") as fh:
        details = fh.read().decode(errors="replace")
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}", details
    return {0: "results", 10: "SearchlibError", 11: "other exception"}.get(os.WEXITSTATUS(status), "exit"), details


def array_start(data: bytes) -> int:
    """Where the values of a .npy file start, after its header."""
    fh = io.BytesIO(data)
    version = np.lib.format.read_magic(fh)
    (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(fh)
    return fh.tell()


def mutate(rng: random.Random, data: bytes, array: bool) -> tuple[str, bytes]:
    """One random mutation of a file's bytes: (what was done, the new bytes). The header of a .npy
    file is left alone: parsing it is files.read_array's job, fuzzed with the other file kinds."""
    kind = rng.choice(["flip", "overwrite", "truncate", "extend"] + ["values" if array else "letters"] * 2)
    start = array_start(data) if array else 0
    buf = bytearray(data)
    if kind == "flip" and len(buf) > start:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(start, len(buf))] ^= 1 << rng.randrange(8)
    elif kind == "overwrite" and len(buf) > start:
        at = rng.randrange(start, len(buf))
        end = min(len(buf), at + rng.randint(1, 16))
        buf[at:end] = bytes(rng.randrange(256) for _ in range(end - at))
    elif kind == "truncate":
        del buf[rng.randrange(start, len(buf) + 1):]
    elif kind == "extend":
        buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == "values":
        return kind, forge_values(rng, data)
    elif kind == "letters" and buf:  # still UTF-8, but out of order, or with newlines moved
        at = rng.randrange(len(buf))
        end = min(len(buf), at + rng.randint(1, 3))
        buf[at:end] = bytes(rng.choice(b"abz\n") for _ in range(end - at))
    return kind, bytes(buf)


def forge_values(rng: random.Random, data: bytes) -> bytes:
    """A well-formed .npy file of the same type whose values are shuffled, swapped or replaced."""
    arr = np.load(io.BytesIO(data), allow_pickle=False).copy()
    if len(arr):
        how = rng.choice(["shuffle", "swap", "replace", "extreme"])
        if how == "shuffle":
            np.random.default_rng(rng.randrange(1 << 30)).shuffle(arr)
        elif how == "swap":
            i, j = rng.randrange(len(arr)), rng.randrange(len(arr))
            arr[[i, j]] = arr[[j, i]]
        elif how == "replace":
            arr[rng.randrange(len(arr))] = rng.randrange(1 << 40)
        else:
            info = np.iinfo(arr.dtype)
            arr[rng.randrange(len(arr))] = rng.choice([info.max, info.min, info.max // 2])
    out = io.BytesIO()
    np.lib.format.write_array(out, arr, allow_pickle=False)
    return out.getvalue()


@pytest.mark.slow
def test_forged_term_dictionaries_never_kill_or_hang(tmp_path, fuzz_index):
    """SEARCHLIB_FUZZ_MUTATIONS mutations of each dictionary file (of a random field of the first
    segment), the manifest re-signed each time; SEARCHLIB_FUZZ_SEED picks them."""
    path = tmp_path / "ix"
    shutil.copytree(fuzz_index, path)
    manifest = read_manifest(path)
    entry = manifest.segments[0]
    segment = path / SEGMENTS_DIR / entry.name
    files = dict(entry.files)
    fields = sorted(filter(None, map(Component.LEX.field_of, files)))
    exercise(path)  # the intact index works, and every child starts with this process's caches warm
    rng = random.Random(FUZZ_SEED)
    outcomes: Counter = Counter()
    findings = []
    for component in COMPONENTS:
        for i in range(FUZZ_MUTATIONS):
            fname = component.file(rng.choice(fields))
            original = (segment / fname).read_bytes()
            kind, data = mutate(rng, original, component.kind.value == "array")
            (segment / fname).write_bytes(data)
            entry.files = dict(files, **{fname: {"size": len(data), "crc32": zlib.crc32(data)}})
            write_manifest(path, manifest)  # re-signed: sizes and CRCs match the forged file
            outcome, details = run_forked(path)
            outcomes[component.name, outcome] += 1
            if outcome not in ("results", "SearchlibError"):
                findings.append(f"{fname}, mutation {i} ({kind}): {outcome}\n{details}")
            (segment / fname).write_bytes(original)
    print(f"\nterm dictionary fuzz, {FUZZ_MUTATIONS} mutations per file, seed {FUZZ_SEED}:",
          ", ".join(f"{c} {o}: {n}" for (c, o), n in sorted(outcomes.items())))
    assert not findings, f"{len(findings)} of {sum(outcomes.values())} mutations:\n" + "\n".join(findings[:5])
