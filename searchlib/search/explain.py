"""Why one document scores what it scores: the BM25 arithmetic of a weighted query, as a tree.

Every node's value is read from the dense combiner's own float32 result for that node (so the
root's value is exactly the score a search gives the document, not a float64 re-computation that
differs in the seventh digit); the children under a leaf show the inputs of the arithmetic (idf
with N and df, tf, lengths, k1, b, boosts, BM25F sums, phrase frequencies) in float64.
"""
from __future__ import annotations

import numpy as np

from ..query.compile import AllLeaf, ColumnLeaf, TermRangeLeaf
from ..schema import TEXT, Schema
from ..scoring import BM25, Explanation, explain_idf, explain_tf, saturate
from .dense import DenseScorer, Matches, passage_scores
from .phrases import phrase_units
from .postings import term_postings
from .stats import Stats
from .weighted import Weighted, WeightedBool, WeightedExpansion, WeightedFields, WeightedPhrase, WeightedTerm


def unit_value(m: Matches, doc: int, passage: "tuple[str, int] | None") -> float:
    """A clause's float32 score in the unit that ranks the document: the passage (with the
    document's score from unsplit fields, as collectors add them) or the document."""
    if passage is not None:
        return float(passage_scores(m, m.passage_score.get(passage[0]), np.array([passage[1]]), doc)[0])
    return float(m.doc_score[doc]) if m.doc_score is not None else 0.0


