"""Where a phrase occurs in one segment's field, and how often: exact and sloppy phrase matching.

A sloppy phrase `"a b c"~s` matches where one position p_i can be chosen for each word (offset o_i
in the phrase; distinct positions) with spread = max(p_i - o_i) - min(p_i - o_i) <= s, as in Lucene:
words may be reordered, and swapping two words costs 2. Its frequency (the tf of BM25) sums
1 / (1 + spread) (Lucene's sloppyFreq) over matches, where each occurrence of the phrase's rarest
word (by document frequency, index-wide: `dfs`, from the Weight) anchors at most one match, the
tightest around it: so an exact phrase counts its occurrences, and dense repeats of the words
cannot multiply the count.
"""
from __future__ import annotations

import numpy as np

from ..query.compile import PhraseLeaf
from ..storage.segment import POSITION_STRIDE, FieldReader
from ..storage.arrays import run_start_mask
from .postings import common, intersect, positions_in, run_sums, runs

NO_UNITS = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # (units, frequencies) of a phrase found nowhere
for _a in NO_UNITS:
    _a.flags.writeable = False
NO_SPANS = np.zeros((0, 2), np.int64)  # the word positions of a phrase matched nowhere
NO_SPANS.flags.writeable = False
WHOLE_KEYS = 16384  # a phrase whose words have at most this many positions in all keys them whole
_MAX_SLOP = (1 << 30) - 1  # a larger slop means the same (positions stay below 2**31) and would overflow keys


