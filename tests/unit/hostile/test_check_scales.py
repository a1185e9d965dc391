"""`check` does work in proportion to the index it checks (issue item 8).

0.1's check took 1.2 s for a manifest of 5,000 segments, 17.5 s for 20,000, and had not finished
a 300,000-segment one after 18 minutes. No test here times anything: each counts the Python
function calls a check makes at two sizes.
"""
from __future__ import annotations

import sys
from pathlib import Path

from searchlib import ID, TEXT, Index, Schema
from searchlib.storage.check import check_index
from searchlib.storage.manifest import SegmentEntry, read_manifest, write_manifest
from searchlib.storage.stored import POINTERS


def _calls(action) -> int:
    """How many Python functions `action()` calls (C functions not counted)."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return count


def _index_naming_missing_segments(path: Path, n: int) -> Path:
    """An index whose newest manifest names `n` segments, none of them on disk: one problem each."""
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT()))
    manifest = read_manifest(ix.path)
    manifest.segments = [SegmentEntry(name=f"seg-{i:08d}", doc_count=0, files={POINTERS: {"size": 0, "crc32": 0}})
                         for i in range(1, n + 1)]
    manifest.counter = n
    manifest.generation += 1
    write_manifest(ix.path, manifest)
    return ix.path


def test_check_work_grows_linearly_with_segments_and_problems(tmp_path):
    small, large = 500, 2000
    reports = {}

    def check(n):
        path = _index_naming_missing_segments(tmp_path / str(n), n)
        return _calls(lambda: reports.__setitem__(n, check_index(path)))

    work = {n: check(n) for n in (small, large)}
    for n in (small, large):
        assert len(reports[n].problems) == 2 * n, reports[n].format()[:500]  # no meta.json; no directory
    ratio = work[large] / work[small]
    assert ratio < 1.5 * large / small, f"{work}: {ratio:.1f} times the work for {large // small} times the segments"
