"""`searchlib check` / check_index / Index.check: damage is found, reported per file, and never read as data.

Each kind of index file is damaged in turn (a flipped byte, a truncation, a deletion): the checker
names the file and the command exits 1, and opening a searcher raises IndexCorruptError naming the
same file. The checker re-reads files from disk even when this process verified them before.
"""
from __future__ import annotations

import builtins
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import (assert_searcher_refuses, edit_manifest, flip_byte, mixed_schema, rewrite, segment_file, truncate,
                      unique_docs)
from searchlib import ID, KEYWORD, NUMERIC, TEXT, Index, IndexCorruptError, Schema
from searchlib.cli import main
from searchlib.storage import check
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import generations, manifest_name, read_manifest


def check_schema() -> Schema:
    return Schema(id=ID(unique=True, stored=True), tag=KEYWORD(stored=True), n=NUMERIC(),
                  title=TEXT(analyzer="standard", stored=True),
                  body=TEXT(analyzer="standard", stored=True, passages="paragraph"))


def build(path: Path) -> Index:
    """Two segments, one with a deletions file; every kind of file the format has."""
    ix = Index.create(path, check_schema())
    for part in range(2):
        with ix.writer(merge_factor=100) as w:
            for i in range(40):
                w.add({"id": f"p{part}-{i}", "tag": f"t{i % 4}", "n": i, "title": f"title {i} walnut",
                       "body": f"first paragraph {i} hazel walnut\n\nsecond paragraph {i % 7} acorn"})
    with ix.writer() as w:
        w.delete("p0-3")
    return ix


