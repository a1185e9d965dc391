"""The `searchlib` command: build an index from files, search it, show its statistics.

    searchlib index INDEX_DIR SOURCE [--config YAML] [--overwrite] [--no-progress] [--exclude GLOB]
                                     [--title-field title] [--body-field body] [--encoding utf-8]
                                     [--on-error stop|skip] [--ids require|content] [--wait SECONDS]
                                     [--shards N [--scheduler ADDR]]
    searchlib search INDEX_DIR QUERY [-n 10] [--offset 0 | --page 1] [--json] [--strict] [--and]
                                     [--fields title,body] [--flat] [--format ansi|plain|html]
                                     [--sort FIELD[:desc]] [--filter QUERY] [--explain] [--show A,B|all]
                                     [--passages]
    searchlib delete INDEX_DIR [ID ...] [--query QUERY] [--wait SECONDS]
    searchlib optimize INDEX_DIR [--wait SECONDS]
    searchlib stats INDEX_DIR [--json]
    searchlib check INDEX_DIR [--json]        (exit 0: clean, 1: damaged)
    searchlib migrate-whoosh WHOOSH_DIR NEW_INDEX [--overwrite] [--no-progress]
    searchlib eval DATA_DIR [-c CONFIG ...] [--split test] [--topics FILE --qrels FILE] [--measures ...]
                            [--per-query] [--markdown | --json] [--index-dir DIR]
    searchlib --version;  searchlib (alone) prints this help

The command is a thin layer over the public API and `searchlib.loaders`: it parses arguments,
prints results for people (or strict JSON for programs) and turns every expected failure (a bad query,
a missing index, an unreadable file) into one `searchlib: error: ...` line and exit status 2,
never a traceback; every warning is one `searchlib: warning: ...` line, and Ctrl-C one
`searchlib: interrupted: ...` line saying what became of the index (exit status 130). Queries
typed by a person are parsed leniently unless --strict is given.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .config import Settings, load_config
from .errors import InvalidArgumentError, SearchlibError
from .evaluation import MEASURES
from .highlight import FORMATTERS, get_formatter
from .index import Index, settings_differences
from .loaders import IDS, ON_ERROR, Documents, index_documents, load_documents
from .storage.check import check_index
from .storage.components import SEGMENTS_DIR
from .storage.lock import LOCK_NAME
from .storage.manifest import generations, is_sharded, manifest_name
from .schema import ID, TEXT, Schema
from .writequeue import QUEUE_DIR

PROG = "searchlib"
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130


def default_schema() -> Schema:
    """The schema `searchlib index` uses without --config: an id, a boosted title and a body split into paragraphs."""
    return Schema(id=ID(unique=True, stored=True),
                  title=TEXT(analyzer="english", stored=True, boost=2.0),
                  body=TEXT(analyzer="english", stored=True, passages="paragraph"))


class Interrupted(Exception):
    """Ctrl-C, with what became of the index (the message of the one line the command prints)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default: sys.argv[1:]) and return its exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # bare `searchlib`: what it can do, not an error
        parser.print_help()
        return EXIT_OK
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has already reported
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    _tolerate_unencodable_output()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning  # every warning as one `searchlib: warning:` line
            return args.run(args)
    except Interrupted as exc:
        print(f"{PROG}: interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `searchlib search ... | head`: the reader left, nothing to report
        _silence_stdout()
        return EXIT_OK
    except SearchlibError as exc:
        return _fail(str(exc))
    except OSError as exc:  # a missing source, an unreadable file, a full disk
        if exc.filename is not None and exc.strerror:
            return _fail(f"{exc.filename}: {exc.strerror}")
        return _fail(str(exc))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command and its subcommands, one `_add_<command>` each."""
    parser = argparse.ArgumentParser(prog=PROG, description="Index files and search them with BM25 passage ranking.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_index, _add_search, _add_delete, _add_optimize, _add_stats, _add_check, _add_migrate_whoosh,
                _add_eval):
        add(commands)
    return parser


def _add_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", type=_seconds, metavar="SECONDS",
                   help="how long to wait for another writer to finish (default: the index's writer.lock_timeout, "
                        "30 s unless configured; 0: fail at once)")


def _add_index(commands: Any) -> None:
    p = commands.add_parser("index", help="create an index or add files to one",
                            description="Index a folder of .txt/.md files, a .jsonl file or a .csv file. "
                                        "Documents whose id is already in the index replace the old version.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("source", metavar="SOURCE", type=Path, help="folder of .txt/.md files, .jsonl or .csv file")
    p.add_argument("--config", type=Path, metavar="YAML", help="schema and settings for a new index")
    p.add_argument("--overwrite", action="store_true", help="replace an existing index instead of adding to it")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="skip the files of a folder matching this pattern, e.g. README.md (repeatable)")
    p.add_argument("--title-field", default="title", metavar="NAME",
                   help="field that receives a document's title (default: title)")
    p.add_argument("--body-field", default="body", metavar="NAME",
                   help="field that receives a document's text (default: body)")
    p.add_argument("--encoding", default="utf-8", metavar="CODEC",
                   help="the files' text encoding, e.g. latin-1 or cp1252 (default: utf-8)")
    p.add_argument("--on-error", choices=ON_ERROR, default="stop",
                   help="stop at the first file, line or document that cannot be read (default), or skip it "
                        "and list what was skipped at the end")
    p.add_argument("--ids", choices=IDS, default="require",
                   help="a JSONL/CSV record without an id: an error naming its line (require, the default), or "
                        "an id made from its content, the same on every run (content)")
    _add_wait(p)
    p.add_argument("--shards", type=_whole_number, metavar="N", help="build a sharded index of N shards on Dask "
                   "(needs searchlib[dask]; replaces the index at INDEX_DIR only with --overwrite)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler to build on (default: a local "
                   "cluster, one worker per core)")
    p.set_defaults(run=run_index)


def _add_search(commands: Any) -> None:
    p = commands.add_parser("search", help="search an index", description="Search an index and print the best hits.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("query", metavar="QUERY", nargs="?", help="the query (not needed with --more-like or --complete)")
    p.add_argument("-n", "--limit", type=_whole_number, default=10, help="hits to show (default: 10)")
    p.add_argument("--offset", type=_whole_number, default=None, help="hits to skip first (for paging)")
    p.add_argument("--page", type=_page_number, default=None, help="the page of -n hits to show, from 1")
    p.add_argument("--json", action="store_true", help="print the results as JSON: rank, id, score, title and "
                                                       "snippet of each hit (--show and --passages add more)")
    p.add_argument("--strict", action="store_true", help="report query syntax errors instead of reading the "
                                                         "query leniently")
    p.add_argument("--and", dest="match_all", action="store_true", help="require every word (default operator AND)")
    p.add_argument("--fields", type=_field_list, metavar="A,B", help="fields to search (default: the index's)")
    p.add_argument("--flat", action="store_true", help="one hit per passage instead of per document")
    p.add_argument("--format", choices=sorted(FORMATTERS), help="how matches are marked (default: ansi on a "
                                                               "terminal, else plain; plain in JSON)")
    p.add_argument("--sort", type=_sort_spec, metavar="FIELD[:desc]",
                   help="order by a NUMERIC or DATETIME field, or the id, instead of the score (e.g. date:desc)")
    p.add_argument("--filter", action="append", default=[], metavar="QUERY",
                   help="keep only documents matching this query, without changing scores (repeatable: all must "
                        "match), e.g. 'year:>=2010' or 'tags:news'")
    p.add_argument("--explain", action="store_true", help="show how each hit's score is computed")
    p.add_argument("--show", type=_show_list, metavar="A,B|all",
                   help="stored fields to print with each hit or put in the JSON (all: every stored field)")
    p.add_argument("--passages", action="store_true", help="with --json: include each hit's best passages")
    add_discovery_flags(p)
    p.set_defaults(run=run_search)


def _add_delete(commands: Any) -> None:
    p = commands.add_parser("delete", help="delete documents by id or by query",
                            description="Delete the documents with the given ids, or those matching --query, in "
                                        "one commit.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("ids", metavar="ID", nargs="*", help="unique keys of the documents to delete")
    p.add_argument("--query", metavar="QUERY", help="delete every document matching this query (strict syntax)")
    _add_wait(p)
    p.set_defaults(run=run_delete)


def _add_optimize(commands: Any) -> None:
    p = commands.add_parser("optimize", help="merge the index into one segment",
                            description="Merge every segment into one, dropping deleted documents.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    _add_wait(p)
    p.set_defaults(run=run_optimize)


def _add_stats(commands: Any) -> None:
    p = commands.add_parser("stats", help="show an index's statistics", description="Show an index's statistics.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    p.set_defaults(run=run_stats)


def _add_check(commands: Any) -> None:
    p = commands.add_parser("check", help="verify an index's files (exit 1 if damaged)",
                            description="Re-read every file of the index, compare sizes and checksums with the "
                                        "manifest and check the structure; exit 0 if clean, 1 if damaged.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run_check)


def _add_migrate_whoosh(commands: Any) -> None:
    p = commands.add_parser("migrate-whoosh", help="turn a Whoosh index into a searchlib index",
                            description="Create a searchlib index from a Whoosh index: map its schema and "
                                        "analyzers, copy every stored document, and print what was mapped and "
                                        "what could not be recovered. Needs the whoosh extra. Opening a Whoosh "
                                        "index unpickles data: migrate only indexes you trust.")
    p.add_argument("whoosh_dir", metavar="WHOOSH_DIR", type=Path)
    p.add_argument("new_index", metavar="NEW_INDEX", type=Path)
    p.add_argument("--overwrite", action="store_true", help="replace an existing searchlib index at NEW_INDEX")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_migrate_whoosh)


def _add_eval(commands: Any) -> None:
    p = commands.add_parser("eval", help="evaluate and compare index configurations on a judged collection",
                            description="Index a BEIR-layout collection (corpus.jsonl, queries.jsonl, "
                                        "qrels/SPLIT.tsv) once per configuration, run its judged queries (top "
                                        "100) and print nDCG@10, MAP@100, R@100, MRR@10 and P@10. With two or "
                                        "more configurations the first is the baseline: '+'/'-' marks a "
                                        "difference with p < 0.05 in a paired randomisation test, and the last "
                                        "column gives the per-query wins/losses.")
    p.add_argument("data_dir", metavar="DATA_DIR", type=Path, help="BEIR-layout folder (its corpus.jsonl at least)")
    p.add_argument("-c", "--config", dest="configs", action="append", metavar="CONFIG",
                   help="a YAML configuration, or key=value pairs such as 'analyzer=snowball-english,k1=0.9' "
                        "(keys: name, analyzer, fields=single|title-body, title_boost, config, k1, b, "
                        "scoring=bm25|robertson|bm25l|bm25+, delta, expand=rm3|bo1, proximity, operator); "
                        "repeat to compare (default: the english analyzer, one field)")
    p.add_argument("--split", default="test", help="qrels/SPLIT.tsv to score (default: test)")
    p.add_argument("--topics", type=Path, help="TREC topics file (or id<TAB>text lines) instead of queries.jsonl")
    p.add_argument("--qrels", type=Path, help="TREC qrels file instead of qrels/SPLIT.tsv (needs --topics)")
    p.add_argument("--measures", default=",".join(MEASURES), metavar="M,M",
                   help=f"measures to report, the first one decides wins/losses (default: {','.join(MEASURES)})")
    p.add_argument("--depth", type=_whole_number, default=100, help="hits retrieved per query (default: 100)")
    p.add_argument("--per-query", action="store_true", help="also print the first measure for every query")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--index-dir", type=Path, help="keep the indexes here and reuse them next time "
                                                   "(default: a temporary folder, deleted afterwards)")
    p.set_defaults(run=run_eval)


# -- index ---------------------------------------------------------------------------------------


def run_index(args: argparse.Namespace) -> int:
    """`searchlib index`: create or open the index, stream the documents into one commit, summarise.

    A run that fails or is interrupted commits nothing; an index it created is removed again, so
    the directory is as it was."""
    if args.shards is not None or is_sharded(args.index_dir):
        return run_index_sharded(args)
    existing = Index.open(args.index_dir) if Index.exists(args.index_dir) else None
    schema, settings = _requested_schema(args.config, existing)
    if existing is not None and not args.overwrite:
        if existing.schema != schema:
            raise SearchlibError(f"{args.index_dir} was built with a different schema than {args.config}; "
                                 "pass --overwrite to rebuild it")
        changed = settings_differences(existing.settings, settings)
        if changed:
            _warn(f"{args.index_dir} keeps the settings it was created with ({', '.join(changed)} differ); pass "
                  f"--overwrite to apply those of {args.config}")
    # Opened before the index is touched, so a missing source changes nothing.
    documents = load_documents(args.source, id_field=schema.unique_field or "id", text_field=args.body_field,
                               title_field=args.title_field, exclude=args.exclude, encoding=args.encoding,
                               on_error=args.on_error, ids=args.ids)
    # Replacing an index with the same schema and settings happens inside the one commit below, so
    # a failure halfway (an unreadable file) leaves the old index as it was.
    replace_in_commit = (args.overwrite and existing is not None and existing.schema == schema
                         and existing.settings == settings)
    created_dir = not args.index_dir.exists()
    if existing is not None and (replace_in_commit or not args.overwrite):
        ix = existing
    else:
        ix = Index.create(args.index_dir, schema, settings, overwrite=args.overwrite)
    try:
        with _children_ignore_sigint():
            count, seconds, skipped = _index_into(ix, documents, args, replace_in_commit)
    except BaseException as exc:
        outcome = "nothing from this run was committed"
        if existing is None:
            _remove_new_index(args.index_dir, created_dir)
            outcome += f"; the new index was removed, {args.index_dir} is as it was"
        elif not replace_in_commit and args.overwrite:
            outcome += f"; {args.index_dir} was replaced by an empty index (--overwrite)"
        else:
            outcome += f"; {args.index_dir} is as it was"
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(outcome) from None
        if isinstance(exc, SearchlibError) and existing is None:
            raise SearchlibError(f"{exc} ({outcome})") from None
        raise
    rate = count / seconds if seconds > 0 else 0.0
    print(f"Indexed {count} documents from {args.source} in {seconds:.2f} s ({rate:,.0f} docs/s); "
          f"{args.index_dir} now holds {ix.doc_count()} documents.")
    if skipped:
        print(f"Skipped {len(skipped)} (--on-error skip):")
        for message in skipped:
            print(f"  {message}")
    return EXIT_OK


def run_index_sharded(args: argparse.Namespace) -> int:
    """`searchlib index --shards N`: build a sharded index on Dask (one task per shard), or add the
    files to an existing sharded index through its writer (documents routed by key)."""
    from .cluster import build
    started = time.perf_counter()
    if is_sharded(args.index_dir) and not args.overwrite:
        if args.shards is not None and args.shards != Index.open(args.index_dir).shards:
            raise SearchlibError(f"{args.index_dir} has {Index.open(args.index_dir).shards} shards; pass --overwrite "
                                 f"to rebuild it with {args.shards}")
        ix = Index.open(args.index_dir)
        documents = load_documents(args.source, id_field=ix.schema.unique_field or "id", text_field=args.body_field,
                                   title_field=args.title_field, exclude=args.exclude, **_loader_options(args))
        with ix.writer(timeout=args.wait) as writer:
            count = index_documents(writer, documents, warn=_warn)
    else:
        schema, settings = _requested_schema(args.config, None)
        client = None
        if args.scheduler:
            from distributed import Client
            client = Client(args.scheduler)
        try:
            ix = build(args.source, args.index_dir, schema=schema, settings=settings, shards=args.shards, client=client,
                       overwrite=args.overwrite, progress=not args.no_progress, text_field=args.body_field,
                       title_field=args.title_field, exclude=args.exclude, **_loader_options(args))
        finally:
            if client is not None:
                client.close()
        count = ix.doc_count()
    seconds = time.perf_counter() - started
    print(f"Indexed {count} documents from {args.source} in {seconds:.2f} s; {args.index_dir} now holds "
          f"{ix.doc_count()} documents in {ix.shards} shards.")
    return EXIT_OK


def _loader_options(args: argparse.Namespace) -> dict:
    return {"encoding": args.encoding, "on_error": args.on_error, "ids": args.ids}


def _index_into(ix: Index, documents: Documents, args: argparse.Namespace, replace: bool
                ) -> tuple[int, float, list[str]]:
    """Write every document in one commit, with a progress bar (a total, percentage and time
    left, the files counted first) and a line for the commit; (documents, seconds, skipped)."""
    started = time.perf_counter()
    skipped = documents.skipped
    writer = ix.writer(timeout=args.wait)
    try:
        if replace:
            writer.delete_all()
        from tqdm import tqdm  # imported when a progress bar is shown: `searchlib search` starts faster

        # No tqdm monitor thread: the writer forks analysis workers only from a single-threaded process.
        tqdm.monitor_interval = 0
        progress = tqdm(documents, total=documents.count_hint(), desc="Indexing", unit=" docs", file=sys.stderr,
                        disable=True if args.no_progress else None, dynamic_ncols=True)
        shown = not progress.disable  # (closing the bar disables it)
        with progress:
            count = index_documents(writer, progress, warn=_warn,
                                    skipped=skipped if args.on_error == "skip" else None)
        if shown:
            tqdm.write(f"Committing {count:,} documents (writing the last segment and merging)...", file=sys.stderr)
        writer.commit()
    finally:
        writer.close()
    return count, time.perf_counter() - started, skipped


def _remove_new_index(path: Path, created_dir: bool) -> None:
    """Remove the files of an index this run created (manifests, segments, queue, lock), and the
    directory too if the run made it: a failed first `searchlib index` leaves nothing behind."""
    try:
        for generation in generations(path):
            (path / manifest_name(generation)).unlink(missing_ok=True)
    except SearchlibError:
        pass
    for name in (SEGMENTS_DIR, QUEUE_DIR):
        shutil.rmtree(path / name, ignore_errors=True)
    (path / LOCK_NAME).unlink(missing_ok=True)
    if created_dir:
        try:
            path.rmdir()
        except OSError:
            pass


_IGNORE_SIGINT_IN_CHILDREN = False


def _ignore_sigint_in_child() -> None:
    if _IGNORE_SIGINT_IN_CHILDREN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ignore_sigint_in_child)


class _children_ignore_sigint:
    """While indexing, processes forked for analysis ignore Ctrl-C (the terminal sends it to the
    whole process group): the command handles it once, and the writer stops its workers."""

    def __enter__(self) -> None:
        global _IGNORE_SIGINT_IN_CHILDREN
        _IGNORE_SIGINT_IN_CHILDREN = True

    def __exit__(self, *exc: Any) -> None:
        global _IGNORE_SIGINT_IN_CHILDREN
        _IGNORE_SIGINT_IN_CHILDREN = False


def _requested_schema(config_path: Path | None, existing: Index | None) -> tuple[Schema, Settings]:
    """The schema and settings to index with: those of --config, else the existing index's, else the defaults."""
    if config_path is not None:
        config = load_config(config_path)
        return config.schema, config.settings
    if existing is not None:
        return existing.schema, existing.settings
    return default_schema(), Settings()


# -- search --------------------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    """`searchlib search`: run one query and print the hits (readable, or JSON)."""
    ix = Index.open(args.index_dir)
    if args.json:
        fmt_name = args.format or "plain"
    else:
        fmt_name = args.format or ("ansi" if _is_terminal(sys.stdout) else "plain")
    if args.page is not None and args.offset is not None:
        raise SearchlibError("give --page or --offset, not both")
    offset = (args.page - 1) * args.limit if args.page is not None else (args.offset or 0)
    sort_by, reverse = args.sort if args.sort is not None else (None, False)
    query_filter = " AND ".join(f"({text})" for text in args.filter) or None
    with ix.searcher() as searcher:
        if run_discovery(args, searcher, fmt_name, offset, query_filter):
            return EXIT_OK
        results = searcher.search(args.query, args.limit, offset=offset, fields=args.fields,
                                  operator="AND" if args.match_all else None, lenient=not args.strict,
                                  group=not args.flat, formatter=fmt_name, filter=query_filter, sort_by=sort_by,
                                  reverse=reverse, **discovery_options(args))
        explanations = None
        if args.explain:
            explanations = [searcher.explain(args.query, hit.id, fields=args.fields, lenient=not args.strict,
                                             operator="AND" if args.match_all else None) for hit in results]
        if args.json:
            _write_json(_results_json(results, args.show, args.passages, explanations))
        else:
            _print_results(results, fmt_name, flat=args.flat, show=args.show, explanations=explanations)
            print_discovery(results)
    return EXIT_OK


def _results_json(results: Any, show: "list[str] | None", passages: bool,
                  explanations: "list | None") -> dict:
    """The JSON of `search --json`: per hit its rank, id, score, title (when stored) and snippet;
    the stored fields of --show and the passages of --passages only when asked for."""
    out = results.to_dict()
    hits = []
    for i, hit in enumerate(results):
        item: dict[str, Any] = {"rank": hit.rank, "id": hit.id, "score": round(hit.score, 6)}
        title = hit.fields.get("title")
        if title is not None:
            item["title"] = title
        item["snippet"] = hit.snippet
        if show is not None:
            item["fields"] = _shown(hit.fields, show)
        if passages:
            item["passages"] = [p.to_dict() for p in hit.passages]
        if explanations is not None:
            item["explanation"] = explanations[i].to_dict()
        if hit.group_size is not None:  # --collapse
            item.update(group_value=hit.group_value, group_size=hit.group_size)
        hits.append(item)
    out["hits"] = hits
    return out


def _shown(fields: dict, show: list[str]) -> dict:
    return dict(fields) if show == ["all"] else {name: fields[name] for name in show if name in fields}

# -- search: facets, collapse, did you mean, more like this, autocomplete -------------------------


def add_discovery_flags(p: argparse.ArgumentParser) -> None:
    """The `search` options beyond ranking (facets, collapse, suggestions, similar documents,
    completion), kept together."""
    p.add_argument("--facet", action="append", default=[], metavar="FIELD[=INTERVAL]",
                   help="count the matches' values of a KEYWORD/ID/NUMERIC/DATETIME field (repeatable); "
                        "FIELD=month (year, quarter, week, day, hour, minute) for a date histogram, "
                        "FIELD=10 for numeric buckets of that width")
    p.add_argument("--facet-limit", type=_whole_number, default=10, metavar="N", help="values per facet (default: 10)")
    p.add_argument("--collapse", metavar="FIELD", help="keep the first hit per value of a KEYWORD or ID field "
                   "(by score, or by --sort; passages with --flat)")
    p.add_argument("--suggest", action="store_true",
                   help="say 'did you mean' when the query finds nothing and a correction finds hits")
    p.add_argument("--more-like", metavar="ID", help="documents like the one with this id (instead of QUERY)")
    p.add_argument("--complete", metavar="PREFIX", help="complete the last word of PREFIX (instead of QUERY); "
                                                        "the field is the first of --fields, or the default")


def discovery_options(args: argparse.Namespace) -> dict:
    """search() keywords for --facet, --facet-limit, --collapse and --suggest."""
    options: dict = {}
    if args.facet:
        facets: dict = {}
        for spec in args.facet:
            name, _, interval = spec.partition("=")
            facets[name] = _interval(interval) if interval else None
        options.update(facets=facets, facet_limit=args.facet_limit or 1)
    if args.collapse:
        options["collapse"] = args.collapse
    if args.suggest:
        options["suggest"] = True
    return options


def _interval(text: str) -> "str | float":
    try:
        return float(text)
    except ValueError:
        return text


def run_discovery(args: argparse.Namespace, searcher: Any, fmt_name: str, offset: int, query_filter: str | None
                  ) -> bool:
    """Answer --complete or --more-like (True), or check that a QUERY was given (False: search it)."""
    if args.complete is not None:
        field = args.fields[0] if args.fields else None
        found = searcher.complete(args.complete, field=field, limit=args.limit or 1)
        if args.json:
            _write_json({"prefix": args.complete, "completions": [{"text": c.text, "doc_freq": c.doc_freq}
                                                                  for c in found]})
        else:
            for c in found:
                print(f"{c.doc_freq:>8}  {c.text}")
            if not found:
                print(f"no completions of {args.complete!r}")
        return True
    if args.more_like is not None:
        results = searcher.more_like_this(args.more_like, fields=args.fields, limit=args.limit, offset=offset,
                                          formatter=fmt_name, filter=query_filter, **discovery_options(args))
        if args.json:
            _write_json({**_results_json(results, args.show, args.passages, None), "like": args.more_like})
        else:
            print(f"like {args.more_like}: {results.query}\n")
            _print_results(results, fmt_name, flat=False, show=args.show)
            print_discovery(results)
        return True
    if args.query is None:
        raise InvalidArgumentError("search needs a QUERY (or --more-like ID, or --complete PREFIX)")
    return False


def print_discovery(results: Any) -> None:
    """Facet counts, collapsed groups and "did you mean", below the hits."""
    if results.groups is not None:
        print(f"{results.groups} groups")
    for name, counts in results.facets.items():
        print(f"\n{name}:" + ("" if counts else " (no values among the matches)"))
        for value, count in counts:
            label = "-".join("*" if v is None else str(v) for v in value) if isinstance(value, tuple) else str(value)
            print(f"  {count:>8}  {label}")
    if results.suggestion:
        print(f"\ndid you mean: {results.suggestion}")


def _print_results(results: Any, fmt_name: str, flat: bool, show: "list[str] | None" = None,
                   explanations: "list | None" = None) -> None:
    """Hits for people: rank, score, id and title on one line, the snippet indented below, then a count."""
    fmt = get_formatter(fmt_name)
    for i, hit in enumerate(results):
        title = hit.fields.get("title")
        head = f"{hit.rank:>3}. {hit.score:7.3f}  {fmt.text(str(hit.id))}"
        if isinstance(title, str) and title.strip():  # highlighted where the query matched it
            head += f"  {hit.highlight('title') or fmt.text(title.strip())}"
        if hit.group_size is not None and hit.group_size > 1:
            head += f"  (+{hit.group_size - 1} more with {fmt.text(str(hit.group_value))})"
        print(head)
        if hit.snippet and hit.snippet != hit.highlights.get("title"):
            print(f"     {hit.snippet}")
        for name, value in _shown(hit.fields, show).items() if show is not None else ():
            shown = value.isoformat() if isinstance(value, _dt.datetime) else value
            print(f"     {fmt.text(name)}: {fmt.text(str(shown))}")
        if explanations is not None:
            for line in str(explanations[i]).splitlines():
                print(f"       {line}")
        print()
    total = results.total if results.total_is_exact else f"at least {results.total:,}"
    if flat:
        summary = f"{len(results)} passages from {total} matching documents"
    else:
        summary = f"{len(results)} of {total} documents"
    print(f"{summary} ({results.elapsed_ms:.1f} ms)")


# -- delete and optimize ---------------------------------------------------------------------------


def run_delete(args: argparse.Namespace) -> int:
    """`searchlib delete`: delete documents by id and/or by query, in one commit."""
    if not args.ids and args.query is None:
        raise SearchlibError("name the documents to delete: one or more ids, or --query QUERY")
    ix = Index.open(args.index_dir)
    with ix.writer(timeout=args.wait) as writer:
        deleted = sum(writer.delete(key) for key in args.ids)
        if args.query is not None:
            deleted += writer.delete_by_query(args.query)
    print(f"Deleted {deleted} documents; {args.index_dir} now holds {ix.doc_count()} documents.")
    return EXIT_OK


def run_optimize(args: argparse.Namespace) -> int:
    """`searchlib optimize`: merge the index into one segment, dropping deleted documents."""
    ix = Index.open(args.index_dir)
    before = ix.stats()
    started = time.perf_counter()
    ix.optimize(timeout=args.wait)
    after = ix.stats()
    print(f"Optimized {args.index_dir} in {time.perf_counter() - started:.2f} s: {before['segments']} segments "
          f"-> {after['segments']}, {before['deleted']:,} deleted documents dropped, "
          f"{_size(before['size_bytes'])} -> {_size(after['size_bytes'])}.")
    return EXIT_OK


# -- eval ----------------------------------------------------------------------------------------


def run_eval(args: argparse.Namespace) -> int:
    """`searchlib eval`: index the collection per configuration, score the runs, compare them."""
    import tempfile

    from .evaluation import BeirData, load_beir, load_corpus, load_trec, parse_measure
    from .experiment import Configuration, parse_configuration, run_experiment

    measures = tuple(m.strip().lower() for m in args.measures.split(",") if m.strip())
    try:
        for m in measures:
            parse_measure(m)
        if args.topics or args.qrels:
            if not (args.topics and args.qrels):
                raise ValueError("--topics and --qrels go together")
            queries, qrels = load_trec(args.topics, args.qrels)
            data = BeirData(corpus=load_corpus(args.data_dir), queries=queries, qrels=qrels)
        else:
            data = load_beir(args.data_dir, args.split)
    except ValueError as exc:
        return _fail(str(exc))
    if not measures:
        return _fail("--measures names no measure")
    configs = [parse_configuration(c) for c in args.configs] if args.configs else [Configuration.single_field()]
    with tempfile.TemporaryDirectory(prefix="searchlib-eval-") as tmp:
        exp = run_experiment(data, configs, args.index_dir or tmp, measures, args.depth)
    if args.json:
        _write_json(exp.to_json(per_query_scores=args.per_query))
        return EXIT_OK
    print(f"{args.data_dir.name}: {len(data.qrels)} judged queries, {len(data.corpus)} documents")
    print(exp.table(markdown=args.markdown))
    if args.per_query:
        print()
        print(exp.per_query_table(markdown=args.markdown))
    return EXIT_OK


# -- stats ---------------------------------------------------------------------------------------


def run_stats(args: argparse.Namespace) -> int:
    """`searchlib stats`: the index's counts and sizes, readable or as JSON."""
    stats = Index.open(args.index_dir).stats()
    if args.json:
        _write_json(stats)
        return EXIT_OK
    if "shards" in stats:
        return _print_sharded_stats(stats)
    print(f"Index       {stats['path']}")
    print(f"Generation  {stats['generation']}")
    print(f"Documents   {stats['documents']:,} live, {stats['deleted']:,} deleted")
    print(f"Segments    {stats['segments']}")
    print(f"Size        {_size(stats['size_bytes'])}")
    settings = stats["settings"]
    print(f"BM25        k1={settings['k1']:g} b={settings['b']:g}, default operator {settings['operator']}")
    rows = [("field", "type", "terms", "tokens", "units", "avg length")]
    for name, info in stats["fields"].items():
        rows.append((name, info["type"], f"{sum(info['terms_per_segment']):,}", f"{info['tokens']:,}",
                     f"{info['units']:,}", f"{info['avg_length']:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print("Fields      (terms summed over segments; units are documents, or passages for split fields)")
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])] + [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
        print("  " + "  ".join(cells))
    return EXIT_OK


def _print_sharded_stats(stats: dict) -> int:
    """A sharded index's totals, then one line per shard."""
    print(f"Index       {stats['path']} (sharded)")
    print(f"Generation  {stats['generation']}")
    print(f"Documents   {stats['documents']:,} live, {stats['deleted']:,} deleted")
    print(f"Size        {_size(stats['size_bytes'])}")
    print("Shards      shard  dir          generation  documents  deleted  segments  size")
    for sh in stats["shards"]:
        print(f"            {sh['shard']:>5}  {sh['dir']:<11}  {sh['generation']:>10}  {sh['documents']:>9,}  "
              f"{sh['deleted']:>7,}  {sh['segments']:>8}  {_size(sh['size_bytes'])}")
    return EXIT_OK


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# -- check ---------------------------------------------------------------------------------------

EXIT_DAMAGED = 1


def run_check(args: argparse.Namespace) -> int:
    """`searchlib check`: verify every file of the index; exit 1 when anything is damaged."""
    report = check_index(args.index_dir)
    if args.json:
        _write_json(report.to_dict())
    else:
        print(report.format())
    return EXIT_OK if report.ok else EXIT_DAMAGED


# -- migrate-whoosh ------------------------------------------------------------------------------


def run_migrate_whoosh(args: argparse.Namespace) -> int:
    """`searchlib migrate-whoosh`: build a searchlib index from a Whoosh index and print the report."""
    from .compat.whoosh import import_index  # imported here: whoosh is an optional dependency

    report = import_index(args.whoosh_dir, args.new_index, overwrite=args.overwrite,
                          progress=not args.no_progress and _is_terminal(sys.stderr))
    print(report)
    return EXIT_OK


# -- helpers -------------------------------------------------------------------------------------


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _page_number(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError("pages are numbered from 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _sort_spec(text: str) -> tuple[str, bool]:
    """FIELD, FIELD:asc or FIELD:desc as (field, reverse)."""
    name, _, order = text.partition(":")
    if not name or order not in ("", "asc", "desc"):
        raise argparse.ArgumentTypeError(f"expected FIELD, FIELD:asc or FIELD:desc, got {text!r}")
    return name, order == "desc"


def _show_list(text: str) -> list[str]:
    return ["all"] if text.strip() == "all" else _field_list(text)


def _field_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected field names separated by commas, e.g. title,body")
    return names


def _is_terminal(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _write_json(data: Any) -> None:
    """Print `data` as strict JSON (RFC 8259 has no NaN or Infinity, which Python's json writes by
    default and other parsers refuse). A non-finite number, such as the infinity an index built
    by searchlib 0.1 may hold in a NUMERIC field, is printed as null."""
    _write_utf8(json.dumps(_finite(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    """`value` (decoded JSON: dicts, lists and scalars, and datetimes of DATETIME fields) with NaN
    and ±infinity replaced by None and datetimes written in ISO 8601."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _write_utf8(text: str) -> None:
    """Write `text` to stdout as UTF-8 whatever the locale's encoding (JSON output is always UTF-8)."""
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if buffer is None or encoding == "utf8":
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def _tolerate_unencodable_output() -> None:
    """On a terminal whose encoding lacks some characters of a document, print escapes, not crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def _warn(message: str) -> None:
    """A warning on stderr that does not break a running progress bar."""
    from tqdm import tqdm

    tqdm.write(f"{PROG}: warning: {message}", file=sys.stderr)


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None,
                  line: Any = None) -> None:
    """warnings.showwarning while the command runs: `searchlib: warning: ...`, never a source line."""
    _warn(str(message))


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
