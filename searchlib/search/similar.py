"""More like this: a document's most characteristic terms, and the query that finds its likes.

As Lucene's MoreLikeThis: each term of the document is weighed tf x idf, with tf its frequency in
the document and idf Lucene's classic `1 + ln(N / (df + 1))` (N the units holding the field, df the
term's index-wide document frequency); terms occurring fewer than `min_term_freq` times in the
document, in fewer than `min_doc_freq` or more than `max_doc_freq` units, or shorter than
`min_word_len` / longer than `max_word_len` characters (0: no bound) are left out, and the best
`max_query_terms` become an OR query, each term boosted by its weight over the best weight (Lucene's
`boost` option). The defaults are Lucene's: 2, 5, no bound, 0, 0, 25.

The document's terms come from the index itself, not from re-analysing its stored text: the
postings of the document's units (a document, or its passages in a split field) are found with
one vectorised comparison over the field's posting units, and each posting's term id is where it
falls in the term pointers (a search over the pointer array), so a field that is not stored works
too and no analyzer runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import InvalidArgumentError
from ..query.ast import Boolean, Query, Term
from ..query.compile import BoolNode, Node, TermLeaf
from ..storage.segment import SegmentReader
from .stats import Stats

DEFAULTS = {"min_term_freq": 2, "min_doc_freq": 5, "max_doc_freq": None, "min_word_len": 0, "max_word_len": 0,
            "max_query_terms": 25}


class KeyTerm(NamedTuple):
    """A term of a document with its field and its tf x idf weight."""

    field: str
    term: str
    weight: float


@dataclass(frozen=True)
class Compiled:
    """A query already compiled to a node (what more-like-this runs): `Searcher.search` takes it
    as it takes text, and reports `query`."""

    query: Query
    node: Node


def document_term_freqs(reader: SegmentReader, field: str, doc: int) -> tuple[np.ndarray, np.ndarray]:
    """(term ids, frequencies) of document `doc` in `field` of a segment, summed over its passages."""
    fr = reader.fields.get(field)
    if fr is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if fr.split:
        lo, hi = (int(x) for x in np.searchsorted(np.asarray(fr.unit_doc), [doc, doc + 1]))
    else:
        lo, hi = doc, doc + 1
    unit = np.asarray(fr.unit)
    at = np.flatnonzero((unit >= lo) & (unit < hi)) if hi > lo else np.zeros(0, dtype=np.int64)
    tids = np.searchsorted(np.asarray(fr.ptr), at, side="right") - 1
    found, where = np.unique(tids, return_inverse=True)
    return found, np.bincount(where, weights=np.asarray(fr.tf)[at], minlength=len(found)).astype(np.int64)


def key_terms(reader: SegmentReader, doc: int, fields: list[str], stats: Stats, **options) -> list[KeyTerm]:
    """The document's most characteristic terms, best first (see the module docstring)."""
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise InvalidArgumentError(f"unknown more-like-this options {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}")
    opt = {**DEFAULTS, **options}
    for name, value in opt.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidArgumentError(f"{name} must be a whole number >= 0, got {value!r}")
    out: list[KeyTerm] = []
    for field in fields:
        tids, tf = document_term_freqs(reader, field, doc)
        keep = tf >= opt["min_term_freq"]
        tids, tf = tids[keep], tf[keep]
        if not len(tids):
            continue
        terms = reader.fields[field].dictionary.terms_of(tids.tolist())
        n = stats.field_units(field)
        for term, freq in zip(terms, tf.tolist()):
            if opt["min_word_len"] and len(term) < opt["min_word_len"] or \
                    opt["max_word_len"] and len(term) > opt["max_word_len"]:
                continue
            df = stats.doc_freq(field, term)
            if df < opt["min_doc_freq"] or opt["max_doc_freq"] is not None and df > opt["max_doc_freq"]:
                continue
            out.append(KeyTerm(field, term, freq * (1.0 + float(np.log(n / (df + 1.0))))))
    out.sort(key=lambda k: (-k.weight, k.field, k.term))
    return out[:opt["max_query_terms"]]


def like_query(terms: list[KeyTerm]) -> Compiled | None:
    """An OR of the key terms, each boosted by its weight over the best one; None without terms."""
    if not terms:
        return None
    best = terms[0].weight
    boosts = [round(k.weight / best, 4) if best > 0 else 1.0 for k in terms]
    node = BoolNode(should=[TermLeaf(k.field, k.term, b) for k, b in zip(terms, boosts)])
    query = Boolean(should=tuple(Term(k.field, k.term, b) for k, b in zip(terms, boosts)))
    return Compiled(query, node)