def run_cli(capsys, path: Path) -> tuple[int, str]:
    status = main(["check", str(path)])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_clean_index_passes(tmp_path, capsys):
    ix = build(tmp_path / "ix")
    report = ix.check()
    assert report.ok and report.problems == []
    assert report.documents == 79 and report.segments == 2
    assert report.generations == generations(ix.path)[::-1]
    assert report.files_checked > 40
    status, out = run_cli(capsys, ix.path)
    assert status == 0 and "OK" in out
    status = main(["check", str(ix.path), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0 and data["ok"] is True and data["problems"] == []


SUFFIXES = ["body.lexkey.npy", "title.lex.txt", "body.pos.npy", "title.tf.npy", "body.udoc.npy", "n.col.npy", "stored.bin",
            "stored.ptr.npy", "meta.json", "body.lex.txt", "title.lexoff.npy", "del-", "manifest"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_flipped_byte_is_reported_even_when_this_process_verified_the_file(tmp_path, capsys, suffix):
    ix = build(tmp_path / "ix")
    with ix.searcher() as s:  # fills this process's verification cache for every file
        assert s.search("walnut").total == 79
    path = segment_file(ix, suffix)
    flip_byte(path, keep_mtime=True)
    report = check_index(ix.path)
    assert not report.ok
    assert str(path) in report.damaged_files, report.format()
    status, out = run_cli(capsys, ix.path)
    assert status == 1
    assert "DAMAGED" in out and str(path.relative_to(ix.path)) in out
    flip_byte(path, keep_mtime=False)  # undo the flip, then flip again with a new mtime for the searcher
    flip_byte(path, keep_mtime=False)
    assert_searcher_refuses(ix.path, path)


@pytest.mark.parametrize("suffix", ["body.unit.npy", "stored.bin", "title.lexkey.npy", "meta.json", "manifest"])
def test_truncated_file_is_reported(tmp_path, capsys, suffix):
    ix = build(tmp_path / "ix")
    path = segment_file(ix, suffix)
    truncate(path, 5)
    report = check_index(ix.path)
    assert str(path) in report.damaged_files, report.format()
    assert run_cli(capsys, ix.path)[0] == 1
    assert_searcher_refuses(ix.path, path)


@pytest.mark.parametrize("suffix", ["body.ptr.npy", "stored.bin", "title.lex.txt", "del-"])
def test_deleted_file_is_reported(tmp_path, capsys, suffix):
    ix = build(tmp_path / "ix")
    path = segment_file(ix, suffix)
    path.unlink()
    report = check_index(ix.path)
    assert [str(p) for p in report.problems if p.path == str(path)] and "missing" in report.format()
    status, out = run_cli(capsys, ix.path)
    assert status == 1 and "missing" in out
    assert_searcher_refuses(ix.path, path)


def test_every_problem_is_reported_not_just_the_first(tmp_path, capsys):
    ix = build(tmp_path / "ix")
    damaged = [segment_file(ix, "body.pos.npy", 0), segment_file(ix, "stored.bin", 1),
               segment_file(ix, "title.lexkey.npy", 1)]
    flip_byte(damaged[0])
    truncate(damaged[1], 1)
    damaged[2].unlink()
    report = ix.check()
    assert set(report.damaged_files) == {str(p) for p in damaged}
    status, out = run_cli(capsys, ix.path)
    assert status == 1
    for p in damaged:
        assert str(p.relative_to(ix.path)) in out


def test_damaged_older_kept_manifest_is_reported(tmp_path):
    ix = build(tmp_path / "ix")
    older = ix.path / manifest_name(generations(ix.path)[-2])
    flip_byte(older)
    report = check_index(ix.path)
    assert report.damaged_files == [str(older)]
    with ix.searcher() as s:  # searchers use the newest commit, which is intact
        assert s.doc_count() == 79


def test_structural_damage_behind_valid_checksums(tmp_path):
    ix = build(tmp_path / "ix")
    seg_dir = ix.path / SEGMENTS_DIR / read_manifest(ix.path).segments[0].name
    unit = np.load(seg_dir / "title.unit.npy").copy()
    unit[-1] = 10_000  # a unit past the end
    rewrite(ix, 0, "title.unit.npy", unit)
    tf = np.load(seg_dir / "body.tf.npy").copy()
    tf[0] += 1  # positions no longer add up
    rewrite(ix, 0, "body.tf.npy", tf)
    deleted = read_manifest(ix.path).segments[0].deletes
    bits = np.unpackbits(np.load(seg_dir / deleted))
    bits[7] = 1  # a second deleted document the manifest does not count
    rewrite(ix, 0, deleted, np.packbits(bits))
    offsets = np.load(seg_dir / "stored.ptr.npy").copy()
    offsets[1] += 3
    rewrite(ix, 0, "stored.ptr.npy", offsets)
    lexoff = np.load(seg_dir / "body.lexoff.npy").copy()
    lexoff[2] -= 1
    rewrite(ix, 0, "body.lexoff.npy", lexoff)
    report = check_index(ix.path)
    text = report.format()
    assert "title.unit.npy: a unit number reaches 10000" in text
    assert "body.pos.npy" in text  # position count vs the sum of term frequencies
    assert f"{deleted}: marks 2 documents deleted, the manifest says 1" in text
    assert "stored.bin: stored block 0 is unreadable" in text or "stored.bin: stored block 1" in text
    assert "body.lexoff.npy" in text
    assert not report.ok


def test_meta_json_counts_must_match_the_manifest(tmp_path):
    ix = build(tmp_path / "ix")
    edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[1], "doc_count", 41))
    report = check_index(ix.path)
    assert any(p.path.endswith("meta.json") and "41" in p.message for p in report.problems), report.format()


def test_manifest_pointing_outside_the_index_reads_nothing_outside(tmp_path, capsys, monkeypatch):
    ix = build(tmp_path / "ix")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "meta.json").write_text('{"doc_count": 1, "fields": {}}')
    # a segment file replaced by a link to a file outside the index
    link = segment_file(ix, "stored.bin", 1)
    link.unlink()
    link.symlink_to(outside / "meta.json")
    manifest = edit_manifest(ix.path, lambda manifest: setattr(manifest.segments[0], "name", "../../secret"))

    touched: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def recording_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            touched.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)

    def recording_os_open(file, *args, dir_fd=None, **kwargs):
        # a name opened relative to a directory descriptor (openat) is resolved in that directory
        base = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else ""
        touched.append(os.path.realpath(os.path.join(base, file)))
        return real_os_open(file, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(os, "open", recording_os_open)
    report = check_index(ix.path)
    with pytest.raises(IndexCorruptError, match="unsafe"):
        Index(ix.path).searcher()
    monkeypatch.undo()
    assert not report.ok
    newest = str(ix.path / manifest_name(manifest.generation))
    assert any(p.path == newest and "unsafe" in p.message for p in report.problems), report.format()
    assert any(p.path == str(link) and "symbolic link" in p.message for p in report.problems), report.format()
    inside = os.path.realpath(ix.path)
    assert touched and all(p == inside or p.startswith(inside + os.sep) for p in touched), [
        p for p in touched if not p.startswith(inside)]
    assert run_cli(capsys, ix.path)[0] == 1


def test_leftovers_are_notes_not_damage(tmp_path, capsys):
    ix = build(tmp_path / "ix")
    (ix.path / SEGMENTS_DIR / "seg-99999999").mkdir()
    (ix.path / SEGMENTS_DIR / "seg-99999999" / "meta.json").write_text("{}")
    (ix.path / "manifest-0000000099.json.tmp").write_text("half a manifest")
    report = check_index(ix.path)
    assert report.ok
    assert any("seg-99999999" in n for n in report.notes)
    status, out = run_cli(capsys, ix.path)
    assert status == 0 and "leftovers" in out
    with ix.writer() as w:  # the next writer removes them
        w.add({"id": "x", "title": "walnut"})
    assert not (ix.path / SEGMENTS_DIR / "seg-99999999").exists()
    assert check_index(ix.path).notes == []


def test_check_of_a_missing_index(tmp_path, capsys):
    status, out = run_cli(capsys, tmp_path / "nothing")
    assert status == 2 and "error" in out


# -- check verifies a segment's structure once across kept commits ---------------------------------

def test_check_verifies_structure_once_and_each_deletions_file(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", mixed_schema())
    with ix.writer() as w:
        for doc in unique_docs(10):
            w.add(doc)
    with ix.writer() as w:
        w.delete("d1")
    with ix.writer() as w:
        w.delete("d2")  # the two kept commits differ only by the segment's deletions file
    manifests = [read_manifest(ix.path, g) for g in (ix.generation - 1, ix.generation)]
    assert [m.segments[0].name for m in manifests] == [manifests[0].segments[0].name] * 2
    assert manifests[0].segments[0].deletes != manifests[1].segments[0].deletes
    fields, stored, deletes = [], [], []
    cls = check._SegmentStructure
    real_field, real_stored, real_deletes = cls.field, cls.stored, cls.deletes
    monkeypatch.setattr(cls, "field", lambda self, name, *a: (fields.append(name), real_field(self, name, *a))[1])
    monkeypatch.setattr(cls, "stored", lambda self, *a: (stored.append(1), real_stored(self, *a))[1])
    monkeypatch.setattr(cls, "deletes", lambda self, *a: (deletes.append(self.entry.deletes),
                                                          real_deletes(self, *a))[1])
    report = check.check_index(ix.path)
    assert report.ok, report.format()
    assert sorted(fields) == sorted(["id", "tag", "body", "notes"])  # once per field, not per commit
    assert len(stored) == 1
    assert sorted(deletes) == sorted(m.segments[0].deletes for m in manifests)
