"""Hybrid retrieval: fuse searchlib's BM25 ranking with rankings from elsewhere (a vector store).

searchlib computes no embeddings. A caller who also runs a vector search hands its `(id, score)`
list here, and gets one ranking back:

    from searchlib.fusion import hybrid_search
    fused = hybrid_search(searcher, "late miscarriage", vector_hits, filter={"year": (2010, None)})

Two rules of fusion, both per document id:

- **reciprocal-rank fusion** (`rrf`, Cormack et al. 2009): each list adds `weight / (k + rank)`;
  it needs no comparable scores, which BM25 and cosine similarity never are;
- **score-normalised fusion** (`normalized`): each list's scores are min-max scaled to [0, 1],
  then summed with the lists' weights (a convex combination when the weights sum to 1).

Hybrid pipelines go wrong where the two sides disagree on what may be returned: the lexical side
applies a filter, the vector side does not (or filters on stale metadata), and excluded documents
come back through the vector list. `hybrid_search` applies the same filter to both: the vector
side's ids are checked against the index with the very filter the search used (`filter_ids`), and
an id the index does not hold is dropped when a filter is given, since it cannot be shown to pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .errors import InvalidArgumentError, SchemaError
from .query.ast import Boolean, Query, Term
from .search import Hit, Results, Searcher

# A ranking: searchlib Results, or (id, score) / (id, score, payload) tuples best first.
Ranking = "Results | Iterable[tuple]"

_ID_CHUNK = 1000  # ids checked per query by filter_ids (under the default 1,024-clause limit)


@dataclass
class Fused:
    """One document of a fused ranking: its id, fused score, and where it came from.

    `ranks` and `scores` give, per input list (by position), the 1-based rank and original score
    of the document in that list (absent where the list did not have it). `hit` is the searchlib
    Hit when a Results list held the document; `payload` the first payload a tuple list carried
    for it (a framework's document object, say).
    """

    id: Any
    score: float
    ranks: dict[int, int] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)
    hit: Hit | None = None
    payload: Any = None


def _entries(ranking: Any) -> list[tuple[Any, float, Any]]:
    """A ranking as (id, score, hit_or_payload) triples, each id once (its best place kept)."""
    if isinstance(ranking, Results):
        rows = [(hit.id, float(hit.score), hit) for hit in ranking]
    else:
        rows = []
        for item in ranking:
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise InvalidArgumentError(f"a ranking holds (id, score) or (id, score, payload) tuples, got {item!r}")
            score = item[1]
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise InvalidArgumentError(f"the score of {item[0]!r} must be a number, got {score!r}")
            rows.append((item[0], float(score), item[2] if len(item) == 3 else None))
    seen: set = set()
    out = []
    for row in rows:  # a flat (passage) Results names a document once per passage: keep its best
        if row[0] not in seen:
            seen.add(row[0])
            out.append(row)
    return out


def _weights(weights: "Sequence[float] | None", n: int) -> list[float]:
    if weights is None:
        return [1.0] * n
    weights = list(weights)
    if len(weights) != n or any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights):
        raise InvalidArgumentError(f"weights must be {n} numbers >= 0, one per ranking, got {weights!r}")
    return [float(w) for w in weights]


def _fuse(rankings: Sequence[Any], contribution, weights, limit: int | None) -> list[Fused]:
    """Sum each list's contribution per id; best first, ties by first appearance."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidArgumentError(f"limit must be a whole number >= 0 or None, got {limit!r}")
    lists = [_entries(r) for r in rankings]
    weights = _weights(weights, len(lists))
    fused: dict[Any, Fused] = {}
    for which, (entries, weight) in enumerate(zip(lists, weights)):
        parts = contribution(entries)
        for rank, ((doc_id, score, extra), part) in enumerate(zip(entries, parts), start=1):
            item = fused.get(doc_id)
            if item is None:
                item = fused[doc_id] = Fused(doc_id, 0.0)
            item.score += weight * part
            item.ranks[which], item.scores[which] = rank, score
            if isinstance(extra, Hit):
                item.hit = item.hit or extra
            elif extra is not None and item.payload is None:
                item.payload = extra
    order = sorted(fused.values(), key=lambda f: -f.score)  # stable: ties keep first appearance
    return order if limit is None else order[:limit]


def rrf(*rankings: Any, k: float = 60.0, weights: "Sequence[float] | None" = None,
        limit: int | None = None) -> list[Fused]:
    """Reciprocal-rank fusion: a document scores sum(weight / (k + rank)) over the lists that hold
    it (rank from 1). `k` (60, as in the paper and Elasticsearch) damps the lead of the top ranks."""
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not k >= 0:
        raise InvalidArgumentError(f"k must be a number >= 0, got {k!r}")
    return _fuse(rankings, lambda entries: [1.0 / (k + r) for r in range(1, len(entries) + 1)], weights, limit)


def normalized(*rankings: Any, weights: "Sequence[float] | None" = None, limit: int | None = None) -> list[Fused]:
    """Score-normalised fusion: each list's scores min-max scaled to [0, 1] (all equal: 1), then
    the weighted sum per document (a document missing from a list gets 0 from it)."""
    def scaled(entries):
        if not entries:
            return []
        scores = [e[1] for e in entries]
        low, high = min(scores), max(scores)
        return [1.0 if high == low else (s - low) / (high - low) for s in scores]
    return _fuse(rankings, scaled, weights, limit)


def filter_ids(searcher: Searcher, ids: Iterable[Any], filter: "str | Query | Mapping[str, Any] | None") -> set:
    """The ids (values of the index's unique key) that the index holds as live documents and that
    pass `filter` (anything `Searcher.search(filter=...)` takes; None: no filter)."""
    key = searcher.schema.unique_field
    if key is None:
        raise SchemaError("filtering ids needs a unique ID field in the schema")
    by_text: dict[str, Any] = {}  # the key as the index holds it -> the caller's id (an int stays an int)
    for i in ids:
        by_text.setdefault(str(i), i)
    wanted = list(by_text)
    passed: set = set()
    for start in range(0, len(wanted), _ID_CHUNK):
        chunk = wanted[start:start + _ID_CHUNK]
        query = Boolean(should=tuple(Term(key, i) for i in chunk))
        res = searcher.search(query, limit=len(chunk), filter=filter, highlight=False)
        passed.update(by_text[str(hit.id)] for hit in res)
    return passed


FUSIONS = ("rrf", "normalized")


def fuse(searcher: Searcher, lexical: Any, others: Sequence[Any], *, method: str = "rrf", k: float = 60.0,
         weights: "Sequence[float] | None" = None, limit: int | None = None,
         filter: "str | Query | Mapping[str, Any] | None" = None) -> list[Fused]:
    """Fuse a searchlib ranking (`lexical`, found with `filter` already) with `others` by `method`
    ("rrf" or "normalized"), the other lists first cut to the ids `filter_ids` lets through when
    a filter is given: one filter for both sides. `weights`: one per list, `lexical` first."""
    if method not in FUSIONS:
        raise InvalidArgumentError(f"fusion method must be 'rrf' or 'normalized', got {method!r}")
    lists: list[Any] = [lexical]
    for other in others:
        entries = _entries(other)
        if filter is not None:
            allowed = filter_ids(searcher, [e[0] for e in entries], filter)
            entries = [e for e in entries if e[0] in allowed]
        lists.append(entries)
    if method == "rrf":
        return rrf(*lists, k=k, weights=weights, limit=limit)
    return normalized(*lists, weights=weights, limit=limit)


def hybrid_search(searcher: Searcher, query: "str | Query", others: Sequence[Any], *, limit: int = 10,
                  depth: int | None = None, method: str = "rrf", k: float = 60.0,
                  weights: "Sequence[float] | None" = None,
                  filter: "str | Query | Mapping[str, Any] | None" = None, **search_options: Any) -> list[Fused]:
    """Search `query` (the best `depth` hits, default 2×limit, at least 20) and `fuse` that ranking
    with each list in `others` (`(id, score[, payload])` tuples, ids being the index's unique key).
    `filter` restricts both sides alike. `search_options` go to `Searcher.search`."""
    if method not in FUSIONS:  # before searching
        raise InvalidArgumentError(f"fusion method must be 'rrf' or 'normalized', got {method!r}")
    depth = max(2 * limit, 20) if depth is None else depth
    lexical = searcher.search(query, limit=depth, filter=filter, **search_options)
    return fuse(searcher, lexical, others, method=method, k=k, weights=weights, limit=limit, filter=filter)
