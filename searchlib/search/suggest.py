"""Did you mean: corrected query text, from the index's own term dictionaries.

Each word of the query's terms and phrases (a word in a prefix, wildcard, fuzzy or range clause
is left as typed) is analysed like the field it searches, and its candidates are the dictionary
terms within `max_dist` edits (optimal string alignment through rapidfuzz: a swap of two adjacent
letters is one edit) that share its first `prefix_length` characters, found as the fuzzy query
finds its terms (query/expand.py). A word the dictionary lacks takes its best candidate: fewest
edits, then highest index-wide document frequency, then code-point order. A word the dictionary
holds is left alone unless a term one edit away is at least `popular` times as frequent (a rare
spelling of a common word, Elasticsearch's "popular" mode for words that exist). When a typo
changes how a stemmer cuts the word ("televisiion" keeps a suffix, so its stem is 4 edits from
"televis"), stems one edit from a prefix of the typed word are tried next, each kept only if a
word it stands for in the documents is within `max_dist` edits of the typed word.

The corrections go back into the query text in place of the misspelled words only, so fields,
phrases, operators and boosts stay as typed (Whoosh's `correct_query` does the same from the
parsed query). A corrected term shows as the word it stands for in the documents closest to the
typed one (words.py: a few stored documents holding it are read), so "miscarriag" reads "miscarriage".
"""
from __future__ import annotations

import itertools
import math
import re
from typing import Callable, Mapping

import numpy as np
from rapidfuzz.distance import OSA

from ..query.ast import Boolean, Phrase, Query, Term
from ..query.expand import Expander
from ..schema import TEXT, Schema
from ..storage.segment import SegmentReader
from .words import surface_variants, terms_are_words

CANDIDATES = 50  # terms the fuzzy expansion keeps per word and field (closest, then most frequent)
CHOICES = 3  # corrections kept per word when combining several words' corrections
VARIANT_DOCS = 3  # stored documents read for the words a corrected stem stands for
SURFACE_CHECKS = 8  # stems near a prefix of a word whose stored words are compared with it


class Candidate:
    """One correction of a word: the word to show, its edits from the typed word, its document frequency."""

    __slots__ = ("word", "dist", "df")

    def __init__(self, word: str, dist: int, df: int):
        self.word, self.dist, self.df = word, dist, df

    def rank(self) -> tuple:
        return self.dist, -self.df, self.word


def query_words(q: Query) -> list[tuple[str | None, str]]:
    """(field or None for the default fields, word) of every term and phrase word of a query, in order."""
    if isinstance(q, Term):
        return [(q.field, q.text)]
    if isinstance(q, Phrase):
        return [(q.field, w) for w in q.words]
    if isinstance(q, Boolean):
        return [pair for part in (*q.must, *q.should, *q.must_not) for pair in query_words(part)]
    return []


