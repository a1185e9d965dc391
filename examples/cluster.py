"""Example: build a sharded index on a Dask cluster and search it; same results as one index.

    python examples/cluster.py                    # the bundled corpus, 3 shards, a LocalCluster
    python examples/cluster.py "late miscarriage" # your own query
    python examples/cluster.py --scheduler tcp://10.0.0.5:8786 --shards 20 --index-dir /shared/ix "query"

Needs the dask extra: pip install "searchlib[dask]". With --scheduler, the corpus and --index-dir
must be on a filesystem every worker reaches (each shard is written and served by a worker).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from distributed import Client, LocalCluster

EXAMPLES = Path(__file__).resolve().parent
sys.path.insert(0, str(EXAMPLES.parent))  # this checkout's searchlib, when it is not installed

import searchlib.cluster  # noqa: E402
from searchlib.cli import default_schema  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("query", nargs="?", default="late miscarriage")
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--scheduler", help="a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--index-dir", type=Path, default=Path(tempfile.mkdtemp()) / "sharded")
    args = parser.parse_args()

    cluster = None if args.scheduler else LocalCluster(n_workers=2, dashboard_address=":0")
    client = Client(args.scheduler or cluster)
    # One task per shard, each on a worker; the top-level manifest makes the build visible at once.
    ix = searchlib.cluster.build(EXAMPLES / "corpus", args.index_dir, schema=default_schema(), shards=args.shards,
                                 client=client, exclude=["README.md"], overwrite=True)
    # The shards stay open on the workers; a query is two round trips (statistics, then scoring).
    with searchlib.cluster.open(ix.path, client).searcher() as searcher:
        results = searcher.search(args.query, limit=5, formatter="plain")
        print(f"{results.total} documents match {args.query!r} in {ix.shards} shards:")
        for hit in results:
            print(f"{hit.rank}. {hit.score:.3f}  {hit.id}\n   {hit.snippet}")
    client.close()
    if cluster is not None:
        cluster.close()
