"""Shared pytest fixtures, and helpers test modules import with `from conftest import ids, ranked`
(pytest puts this directory on sys.path: the tests directory has no __init__.py)."""
from pathlib import Path

import pytest

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
