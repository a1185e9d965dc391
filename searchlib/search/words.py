"""Index terms as words a person would type: document frequencies over segments, surface forms.

The term dictionaries hold what the analyzer made of the text: for a stemming analyzer,
"miscarriag" where the documents say "miscarriage". Autocomplete and "did you mean" rank terms by
their index-wide document frequency and must show words, so this module gives both: `doc_freqs`
sums a term's postings over the segments (deleted documents count until merged, as in the
statistics BM25 uses), and `surface_words` finds the word a term was made from in a stored
document that holds it (one stored document read and re-tokenized per term shown, only for
analyzers that do more than fold case: for the others a term is its word).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..schema import TEXT, FieldType
from ..storage.segment import SegmentReader


def doc_freqs(readers: list[SegmentReader], field: str, terms: Iterable[str]) -> dict[str, int]:
    """Each term's postings summed over the segments (its document frequency; units for a field
    split into passages)."""
    out = {}
    for term in terms:
        out[term] = sum(r.fields[field].doc_freq(term) for r in readers if field in r.fields)
    return out


def terms_are_words(ft: FieldType) -> bool:
    """Whether a term of the field reads as the word it came from, lower-cased: true unless the
    analyzer changes words beyond case and accents (a stemmer, a possessive filter)."""
    analyzer = getattr(ft, "analyzer", None)
    if analyzer is None or not isinstance(ft, TEXT):
        return True
    return all(f.normalizes or f.drops_words for f in analyzer.filters)


def surface_words(readers: list[SegmentReader], field: str, ft: FieldType, terms: list[str]) -> dict[str, str]:
    """For each term, the word (lower-cased) it stands for in the first stored document holding it;
    the term itself when the field's terms are its words, or no stored text holds it."""
    out = {t: t for t in terms}
    if terms_are_words(ft) or not ft.stored:
        return out
    for term in terms:
        for reader in readers:
            fr = reader.fields.get(field)
            tid = -1 if fr is None else fr.term_id(term)
            if tid < 0:
                continue
            units, _ = fr.postings(tid)
            units = np.asarray(units)
            docs = np.asarray(fr.unit_doc)[units] if fr.split else units
            if reader.live is not None:
                docs = docs[reader.live[docs]]
            if not len(docs):
                continue
            text = reader.stored.get(int(docs[0])).get(field)
            if isinstance(text, str):
                found = ft.analyzer.tokens_matching(text, {term})
                if found:
                    out[term] = text[found[0].start_char:found[0].end_char].lower()
                    break
    return out
