"""Evaluating index configurations on a judged collection, and comparing them query by query.

What PyTerrier's ``Experiment(..., baseline=0)`` and Anserini's regressions give IR people, for
searchlib: each :class:`Configuration` (a schema and settings to index with, plus per-query search
options such as ``k1``, ``b``) is indexed once on the collection's corpus, every judged query is run
through ``Searcher.search`` (lenient parsing, top ``depth``), and the run is scored with
:mod:`searchlib.evaluation`. With two or more configurations the first is the baseline: each other
one gets, per measure, its difference from the baseline, a paired randomisation test's p-value and
its per-query wins, losses and ties.

Documents go into the schema's fields by a fixed rule: the unique ID field gets ``_id``; if the
schema has a TEXT field named ``title``, the title goes there and the text into the first other
TEXT field; otherwise the first TEXT field gets ``title + "\\n" + text`` (one field, the way
BEIR's BM25 baselines index). Configurations with the same schema share one index.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .config import Settings, load_config
from .errors import ConfigError
from .evaluation import MEASURES, BeirData, mean_measures, per_query, randomisation_test
from .index import Index
from .schema import ID, TEXT, Schema

__all__ = ["Configuration", "ConfigResult", "Comparison", "Experiment", "run_experiment", "parse_configuration"]

# per-query options a configuration may carry (passed to Searcher.search)
SEARCH_OPTIONS = ("k1", "b", "delta", "proximity", "operator", "scoring", "expand")


@dataclass
class Configuration:
    """A named way to index and search: the schema and settings the index is built with, and
    options given to every ``search()`` call (``k1``, ``b``, ...)."""

    name: str
    schema: Schema
    settings: Settings = field(default_factory=Settings)
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def single_field(cls, name: str | None = None, analyzer: "str | Mapping" = "english", **options: Any
                     ) -> "Configuration":
        """Title and text as one TEXT field `body` analysed by `analyzer` (a preset name or spec)."""
        schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer=analyzer, stored=False))
        return cls(name or (analyzer if isinstance(analyzer, str) else "custom"), schema, Settings(), options)

    @classmethod
    def title_body(cls, name: str | None = None, analyzer: "str | Mapping" = "english", title_boost: float = 1.0,
                   **options: Any) -> "Configuration":
        """A `title` TEXT field boosted by `title_boost` and a `body` TEXT field, searched together (BM25F)."""
        schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer=analyzer, stored=False, boost=title_boost),
                        body=TEXT(analyzer=analyzer, stored=False))
        return cls(name or f"title^{title_boost:g}+body", schema, Settings(), options)

    @classmethod
    def from_yaml(cls, path: "str | Path", name: str | None = None, **options: Any) -> "Configuration":
        """The schema and settings of a YAML configuration (its `path:` is ignored)."""
        config = load_config(path)
        return cls(name or Path(path).stem, config.schema, config.settings, options)

    def index_key(self) -> str:
        """What decides the index's contents: configurations with equal keys share one index."""
        data = json.dumps({"schema": self.schema.to_json(), "settings": self.settings.to_json()}, sort_keys=True)
        return hashlib.sha1(data.encode()).hexdigest()[:12]


