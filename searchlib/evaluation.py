"""Relevance evaluation on BEIR-format collections: loading, nDCG@k and recall@k.

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
* recall@k is the share of a query's relevant documents (score > 0) found in its top k.

A *run* maps a query id to its ranked list of document ids, best first. *qrels* map a query id to
``{doc_id: score}``. :func:`load_beir` reads a collection's files; the other functions are pure
functions of their arguments.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np

from .loaders import load_documents

__all__ = ["BeirData", "load_beir", "clean_run", "ndcg_at_k", "recall_at_k", "evaluate"]

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

    # BEIR's own key names, so the loader renames nothing (it makes `_id` a string, or `id` if absent)
    beir_keys = {"id_field": "_id", "text_field": "text", "title_field": "title"}
    corpus = [{"_id": d["_id"], "title": d.get("title") or "", "text": d.get("text") or ""}
              for d in load_documents(corpus_path, **beir_keys)]
    queries = {q["_id"]: q.get("text") or "" for q in load_documents(queries_path, **beir_keys)}

    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8-sig", newline="") as f:  # -sig: a byte order mark is dropped
        for lineno, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            if not row or (lineno == 1 and row[0] == "query-id"):
                continue
            if len(row) < 3:
                raise ValueError(f"{qrels_path}:{lineno}: expected query-id, corpus-id, score")
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return BeirData(corpus=corpus, queries=queries, qrels=qrels)


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
