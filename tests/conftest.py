"""Shared pytest fixtures, and helpers test modules import with `from conftest import ids, ranked`
(pytest puts this directory on sys.path: the tests directory has no __init__.py)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from searchlib.storage.files import write_array
from searchlib.storage.manifest import read_manifest, write_manifest
from searchlib.storage.writer import SEGMENTS_DIR

# The checkout under test (the directory holding searchlib/).
REPO = Path(__file__).resolve().parents[1]
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