def parse_configuration(text: str) -> Configuration:
    """A configuration from the command line: a YAML file's path, or ``key=value`` pairs separated
    by commas, e.g. ``name=snowball,analyzer=snowball-english,k1=0.9``. Keys: name, analyzer,
    fields (``single`` or ``title-body``), title_boost, config (a YAML path) and the per-query
    options k1, b, delta, proximity, operator, scoring (a BM25 variant) and expand (rm3, bo1). ConfigError names an unknown key or a bad value."""
    if "=" not in text:
        return Configuration.from_yaml(text)
    pairs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("configuration", f"expected key=value, got {part!r}")
        pairs[key] = value.strip()
    allowed = {"name", "analyzer", "fields", "title_boost", "config", *SEARCH_OPTIONS}
    for key in pairs:
        if key not in allowed:
            raise ConfigError(f"configuration.{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
    options: dict[str, Any] = {}
    for key in ("k1", "b", "delta", "proximity"):
        if key in pairs:
            try:
                options[key] = float(pairs[key])
            except ValueError:
                raise ConfigError(f"configuration.{key}", f"must be a number, got {pairs[key]!r}") from None
    if "operator" in pairs:
        options["operator"] = pairs["operator"].upper()
    for key in ("scoring", "expand"):
        if key in pairs:
            options[key] = pairs[key].lower()
    name = pairs.get("name") or text
    if "config" in pairs:
        return Configuration.from_yaml(pairs["config"], name, **options)
    analyzer = pairs.get("analyzer", "english")
    layout = pairs.get("fields", "single")
    if layout == "single":
        return Configuration.single_field(name, analyzer, **options)
    if layout == "title-body":
        try:
            boost = float(pairs.get("title_boost", "1"))
        except ValueError:
            raise ConfigError("configuration.title_boost", f"must be a number, got {pairs['title_boost']!r}") from None
        return Configuration.title_body(name, analyzer, boost, **options)
    raise ConfigError("configuration.fields", f"{layout!r} is not one of single, title-body")


def documents(corpus: Sequence[Mapping[str, str]], schema: Schema) -> list[dict[str, str]]:
    """The corpus's documents as the schema's fields, by the rule in the module docstring."""
    key = schema.unique_field
    texts = schema.text_fields()
    if key is None or not texts:
        raise ConfigError("schema", "evaluation needs a unique ID field and at least one TEXT field")
    if "title" in texts and len(texts) > 1:
        body = next(n for n in texts if n != "title")
        return [{key: d["_id"], "title": d.get("title", ""), body: d.get("text", "")} for d in corpus]
    body = texts[0]
    return [{key: d["_id"], body: f"{d.get('title', '')}\n{d.get('text', '')}"} for d in corpus]


def build_index(corpus: Sequence[Mapping[str, str]], config: Configuration, path: Path) -> Index:
    """The index of `corpus` for `config` at `path`, reused when a finished one is there already
    (a marker file written after the commit says so)."""
    done = path / "eval-complete"
    if done.exists():
        return Index(path)
    ix = Index.create(path, config.schema, config.settings, overwrite=True)
    with ix.writer() as w:
        for doc in documents(corpus, config.schema):
            w.add(doc)
    done.write_text(str(len(corpus)))
    return ix


@dataclass
class ConfigResult:
    """One configuration's run, scores per query (``{measure: {query id: value}}``), mean scores,
    and the median milliseconds per query."""

    name: str
    run: dict[str, list[str]]
    per_query: dict[str, dict[str, float]]
    means: dict[str, float]
    ms_per_query: float


@dataclass
class Comparison:
    """A configuration against the baseline on one measure."""

    name: str
    measure: str
    delta: float
    p_value: float
    wins: int
    losses: int
    ties: int


@dataclass
class Experiment:
    """The results of :func:`run_experiment`: one ConfigResult per configuration (the first is the
    baseline) and the comparisons of the others with it."""

    measures: tuple[str, ...]
    results: list[ConfigResult]
    comparisons: list[Comparison]

    def comparison(self, name: str, measure: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.name == name and c.measure == measure), None)

    def table(self, markdown: bool = False) -> str:
        """Means per configuration; after each non-baseline mean, the sign of a difference with
        p < 0.05 (``+``/``-``) and the wins/losses on the first measure."""
        head = ["configuration", *self.measures, "ms/query"]
        if len(self.results) > 1:
            head.append(f"wins/losses ({self.measures[0]})")
        rows = []
        for r in self.results:
            row = [r.name]
            for m in self.measures:
                cell = f"{r.means[m]:.4f}"
                c = self.comparison(r.name, m)
                if c is not None and c.p_value < 0.05:
                    cell += " +" if c.delta > 0 else " -"
                row.append(cell)
            row.append(f"{r.ms_per_query:.2f}")
            if len(self.results) > 1:
                c = self.comparison(r.name, self.measures[0])
                row.append("baseline" if c is None else f"{c.wins}/{c.losses} (p={c.p_value:.3f})")
            rows.append(row)
        return _render(head, rows, markdown)

    def per_query_table(self, markdown: bool = False) -> str:
        """One row per query and measure... the first measure only: query id, then each configuration's value."""
        m = self.measures[0]
        head = ["query", *(f"{r.name} {m}" for r in self.results)]
        qids = list(self.results[0].per_query[m])
        rows = [[q, *(f"{r.per_query[m][q]:.4f}" for r in self.results)] for q in qids]
        return _render(head, rows, markdown)

    def to_json(self, per_query_scores: bool = False) -> dict:
        out: dict[str, Any] = {"measures": list(self.measures), "configurations": [], "comparisons": []}
        for r in self.results:
            item: dict[str, Any] = {"name": r.name, "means": r.means, "ms_per_query": r.ms_per_query}
            if per_query_scores:
                item["per_query"] = r.per_query
            out["configurations"].append(item)
        out["comparisons"] = [c.__dict__ for c in self.comparisons]
        return out


