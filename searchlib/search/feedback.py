"""Pseudo-relevance feedback: expand a query with words of its best documents (RM3, Bo1).

The feedback documents' term vectors are read from the index's postings (no stored text is
re-analysed): a boolean mask of the feedback units, gathered over a field's postings, picks theirs
in one vectorised pass per segment, whatever the query.

- ``rm3`` (Lavrenko and Croft's relevance model, interpolated, as Anserini's `Rm3Reranker` computes
  it; defaults 10 documents, 10 terms, original query weight 0.5): words in more than 10% of the
  documents are dropped, each feedback document keeps its 10 most frequent words, P(w|R) = sum over
  feedback documents d of score(d) * tf(w, d) / (sum of d's kept tfs), the best 10 words are kept
  and normalised to sum 1; the expanded query is 0.5 * (the original query, each of its words worth
  1 / its word count) + 0.5 * sum_w P(w|R) * w. BM25 is linear in a clause's boost, so this scores
  Anserini's weighted bag of words for plain queries, and keeps the phrases, fields and operators of
  any other query as they are.
- ``bo1`` (Amati's Bose-Einstein model; Terrier's defaults: 3 documents, 10 terms): w(t) = tfx *
  log2((1 + Pn) / Pn) + log2(1 + Pn), with tfx the word's frequency in the feedback documents and
  Pn = F / N its mean frequency in the collection; the expanded query is the original one plus
  sum_t (w(t) / max w) * t.

Only words of 2 to 20 letters or digits, not all digits, are added (Anserini's filter).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..query.compile import BoolNode, ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf, leaves
from .postings import posting_slots


@dataclass(frozen=True)
class FeedbackModel:
    """How to expand: the method, feedback documents, words added, and (RM3) the original query's weight."""

    method: str = "rm3"
    docs: int = 10
    terms: int = 10
    original_weight: float = 0.5

    def __post_init__(self):
        if self.method not in ("rm3", "bo1"):
            raise InvalidArgumentError(f"unknown expansion {self.method!r}; choose rm3 or bo1")
        for key in ("docs", "terms"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"expansion {key} must be a whole number >= 1, got {value!r}")
        if not 0 <= self.original_weight <= 1:
            raise InvalidArgumentError(f"original_weight must be between 0 and 1, got {self.original_weight!r}")


MODELS = {"rm3": FeedbackModel("rm3", 10, 10, 0.5), "bo1": FeedbackModel("bo1", 3, 10, 1.0)}


def feedback_model(expand: "str | FeedbackModel") -> FeedbackModel:
    """The model for `expand`: a name ("rm3", "bo1") with its defaults, or a FeedbackModel as is."""
    if isinstance(expand, FeedbackModel):
        return expand
    if expand not in MODELS:
        raise InvalidArgumentError(f"unknown expansion {expand!r}; choose one of {', '.join(MODELS)}")
    return MODELS[expand]


