"""Relevance evaluation on BEIR-format collections: loading, measures per query, significance.

These are the measures the tests and benchmarks use to show that searchlib ranks as well as its peers
and as the published BM25 figures. They follow the conventions of BEIR and Anserini, so that our numbers
can be compared with theirs:

* only queries that have judgments (qrels) are scored, and the mean is taken over all of them: a judged
  query with no results scores 0; results for unjudged queries are ignored;
* a hit whose document id equals the query id is dropped before scoring (BEIR's
  ``ignore_identical_ids``; some collections contain the query text as a document) -- see
  :func:`clean_run`, which :func:`evaluate` applies;
* nDCG@k uses the qrels score as a linear gain and a ``log2(rank + 1)`` discount, with the ideal ranking
  built from the judged documents, as ``trec_eval``/``pytrec_eval``'s ``ndcg_cut`` do;
* recall@k is the share of a query's relevant documents (score > 0) found in its top k;
* map@k is average precision over the top k (the precision at each relevant hit, summed, divided by
  the query's number of relevant documents), trec_eval's ``map_cut``; mrr@k is 1 / the rank of the
  first relevant hit in the top k (0 if none); p@k is the relevant hits in the top k divided by k
  (trec_eval's ``P``, which divides by k even when fewer hits came back).

:func:`per_query` gives every measure for every judged query (the tests check them against
pytrec_eval); :func:`randomisation_test` is the paired significance test used to compare two
configurations query by query (Smucker, Allan and Carterette, CIKM 2007, recommend it for IR).

A *run* maps a query id to its ranked list of document ids, best first. *qrels* map a query id to
``{doc_id: score}``. :func:`load_beir` reads a collection's files; the other functions are pure
functions of their arguments.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np

from .loaders import load_documents

__all__ = ["BeirData", "load_beir", "load_corpus", "load_trec", "clean_run", "ndcg_at_k", "recall_at_k", "evaluate",
           "MEASURES", "per_query", "randomisation_test"]

Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Mapping[str, int]]


@dataclass
class BeirData:
    """A BEIR collection in memory.

    ``corpus`` keeps file order (a list of ``{"_id", "title", "text"}`` dicts, so that indexing is
    reproducible); ``queries`` maps query id to text (all queries in ``queries.jsonl``, judged or not);
    ``qrels`` maps query id to ``{doc_id: score}`` for the chosen split.
    """

    corpus: list[dict] = field(default_factory=list)
    queries: dict[str, str] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def judged_queries(self) -> dict[str, str]:
        """The queries that have qrels (the ones an evaluation scores), in qrels order."""
        return {qid: self.queries[qid] for qid in self.qrels if qid in self.queries}


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"BEIR file not found: {path}")
    return path


# BEIR's own key names, so the loader renames nothing (it makes `_id` a string, or `id` if absent)
_BEIR_KEYS = {"id_field": "_id", "text_field": "text", "title_field": "title"}


def load_corpus(path: Union[str, Path]) -> list[dict]:
    """A BEIR ``corpus.jsonl`` (or a folder holding one) as ``{"_id", "title", "text"}`` dicts in
    file order; a missing title or text becomes ``""``."""
    path = Path(path)
    path = _require(path / "corpus.jsonl" if path.is_dir() else path)
    return [{"_id": d["_id"], "title": d.get("title") or "", "text": d.get("text") or ""}
            for d in load_documents(path, **_BEIR_KEYS)]


def load_beir(folder: Union[str, Path], split: str = "test") -> BeirData:
    """Load ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` from a BEIR folder.

    Ids are kept as strings (BEIR ids look numeric but are not numbers: ``"0"`` and ``"00"`` differ).
    A missing title becomes ``""``. The qrels file's header line (``query-id corpus-id score``) is
    skipped. The JSONL files are read by :func:`searchlib.loaders.load_documents` (a byte order mark
    is dropped; a line that is not a JSON object raises :class:`~searchlib.errors.DocumentError`).
    Raises :class:`FileNotFoundError` naming the first missing file.
    """
    folder = Path(folder)
    corpus_path = _require(folder / "corpus.jsonl")
    queries_path = _require(folder / "queries.jsonl")
    qrels_path = _require(folder / "qrels" / f"{split}.tsv")

    corpus = load_corpus(corpus_path)
    queries = {q["_id"]: q.get("text") or "" for q in load_documents(queries_path, **_BEIR_KEYS)}

    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8-sig", newline="") as f:  # -sig: a byte order mark is dropped
        for lineno, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            if not row or (lineno == 1 and row[0] == "query-id"):
                continue
            if len(row) < 3:
                raise ValueError(f"{qrels_path}:{lineno}: expected query-id, corpus-id, score")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return BeirData(corpus=corpus, queries=queries, qrels=qrels)


def load_trec(topics: Union[str, Path], qrels: Union[str, Path]) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries and qrels in TREC formats: ``topics`` is either TREC's SGML-like topic file (each
    ``<top>`` with a ``<num>`` and a ``<title>``; the title is the query, as Anserini's default) or
    a tab-separated file of ``query id<TAB>text`` lines; ``qrels`` has ``query-id iteration doc-id
    relevance`` lines separated by white space. ValueError names the file and line of a bad entry."""
    text = Path(topics).read_text(encoding="utf-8-sig")
    queries: dict[str, str] = {}
    if "<top>" in text.lower():
        for block in re.split(r"(?i)<top>", text)[1:]:
            num = re.search(r"(?is)<num>\s*(?:number:)?\s*(\S+)", block)
            title = re.search(r"(?is)<title>\s*(?:topic:)?(.*?)(?=<[a-z/]|\Z)", block)
            if not num or not title:
                raise ValueError(f"{topics}: a <top> without <num> or <title>")
            queries[num.group(1)] = " ".join(title.group(1).split())
    else:
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                qid, sep, query = line.partition("\t")
                if not sep:
                    raise ValueError(f"{topics}:{lineno}: expected query id, a tab, then the query text")
                queries[qid.strip()] = query.strip()
    judged: dict[str, dict[str, int]] = {}
    with open(qrels, encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
                raise ValueError(f"{qrels}:{lineno}: expected query-id iteration doc-id relevance")
            judged.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return queries, judged


def clean_run(run: Run) -> dict[str, list[str]]:
    """Drop every hit whose document id equals its query id (BEIR's convention), keeping the order.

    Returns a new run; the argument is not changed.
    """
    return {qid: [d for d in docs if d != qid] for qid, docs in run.items()}


def _top_unique(docs: Sequence[str], k: int) -> list[str]:
    """The first ``k`` distinct ids of a ranking (a repeated id counts once, at its best rank)."""
    seen: set[str] = set()
    out: list[str] = []
    for d in docs:
        if d not in seen:
            seen.add(d)
            out.append(d)
            if len(out) == k:
                break
    return out


def _discounts(k: int) -> np.ndarray:
    """``1 / log2(rank + 1)`` for ranks 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ndcg_at_k(run: Run, qrels: Qrels, k: int = 10) -> float:
    """Mean nDCG@k over the queries in ``qrels``.

    DCG@k = sum over the top k of ``gain / log2(rank + 1)``, where gain is the document's qrels score
    (0 for an unjudged document; negative scores count as 0). The ideal DCG sorts the query's judged
    gains in decreasing order. A query whose ideal DCG is 0 (no relevant document) or that has no
    results scores 0. Does not drop query-id hits: use :func:`clean_run` or :func:`evaluate` for that.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    if not qrels:
        return 0.0
    disc = _discounts(k)
    scores = np.zeros(len(qrels), dtype=np.float64)
    for i, (qid, judged) in enumerate(qrels.items()):
        ideal = np.sort(np.fromiter((max(g, 0) for g in judged.values()), dtype=np.float64))[::-1][:k]
        idcg = float(ideal @ disc[: len(ideal)])
        if idcg <= 0:
            continue
        docs = _top_unique(run.get(qid, ()), k)
        if not docs:
            continue
        gains = np.fromiter((max(judged.get(d, 0), 0) for d in docs), dtype=np.float64, count=len(docs))
        scores[i] = float(gains @ disc[: len(docs)]) / idcg
    return float(scores.mean())


def recall_at_k(run: Run, qrels: Qrels, k: int = 100) -> float:
    """Mean recall@k over the queries in ``qrels``: relevant documents (score > 0) in the top k,
    divided by the query's number of relevant documents. A query without relevant documents scores 0.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    if not qrels:
        return 0.0
    scores = np.zeros(len(qrels), dtype=np.float64)
    for i, (qid, judged) in enumerate(qrels.items()):
        relevant = {d for d, g in judged.items() if g > 0}
        if not relevant:
            continue
        found = sum(1 for d in _top_unique(run.get(qid, ()), k) if d in relevant)
        scores[i] = found / len(relevant)
    return float(scores.mean())


def evaluate(run: Run, qrels: Qrels, k_ndcg: int = 10, k_recall: int = 100,
             ignore_identical_ids: bool = True) -> dict[str, float]:
    """Score a run the BEIR way: drop query-id hits (unless told not to), then nDCG@k and recall@k.

    Returns ``{"ndcg@10": ..., "recall@100": ..., "queries": n}`` (keys follow ``k_ndcg``/``k_recall``),
    where ``queries`` is the number of judged queries averaged over.
    """
    if ignore_identical_ids:
        run = clean_run(run)
    return {
        f"ndcg@{k_ndcg}": ndcg_at_k(run, qrels, k_ndcg),
        f"recall@{k_recall}": recall_at_k(run, qrels, k_recall),
        "queries": len(qrels),
    }


# -- every measure, per query -------------------------------------------------------------------
MEASURES = ("ndcg@10", "map@100", "recall@100", "mrr@10", "p@10")
_KINDS = ("ndcg", "map", "recall", "mrr", "p")


def parse_measure(name: str) -> tuple[str, int]:
    """("ndcg", 10) from "ndcg@10"; ValueError naming the measure if it is not kind@k."""
    kind, _, k = name.lower().partition("@")
    if kind not in _KINDS or not k.isdigit() or int(k) <= 0:
        raise ValueError(f"unknown measure {name!r}; use one of {', '.join(_KINDS)} followed by @k, e.g. ndcg@10")
    return kind, int(k)


def _query_measures(docs: Sequence[str], judged: Mapping[str, int], wanted: list[tuple[str, int]]) -> list[float]:
    """Every (kind, k) of `wanted` for one query's ranking `docs` (already unique) and judgments."""
    depth = max(k for _, k in wanted)
    docs = list(docs[:depth])
    gains = np.fromiter((max(judged.get(d, 0), 0) for d in docs), dtype=np.float64, count=len(docs))
    rel = gains > 0
    n_rel = sum(1 for g in judged.values() if g > 0)
    out = []
    for kind, k in wanted:
        g, r = gains[:k], rel[:k]
        if kind == "ndcg":
            disc = _discounts(k)
            ideal = np.sort(np.fromiter((max(v, 0) for v in judged.values()), dtype=np.float64))[::-1][:k]
            idcg = float(ideal @ disc[: len(ideal)])
            out.append(float(g @ disc[: len(g)]) / idcg if idcg > 0 else 0.0)
        elif kind == "map":
            ranks = np.flatnonzero(r) + 1
            out.append(float((np.arange(1, len(ranks) + 1) / ranks).sum()) / n_rel if n_rel else 0.0)
        elif kind == "recall":
            out.append(float(r.sum()) / n_rel if n_rel else 0.0)
        elif kind == "mrr":
            first = np.flatnonzero(r)
            out.append(1.0 / (first[0] + 1) if len(first) else 0.0)
        else:  # p
            out.append(float(r.sum()) / k)
    return out


def per_query(run: Run, qrels: Qrels, measures: Sequence[str] = MEASURES,
              ignore_identical_ids: bool = True) -> dict[str, dict[str, float]]:
    """``{measure: {query id: value}}`` for every judged query (those in ``qrels``, in its order);
    a judged query missing from the run scores 0 on every measure. Hits whose id is the query id
    are dropped first unless ``ignore_identical_ids`` is false; a repeated id counts once."""
    wanted = [parse_measure(m) for m in measures]
    if ignore_identical_ids:
        run = clean_run(run)
    depth = max(k for _, k in wanted)
    table: dict[str, dict[str, float]] = {m: {} for m in measures}
    for qid, judged in qrels.items():
        values = _query_measures(_top_unique(run.get(qid, ()), depth), judged, wanted)
        for m, v in zip(measures, values):
            table[m][qid] = v
    return table


def mean_measures(table: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The mean over queries of each measure of a :func:`per_query` table."""
    return {m: float(np.mean(list(v.values()))) if v else 0.0 for m, v in table.items()}


def randomisation_test(a: Sequence[float], b: Sequence[float], trials: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of a paired randomisation (permutation) test that systems A and B, scored
    per query in the same order, have the same mean: each trial flips the sign of each query's
    difference at random, and the p-value is the share of trials whose mean difference is at least
    as far from 0 as the observed one (counting the observed one, so never 0). Seeded: the same
    inputs give the same p-value."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.ndim != 1 or len(d) != len(np.asarray(b)):
        raise ValueError("a and b must be equally long sequences of per-query scores")
    if not len(d) or not np.any(d):
        return 1.0
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, trials, 1000):  # 1000 trials at a time: bounded memory for many queries
        n = min(1000, trials - start)
        signs = rng.integers(0, 2, size=(n, len(d)), dtype=np.int8) * 2 - 1
        hits += int((np.abs(signs @ d) / len(d) >= observed - 1e-12).sum())
    return (hits + 1) / (trials + 1)
