"""The `searchlib` command as a newcomer meets it (issue 14), run as a real process each time:
Ctrl-C, warnings, failed first runs, ids, encodings, the new commands and options, progress."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import random
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from conftest import run_python, subprocess_env
from searchlib import ID, TEXT, Index, Schema


def cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return run_python("-m", "searchlib", *map(str, args), **kwargs)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    docs = {"soap": ("Soap Star Storyline", "The actress filmed a late miscarriage storyline."),
            "garden": ("Spring Garden", "Plant the seeds after the frost."),
            "radio": ("Radio Drama", "A radio storyline can move anywhere.")}
    for name, (title, body) in docs.items():
        (folder / f"{name}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return folder


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """An index with an id, a title, a year and a date, built in Python (the command is what's tested)."""
    from searchlib import DATETIME, NUMERIC
    path = tmp_path / "ix"
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True),
                                   year=NUMERIC(), date=DATETIME()))
    with ix.writer() as w:
        for i in range(30):
            w.add({"id": f"d{i:02d}", "title": f"storyline number {i}", "body": "storyline " * (1 + i % 5)
                   + "filler text " * 200, "year": 1990 + i, "date": f"20{10 + i % 10}-01-01"})
    return path


# -- item 1: Ctrl-C while indexing ------------------------------------------------------------------

@pytest.mark.slow
def test_ctrl_c_while_indexing_prints_one_line_and_no_traceback(tmp_path: Path):
    rng = random.Random(1)
    words = [f"word{i}" for i in range(5000)]
    source = tmp_path / "big.jsonl"
    with open(source, "w", encoding="utf-8") as out:
        for i in range(6000):
            out.write(json.dumps({"id": str(i), "text": " ".join(rng.choices(words, k=1500))}) + "\n")
    target = tmp_path / "ix"
    # its own process group, as a terminal's foreground job: Ctrl-C reaches the analysis workers too
    proc = subprocess.Popen([sys.executable, "-m", "searchlib", "index", str(target), str(source), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(),
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not (target / "segments").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # the first segment is being written: the workers are busy
    time.sleep(0.3)
    assert proc.poll() is None, "indexing ended before it could be interrupted: make the corpus larger"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines() == [
        f"searchlib: interrupted: nothing from this run was committed; the new index was removed, {target} is as "
        "it was"]
    assert not target.exists()


# -- item 2: one form for every warning ---------------------------------------------------------------

def test_expansion_warning_is_one_searchlib_warning_line(tmp_path: Path):
    path = tmp_path / "ix"
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "a", "body": " ".join(f"w{i:05d}" for i in range(1100))})
    result = cli("search", path, "w*")
    assert result.returncode == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("searchlib: warning: ") and "1024" in lines[0], result.stderr
    assert ".py:" not in result.stderr


# -- item 3: a failed first run leaves nothing behind ---------------------------------------------

@pytest.mark.parametrize("existing_dir", [False, True])
def test_failed_first_index_leaves_the_directory_as_it_was(tmp_path: Path, existing_dir):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": "a", "text": "fine"}\nnot json\n', encoding="utf-8")
    target = tmp_path / "ix"
    if existing_dir:
        target.mkdir()
    result = cli("index", target, source, "--no-progress")
    assert result.returncode == 2 and "line 2: invalid JSON" in result.stderr and "Traceback" not in result.stderr
    assert "the new index was removed" in result.stderr
    assert (sorted(os.listdir(target)) == [] if existing_dir else not target.exists())


def test_refused_create_in_a_folder_of_other_files_leaves_no_lock(tmp_path: Path, corpus: Path):
    result = cli("index", corpus, corpus, "--no-progress")
    assert result.returncode == 2 and "not a searchlib index" not in result.stdout
    assert sorted(os.listdir(corpus)) == ["garden.txt", "radio.txt", "soap.txt"]


# -- item 4: records without an id --------------------------------------------------------------------

def test_jsonl_without_ids_is_refused_or_given_stable_ids(tmp_path: Path):
    source = tmp_path / "c.jsonl"
    source.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    target = tmp_path / "ix"
    result = cli("index", target, source, "--no-progress")
    assert result.returncode == 2 and "line 1: no id" in result.stderr and "--ids content" in result.stderr
    for _ in range(3):
        result = cli("index", target, source, "--no-progress", "--ids", "content")
        assert result.returncode == 0, result.stderr
        assert "now holds 2 documents" in result.stdout


# -- item 8: encodings and skipping --------------------------------------------------------------------

