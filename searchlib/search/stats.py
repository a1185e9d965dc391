"""Index-wide statistics for one snapshot: N, average lengths, document frequencies, expansions.

The first stage of a search: what BM25's idf and length normalisation need, summed over the
snapshot's segments (so a document scores the same however the index is split into segments),
and the terms a prefix, wildcard or fuzzy clause expands to in the snapshot's dictionaries.

Statistics can also come from outside (a coordinator of shards, searchlib/cluster/): each shard
`gather`s its part for a query, `sum_stats` adds the parts up, and every shard scores with
`SuppliedStats` holding the sums, so a sharded search scores exactly as one index would.
"""
from __future__ import annotations

import itertools
import sys
from typing import Any, Iterable, Mapping

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..errors import SearchlibError
from ..query.compile import ExpandLeaf, FieldsLeaf, Node, PhraseLeaf, TermLeaf, leaves
from ..query.expand import DEFAULT_MAX_EXPANSIONS, Expander, Expansion, _best
from ..scoring import idf
from ..storage.segment import SegmentReader
from .postings import distinct, term_postings


class Stats:
    """Index-wide statistics over a searcher's segments: unit counts, average lengths, document
    frequencies; and the expansions of multi-term queries over those segments. Deleted documents
    count until their segment is merged, as in Lucene.

    A Weight reads every statistic it scores with from here, once per search; nothing below the
    Weight asks the segments for statistics. So a coordinator of shards can hand every shard the
    same statistics, summed over shards, and each shard scores as one index would."""

    def __init__(self, readers: list[SegmentReader]):
        self.readers = readers
        self.doc_count = sum(r.doc_count for r in readers)
        self.units: dict[str, int] = {}
        self.tokens: dict[str, int] = {}
        for r in readers:
            for name, fr in r.fields.items():
                self.units[name] = self.units.get(name, 0) + fr.info.get("nonempty", r.doc_count)
                self.tokens[name] = self.tokens.get(name, 0) + fr.info.get("tokens", 0)
        self._df: dict[tuple[str, str], int] = {}
        self._idf: dict[tuple[str, str, str], float] = {}
        self._fields_df: dict[tuple, int] = {}
        self.expander = Expander(readers)

    def avg_length(self, fname: str) -> float:
        units = self.units.get(fname, 0)
        return self.tokens.get(fname, 0) / units if units else 0.0

    def doc_freq(self, fname: str, term: str) -> int:
        key = (fname, term)
        if key not in self._df:
            self._df[key] = sum(r.fields[fname].doc_freq(term) for r in self.readers if fname in r.fields)
        return self._df[key]

    def field_units(self, fname: str) -> int:
        """N for a field's idf: the units (documents or passages) holding the field."""
        return max(self.units.get(fname, 0), 1)

    def idf(self, fname: str, term: str, variant: str = "bm25") -> float:
        """The word's idf in the field for the BM25 variant (scoring.idf), kept for the next query."""
        key = (fname, term, variant)
        value = self._idf.get(key)
        if value is None:
            value = self._idf[key] = float(idf(self.field_units(fname), self.doc_freq(fname, term), variant))
        return value

    def fields_doc_freq(self, terms: Mapping[str, str]) -> int:
        """Documents holding the word in any of the fields (each field's own term), index-wide."""
        key = tuple(sorted(terms.items()))
        if key not in self._fields_df:
            total = 0
            for r in self.readers:
                docs, split = [], False
                for fname, term in terms.items():
                    found = term_postings(r, fname, term)
                    if found is not None:
                        fr, units = r.fields[fname], found[0]
                        docs.append(np.asarray(fr.unit_doc)[units] if fr.split else units)
                        split |= fr.split
                if len(docs) == 1 and not split:
                    total += len(docs[0])
                elif docs:
                    total += len(distinct(np.concatenate(docs)))
            self._fields_df[key] = total
        return self._fields_df[key]

    def fields_idf(self, terms: Mapping[str, str], variant: str = "bm25") -> float:
        """BM25F idf: N = documents in the index, df = documents with the word in any field."""
        return float(idf(max(self.doc_count, 1), self.fields_doc_freq(terms), variant))

    def expand(self, leaf: ExpandLeaf) -> Expansion:
        return self.expander.expand(leaf.field, leaf.kind, leaf.text, leaf.max_expansions, leaf.max_dist,
                                    leaf.prefix_length)

    def expansion_idf(self, leaf: ExpandLeaf, variant: str = "bm25") -> tuple[Expansion, np.ndarray]:
        """The leaf's expansion and the idf of each of its terms."""
        exp = self.expand(leaf)
        return exp, idf(self.field_units(leaf.field), exp.doc_freq.astype(np.float64), variant)

    def gather(self, nodes: "Iterable[Node | None]") -> dict[str, Any]:
        """This snapshot's part of every statistic the compiled `nodes` score with (their
        leaves' document frequencies, the uncapped expansions of their multi-term leaves, and the
        unit and token counts), as plain data that `sum_stats` adds up over shards."""
        part: dict[str, Any] = {"doc_count": self.doc_count, "units": dict(self.units), "tokens": dict(self.tokens),
                                "df": {}, "fields_df": {}, "expansions": {}}
        for node in nodes:
            for leaf, _ in leaves(node):
                kind = type(leaf)
                if kind is TermLeaf:
                    part["df"][(leaf.field, leaf.term)] = self.doc_freq(leaf.field, leaf.term)
                elif kind is PhraseLeaf:
                    for _, term in leaf.terms:
                        part["df"][(leaf.field, term)] = self.doc_freq(leaf.field, term)
                elif kind is FieldsLeaf:
                    part["fields_df"][tuple(sorted(leaf.terms.items()))] = self.fields_doc_freq(leaf.terms)
                elif kind is ExpandLeaf:
                    exp = self.expander.expand(leaf.field, leaf.kind, leaf.text, sys.maxsize, leaf.max_dist,
                                               leaf.prefix_length)
                    part["expansions"][_expansion_key(leaf)] = (exp.terms, exp.doc_freq)
        return part


