"""Index-wide statistics for one snapshot: N, average lengths, document frequencies, expansions.

The first stage of a search: what BM25's idf and length normalisation need, summed over the
snapshot's segments (so a document scores the same however the index is split into segments),
and the terms a prefix, wildcard or fuzzy clause expands to in the snapshot's dictionaries.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..query.compile import ExpandLeaf
from ..query.expand import Expander, Expansion
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
