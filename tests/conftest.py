"""Shared pytest fixtures, and helpers test modules import with `from conftest import ids, ranked`
(pytest puts this directory on sys.path: the tests directory has no __init__.py)."""
from pathlib import Path

import numpy as np
import pytest

from searchlib.storage.files import write_array
from searchlib.storage.manifest import read_manifest, write_manifest
from searchlib.storage.writer import SEGMENTS_DIR

# The evaluation collections live beside the repository: <parent of repo>/shared/data/<name>.
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


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


def rewrite(ix, segment: int, fname: str, array: np.ndarray) -> Path:
    """Replace a file of segment number `segment` by a consistent-looking one (its new size and
    checksum in a new manifest): damage a checksum cannot see, as a buggy writer would make it."""
    manifest = read_manifest(ix.path)
    entry = manifest.segments[segment]
    path = ix.path / SEGMENTS_DIR / entry.name / fname
    path.unlink()
    entry.files[fname] = write_array(path, array)
    manifest.generation += 1
    write_manifest(ix.path, manifest)
    return path