def test_encoding_and_on_error_skip(tmp_path: Path, corpus: Path):
    (corpus / "latin.txt").write_bytes("Caf\u00e9 Culture\n\nCr\u00e8me br\u00fbl\u00e9e.\n".encode("latin-1"))
    target = tmp_path / "ix"
    result = cli("index", target, corpus, "--no-progress")
    assert result.returncode == 2 and "latin.txt: not valid UTF-8" in result.stderr and "--on-error skip" in result.stderr
    assert not target.exists()
    result = cli("index", target, corpus, "--no-progress", "--on-error", "skip")
    assert result.returncode == 0, result.stderr
    assert "Indexed 3 documents" in result.stdout and "Skipped 1 (--on-error skip):" in result.stdout
    assert "latin.txt: not valid UTF-8" in result.stdout
    single = tmp_path / "latin"
    single.mkdir()
    (corpus / "latin.txt").rename(single / "latin.txt")
    result = cli("index", target, single, "--no-progress", "--encoding", "latin-1")
    assert result.returncode == 0 and "now holds 4 documents" in result.stdout
    assert "Crème" in cli("search", target, "brûlée").stdout  # decoded as latin-1 (the body: "culture" shows the title)


# -- item 10: the command's coverage --------------------------------------------------------------

def test_version_and_bare_command_prints_help():
    from searchlib import __version__
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"searchlib {__version__}"
    result = cli()
    assert result.returncode == 0 and "usage: searchlib" in result.stdout and "delete" in result.stdout
    assert result.stderr == ""


def test_delete_by_id_and_by_query_and_optimize(built: Path):
    result = cli("delete", built, "d00", "d01", "missing")
    assert result.returncode == 0 and "Deleted 2 documents" in result.stdout and "now holds 28" in result.stdout
    result = cli("delete", built, "--query", "year:>=2015")
    assert result.returncode == 0 and "Deleted 5 documents" in result.stdout
    assert cli("delete", built).returncode == 2
    result = cli("optimize", built)
    assert result.returncode == 0 and "-> 1, 7 deleted documents dropped" in result.stdout, result.stdout
    assert Index.open(built).doc_count() == 23


def test_search_sort_filter_page_show_and_explain(built: Path):
    result = cli("search", built, "storyline", "--sort", "year:desc", "-n", "3", "--json")
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["d29", "d28", "d27"]
    result = cli("search", built, "storyline", "--filter", "year:<1993", "--filter", "title:number", "--json")
    assert sorted(h["id"] for h in json.loads(result.stdout)["hits"]) == ["d00", "d01", "d02"]
    page1 = json.loads(cli("search", built, "storyline", "-n", "4", "--page", "1", "--json").stdout)["hits"]
    page2 = json.loads(cli("search", built, "storyline", "-n", "4", "--page", "2", "--json").stdout)["hits"]
    offset = json.loads(cli("search", built, "storyline", "-n", "4", "--offset", "4", "--json").stdout)["hits"]
    assert [h["rank"] for h in page2] == [5, 6, 7, 8] and page2 == offset
    assert not {h["id"] for h in page1} & {h["id"] for h in page2}
    assert cli("search", built, "storyline", "--page", "1", "--offset", "3").returncode == 2
    result = cli("search", built, "storyline", "-n", "1", "--show", "year,date", "--explain")
    assert "year: 19" in result.stdout and "date: 20" in result.stdout and "idf" in result.stdout
    data = json.loads(cli("search", built, "storyline", "-n", "1", "--show", "all", "--explain", "--json").stdout)
    hit = data["hits"][0]
    assert set(hit["fields"]) == {"id", "title", "body", "year", "date"} and hit["fields"]["date"].startswith("20")
    assert abs(hit["explanation"]["value"] - hit["score"]) < 1e-5


def test_search_json_is_slim_by_default(built: Path):
    slim = cli("search", built, "storyline", "--json")
    full = cli("search", built, "storyline", "--json", "--show", "all", "--passages")
    hits = json.loads(slim.stdout)["hits"]
    assert len(hits) == 10 and set(hits[0]) == {"rank", "id", "score", "title", "snippet"}
    assert len(slim.stdout) * 5 < len(full.stdout)
    assert "passages" in json.loads(full.stdout)["hits"][0]


def test_wait_option_waits_for_the_lock_and_then_fails_clearly(built: Path):
    ix = Index.open(built)
    with ix.writer():
        started = time.monotonic()
        result = cli("delete", built, "d03", "--wait", "0.5")
        assert time.monotonic() - started >= 0.5
    assert result.returncode == 2 and "after waiting 0.5 s" in result.stderr
    assert Index.open(built).doc_count() == 30


# -- item 11: progress with a total, a percentage and the commit ------------------------------------

def test_progress_shows_total_percentage_and_the_commit(tmp_path: Path):
    source = tmp_path / "c.jsonl"
    source.write_text("".join(json.dumps({"id": str(i), "text": f"document {i}"}) + "\n" for i in range(50)),
                      encoding="utf-8")
    master, slave = pty.openpty()  # stderr on a terminal (120 columns wide): the progress bar shows
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "searchlib", "index", str(tmp_path / "ix"), str(source)],
                            stdout=subprocess.PIPE, stderr=slave, env=subprocess_env())
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "Indexing: 100%" in shown and "50/50" in shown and "Committing 50 documents" in shown
