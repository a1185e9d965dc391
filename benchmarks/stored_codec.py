"""The stored fields' codec: zlib against zstd, on blocks of scale.py's documents as the writer makes them.

    python benchmarks/stored_codec.py --docs 25000            # one segment's worth (the writer's order of size)
    python benchmarks/stored_codec.py --docs 25000 --block-docs 64

Documents (id, title, body, as index_profile.py and scale.py store them) are cut into blocks of
`--block-docs` and encoded as storage/stored.py does (compact JSON); each codec then compresses every
block (CPU per token: per word of title and body, as index_profile.py counts), and a fetch decodes
single blocks in random order through the reader's own path (stored._decompress_block, with its bounds
and checks, then json.loads): what showing one hit costs when its block is not cached. Codecs run
alternating, `--rounds` times; medians. The machine may be shared: quote the ratios.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import zlib
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402  (this folder's corpus generator)
from searchlib.analysis import get_analyzer  # noqa: E402
from searchlib.storage import stored  # noqa: E402


def codecs() -> dict:
    """name -> (compress, codec name for the reader)."""
    found = {"zlib-1": (lambda b: zlib.compress(b, 1), "zlib")}
    for level in (1, 2, 3):
        found[f"zstd-{level}"] = (zstandard.ZstdCompressor(level=level).compress, "zstd")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=25_000)
    parser.add_argument("--block-docs", type=int, default=stored.BLOCK_DOCS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fetches", type=int, default=5_000, help="blocks decoded one at a time, per round")
    args = parser.parse_args()
    vocab = scale.vocabulary()
    docs = [d for chunk in scale.documents(args.docs, vocab, scale.zipf_cdf(len(vocab))) for d in chunk]
    words = get_analyzer("english").tokenizer.words
    tokens = sum(len(words(d[f])) for d in docs for f in ("title", "body"))
    n = args.block_docs
    blocks = [stored._encode(docs[i:i + n]) for i in range(0, len(docs), n)]
    raw = sum(map(len, blocks))
    rng = random.Random(7)
    picks = [rng.randrange(len(blocks)) for _ in range(args.fetches)]
    table = codecs()
    spent = {name: ([], []) for name in table}
    sizes = {}
    for _ in range(args.rounds):
        for name, (compress, codec) in table.items():
            started = time.process_time()
            packed = [compress(b) for b in blocks]
            spent[name][0].append(time.process_time() - started)
            sizes[name] = sum(map(len, packed))
            started = time.process_time()
            for b in picks:
                json.loads(stored._decompress_block(packed[b], codec))
            spent[name][1].append(time.process_time() - started)
    print(f"{len(docs):,} documents, {tokens:,} tokens, {len(blocks):,} blocks of {n}, {raw / 1e6:.1f} MB of JSON")
    print("| codec | compressed MB | ratio | compress µs/token | fetch µs/block (decompress + JSON) |")
    print("|---|---:|---:|---:|---:|")
    for name in table:
        compress_s, fetch_s = (statistics.median(v) for v in spent[name])
        print(f"| {name} | {sizes[name] / 1e6:.2f} | {sizes[name] / raw:.3f} | {1e6 * compress_s / tokens:.4f} | "
              f"{1e6 * fetch_s / len(picks):.1f} |")


if __name__ == "__main__":
    main()
