"""Shared pytest fixtures, and helpers test modules import with `from conftest import ids, ranked`
(pytest puts this directory on sys.path: the tests directory has no __init__.py)."""
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, IndexCorruptError, Schema
from searchlib.analysis import Filter
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.files import write_array
from searchlib.storage.manifest import Manifest, generations, manifest_name, read_manifest, write_manifest

# The checkout under test (the directory holding searchlib/).
REPO = Path(__file__).resolve().parents[1]
# This folder: a child Python that imports a test module puts it on sys.path to find this file.
TESTS = Path(__file__).resolve().parent
# The evaluation collections live beside the repository: <parent of repo>/shared/data/<name>.
DATA_DIR = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def scifact_dir() -> Path:
    """The BEIR SciFact folder; skips the test where it is absent."""
    path = DATA_DIR / "scifact"
    if not (path / "corpus.jsonl").is_file():
        pytest.skip("../shared/data/scifact not found (the evaluation data lives beside the repository in CI)")
    return path


def ids(results) -> set:
    """The ids of a search's hits, as a set (order ignored)."""
    return {h.id for h in results}


def ranked(results) -> list:
    """The ids of a search's hits, best first."""
    return [h.id for h in results]


# -- a hand-made corpus -----------------------------------------------------------------------------
# (id, title, body): phrases across stop words, stems, repeated words, a body of stop words only and an
# empty one. Searched in unit/search/test_search_semantics.py, scored by rank_bm25 in comparison/.
HAND_MADE_DOCS = [
    ("1", "Fox story", "The quick brown fox jumps over the lazy dog."),
    ("2", "Dog days", "A lazy afternoon: the dog sleeps in the sun."),
    ("3", "Morning routine", "She runs ten miles every morning."),
    ("4", "Annual report", "At the end of the year the company reports profits."),
    ("5", "Fiscal calendar", "The end of the fiscal year is in June."),
    ("6", "Short story", "The year began and the end came quickly."),
    ("7", "Bears", "Brown bears and black bears live in the forest."),
    ("8", "Hound tale", "The fox and the hound are friends."),
    ("9", "Cats", "Cats chase mice; the cat is quick."),
    ("10", "Barking", "A black dog barks at the brown fox, the fox runs."),
    ("11", "Fish", "Fishing in the river: trout, salmon and more fish."),
    ("12", "Stop words only", "the and of"),
    ("13", "Chaos", "Dogs and cats living together."),
    ("14", "Quarterly", "Profits rose at the end of the quarter."),
    ("15", "Empty body", ""),
    ("16", "Black dog", "Black dog, black dog: a song about a black dog and a black cat."),
]


# -- building an index ------------------------------------------------------------------------------

def build_in_commits(path: Path, schema, docs: list, commits: int = 1, **writer_options) -> Index:
    """A new index of `docs`, added in `commits` writer blocks of about equal size (in order)."""
    ix = Index.create(path, schema)
    chunk = -(-len(docs) // commits)
    for start in range(0, len(docs), chunk):
        with ix.writer(**writer_options) as w:
            for doc in docs[start:start + chunk]:
                w.add(doc)
    return ix


def mixed_schema() -> Schema:
    """A field of every indexed kind: ID, KEYWORD, NUMERIC, TEXT, and TEXT split into paragraphs."""
    return Schema(id=ID(unique=True, stored=True), tag=KEYWORD(stored=True), n=NUMERIC(),
                  body=TEXT(analyzer="standard", stored=True),
                  notes=TEXT(analyzer="standard", passages="paragraph"))


def unique_docs(n: int) -> list[dict]:
    """`n` documents of mixed_schema(), d0 to d<n-1>: words of their own (uniq<i>, t<i>, note<i>)
    beside words they all share."""
    return [{"id": f"d{i}", "tag": f"t{i}", "n": i, "body": f"common uniq{i}",
             "notes": f"shared words\n\nnote{i} here"} for i in range(n)]


# -- damaging an index -------------------------------------------------------------------------------

def segment_file(ix, suffix: str, segment: int = 0) -> Path:
    """A file of segment number `segment` in the newest commit: the one named `suffix`, else the
    first whose name ends with it (or, for a prefix such as "del-", starts with it). "manifest"
    is the newest manifest file."""
    if suffix == "manifest":
        return ix.path / manifest_name(generations(ix.path)[-1])
    entry = read_manifest(ix.path).segments[segment]
    names = [suffix] if suffix in entry.files else [
        n for n in entry.files if n.endswith(suffix) or (suffix.endswith("-") and n.startswith(suffix))]
    assert names, (suffix, sorted(entry.files))
    return ix.path / SEGMENTS_DIR / entry.name / names[0]


def flip_byte(path: Path, at: "int | None" = None, keep_mtime: bool = False) -> None:
    """Flip the low bit of one byte of a file in place (the middle byte, or the one at index `at`):
    same size, same inode. Its mtime moves 2 s on, so that it differs even on a coarse filesystem
    clock, or with keep_mtime stays exactly as it was, so that only a re-read of the bytes can tell."""
    st = path.stat()
    with open(path, "r+b") as fh:
        data = bytearray(fh.read())
        data[len(data) // 2 if at is None else at] ^= 0x01
        fh.seek(0)
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns if keep_mtime else st.st_mtime_ns + 2_000_000_000))