def phrase_units(fr: FieldReader | None, leaf: PhraseLeaf, dfs: list[int], whole_keys: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(units, phrase frequency) where the phrase occurs in this segment; the frequency is a
    count for exact phrases and Lucene's sloppy frequency for phrases with slop.

    An exact phrase is an intersection of keys unit * 2**32 + (position - offset in the
    phrase), one sorted key list per word. Words with few positions in all are keyed whole
    (a few numpy calls); otherwise the posting lists are intersected first and only the
    positions in the common units are keyed. A field with pair postings (index_phrases)
    answers exact phrases from them first (paired_phrase_units)."""
    if fr is None:
        return NO_UNITS
    tids = [fr.term_id(t) for _, t in leaf.terms]
    if min(tids) < 0:
        return NO_UNITS
    if fr.pos is None:
        raise ValueError(f"field {fr.name!r} was indexed without positions")
    pptr = fr.pptr
    n_positions = [b - a for a, b in (pptr[t:t + 2].tolist() for t in tids)]
    few = sum(n_positions) <= (WHOLE_KEYS if whole_keys is None else whole_keys)
    if fr.pairs is not None and leaf.slop == 0:
        paired = paired_phrase_units(fr, leaf, tids, few)
        if paired is not None:
            return paired
    if few and leaf.slop > 0 and len(tids) == 2 and tids[0] != tids[1]:
        return _sloppy_pair(fr, leaf, tids, dfs)
    if few and leaf.slop == 0:
        # Keys of the word with the most positions stay unshifted (so keys // 2**32 is the
        # unit); every other word's keys move by the difference of offsets and are probed
        # into them, fewest positions first.
        order = sorted(range(len(tids)), key=n_positions.__getitem__)
        base = order.pop()
        keys = None
        for i in order:
            k = fr.position_keys(tids[i], leaf.terms[i][0] - leaf.terms[base][0])
            keys = k if keys is None else common(keys, k)
            if not len(keys):
                return NO_UNITS
        keys = common(keys, fr.position_keys(tids[base]))
        if not len(keys):
            return NO_UNITS
        return runs(keys // POSITION_STRIDE)
    cand, picks = intersect([fr.postings(t)[0] for t in tids], fr.units)
    if not len(cand):
        return NO_UNITS
    if leaf.slop > 0:
        return _sloppy(fr, leaf, tids, picks, cand, dfs)
    return _exact_in(fr, leaf, tids, picks, cand)

def paired_phrase_units(fr: FieldReader, leaf: PhraseLeaf, tids: list[int], few: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """An exact phrase through the field's pair postings (storage/pairs.py), or None where
    they do not help: no two of its words are adjacent, or a longer phrase whose words have
    `few` positions (keyed whole, that is cheaper than gathering positions per unit). Two
    adjacent words are one pair lookup; a missing pair rules the phrase out; otherwise a
    longer phrase is checked against positions only in the units holding all its pairs (and
    its unpaired words)."""
    order = sorted(range(len(tids)), key=lambda i: leaf.terms[i][0])
    rel = [leaf.terms[i][0] for i in order]
    adjacent = [j for j in range(len(order) - 1) if rel[j + 1] - rel[j] == 1]
    if not adjacent or (few and len(tids) > 2):
        return None
    lists = []
    for j in adjacent:
        found = fr.pairs.lookup(tids[order[j]], tids[order[j + 1]])
        if found is None:
            return NO_UNITS
        if len(tids) == 2:
            return found
        lists.append(found[0])
    covered = {order[j] for j in adjacent} | {order[j + 1] for j in adjacent}
    lists += [fr.postings(tids[i])[0] for i in range(len(tids)) if i not in covered]
    cand, _ = intersect(lists, fr.units)
    if not len(cand):
        return NO_UNITS
    picks = [positions_in(fr.postings(t)[0], cand)[1] for t in tids]
    return _exact_in(fr, leaf, tids, picks, cand)

def _exact_in(fr: FieldReader, leaf: PhraseLeaf, tids: list[int], picks: list[np.ndarray], cand: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(units, count) of an exact phrase among candidate units `cand`, each word's postings
    there given by `picks` (indices into its posting list)."""
    keys = _exact_keys(fr, leaf, tids, picks, cand)
    return runs(keys // POSITION_STRIDE) if len(keys) else NO_UNITS

def _exact_keys(fr: FieldReader, leaf: PhraseLeaf, tids: list[int], picks: list[np.ndarray], cand: np.ndarray
                ) -> np.ndarray:
    """Where an exact phrase occurs among candidate units `cand`: sorted keys unit * 2**32 +
    (position of the phrase's relative position 0), possibly empty."""
    keys = None
    for (rel, _), tid, pick in zip(leaf.terms, tids, picks):
        pos, owner = fr.positions(tid, pick)
        k = cand[owner] * POSITION_STRIDE + (pos - rel)
        keys = k if keys is None else common(keys, k)
        if not len(keys):
            break
    return keys

def _sloppy_pair(fr: FieldReader, leaf: PhraseLeaf, tids: list[int], dfs: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """A sloppy phrase of two different words with few positions: what _sloppy computes, from
    whole key lists. For each occurrence of the anchor word (the rarer index-wide), the other
    word's nearest keys below and above it give the tightest match; keys of other units lie
    more than any slop away, so the unit needs no separate test."""
    anchor = 0 if dfs[0] <= dfs[1] else 1
    other = 1 - anchor
    keys = fr.position_keys(tids[anchor])  # unshifted, so that keys // 2**32 is the unit
    near = fr.position_keys(tids[other], leaf.terms[other][0] - leaf.terms[anchor][0])
    at = near.searchsorted(keys)
    # the nearest keys on either side (clipped at the ends, where abs() keeps them farther)
    spread = np.minimum(np.abs(keys - near.take(at - 1, mode="clip")), np.abs(keys - near.take(at, mode="clip")))
    found = spread <= min(leaf.slop, _MAX_SLOP)
    keys = keys[found]
    if not len(keys):
        return NO_UNITS
    return run_sums(keys // POSITION_STRIDE, np.reciprocal(spread[found] + 1.0))

def _sloppy(fr: FieldReader, leaf: PhraseLeaf, tids: list[int], picks: list[np.ndarray], cand: np.ndarray,
            dfs: list[int], spans: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sloppy phrase frequency per candidate unit. Each occurrence of the anchor word (the
    phrase's rarest word index-wide) stands for at most one match: the tightest choice of
    positions for the other words around it, found by a vectorised join over only the
    nearest occurrences of each word on either side (m of each, for a word that fills m slots
    of the phrase: farther ones can never tighten the window). So the work is linear in the
    positions whatever the slop, and an exact phrase counts 1 per occurrence, as in Lucene.

    With `spans`, the same matches as the positions each of the phrase's words took (a row per
    anchor occurrence that matched: its tightest choice, in anchor order): what a snippet marks."""
    slop = min(leaf.slop, _MAX_SLOP)
    bias = max(rel for rel, _ in leaf.terms) + slop + 1  # keeps keys of window ends non-negative
    slots = []
    for (rel, term), tid, pick in zip(leaf.terms, tids, picks):
        pos, owner = fr.positions(tid, pick)
        slots.append((term, owner, pos - rel, pos))
    terms = [t for t, *_ in slots]
    anchor = min(range(len(slots)), key=lambda i: (dfs[i], i))
    _, own, center, raw = slots[anchor]
    row_anchor = np.arange(len(own))  # the anchor occurrence each partial match belongs to
    lo, hi = center, center
    taken = {anchor: raw}  # the position each word took in each partial match (kept for `spans`)
    remember = {anchor: raw}  # positions a repeated word must not take again
    rest = [i for i in range(len(slots)) if i != anchor]
    for step, i in enumerate(rest):
        term, owner, adj, raw = slots[i]
        m = terms.count(term)
        keys = owner * POSITION_STRIDE + (adj + bias)
        at = np.searchsorted(keys, own * POSITION_STRIDE + (center + bias))
        offsets = np.arange(-m, m)
        pick = (at[:, None] + offsets).ravel()
        rep = np.repeat(np.arange(len(own)), 2 * m)
        ok = (pick >= 0) & (pick < len(keys))
        pick, rep = pick[ok], rep[ok]
        new_adj = adj[pick]
        new_lo, new_hi = np.minimum(lo[rep], new_adj), np.maximum(hi[rep], new_adj)
        ok = (owner[pick] == own[rep]) & (new_hi - new_lo <= slop)
        for k, r in remember.items():  # one position cannot fill two slots of the phrase
            if terms[k] == term:
                ok &= r[rep] != raw[pick]
        rep, pick = rep[ok], pick[ok]
        own, center, row_anchor = own[rep], center[rep], row_anchor[rep]
        lo, hi = new_lo[ok], new_hi[ok]
        if spans:
            taken = {k: r[rep] for k, r in taken.items()}
            taken[i] = raw[pick]
        remember = {k: r[rep] for k, r in remember.items()}
        remember[i] = raw[pick]
        later = {terms[j] for j in rest[step + 1:]}
        remember = {k: r for k, r in remember.items() if terms[k] in later}
        if not len(own):
            return NO_SPANS if spans else (np.zeros(0, np.int64), np.zeros(0, np.float64))
    spread = np.full(len(slots[anchor][1]), np.iinfo(np.int64).max)
    np.minimum.at(spread, row_anchor, hi - lo)
    found = spread <= slop
    if spans:  # per matching anchor, its first row of the tightest spread
        tight = np.flatnonzero((hi - lo == spread[row_anchor]) & found[row_anchor])
        tight = tight[run_start_mask(row_anchor[tight])]
        return np.stack([taken[k][tight] for k in range(len(slots))], axis=1)
    freq = np.bincount(slots[anchor][1][found], weights=1.0 / (1.0 + spread[found]), minlength=len(cand))
    units = np.flatnonzero(freq > 0)
    return cand[units], freq[units]


def phrase_matches(fr: FieldReader | None, leaf: PhraseLeaf, dfs: list[int], unit: int) -> np.ndarray:
    """Where the phrase matched in one unit: an int64 row per match holding the position each of
    its words (in `leaf.terms` order) took; one row per exact occurrence, or per sloppy match
    that phrase_units counts (the tightest around each occurrence of the anchor word). The same
    matching as scoring, restricted to the unit, so a snippet marks a phrase exactly where it
    made the document match."""
    if fr is None or fr.pos is None:
        return NO_SPANS
    tids = [fr.term_id(t) for _, t in leaf.terms]
    if min(tids) < 0:
        return NO_SPANS
    cand = np.array([unit], dtype=np.int64)
    picks = []
    for tid in tids:
        units = fr.postings(tid)[0]
        at = int(units.searchsorted(unit))
        if at == len(units) or units[at] != unit:
            return NO_SPANS
        picks.append(np.array([at], dtype=np.int64))
    if leaf.slop > 0:
        return _sloppy(fr, leaf, tids, picks, cand, dfs, spans=True)
    keys = _exact_keys(fr, leaf, tids, picks, cand)
    rels = np.array([rel for rel, _ in leaf.terms], dtype=np.int64)
    return (keys % POSITION_STRIDE)[:, None] + rels[None, :]
