"""Where a hit matched: the character spans a snippet marks, worked out from the match itself.

The query's Weight says what to mark in each field (`Weight.terms()`: its positive words with
their weights, expansions resolved, and its phrases); the segment says where. A word is marked
at every position it holds in the unit (a document, or a passage of a split field); a phrase,
exact or sloppy, only where it matched, found by the same code that scores it
(`phrases.phrase_matches`): an exact phrase as one span from its first word to its last, a sloppy
one (proximity) word by word, each word where it took part in the match. A clause of one field
marks only in that field; a negated clause marks nowhere.

Positions become character spans through the unit's own tokens: the field's analyzer reads the
unit's stored text once and keeps only the tokens of the terms the field's marks need (the words
and the phrases' words), which carry the offsets of their surface form ("Miscarriages", never
the stem). The positions are the index's, because indexing numbers tokens the same way.
"""
from __future__ import annotations

from ..analysis import Analyzer
from ..highlight import Mark
from ..storage.segment import SegmentReader
from .phrases import phrase_matches
from .weight import FieldTerms


def wanted_terms(fterms: FieldTerms) -> set[str]:
    """Every term a field's marks need: its words and its phrases' words."""
    wanted = set(fterms.words)
    for leaf, _, _ in fterms.phrases:
        wanted.update(t for _, t in leaf.terms)
    return wanted


def unit_marks(reader: SegmentReader, fname: str, unit: int, text: str, start: int, end: int,
               fterms: FieldTerms, analyzer: Analyzer) -> list[Mark]:
    """The Marks of one unit of field `fname` in a segment, whose text is `text[start:end]`, in
    offsets of `text`: a Mark per occurrence of each word (its term, no bonus) and per match of
    each phrase (its words as terms, its weight as bonus). Unsorted; spans may overlap (the
    snippet merges them)."""
    region = text[start:end]
    tokens = analyzer.tokens_matching(region, wanted_terms(fterms))
    words = fterms.words
    marks = [Mark(tok.start_char + start, tok.end_char + start, (tok.term,)) for tok in tokens if tok.term in words]
    if fterms.phrases:
        at = {tok.position: tok for tok in tokens}
        fr = reader.fields.get(fname)
        for leaf, dfs, weight in fterms.phrases:
            terms = tuple(dict.fromkeys(t for _, t in leaf.terms))
            for match in phrase_matches(fr, leaf, dfs, unit).tolist():
                found = [at.get(p) for p in match]
                if None in found:
                    continue
                if leaf.slop:  # each word where it took part, the phrase's weight once
                    marks.extend(Mark(tok.start_char + start, tok.end_char + start, (tok.term,),
                                      weight if i == 0 else 0.0) for i, tok in enumerate(found))
                else:  # one span, from the first word to the last (stop words between included)
                    a, b = min(tok.start_char for tok in found), max(tok.end_char for tok in found)
                    marks.append(Mark(a + start, b + start, terms, weight))
    return marks


def matched_in(reader: SegmentReader, fname: str, unit: int, fterms: FieldTerms) -> bool:
    """Whether any of a field's words, or any of its phrases, occurs in the unit (from the
    postings, without reading the text)."""
    fr = reader.fields.get(fname)
    if fr is None:
        return False
    for term in fterms.words:
        tid = fr.term_id(term)
        if tid >= 0:
            units = fr.postings(tid)[0]
            at = int(units.searchsorted(unit))
            if at < len(units) and int(units[at]) == unit:
                return True
    return any(len(phrase_matches(fr, leaf, dfs, unit)) for leaf, dfs, _ in fterms.phrases)
