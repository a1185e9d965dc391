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
    out = {}
    for term in terms:
        found = surface_variants(readers, field, ft, term, 1)
        out[term] = found[0] if found else term
    return out


def surface_variants(readers: list[SegmentReader], field: str, ft: FieldType, term: str, docs: int = 5) -> list[str]:
    """The distinct words (lower-cased) that became `term` in the first `docs` live stored documents
    holding it, in the order met; [term] when the field's terms are its words; [] when no stored
    text holds it. (A stem stands for several words: "minim" for minimize, minimized, minimal.)"""
    if terms_are_words(ft):
        return [term]
    if not ft.stored:
        return []
    found: dict[str, None] = {}
    left = docs
    for reader in readers:
        fr = reader.fields.get(field)
        tid = -1 if fr is None else fr.term_id(term)
        if tid < 0:
            continue
        units = np.asarray(fr.postings(tid)[0])
        holders = np.asarray(fr.unit_doc)[units] if fr.split else units
        if reader.live is not None:
            holders = holders[reader.live[holders]]
        for doc in dict.fromkeys(holders[:left * 4].tolist()):  # a document's passages: once
            text = reader.stored.get(int(doc)).get(field)
            if isinstance(text, str):
                for tok in ft.analyzer.tokens_matching(text, {term}):
                    found[text[tok.start_char:tok.end_char].lower()] = None
            left -= 1
            if left == 0:
                return list(found)
    return list(found)