def term_vectors(readers, field: str, picked: list[tuple[int, int]]
                 ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The words of field `field` in the documents `picked` ((segment, document) pairs, in rank
    order): (words, their tf matrix of shape (len(picked), len(words)) as float64, each word's
    document frequency over every segment). Read from the postings, vectorised per segment: a
    mask of the feedback units gathered over the field's postings picks theirs."""
    by_word: dict[str, int] = {}
    rows, cols, tfs = [], [], []
    df_parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # segment: (columns, posting-list lengths)
    for seg in sorted({s for s, _ in picked}):
        fr = readers[seg].fields.get(field)
        if fr is None:
            continue
        docs = np.array([d for s, d in picked if s == seg], dtype=np.int64)
        row_of = np.array([i for i, (s, _) in enumerate(picked) if s == seg], dtype=np.int64)
        order = np.argsort(docs)  # sorted, so that searchsorted finds a posting's row
        docs, row_of = docs[order], row_of[order]
        unit = np.asarray(fr.unit)
        wanted = np.zeros(fr.units, dtype=bool)
        if fr.split:  # passages: a document's words are its passages' words
            unit_doc = np.asarray(fr.unit_doc)
            wanted[np.isin(unit_doc, docs)] = True
            at = np.flatnonzero(wanted[unit])
            owner = unit_doc[unit[at]]
        else:
            wanted[docs] = True
            at = np.flatnonzero(wanted[unit])
            owner = unit[at]
        ptr = np.asarray(fr.ptr)
        tids = np.searchsorted(ptr, at, side="right") - 1
        uniq, inverse = np.unique(tids, return_inverse=True)
        col_of = np.array([by_word.setdefault(w, len(by_word)) for w in fr.dictionary.terms_of(uniq.tolist())],
                          dtype=np.int64)
        rows.append(row_of[np.searchsorted(docs, owner)])
        cols.append(col_of[inverse])
        tfs.append(np.asarray(fr.tf, dtype=np.float64)[at])
        df_parts[seg] = (col_of, (ptr[uniq + 1] - ptr[uniq]).astype(np.float64))
    words = list(by_word)
    matrix = np.zeros((len(picked), len(words)))
    df = np.zeros(len(words))
    if rows:
        np.add.at(matrix, (np.concatenate(rows), np.concatenate(cols)), np.concatenate(tfs))
    for seg, r in enumerate(readers):  # df over every segment: counted where read, looked up elsewhere
        fr = r.fields.get(field)
        if fr is None or not words:
            continue
        known = np.zeros(len(words), dtype=bool)
        if seg in df_parts:
            col_of, counts = df_parts[seg]
            df[col_of] += counts
            known[col_of] = True
        for i in np.flatnonzero(~known).tolist():
            df[i] += fr.doc_freq(words[i])
    return words, matrix, df


def _addable(words: list[str]) -> np.ndarray:
    """Which words may be added: 2 to 20 letters or digits, not only digits (Anserini's filter,
    with Unicode letters instead of a-z)."""
    return np.array([2 <= len(w) <= 20 and w.isalnum() and not w.isdigit() for w in words], dtype=bool)


def rm3_weights(words: list[str], tf: np.ndarray, scores: np.ndarray, doc_freq: np.ndarray, n_docs: int,
                n_terms: int, max_df_ratio: float = 0.1) -> dict[str, float]:
    """RM3's relevance model as Anserini estimates it: words in more than `max_df_ratio` of the
    documents are dropped (a collection-independent stop list), each feedback document keeps its
    `n_terms` most frequent words, P(w|R) = sum_d score(d) * tf(w, d) / (sum of d's kept tfs), and
    the best `n_terms` words are normalised to sum 1."""
    if not words:
        return {}
    keep = _addable(words) & (np.asarray(doc_freq, dtype=np.float64) <= max_df_ratio * n_docs)
    tf = np.where(keep[None, :], tf, 0.0)
    if tf.shape[1] > n_terms:  # each document's n_terms most frequent words
        cut = -np.partition(-tf, n_terms - 1, axis=1)[:, n_terms - 1:n_terms]
        ranks = np.argsort(np.argsort(-tf, axis=1, kind="stable"), axis=1, kind="stable")
        tf = np.where((tf >= cut) & (ranks < n_terms), tf, 0.0)
    norms = tf.sum(axis=1)
    ok = norms > 0
    p = (np.asarray(scores, dtype=np.float64)[ok, None] * tf[ok] / norms[ok, None]).sum(axis=0)
    return _best(words, p, n_terms, normalise="sum")


def bo1_weights(words: list[str], tf: np.ndarray, collection_freq: np.ndarray, n_docs: int, n_terms: int
                ) -> dict[str, float]:
    """Bo1's weights of the best `n_terms` words, divided by the largest."""
    if not words:
        return {}
    tfx = tf.sum(axis=0)
    pn = np.maximum(collection_freq, 1) / max(n_docs, 1)
    w = tfx * np.log2((1 + pn) / pn) + np.log2(1 + pn)
    w[~_addable(words)] = 0
    return _best(words, w, n_terms, normalise="max")


def _best(words: list[str], weight: np.ndarray, n: int, normalise: str) -> dict[str, float]:
    order = np.argsort(-weight, kind="stable")[:n]
    order = order[weight[order] > 0]
    if not len(order):
        return {}
    top = weight[order]
    top = top / (top.sum() if normalise == "sum" else top.max())
    return {words[i]: float(v) for i, v in zip(order.tolist(), top.tolist())}


def collection_freq(readers, field: str, words: list[str]) -> np.ndarray:
    """Each word's total frequency in the field over every segment (deleted documents included, as idf's df)."""
    total = np.zeros(len(words))
    for r in readers:
        fr = r.fields.get(field)
        if fr is None:
            continue
        tids = np.array([fr.term_id(w) for w in words], dtype=np.int64)
        present = np.flatnonzero(tids >= 0)
        if len(present):
            idx, counts = posting_slots(fr, tids[present])
            sums = np.add.reduceat(np.asarray(fr.tf, dtype=np.float64)[idx], np.r_[0, np.cumsum(counts)[:-1]]) \
                if len(idx) else np.zeros(len(present))
            total[present] += np.where(np.asarray(counts) > 0, sums, 0)
    return total


def original_words(node: Node) -> int:
    """The scoring clauses of the original query: its positive words and phrases (at least 1)."""
    return max(1, sum(1 for leaf, negated in leaves(node)
                      if not negated and isinstance(leaf, (TermLeaf, FieldsLeaf, PhraseLeaf, ExpandLeaf))))


def expanded_node(node: Node, weights: dict[str, float], model: FeedbackModel, fields: dict[str, float],
                  words: int | None = None) -> Node:
    """The original node and the weighted feedback words as one OR: RM3 weighs the original by
    original_weight / its word count (`words`, or original_words(node)) and the words by
    1 - original_weight; Bo1 adds the words to the original as they are. `fields`: the TEXT
    fields searched, with their weights (the query's default-field boost times the field's boost).
    A node with proximity's pairs passes the count of its words without them, so the pairs ride
    along at their own small weight instead of diluting the words' (Anserini's L1 norm counts words)."""
    if not weights:
        return node
    if model.method == "rm3":
        original_boost = model.original_weight / (words or original_words(node))
        word_scale = 1.0 - model.original_weight
    else:
        original_boost, word_scale = 1.0, 1.0
    added: list[Node] = []
    for word, w in weights.items():
        if w * word_scale <= 0:
            continue
        if len(fields) == 1:
            (f, fw), = fields.items()
            added.append(TermLeaf(f, word, fw * w * word_scale))
        else:
            added.append(FieldsLeaf({f: word for f in fields}, dict(fields), w * word_scale))
    original = node if original_boost == 1.0 else BoolNode(should=[node], boost=original_boost)
    return BoolNode(should=[original, *added]) if added else node


def expand_node(readers, stats, node: Node, picked: list[tuple[int, int]], scores: np.ndarray,
                model: FeedbackModel, text_fields: dict[str, float], query_words: int | None = None
                ) -> tuple[Node, dict[str, float]]:
    """`node` expanded from the feedback documents `picked` ((segment, document), best first, with
    their `scores`) over the searched TEXT fields `text_fields` (name: weight), and the words added
    with their weights (`query_words`: as expanded_node's `words`). The fields' words are pooled
    (one analyzer per word, as BM25F assumes); a word's df is its most common field's."""
    words: list[str] = []
    tf = np.zeros((len(picked), 0))
    df = np.zeros(0)
    for f in text_fields:
        fwords, ftf, fdf = term_vectors(readers, f, picked)
        index = {w: i for i, w in enumerate(words)}
        extra = [w for w in fwords if w not in index]
        index.update({w: len(words) + i for i, w in enumerate(extra)})
        words = words + extra
        tf = np.hstack([tf, np.zeros((len(picked), len(extra)))])
        df = np.concatenate([df, np.zeros(len(extra))])
        cols = [index[w] for w in fwords]
        tf[:, cols] += ftf
        df[cols] = np.maximum(df[cols], fdf)
    n_docs = max(stats.doc_count, 1)
    if model.method == "rm3":
        chosen = rm3_weights(words, tf, scores, df, n_docs, model.terms)
    else:
        cf = sum(collection_freq(readers, f, words) for f in text_fields)
        chosen = bo1_weights(words, tf, cf, n_docs, model.terms)
    return expanded_node(node, chosen, model, text_fields, query_words), chosen