def _render(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def run_configuration(searcher, queries: Mapping[str, str], depth: int = 100, **options: Any
                      ) -> tuple[dict[str, list[str]], float]:
    """The run of `queries` on an open searcher (lenient parsing, top `depth`, `options` passed
    to search) and the median milliseconds per query."""
    run: dict[str, list[str]] = {}
    times = []
    for qid, text in queries.items():
        t = time.perf_counter()
        res = searcher.search(text, limit=depth, lenient=True, highlight=False, **options)
        run[qid] = [h.id for h in res]
        times.append(time.perf_counter() - t)
    return run, 1000 * float(np.median(times)) if times else 0.0


def compare(results: Sequence[ConfigResult], measures: Sequence[str], trials: int = 10_000) -> list[Comparison]:
    """Each result after the first against the first, per measure: mean difference, randomisation
    test p-value, and queries won, lost and tied (by more than 1e-9)."""
    base = results[0]
    out = []
    for r in results[1:]:
        for m in measures:
            qids = list(base.per_query[m])
            a = np.array([r.per_query[m][q] for q in qids])
            b = np.array([base.per_query[m][q] for q in qids])
            d = a - b
            out.append(Comparison(r.name, m, float(d.mean()) if len(d) else 0.0, randomisation_test(a, b, trials),
                                  int((d > 1e-9).sum()), int((d < -1e-9).sum()), int((np.abs(d) <= 1e-9).sum())))
    return out


def run_experiment(data: BeirData, configurations: Sequence[Configuration], index_dir: "str | Path",
                   measures: Sequence[str] = MEASURES, depth: int = 100, trials: int = 10_000) -> Experiment:
    """Index `data.corpus` once per distinct schema under `index_dir` (reused across calls), run
    the judged queries for every configuration, score them and compare them with the first."""
    if not configurations:
        raise ValueError("give at least one configuration")
    names = [c.name for c in configurations]
    if len(set(names)) != len(names):
        raise ValueError(f"configuration names must differ, got {names}")
    depth = max(depth, *(int(m.partition("@")[2] or 0) for m in measures))
    corpus_key = hashlib.sha1(json.dumps([d["_id"] for d in data.corpus]).encode()).hexdigest()[:8]
    queries = data.judged_queries
    results = []
    for config in configurations:
        ix = build_index(data.corpus, config, Path(index_dir) / f"{corpus_key}-{config.index_key()}")
        with ix.searcher() as searcher:
            run, ms = run_configuration(searcher, queries, depth, **config.options)
        table = per_query(run, data.qrels, measures)
        results.append(ConfigResult(config.name, run, table, mean_measures(table), ms))
    return Experiment(tuple(measures), results, compare(results, measures, trials) if len(results) > 1 else [])