def truncate(path: Path, nbytes: int) -> None:
    """Cut the last `nbytes` bytes off a file."""
    data = path.read_bytes()
    assert 0 < nbytes <= len(data), (path, len(data), nbytes)
    path.write_bytes(data[:len(data) - nbytes])


def assert_searcher_refuses(ix_path: Path, damaged: Path, match: "str | None" = None) -> IndexCorruptError:
    """Opening a searcher on the index at `ix_path` raises IndexCorruptError naming the file
    `damaged` (as its `path`, and its name in the message; the message also matching `match`)."""
    with pytest.raises(IndexCorruptError, match=match) as info:
        Index(ix_path).searcher().close()
    assert info.value.path == str(damaged)
    assert damaged.name in str(info.value)
    return info.value


def edit_manifest(ix_path: Path, change) -> Manifest:
    """Write a new commit whose manifest is the newest one after `change(manifest)` (which edits
    it in place); return that manifest."""
    manifest = read_manifest(ix_path)
    change(manifest)
    manifest.generation += 1
    write_manifest(ix_path, manifest)
    return manifest


def set_manifest_format(ix_path: Path, fmt: str) -> Path:
    """Give the newest manifest the format name `fmt` (its CRC recomputed), as an index written
    by a release with that format would have it; return the manifest's path."""
    path = ix_path / manifest_name(generations(ix_path)[-1])
    body = json.loads(json.loads(path.read_bytes())["manifest"])
    body["format"] = fmt
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path.write_text(json.dumps({"crc32": zlib.crc32(text.encode()), "manifest": text}), encoding="utf-8")
    return path


def rewrite(ix, segment: int, fname: str, array: np.ndarray) -> Path:
    """Replace a file of segment number `segment` by a consistent-looking one (its new size and
    checksum in a new manifest): damage a checksum cannot see, as a buggy writer would make it."""
    path = ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[segment].name / fname

    def replace(manifest: Manifest) -> None:
        path.unlink()
        manifest.segments[segment].files[fname] = write_array(path, array)

    edit_manifest(ix.path, replace)
    return path


# -- child Python processes ------------------------------------------------------------------------

def subprocess_env(*, inherit: bool = True, **overrides: "str | None") -> dict:
    """The environment of a child Python that imports this checkout: this process's environment
    (none of it with inherit=False) with REPO first on PYTHONPATH, then `overrides` applied (a
    value of None removes the key)."""
    env = dict(os.environ) if inherit else {}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(*args, env: "dict | None" = None, cwd: "Path | str" = REPO, timeout: float = 120,
               **kwargs) -> subprocess.CompletedProcess:
    """`python ARGS` in a fresh interpreter (this one's executable), output captured as UTF-8 text;
    the environment defaults to subprocess_env()."""
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          env=subprocess_env() if env is None else env, cwd=cwd, timeout=timeout, **kwargs)


def start_python(*args, env: "dict | None" = None, **kwargs) -> subprocess.Popen:
    """`python ARGS` started in the background, stdout and stderr piped (bytes); the environment
    defaults to subprocess_env()."""
    return subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=subprocess_env() if env is None else env, **kwargs)


class UpperFirst(Filter):
    """A stream filter that is not a TermFilter (it upper-cases every term), to exercise the
    analyzer's unfused path."""

    def __call__(self, tokens):
        for tok in tokens:
            yield tok._replace(term=tok.term.upper())

    def spec(self):
        return {"type": "upperfirst"}
