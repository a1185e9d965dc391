"""Sharded indexes on real dask.distributed clusters: a scheduler and two workers started through
the `dask scheduler` / `dask worker` command-line programs (torn down at the end), and LocalCluster.
Built there, searched by actors on the workers, equal to one index; a worker killed while serving
makes searches fail naming the shard and `reopen()` serves it again; a worker killed mid-build
fails the build and leaves nothing visible."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed (pip install searchlib[dask])")
dask_bag = pytest.importorskip("dask.bag", reason="the dask extra is not installed (pip install searchlib[dask])")

from conftest import subprocess_env  # noqa: E402
from searchlib import Index, InvalidArgumentError  # noqa: E402
from searchlib.cluster import ShardUnavailableError, build, is_sharded, open as open_sharded  # noqa: E402

from test_cluster_equality import (MERGED_OPTIONS, OPTIONS, assert_same, assert_same_extras, document,  # noqa: E402
                                   generated_queries, schema)

pytestmark = pytest.mark.slow
N = 240


def documents() -> list[dict]:
    import random
    rng = random.Random(3)
    return [document(rng, i) for i in range(N)]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("one") / "ix", schema())
    with ix.writer() as w:
        for doc in documents():
            w.add(doc)
    with ix.searcher() as s:
        yield s


def _dask_program() -> list[str]:
    beside = Path(sys.executable).parent / "dask"
    found = str(beside) if beside.exists() else shutil.which("dask")
    return [found] if found else [sys.executable, "-m", "dask"]


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes (no nanny: a killed worker stays dead),
    on 127.0.0.1; yields (address, {worker address: its process})."""
    where = tmp_path_factory.mktemp("dask")
    file = where / "scheduler.json"
    env = subprocess_env(DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = [subprocess.Popen([*_dask_program(), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], env=env, cwd=where,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([*_dask_program(), "worker", address, "--nthreads", "1", "--no-nanny",
                                           "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0"],
                                          env=env, cwd=where, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_real_cluster_builds_from_a_loader_path_and_serves_equal_results(real_cluster, single, tmp_path):
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in documents()))
    with distributed.Client(real_cluster) as client:
        ix = build(source, tmp_path / "sharded", schema=schema(), shards=3, client=client)
        assert ix.doc_count() == N and ix.shards == 3
        with open_sharded(ix.path, client).searcher(local_stats=False) as s:  # all three phases on the workers
            assert s.statistics is s.shards
            assert s.doc_count() == N
            assert len(set(s.shards.workers)) == 2  # the shards are spread over both workers
            queries = generated_queries(21, 34)
            for i, q in enumerate(queries):
                options = OPTIONS[i % len(OPTIONS)]
                assert_same(single.search(q, **options), s.search(q, **options), options)
            for q, res in zip(queries, s.search_many(queries, limit=5)):
                assert_same(single.search(q, limit=5), res, {})
            for i, q in enumerate(queries[:len(MERGED_OPTIONS)]):  # partial results in the workers' replies
                options = MERGED_OPTIONS[i]
                if "suggest" in options:  # read in the coordinator, which here does not open the shards
                    with pytest.raises(InvalidArgumentError, match="local_stats=True"):
                        s.search(q, **options)
                    continue
                one, many = single.search(q, **options), s.search(q, **options)
                assert_same(one, many, options)
                assert_same_extras(one, many)


def test_a_worker_killed_while_serving_fails_searches_naming_the_shard_and_reopen_recovers(real_cluster, single,
                                                                                               tmp_path):
    with distributed.Client(real_cluster) as client:
        ix = build(documents(), tmp_path / "sharded", schema=schema(), shards=2, client=client)
        s = open_sharded(ix.path, client).searcher(timeout=20)
        try:
            expected = single.search("apple pear", limit=20)
            assert_same(expected, s.search("apple pear", limit=20), {})
            victim = s.shards.workers[1]
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(ShardUnavailableError, match="shard 1") as caught:
                s.search("apple pear", limit=20)
            assert caught.value.shard == 1
            deadline = time.monotonic() + 30  # the scheduler notices the lost worker
            while victim in client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.2)
            s.reopen()
            assert len(set(s.shards.workers)) == 1
            assert_same(expected, s.search("apple pear", limit=20), {})
        finally:
            s.close()


@pytest.fixture(scope="module")
def local_client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_local_cluster_builds_from_a_dask_bag(local_client, single, tmp_path):
    bag = dask_bag.from_sequence(documents(), npartitions=5)
    ix = build(bag, tmp_path / "sharded", schema=schema(), shards=3, client=local_client)
    with open_sharded(ix.path, local_client).searcher() as s:
        for q in generated_queries(2, 17):
            assert_same(single.search(q), s.search(q), {})
        for q, options in zip(["aple", "lemmon", "zzz", "apple pear"] * 4, MERGED_OPTIONS):
            one, many = single.search(q, **options), s.search(q, **options)
            assert_same(one, many, options)
            assert_same_extras(one, many)
    # the same index searched in this process answers the same
    with Index.open(ix.path).searcher() as s:
        assert_same(single.search("grape honey"), s.search("grape honey"), {})


def _die(doc: dict) -> dict:
    if doc["id"] == "d7":
        os._exit(1)
    return doc


def test_a_worker_dying_mid_build_fails_it_and_leaves_the_previous_index(local_client, tmp_path):
    path = tmp_path / "sharded"
    build(documents()[:50], path, schema=schema(), shards=2, client=local_client)
    before = json.loads((path / "sharded.json").read_text())
    bag = dask_bag.from_sequence(documents(), npartitions=4).map(_die)
    with pytest.raises(Exception, match="shard|KilledWorker|died"):
        build(bag, path, schema=schema(), shards=2, client=local_client, overwrite=True)
    assert json.loads((path / "sharded.json").read_text()) == before
    assert sorted(p.name for p in path.iterdir() if p.is_dir()) == ["b0001-s000", "b0001-s001"]
    assert Index.open(path).doc_count() == 50
    # and into a new path: nothing visible at all
    fresh = tmp_path / "fresh"
    with pytest.raises(Exception, match="shard|KilledWorker|died"):
        build(bag, fresh, schema=schema(), shards=2, client=local_client)
    assert not is_sharded(fresh) and not [p for p in fresh.iterdir() if p.is_dir()]


def test_build_without_a_client_starts_a_local_cluster(tmp_path, single):
    ix = build(documents(), tmp_path / "sharded", schema=schema(), shards=2)
    with ix.searcher() as s:
        assert_same(single.search("cherry OR kiwi", limit=30), s.search("cherry OR kiwi", limit=30), {})
    assert np.array_equal(sorted(d["id"] for d in s_docs(ix)), sorted(d["id"] for d in documents()))


def s_docs(ix):
    with ix.searcher() as s:
        return list(s.documents())


def test_the_command_builds_searches_and_describes_a_sharded_index(real_cluster, single, tmp_path, capsys):
    from searchlib.cli import main
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in documents()))
    path = tmp_path / "sharded"
    assert main(["index", str(path), str(source), "--shards", "2", "--scheduler", real_cluster, "--no-progress",
                 "--config", str(_config(tmp_path))]) == 0
    assert f"now holds {N} documents in 2 shards" in capsys.readouterr().out
    assert main(["search", str(path), "apple pear", "-n", "5", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = single.search("apple pear", 5, formatter="plain")
    assert got["total"] == want.total
    assert np.array_equal(np.float32([h["score"] for h in got["hits"]]), np.float32([round(h.score, 6) for h in want]))
    assert main(["stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(sharded)" in out and "b0001-s001" in out
    extra = tmp_path / "more.jsonl"  # adding to it routes each document through the sharded writer
    extra.write_text(json.dumps({"id": "new1", "title": "zebra", "body": "zebra crossing"}) + "\n")
    assert main(["index", str(path), str(extra), "--no-progress"]) == 0
    assert Index.open(path).search("zebra").total == 1


def _config(tmp_path: Path) -> Path:
    from searchlib.config import Config, Settings, dump_config
    path = tmp_path / "schema.yaml"
    path.write_text(dump_config(Config(None, schema(), Settings())))
    return path
