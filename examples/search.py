"""Example: index a small corpus and search it, with BM25-ranked, highlighted results.

    python examples/search.py                          # index the sample corpus, run a sample query,
                                                       #   show topic counts and "did you mean"
    python examples/search.py "late miscarriage"       # your own query (the query language works:
    python examples/search.py 'title:soap -radio'      #   phrases, fields, +required, -excluded)
    python examples/search.py --corpus my_docs/ "query"    # a folder of .txt/.md files, .jsonl or .csv
    python examples/search.py --limit 3 --index-dir /tmp/ix "query"
    python examples/search.py --corpus examples/corpus-multilingual "搜索引擎"   # Chinese, Japanese,
                                                                  #   Korean, Thai: its own searchlib.yaml

The index is built from examples/searchlib.yaml (schema, analyzers, BM25 and snippet settings), or
from the searchlib.yaml inside the corpus folder when it has one, or from --config, into
indexes/<corpus name>/ in the repository. A fingerprint of the corpus files (names, sizes,
modification times) is saved with the commit, so the next run reuses the index when neither the
corpus nor the configuration has changed, and rebuilds it when either has (or when an earlier
release of searchlib built it, in a format this one does not read).

It uses only the public API (`searchlib`), `searchlib.loaders` and `searchlib.highlight`. Besides the
hits it shows the facet counts of the documents' topics (a KEYWORD field the script adds to the schema
and fills from the file names)
and, on the sample run, "did you mean" for a misspelled query.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES.parent
SAMPLE_CORPUS = EXAMPLES / "corpus"
SAMPLE_EXCLUDE = ("README.md",)  # the corpus's description, not one of its documents
CONFIG = EXAMPLES / "searchlib.yaml"
SAMPLE_QUERY = "miscarriage storyline"
MISSPELLED_QUERY = "miscariage storylne"  # shown corrected ("did you mean") on the sample run
FACET_FIELD = "topics"

try:
    import searchlib  # noqa: F401  (installed, or on PYTHONPATH)
except ImportError:  # run from a checkout without installing: use the package next to this folder
    sys.path.insert(0, str(REPO_ROOT))

from searchlib import KEYWORD, Config, Index, IndexFormatError, Schema, SearchlibError, load_config
from searchlib.highlight import get_formatter
from searchlib.loaders import index_documents, load_documents


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the index, run the query, print the results; return the exit status."""
    args = parse_args(argv)
    corpus = args.corpus if args.corpus is not None else SAMPLE_CORPUS
    exclude = SAMPLE_EXCLUDE if args.corpus is None else ()
    index_dir = args.index_dir if args.index_dir is not None else REPO_ROOT / "indexes" / corpus_name(args.corpus)
    try:
        config = with_topics_field(load_config(args.config if args.config is not None else corpus_config(corpus)))
        ix = open_or_build(index_dir, corpus, config, exclude)
        show_results(ix, args.query, args.limit)
        if args.query == SAMPLE_QUERY and args.corpus is None:  # the sample run: show "did you mean" too
            show_suggestion(ix, MISSPELLED_QUERY)
    except BrokenPipeError:  # output piped into `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit succeeds
        return 0
    except (SearchlibError, OSError) as exc:  # a bad query never gets here: it is read leniently
        message = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: an optional query, --corpus, --limit and --index-dir."""
    parser = argparse.ArgumentParser(description="Index a corpus (the bundled sample by default) and search it.")
    parser.add_argument("query", nargs="?", default=SAMPLE_QUERY, help=f"what to search for (default: {SAMPLE_QUERY!r})")
    parser.add_argument("--corpus", type=Path, metavar="PATH",
                        help="a folder of .txt/.md files, a .jsonl or a .csv file (default: examples/corpus)")
    parser.add_argument("--config", type=Path, metavar="YAML",
                        help="the index configuration (default: the corpus folder's searchlib.yaml if it has one, "
                             "else examples/searchlib.yaml)")
    parser.add_argument("--limit", type=int, default=5, metavar="N", help="results to show (default: 5)")
    parser.add_argument("--index-dir", type=Path, metavar="DIR",
                        help="where the index lives (default: indexes/<corpus name> in the repository)")
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def corpus_config(corpus: Path) -> Path:
    """The configuration of a corpus: a folder's own searchlib.yaml, else the example's."""
    own = corpus / "searchlib.yaml"
    return own if corpus.is_dir() and own.is_file() else CONFIG


def corpus_name(corpus: Path | None) -> str:
    """The folder name under indexes/ for a corpus: 'sample' for the bundled one, else its name."""
    if corpus is None:
        return "sample"
    resolved = corpus.resolve()
    name = resolved.stem if resolved.is_file() else resolved.name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "corpus"


def open_or_build(index_dir: Path, corpus: Path, config: Config, exclude: tuple[str, ...]) -> Index:
    """The index of `corpus`: the existing one if it was built from the same files with the same
    configuration, otherwise a new one built now."""
    # Lists the corpus files now and reads them only while indexing; the key field gets the file
    # name (or a record's _id/id), as in `searchlib index`.
    documents = load_documents(corpus, id_field=config.schema.unique_field or "id", exclude=exclude)
    fingerprint = documents.fingerprint()  # names, sizes and times of exactly these files
    if FACET_FIELD in config.schema:  # topics to count: the words of each file name
        documents = with_topics(documents, config.schema.unique_field or "id")
    if Index.exists(index_dir):
        try:
            ix = Index.open(index_dir)
        except IndexFormatError as exc:  # built by an earlier release of searchlib
            print(f"Rebuilding {index_dir}: {exc.message}")
        else:
            same_config = ix.schema == config.schema and ix.settings == config.settings
            if same_config and ix.metadata.get("corpus_fingerprint") == fingerprint:
                print(f"Reusing index {index_dir} ({ix.doc_count()} documents; the corpus has not changed)")
                return ix
            reason = "the corpus has changed" if same_config else "the configuration has changed"
            print(f"Rebuilding {index_dir}: {reason}")

    print(f"Indexing documents from {corpus} into {index_dir} ...")
    started = time.perf_counter()
    ix = Index.create(index_dir, config.schema, config.settings, overwrite=True)
    writer = ix.writer()
    try:
        # Keys outside the schema are named on stderr and left out; a document whose key was seen
        # before replaces the earlier one.
        count = index_documents(writer, documents, warn=lambda message: print(f"warning: {message}", file=sys.stderr))
        writer.commit(metadata={"corpus": str(corpus), "corpus_fingerprint": fingerprint})
    finally:
        writer.close()
    print(f"Indexed {count} documents in {time.perf_counter() - started:.2f} s")
    return ix


def with_topics_field(config: Config) -> Config:
    """The configuration with a `topics` KEYWORD field added to its schema (stored, so hits show
    it): exact keywords to count as facets. searchlib.yaml leaves it out, so that the command line
    and this script can share the YAML's schema with the command's default one."""
    if FACET_FIELD in config.schema:
        return config
    return dataclasses.replace(config, schema=Schema(**config.schema.fields, **{FACET_FIELD: KEYWORD(stored=True)}))


def with_topics(documents, id_field: str):
    """The documents, each with topics from its name: the words of 001_soap-ratings are soap and
    ratings (a name that is only a number or a hash gives none)."""
    for doc in documents:
        slug = str(doc.get(id_field, "")).split("_", 1)[-1]
        topics = [w for w in re.split(r"[-_ .]+", slug) if w.isalpha() and len(w) > 2]
        yield {**doc, FACET_FIELD: topics} if topics else doc


def show_results(ix: Index, query: str, limit: int) -> None:
    """Run `query` and print each hit: rank, score, id, the highlighted title, and the highlighted snippet.

    Document text (the id and title as well as the snippet) goes through the formatter, which on a
    terminal removes control characters, so a document cannot send escape sequences to it."""
    fmt = get_formatter("ansi" if sys.stdout.isatty() else "plain")
    with ix.searcher() as searcher:
        facets = [FACET_FIELD] if FACET_FIELD in ix.schema else None
        results = searcher.search(query, limit, lenient=True, formatter=fmt, facets=facets, facet_limit=8,
                                  suggest=True)
        print(f"\nQuery: {query}\n")
        for hit in results:
            title = hit.fields.get("title")
            print(f"{hit.rank:>2}. {fmt.text(str(hit.id))}  (score {hit.score:.3f})")
            if isinstance(title, str) and title.strip():  # the title, highlighted where the query matched it
                print(f"    {hit.highlight('title') or fmt.text(title.strip())}")
            if hit.snippet and hit.snippet != hit.highlights.get("title"):  # a title-only match: shown once
                print(f"    {hit.snippet}")
            print()
        print(f"{len(results)} of {results.total} matching documents ({results.elapsed_ms:.1f} ms)")
        if results.facets.get(FACET_FIELD):  # counted over every match, not just the hits shown
            counts = ", ".join(f"{fmt.text(value)} {count}" for value, count in results.facets[FACET_FIELD])
            print(f"Topics of the matching documents: {counts}")
        if results.suggestion:  # few hits, and a corrected query finds more
            print(f"Did you mean: {fmt.text(results.suggestion)}")


def show_suggestion(ix: Index, query: str) -> None:
    """"Did you mean" for a misspelled query: the corrected query and how many documents it finds."""
    with ix.searcher() as searcher:
        found = searcher.search(query, 0, lenient=True, suggest=True)
        print(f"\nQuery: {query}  ->  {found.total} matching documents")
        if found.suggestion:
            better = searcher.search(found.suggestion, 0, lenient=True).total
            print(f"Did you mean: {found.suggestion}  ({better} matching documents)")


if __name__ == "__main__":
    sys.exit(main())
