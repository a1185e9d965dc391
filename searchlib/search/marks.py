"""Where a hit matched: the character spans a snippet marks, worked out from the match itself.

The query's Weight says what to mark in each field (`Weight.terms()`: its positive words with
their weights, expansions resolved, and its phrases); the segment says where. A word is marked
at every position it holds in the unit (a document, or a passage of a split field); a phrase
only where it matched, found by the same code that scores it (`phrases.phrase_matches`): an
exact phrase as one span from its first word to its last, a sloppy one (proximity) word by word,
each word where it took part in the match. A clause of one field marks only in that field; a
negated clause marks nowhere.

Positions become character spans through the offsets the index keeps for every token position
of a stored TEXT field (storage: OFFS, OPTR), so no text is analysed again: the marks of a
search's hits are a few array operations per query term, for all hits at once (`FieldMarks.of`).
A field indexed without offsets (`offsets=False`) has its unit's text read
by the field's analyzer instead, keeping only the tokens of the terms the marks need; their
positions are the index's, since indexing numbers tokens the same way.

Marks are arrays (highlight.snippets_from_arrays): start and end characters, a bit set of the
query keys each stands for (bit k: the field's k-th word, its weight in `weights`), and a bonus
(a phrase match: the phrase's weight).
"""
from __future__ import annotations

import numpy as np

from ..analysis import Analyzer
from ..storage.arrays import gather_ranges
from ..storage.segment import FieldReader
from .phrases import phrase_matches
from .weight import FieldTerms

KEY_BITS = 64  # keys a mark can stand for; a field's 65th word shares a bit (scoring fragments only)
Marks = "tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]"  # starts, ends, keys (uint64), bonus
_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_U = np.zeros(0, np.uint64)
_EMPTY_F = np.zeros(0, np.float64)
NO_MARKS = (_EMPTY_I, _EMPTY_I, _EMPTY_U, _EMPTY_F)
# Up to this many postings per word on average, a field's postings are gathered and matched
# against a search's hits at once (a few array operations in all); above, each word's list is
# binary-searched on its own (a few operations per word, however long its list).
_GATHERED_POSTINGS = 2048