class Explainer:
    """Explains weighted queries for documents of one segment."""

    def __init__(self, scorer: DenseScorer, stats: Stats, schema: Schema, bm25: BM25):
        self.scorer, self.stats, self.schema, self.bm25 = scorer, stats, schema, bm25
        self.reader = scorer.reader

    def explain(self, w: Weighted, doc: int, passage: "tuple[str, int] | None") -> Explanation | None:
        """How `w` scores document `doc`, in the unit that ranks it: `passage` (split field, unit)
        or, when None, the document as a whole. None if the document does not match."""
        m = self.scorer.evaluate(w)
        if not m.docs[doc]:
            return None
        value = unit_value(m, doc, passage)
        kind = type(w)
        if kind is WeightedBool:
            words = [t for _, ts in w.should_words for t in ts]
            parts = [e for c in w.must + words + w.should if (e := self.explain(c, doc, passage)) is not None]
            if w.boost == 1.0:
                return Explanation(value, "sum of:", parts)
            return Explanation(value, f"boost {w.boost:g} times the sum of:", parts)
        if kind is WeightedTerm:
            return self._term(w.field, w.term, w.leaf.boost, doc, passage, value)
        if kind is WeightedPhrase:
            return self._phrase(w, doc, passage, value)
        if kind is WeightedFields:
            return self._fields(w, doc, passage, value)
        if kind is WeightedExpansion:
            parts = [e for t in w.expansion.terms
                     if (e := self._term(w.field, t, w.leaf.boost, doc, passage, None)).value]
            what = f"{w.leaf.kind} {w.leaf.text!r} on {w.field}"
            return Explanation(value, f"{what}: sum over the {len(w.expansion.terms)} terms it expands to "
                                      "(those in this unit):", parts)
        leaf = w.leaf
        if type(leaf) is TermRangeLeaf:
            return Explanation(value, f"{leaf.field}: a term in the range (constant score = boost)")
        if type(leaf) is ColumnLeaf:
            return Explanation(value, f"{leaf.field}: value in the range (constant score = boost)")
        if type(leaf) is AllLeaf:
            return Explanation(value, "every document (constant score = boost)")
        raise TypeError(f"cannot explain {w!r}")

    def _unit(self, fname: str, doc: int, passage) -> int | None:
        """The unit of `fname` that counts for this explanation: the document, or the chosen
        passage when the field is split (None: this field's passages are not the one chosen)."""
        fr = self.reader.fields.get(fname)
        if fr is None:
            return None
        if not fr.split:
            return doc
        return passage[1] if passage is not None and passage[0] == fname else None

    def _tf_at(self, fname: str, term: str, unit: int | None) -> int:
        found = term_postings(self.reader, fname, term) if unit is not None else None
        if found is None:
            return 0
        units, tf = found
        i = int(np.searchsorted(units, unit))
        return int(tf[i]) if i < len(units) and units[i] == unit else 0

    def _boost(self, fname: str, boost: float) -> Explanation:
        ft = self.schema.fields.get(fname)
        field_boost = ft.boost if isinstance(ft, TEXT) else 1.0
        return Explanation(boost, "boost = query boost (with the default field's) times field boost:",
                           [Explanation(boost / field_boost, "query boost"), Explanation(field_boost, "field boost")])

    def _bm25(self, label: str, fname: str, idf_expl: Explanation, tf: float, unit: int, boost: float,
              what: str, value: float | None) -> Explanation:
        if self.scorer.norm(fname) is None:  # ID and KEYWORD fields
            return Explanation(idf_expl.value * boost if value is None else value,
                               f"{label}: idf * boost (no length; a match counts once)",
                               [idf_expl, self._boost(fname, boost)])
        fr = self.reader.fields[fname]
        tf_expl = explain_tf(tf, int(fr.lengths[unit]), self.stats.avg_length(fname), float(self.scorer.k1),
                             self.bm25.b, what, self.bm25.variant, self.bm25.d)
        return Explanation(idf_expl.value * tf_expl.value * boost if value is None else value,
                           f"{label}: BM25 = idf * tf factor * boost", [idf_expl, tf_expl, self._boost(fname, boost)])

    def _where(self, fname: str, unit: int) -> str:
        """The unit as the hit shows it: the passage's number within its document (as `Passage.index`)."""
        fr = self.reader.fields[fname]
        if not fr.split:
            return fname
        unit_doc = np.asarray(fr.unit_doc)
        first = int(np.searchsorted(unit_doc, unit_doc[unit]))
        return f"passage #{unit - first} of {fname}"

    def _term(self, fname: str, term: str, boost: float, doc: int, passage, value: float | None) -> Explanation:
        """A word's BM25 in the unit; `value` is its float32 score there (None: computed from the
        inputs, for one term of an expansion, whose float32 share is summed with the others')."""
        unit = self._unit(fname, doc, passage)
        tf = self._tf_at(fname, term, unit)
        if not tf:
            return Explanation(0.0 if value is None else value,
                               f"{fname}:{term} is in another passage of the document (adds nothing to this one)")
        idf_expl = explain_idf(self.stats.field_units(fname), self.stats.doc_freq(fname, term), "units", self.bm25.variant)
        return self._bm25(f"{fname}:{term} in {self._where(fname, unit)}", fname, idf_expl, tf, unit, boost, "tf",
                          value)

    def _phrase(self, w: WeightedPhrase, doc: int, passage, value: float) -> Explanation:
        leaf = w.leaf
        words = " ".join(t for _, t in leaf.terms)
        unit = self._unit(leaf.field, doc, passage)
        units, freq = phrase_units(self.reader.fields.get(leaf.field), leaf, w.dfs)
        i = int(np.searchsorted(units, unit)) if unit is not None else len(units)
        if i >= len(units) or units[i] != unit:
            return Explanation(value, f'{leaf.field}:"{words}" is in another passage of the document')
        idfs = [explain_idf(self.stats.field_units(leaf.field), self.stats.doc_freq(leaf.field, t), "units",
                            self.bm25.variant) for _, t in leaf.terms]
        for (_, t), e in zip(leaf.terms, idfs):
            e.description = f"idf of {t} = {e.description[len('idf = '):]}"
        idf_expl = Explanation(sum(e.value for e in idfs), "idf, the sum of the words' idfs:", idfs)
        what = (f"phrase frequency with slop {leaf.slop}: sum of 1 / (1 + spread) over matches, "
                "one per occurrence of the rarest word" if leaf.slop
                else "phrase frequency, occurrences of the phrase")
        return self._bm25(f'{leaf.field}:"{words}"{"~%d" % leaf.slop if leaf.slop else ""} in '
                          f"{self._where(leaf.field, unit)}", leaf.field, idf_expl, float(freq[i]), unit,
                          leaf.boost, what, value)

    def _fields(self, w: WeightedFields, doc: int, passage, value: float) -> Explanation:
        leaf = w.leaf
        k1 = float(self.scorer.k1)
        parts = []
        for fname, term in leaf.terms.items():
            unit = self._unit(fname, doc, passage)
            tf = self._tf_at(fname, term, unit)
            if not tf:
                continue
            fw = leaf.weights[fname]
            if self.scorer.norm(fname) is not None:
                b = self.bm25.b
                dl, avg = int(self.reader.fields[fname].lengths[unit]), self.stats.avg_length(fname)
                norm = 1 - b + b * dl / (avg if avg > 0 else 1.0)
                parts.append(Explanation(fw * tf / norm, f"{fname}:{term} in {self._where(fname, unit)}: "
                                         "w * tf / (1 - b + b * dl / avgdl) from:",
                                         [Explanation(float(tf), "tf"), Explanation(fw, "w, field weight"),
                                          Explanation(b, "b"), Explanation(float(dl), "dl, length of the unit"),
                                          Explanation(avg, "avgdl, average length")]))
            else:
                parts.append(Explanation(fw * tf, f"{fname}:{term}: w * tf (no length)",
                                         [Explanation(float(tf), "tf"), Explanation(fw, "w, field weight")]))
        combined = sum(e.value for e in parts)
        idf_expl = explain_idf(max(self.stats.doc_count, 1), self.stats.fields_doc_freq(leaf.terms), "documents",
                               self.bm25.variant)
        idf_expl.description = "idf over documents with the word in any of the fields, " + idf_expl.description
        tf_expl = Explanation(combined, "tf~, BM25F's combined frequency: sum over fields of", parts)
        variant, delta = self.bm25.variant, self.bm25.d
        sat = float(saturate(np.array([combined], dtype=np.float64), k1, variant, delta)[0])
        formula = {"bm25l": "(tf~ + delta) * (k1 + 1) / (k1 + tf~ + delta)",
                   "bm25+": "tf~ * (k1 + 1) / (k1 + tf~) + delta"}.get(variant, "tf~ * (k1 + 1) / (k1 + tf~)")
        inputs = [tf_expl, Explanation(k1, "k1")] + ([Explanation(delta, "delta")] if delta else [])
        sat_expl = Explanation(sat, f"{formula} from:", inputs)
        label = " | ".join(f"{f}:{t}" for f, t in leaf.terms.items())
        return Explanation(value, f"BM25F ({label}) = idf * saturated tf~ * boost",
                           [idf_expl, sat_expl, Explanation(leaf.boost, "query boost")])