class Corrector:
    """Corrections of words against a snapshot's dictionaries (see the module docstring)."""

    def __init__(self, schema: Schema, readers: list[SegmentReader], expander: Expander,
                 default_fields: Mapping[str, float], max_dist: int = 2, prefix_length: int = 1,
                 popular: float = 10.0):
        self.schema, self.readers, self.expander = schema, readers, expander
        self.default_text = [f for f in default_fields if isinstance(schema.fields.get(f), TEXT)]
        self.max_dist, self.prefix_length, self.popular = max_dist, prefix_length, popular

    def candidates(self, field: str | None, word: str) -> list[Candidate]:
        """The word's corrections, best first; [] when it needs none (or has none)."""
        fields = self.default_text if field is None else [field]
        fields = [f for f in fields if isinstance(self.schema.fields.get(f), TEXT)]
        if not fields:  # an ID, KEYWORD or unknown field: matched exactly, nothing to correct
            return []
        found: dict[str, tuple[int, int]] = {}  # term -> (distance, df over the fields)
        own_df = 0
        for f in fields:
            ft = self.schema.fields[f]
            terms = ft.analyzer.index_terms(word)[0]
            if len(terms) != 1:  # a stop word, or a word the analyzer splits: left as typed
                continue
            term = terms[0]
            exp = self.expander.expand(f, "fuzzy", term, CANDIDATES, self.max_dist, self.prefix_length)
            for t, df in zip(exp.terms, exp.doc_freq.tolist()):
                if t == term:
                    own_df += df
                    continue
                dist = OSA.distance(term, t)
                dist0, df0 = found.get(t, (dist, 0))
                found[t] = (min(dist, dist0), df0 + df)
        if own_df:  # a known word: only a far more frequent one an edit away replaces it
            found = {t: v for t, v in found.items() if v[0] == 1 and v[1] >= self.popular * own_df}
        best = sorted(found.items(), key=lambda tv: (tv[1][0], -tv[1][1], tv[0]))[:CHOICES]
        out = []
        for t, (dist, df) in best:
            shown, _ = self._closest_word(fields, t, word)
            out.append(Candidate(_like(word, shown), dist, df))
        if not out and not own_df:
            out = self._stems_of_prefix(fields, word)
        return out

    def _closest_word(self, fields: list[str], term: str, typed: str) -> tuple[str, int]:
        """Of the words `term` stands for in the documents of `fields` (words.surface_variants),
        the one fewest edits from the typed word, and those edits; the term itself when none is
        stored."""
        words: dict[str, None] = {}
        for f in fields:
            words.update(dict.fromkeys(surface_variants(self.readers, f, self.schema.fields[f], term, VARIANT_DOCS)))
        typed = self.schema.fields[fields[0]].analyzer.normalize(typed)
        best = min(words or [term], key=lambda w: (OSA.distance(typed, w), w))
        return best, OSA.distance(typed, best)

    def _stems_of_prefix(self, fields: list[str], word: str) -> list[Candidate]:
        """Corrections of a word whose typo changed how a stemmer cuts it ("televisiion" keeps a
        suffix the stemmer would drop, so its stem is 4 edits from "televis"): stems at most one
        edit from a prefix of the typed word, the most frequent first, checked against the words
        they stand for in the documents (at most `max_dist` edits from the typed word)."""
        found: dict[str, tuple[int, int]] = {}  # stem -> (edits from the prefix, df over the fields)
        for f in fields:
            ft = self.schema.fields[f]
            if terms_are_words(ft):
                continue
            typed = ft.analyzer.normalize(word)
            if len(typed) <= self.prefix_length + 2:
                continue
            for reader in self.readers:
                fr = reader.fields.get(f)
                if fr is None:
                    continue
                lo, hi = fr.dictionary.prefix_range(typed[:self.prefix_length])
                lengths = np.diff(np.asarray(fr.dictionary.offsets[lo:hi + 1])) - 1  # bytes
                near = np.flatnonzero((lengths >= max(3, len(typed) // 2)) & (lengths <= len(typed)))
                if not len(near):
                    continue
                terms = fr.dictionary.terms_of((lo + near).tolist())
                df = np.diff(np.asarray(fr.ptr))[lo + near]
                for t, n in zip(terms, df.tolist()):
                    edits = OSA.distance(typed[:len(t)], t, score_cutoff=1)
                    if edits <= 1:
                        found[t] = (edits, found.get(t, (edits, 0))[1] + n)
        out = []
        # fewest edits, then the longest stem (the most of the word explained), then the most frequent
        ranked = sorted(found.items(), key=lambda tv: (tv[1][0], -len(tv[0]), -tv[1][1], tv[0]))
        for t, (_, df) in ranked[:SURFACE_CHECKS]:
            shown, dist = self._closest_word(fields, t, word)
            if dist <= self.max_dist:
                out.append(Candidate(_like(word, shown), dist, df))
        return sorted(out, key=Candidate.rank)[:CHOICES]

    def suggest(self, text: str, parse: Callable[[str], Query], limit: int = 5) -> list[str]:
        """Corrected versions of query `text`, best first (fewest edits in all, then the most
        frequent corrections); [] when every word is known (or has no correction)."""
        fixes: dict[tuple[str | None, str], list[Candidate]] = {}
        for field, word in query_words(parse(text)):
            if (field, word) not in fixes:
                fixes[(field, word)] = self.candidates(field, word)
        fixes = {k: v for k, v in fixes.items() if v}
        if not fixes:
            return []
        keys = list(fixes)
        combos = itertools.islice(itertools.product(*(fixes[k] for k in keys)), 256)
        scored = sorted(combos, key=lambda c: (sum(x.dist for x in c), -sum(math.log1p(x.df) for x in c),
                                               [x.word for x in c]))
        out: list[str] = []
        for combo in scored:
            corrected = rewrite(text, {k: c.word for k, c in zip(keys, combo)})
            if corrected != text and corrected not in out:
                out.append(corrected)
            if len(out) == limit:
                break
        return out


def rewrite(text: str, replacements: Mapping[tuple[str | None, str], str]) -> str:
    """`text` with each (field, word) replaced by its correction where it stands as a word of that
    field: `field:word`, a bare word (field None), or a word in a quoted phrase (after `field:"`
    or a bare quote), never a field name or an operator."""
    out = text
    for (field, word), new in replacements.items():
        if field:
            pattern = re.compile(r"(?<![\w.])(" + re.escape(field) + r':(?:"[^"]*?)?)(?<![\w])' + re.escape(word) +
                                 r"(?![\w:])")
            out = pattern.sub(lambda m: m.group(1) + new, out)
        else:
            pattern = re.compile(r"(?<![\w:.\\])" + re.escape(word) + r"(?![\w:])")
            out = _outside_fielded(out, pattern, new)
    return out


def _outside_fielded(text: str, pattern: "re.Pattern[str]", new: str) -> str:
    """Replace `pattern` in `text` except inside a fielded phrase (`field:"..."`), whose words
    belong to that field."""
    pieces = re.split(r'(\w+:"[^"]*")', text)
    return "".join(p if i % 2 else pattern.sub(lambda m: new, p) for i, p in enumerate(pieces))


def _like(typed: str, word: str) -> str:
    """`word` with the typed word's capitalisation (all capitals, or a capital first letter)."""
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