class FieldMarks:
    """What one field's marks need, for one search and segment: the field's words (term ids in
    this segment, their key bits) and phrases, and the keys' weights."""

    def __init__(self, fr: FieldReader | None, fterms: FieldTerms, analyzer: Analyzer):
        self.fr, self.fterms, self.analyzer = fr, fterms, analyzer
        words = list(fterms.words)
        self.bit_of = {t: i % KEY_BITS for i, t in enumerate(words)}
        for leaf, _, _ in fterms.phrases:  # a phrase's words are keys too (its marks stand for them)
            for _, t in leaf.terms:
                self.bit_of.setdefault(t, len(self.bit_of) % KEY_BITS)
        weights = np.zeros(min(len(self.bit_of), KEY_BITS) or 1)
        for t, bit in self.bit_of.items():
            w = fterms.words.get(t, 0.0)
            weights[bit] = max(weights[bit], w)
        self.weights = weights
        ids = [(fr.term_id(t), self.bit_of[t]) for t in words] if fr is not None else []
        self.words = [(tid, bit) for tid, bit in ids if tid >= 0]

    def of(self, units: np.ndarray) -> "tuple[np.ndarray, Marks] | None":
        """The marks of all of `units` at once, from the offsets: (the index into `units` of each
        mark's unit, its Marks, in offsets of the field's stored text); None when the field keeps
        no offsets (see `from_text`)."""
        fr = self.fr
        units = np.asarray(units, dtype=np.int64)
        if fr is None:
            return _EMPTY_I, NO_MARKS
        if fr.offsets is None:
            return None
        found = self._postings_in(units)
        if found is not None:  # then every position of every word in every unit, in one gather
            hit, bits, starts, tf = found
            hit, bits = np.repeat(hit, tf), np.repeat(bits, tf)
            pos = np.asarray(fr.pos)[gather_ranges(starts, tf)].astype(np.int64)
            optr = np.asarray(fr.offsets_ptr)
            ok = pos < optr[units[hit] + 1] - optr[units[hit]]  # a forged index cannot reach another unit's offsets
            if not ok.all():
                hit, pos, bits = hit[ok], pos[ok], bits[ok]
            starts, ends = fr.position_spans(units[hit], pos)
            marks = (starts, ends, np.left_shift(np.uint64(1), bits), np.zeros(len(hit)))
        else:
            hit, marks = _EMPTY_I, NO_MARKS
        if self.fterms.phrases:
            for i, unit in enumerate(units.tolist()):
                extra = self._phrase_marks(unit, None)
                if extra is not None:
                    hit = np.concatenate([hit, np.full(len(extra[0]), i, dtype=np.int64)])
                    marks = tuple(np.concatenate([x, y]) for x, y in zip(marks, extra))
        return hit, marks

    def _postings_in(self, units: np.ndarray) -> "tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None":
        """Every posting of the field's words in `units`, word by word, each in unit order: the
        index into `units` of its unit, the word's key bit, where its positions start in `pos`,
        and its frequency (int64); None when there is none. Few postings in all (the usual case)
        are gathered and looked up in one go; long posting lists are binary-searched word by word."""
        fr = self.fr
        if not self.words or not len(units):
            return None
        # plain ndarray views of the memory-mapped arrays: what is taken from a np.memmap is a
        # np.memmap, whose every later operation costs a Python-level wrap
        unit_arr, tf_arr, ptr = np.asarray(fr.unit), np.asarray(fr.tf), np.asarray(fr.ptr)
        tids = np.array([tid for tid, _ in self.words], dtype=np.int64)
        first, last = ptr[tids].astype(np.int64), ptr[tids + 1].astype(np.int64)
        counts = last - first
        bit_of_word = np.array([bit for _, bit in self.words], dtype=np.uint64)
        if int(counts.sum()) <= _GATHERED_POSTINGS * len(tids):
            bounds = list(zip(first.tolist(), last.tolist()))
            gathered = np.concatenate([unit_arr[a:b] for a, b in bounds])
            order = np.argsort(units, kind="stable")
            ordered = units[order]
            at = ordered.searchsorted(gathered).clip(max=len(units) - 1)
            found = np.flatnonzero(ordered[at] == gathered)
            if not len(found):
                return None
            word_start = np.cumsum(counts) - counts  # where each word's postings begin in `gathered`
            word = np.searchsorted(word_start, found, side="right") - 1
            tf = np.concatenate([tf_arr[a:b] for a, b in bounds]).astype(np.int64)
            before = np.concatenate([[0], np.cumsum(tf)])  # positions of the postings before each
            starts = np.asarray(fr.pptr)[tids].astype(np.int64)[word] + before[found] - before[word_start[word]]
            return order[at[found]], bit_of_word[word], starts, tf[found]
        hit_parts, start_parts, tf_parts, bit_parts = [], [], [], []
        for (tid, bit), a, b in zip(self.words, first.tolist(), last.tolist()):  # a binary search each
            if b == a:
                continue
            plist = unit_arr[a:b]
            at = plist.searchsorted(units)
            which = np.flatnonzero(plist.take(at, mode="clip") == units)
            if not len(which):
                continue
            picks = at[which]
            hit_parts.append(which)
            start_parts.append(fr.position_starts(tid)[picks])
            tf_parts.append(tf_arr[a + picks])
            bit_parts.append(np.full(len(which), bit, dtype=np.uint64))
        if not hit_parts:
            return None
        return (np.concatenate(hit_parts), np.concatenate(bit_parts), np.concatenate(start_parts),
                np.concatenate(tf_parts).astype(np.int64))

    def _phrase_marks(self, unit: int, tokens_at: "dict | None") -> "Marks | None":
        """Marks of the field's phrases in `unit`: spans from the offsets, or from `tokens_at`
        (position -> token) for a field without them."""
        fr = self.fr
        starts, ends, keys, bonus = [], [], [], []
        if fr is None:
            return None
        for leaf, dfs, weight in self.fterms.phrases:
            matches = phrase_matches(fr, leaf, dfs, unit)
            if not len(matches):
                continue
            if tokens_at is None:
                a, b = fr.offsets_ptr[unit:unit + 2].tolist()
                if int(matches.max()) >= b - a or int(matches.min()) < 0:
                    continue  # positions past the unit's offsets: a forged index
                spans = np.stack(fr.position_spans(np.full(matches.size, unit), matches.ravel()), axis=-1)
                spans = spans.reshape(matches.shape + (2,))  # (matches, words, 2)
            else:
                found = [[tokens_at.get(p) for p in row] for row in matches.tolist()]
                found = [row for row in found if None not in row]
                if not found:
                    continue
                spans = np.array([[(t.start_char, t.end_char) for t in row] for row in found], dtype=np.int64)
            bits = [self.bit_of[t] for _, t in leaf.terms]
            if leaf.slop:  # each word where it took part, the phrase's weight once per match
                n, k = spans.shape[:2]
                starts.append(spans[:, :, 0].ravel())
                ends.append(spans[:, :, 1].ravel())
                keys.append(np.tile(np.left_shift(np.uint64(1), np.array(bits, dtype=np.uint64)), n))
                b = np.zeros((n, k))
                b[:, 0] = weight
                bonus.append(b.ravel())
            else:  # one span from the first word to the last (stop words between included)
                mask = np.uint64(0)
                for bit in bits:
                    mask |= np.uint64(1) << np.uint64(bit)
                starts.append(spans[:, :, 0].min(axis=1))
                ends.append(spans[:, :, 1].max(axis=1))
                keys.append(np.full(len(spans), mask, dtype=np.uint64))
                bonus.append(np.full(len(spans), weight))
        if not starts:
            return None
        return (np.concatenate(starts), np.concatenate(ends), np.concatenate(keys), np.concatenate(bonus))

    def from_text(self, unit: int, text: str, start: int, end: int) -> Marks:
        """The marks of one unit whose text is `text[start:end]`, reading it with the field's
        analyzer (a field without offsets)."""
        tokens = self.analyzer.tokens_matching(text[start:end], set(self.bit_of))
        words = self.fterms.words
        kept = [t for t in tokens if t.term in words]
        marks = (np.array([t.start_char + start for t in kept], dtype=np.int64),
                 np.array([t.end_char + start for t in kept], dtype=np.int64),
                 np.array([1 << self.bit_of[t.term] for t in kept], dtype=np.uint64),
                 np.zeros(len(kept)))
        if self.fterms.phrases:
            shifted = {t.position: t._replace(start_char=t.start_char + start, end_char=t.end_char + start)
                       for t in tokens}
            extra = self._phrase_marks(unit, shifted)
            if extra is not None:
                marks = tuple(np.concatenate([x, y]) for x, y in zip(marks, extra))
        return marks


def has_match(fr: FieldReader | None, unit: int, fterms: FieldTerms) -> bool:
    """Whether any of a field's words, or any of its phrases, occurs in the unit (from the
    postings, without reading the text)."""
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