def _expansion_key(leaf: ExpandLeaf) -> tuple:
    return (leaf.field, leaf.kind, leaf.text, leaf.max_dist, leaf.prefix_length, leaf.max_expansions)


def sum_stats(parts: "list[dict[str, Any]]") -> dict[str, Any]:
    """The statistics of several snapshots holding disjoint documents (shards), from their
    `gather`ed parts: counts and document frequencies add up; an expansion is the union of the
    parts' terms with summed frequencies, capped by the same rule as one index's (query/expand.py)."""
    total: dict[str, Any] = {"doc_count": 0, "units": {}, "tokens": {}, "df": {}, "fields_df": {}, "expansions": {}}
    found: dict[tuple, list] = {}
    for part in parts:
        total["doc_count"] += part["doc_count"]
        for what in ("units", "tokens", "df", "fields_df"):
            into = total[what]
            for key, value in part[what].items():
                into[key] = into.get(key, 0) + value
        for key, pair in part["expansions"].items():
            found.setdefault(key, []).append(pair)
    for key, pairs in found.items():
        field, kind, text, max_dist, prefix_length, max_expansions = key
        limit = DEFAULT_MAX_EXPANSIONS[kind] if max_expansions is None else int(max_expansions)
        # the union of the parts' terms, merged in C (dict and map), frequencies added by position
        position = dict(zip(dict.fromkeys(itertools.chain.from_iterable(t for t, _ in pairs)), itertools.count()))
        terms = list(position)
        df = np.zeros(len(terms), dtype=np.int64)
        for part_terms, part_df in pairs:
            df[np.fromiter(map(position.__getitem__, part_terms), dtype=np.int64, count=len(part_terms))] += part_df
        dist = np.zeros(len(terms), dtype=np.int64)
        if kind == "fuzzy" and terms:
            dist = process.cdist([text], terms, scorer=OSA.distance, dtype=np.int32, workers=1)[0].astype(np.int64)
        chosen = _best(terms, df, dist, limit)
        total["expansions"][key] = (tuple(terms[i] for i in chosen.tolist()), df[chosen], len(terms), limit)
    return total


class SuppliedStats(Stats):
    """Statistics supplied from outside over this snapshot's segments: `totals` from `sum_stats`
    (a coordinator's sums over shards). Lengths and counts are read from `totals`, never from the
    segments; expansions keep the supplied terms and frequencies and find each term's id in these
    segments. A statistic the totals lack is an error, never a silent local figure."""

    def __init__(self, readers: list[SegmentReader], totals: Mapping[str, Any], expander: Expander | None = None):
        self.readers = readers
        self.doc_count = totals["doc_count"]
        self.units, self.tokens = totals["units"], totals["tokens"]
        self._df, self._fields_df = dict(totals.get("df", {})), totals.get("fields_df", {})
        self._expansions = totals.get("expansions", {})
        self._idf = {}
        self.expander = Expander(readers) if expander is None else expander
        self._expanded: dict[tuple, Expansion] = {}

    def doc_freq(self, fname: str, term: str) -> int:
        found = self._df.get((fname, term))
        if found is None:
            raise SearchlibError(f"the supplied statistics lack the frequency of {fname}:{term!r}")
        return found

    def fields_doc_freq(self, terms: Mapping[str, str]) -> int:
        found = self._fields_df.get(tuple(sorted(terms.items())))
        if found is None:
            raise SearchlibError(f"the supplied statistics lack the frequency of {dict(terms)!r}")
        return found

    def expand(self, leaf: ExpandLeaf) -> Expansion:
        key = _expansion_key(leaf)
        done = self._expanded.get(key)
        if done is not None:
            return done
        if key not in self._expansions:
            raise SearchlibError(f"the supplied statistics lack the expansion of {leaf.kind} {leaf.text!r}")
        terms, df, candidates, limit = self._expansions[key]
        local = self.expander.expand(leaf.field, leaf.kind, leaf.text, sys.maxsize, leaf.max_dist, leaf.prefix_length)
        position = dict(zip(local.terms, itertools.count()))
        at = np.fromiter(map(position.get, terms, itertools.repeat(-1)), dtype=np.int64, count=len(terms))
        here = at >= 0
        seg_ids = tuple(np.where(here, ids[np.where(here, at, 0)], -1) if len(ids) else np.full(len(terms), -1)
                        for ids in local.segment_ids)
        done = self._expanded[key] = Expansion(leaf.field, leaf.kind, leaf.text, terms, df, seg_ids, candidates,
                                               limit)
        self._df.update(zip(zip(itertools.repeat(leaf.field), terms), df.tolist()))  # what explain asks per term
        return done
