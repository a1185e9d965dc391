"""The `searchlib` command: build an index from files, search it, show its statistics.

    searchlib index INDEX_DIR SOURCE [--config YAML] [--overwrite] [--no-progress] [--exclude GLOB]
                                     [--title-field title] [--body-field body]
    searchlib search INDEX_DIR QUERY [-n 10] [--offset 0] [--json] [--strict] [--and] [--fields title,body]
                                     [--flat] [--format ansi|plain|html]
    searchlib stats INDEX_DIR [--json]
    searchlib check INDEX_DIR [--json]        (exit 0: clean, 1: damaged)
    searchlib migrate-whoosh WHOOSH_DIR NEW_INDEX [--overwrite] [--no-progress]
    searchlib eval DATA_DIR [-c CONFIG ...] [--split test] [--topics FILE --qrels FILE] [--measures ...]
                            [--per-query] [--markdown | --json] [--index-dir DIR]

The command is a thin layer over the public API and `searchlib.loaders`: it parses arguments,
prints results for people (or strict JSON for programs) and turns every expected failure (a bad query,
a missing index, an unreadable file) into one `searchlib: error: ...` line and exit status 2,
never a traceback. Queries typed by a person are parsed leniently unless --strict is given.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from .config import Settings, load_config
from .errors import SearchlibError
from .evaluation import MEASURES
from .highlight import FORMATTERS, get_formatter
from .index import Index
from .loaders import index_documents, load_documents
from .storage.check import check_index
from .schema import ID, TEXT, Schema

PROG = "searchlib"
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130


def default_schema() -> Schema:
    """The schema `searchlib index` uses without --config: an id, a boosted title and a body split into paragraphs."""
    return Schema(id=ID(unique=True, stored=True),
                  title=TEXT(analyzer="english", stored=True, boost=2.0),
                  body=TEXT(analyzer="english", stored=True, passages="paragraph"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default: sys.argv[1:]) and return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already reported
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    _tolerate_unencodable_output()
    try:
        return args.run(args)
    except KeyboardInterrupt:
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
    """The argument parser of the command and its subcommands (index, search, stats, check, migrate-whoosh)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Index files and search them with BM25 passage ranking.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    p.set_defaults(run=run_index)

    p = commands.add_parser("search", help="search an index", description="Search an index and print the best hits.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("query", metavar="QUERY")
    p.add_argument("-n", "--limit", type=_whole_number, default=10, help="hits to show (default: 10)")
    p.add_argument("--offset", type=_whole_number, default=0, help="hits to skip first (for paging)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--strict", action="store_true", help="report query syntax errors instead of reading the "
                                                         "query leniently")
    p.add_argument("--and", dest="match_all", action="store_true", help="require every word (default operator AND)")
    p.add_argument("--fields", type=_field_list, metavar="A,B", help="fields to search (default: the index's)")
    p.add_argument("--flat", action="store_true", help="one hit per passage instead of per document")
    p.add_argument("--format", choices=sorted(FORMATTERS), help="how matches are marked (default: ansi on a "
                                                               "terminal, else plain; plain in JSON)")
    p.set_defaults(run=run_search)

    p = commands.add_parser("stats", help="show an index's statistics", description="Show an index's statistics.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    p.set_defaults(run=run_stats)

    p = commands.add_parser("check", help="verify an index's files (exit 1 if damaged)",
                            description="Re-read every file of the index, compare sizes and checksums with the "
                                        "manifest and check the structure; exit 0 if clean, 1 if damaged.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=Path)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run_check)

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
                        "scoring=bm25|robertson|bm25l|bm25+, delta, expand=rm3|bo1, proximity, operator); repeat to compare (default: the english analyzer, one field)")
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
    return parser


# -- index ---------------------------------------------------------------------------------------


def run_index(args: argparse.Namespace) -> int:
    """`searchlib index`: create or open the index, stream the documents into one commit, summarise."""
    existing = Index.open(args.index_dir) if Index.exists(args.index_dir) else None
    schema, settings = _requested_schema(args.config, existing)
    if existing is not None and not args.overwrite:
        if existing.schema != schema:
            raise SearchlibError(f"{args.index_dir} was built with a different schema than {args.config}; "
                                 "pass --overwrite to rebuild it")
        if existing.settings != settings:
            _warn(f"{args.index_dir} keeps the search settings it was created with; pass --overwrite to apply "
                  f"those of {args.config}")
    # Opened before the index is touched, so a missing source changes nothing.
    documents = load_documents(args.source, id_field=schema.unique_field or "id", text_field=args.body_field,
                               title_field=args.title_field, exclude=args.exclude)
    # Replacing an index with the same schema and settings happens inside the one commit below, so
    # a failure halfway (an unreadable file) leaves the old index as it was.
    replace_in_commit = (args.overwrite and existing is not None and existing.schema == schema
                         and existing.settings == settings)
    if existing is not None and (replace_in_commit or not args.overwrite):
        ix = existing
    else:
        ix = Index.create(args.index_dir, schema, settings, overwrite=args.overwrite)

    started = time.perf_counter()
    writer = ix.writer()
    try:
        if replace_in_commit:
            writer.delete_all()
        # No tqdm monitor thread: the writer forks analysis workers only from a single-threaded process.
        tqdm.monitor_interval = 0
        progress = tqdm(documents, desc="Indexing", unit=" docs", file=sys.stderr,
                        disable=True if args.no_progress else None)
        with progress:
            count = index_documents(writer, progress, warn=_warn)
        writer.commit()
    finally:
        writer.close()
    seconds = time.perf_counter() - started
    rate = count / seconds if seconds > 0 else 0.0
    print(f"Indexed {count} documents from {args.source} in {seconds:.2f} s ({rate:,.0f} docs/s); "
          f"{args.index_dir} now holds {ix.doc_count()} documents.")
    return EXIT_OK


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
    with ix.searcher() as searcher:
        results = searcher.search(args.query, args.limit, offset=args.offset, fields=args.fields,
                                  operator="AND" if args.match_all else None, lenient=not args.strict,
                                  group=not args.flat, formatter=fmt_name)
        if args.json:
            _write_json(results.to_dict())
        else:
            _print_results(results, fmt_name, flat=args.flat)
    return EXIT_OK


def _print_results(results: Any, fmt_name: str, flat: bool) -> None:
    """Hits for people: rank, score, id and title on one line, the snippet indented below, then a count."""
    fmt = get_formatter(fmt_name)
    for hit in results:
        title = hit.fields.get("title")
        head = f"{hit.rank:>3}. {hit.score:7.3f}  {fmt.text(str(hit.id))}"
        if isinstance(title, str) and title.strip():
            head += f"  {fmt.text(title.strip())}"
        print(head)
        if hit.snippet:
            print(f"     {hit.snippet}")
        print()
    if flat:
        summary = f"{len(results)} passages from {results.total} matching documents"
    else:
        summary = f"{len(results)} of {results.total} documents"
    print(f"{summary} ({results.elapsed_ms:.1f} ms)")


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
    """`value` (decoded JSON: dicts, lists and scalars) with NaN and ±infinity replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
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
    tqdm.write(f"{PROG}: warning: {message}", file=sys.stderr)


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
