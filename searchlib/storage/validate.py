"""What an indexed field's arrays must hold, checked before a search relies on them.

A manifest's checksums only say that the files are the ones it names; someone who forged the
files can sign them too. So opening a segment checks what searching relies on, in two steps,
each returning the problems found as (component whose file is at fault, or None for meta.json,
message), the same words in a searcher's IndexCorruptError and in a `check` report:

- field_problem, O(1): each array's type and dimensions, the pointers running from 0 to the
  postings and positions, and meta.json's counts agreeing with the arrays (a count from meta.json
  sizes arrays at search time);
- content_problems, one pass over the field's arrays: pointers that never decrease, unit numbers
  in range and strictly ascending within a term, frequencies of at least 1, position pointers
  that are the running sum of the frequencies, lengths and passages that agree with meta.json and
  the documents, pair postings alike; and terms per document that are the postings inverted (a
  sort). A searcher runs it once per process for the same files (FieldReader: remembered by
  their names, sizes and checksums, as files.verify remembers the files it checksummed), since
  opening reads every file for its checksum anyway the first time.

The term dictionary checks its own files (termdict.py). What forged but self-consistent arrays
can still do is give wrong results, which `check` looks further for.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from . import pairs as _pairs
from . import spans as _spans
from .arrays import chunks, invert_postings
from .blocks import block_bounds
from .components import Component

Problem = "tuple[Component | None, str]"
_CHUNK = 1 << 20  # postings examined at a time: temporaries stay a few megabytes whatever the field's size

# The types each of a field's arrays may have (components.py describes them); all one-dimensional
# but USPAN, BLOCKMAX, OFFX and format 6's OFFS (uint32 pairs; format 7's is uint8 codes, one
# dimension). Frequencies and positions are in the narrowest unsigned type that holds them,
# pointers in int32 when they fit.
_COUNTS = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32))
_OFFSETS = (np.dtype(np.int32), np.dtype(np.int64))
_INT64, _UINT32 = (np.dtype(np.int64),), (np.dtype(np.uint32),)
FIELD_DTYPES = {Component.PTR: _OFFSETS, Component.UNIT: _UINT32, Component.TF: _COUNTS,
                Component.PPTR: _OFFSETS, Component.POS: _COUNTS, Component.LEN: _UINT32,
                Component.UDOC: _UINT32, Component.USPAN: _INT64, Component.BLOCKPTR: _INT64,
                Component.BLOCKMAX: _UINT32, Component.OFFS: (np.dtype(np.uint8), np.dtype(np.uint32)),
                Component.OFFX: _INT64, Component.OFFK: _UINT32, Component.OPTR: _OFFSETS,
                Component.DOCPTR: _OFFSETS, Component.DOCTERM: _COUNTS}
_TWO_DIMENSIONAL = (Component.USPAN, Component.BLOCKMAX, Component.OFFX)


def field_problem(name: str, info: dict, arrays: "dict[Component, np.ndarray | None]",
                  doc_count: int) -> "Problem | None":
    """What is wrong with an indexed field's arrays (by component; None where absent) against
    their types, each other and meta.json's counts (`info`); None when they agree. O(1): what
    opening a segment requires before a count from meta.json sizes anything."""
    for component, a in arrays.items():
        if a is None:
            continue
        dims = 2 if component in _TWO_DIMENSIONAL or (component is Component.OFFS and a.dtype == np.uint32) else 1
        if (a.dtype not in FIELD_DTYPES[component] or a.ndim != dims):
            return component, (f"holds {a.dtype} in {a.ndim} dimensions, expected "
                               f"{' or '.join(map(str, FIELD_DTYPES[component]))}")
    ptr, unit, tf = arrays[Component.PTR], arrays[Component.UNIT], arrays[Component.TF]
    pptr, pos = arrays[Component.PPTR], arrays[Component.POS]
    lengths, udoc, span = arrays[Component.LEN], arrays[Component.UDOC], arrays[Component.USPAN]
    if info.get("terms") != len(ptr) - 1:
        return None, f"field {name!r}: says {info.get('terms')} terms, its posting pointers are for {len(ptr) - 1}"
    if len(ptr) == 0 or ptr[0] != 0 or ptr[-1] != len(unit):
        return Component.PTR, f"posting pointers do not run from 0 to the {len(unit)} postings"
    if len(tf) != len(unit):
        return Component.TF, f"has {len(tf)} frequencies for {len(unit)} postings"
    if info.get("postings") != len(unit):
        return None, f"field {name!r}: says {info.get('postings')} postings, there are {len(unit)}"
    if (pptr is None) != (pos is None) or bool(info.get("positions")) != (pos is not None):
        return None, (f"field {name!r}: positions are {'' if info.get('positions') else 'not '}listed, "
                      f"but {'no' if pos is None else 'a'} position file is")
    if pptr is not None and (len(pptr) != len(ptr) or pptr[0] != 0 or pptr[-1] != len(pos)):
        return Component.PPTR, f"position pointers do not run from 0 to the {len(pos)} positions, term by term"
    units = info.get("units", doc_count)
    if lengths is None and udoc is None and units != doc_count:
        return None, f"field {name!r}: says {units} units, but it has one per document ({doc_count})"
    if lengths is not None and len(lengths) != units:
        return Component.LEN, f"has {len(lengths)} lengths, meta.json says {units} units"
    if bool(info.get("split")) != (udoc is not None) or (udoc is None) != (span is None):
        return None, (f"field {name!r}: passages are {'' if info.get('split') else 'not '}listed, but "
                      f"{'no' if udoc is None else 'a'} passage file is")
    if udoc is not None and len(udoc) != units:
        return Component.UDOC, f"has {len(udoc)} passages, meta.json says {units} units"
    if span is not None and span.shape != (units, 2):
        return Component.USPAN, f"has shape {span.shape}, expected ({units}, 2)"
    offs, optr, offx = arrays.get(Component.OFFS), arrays.get(Component.OPTR), arrays.get(Component.OFFX)
    if bool(info.get("offsets")) != (offs is not None) or (offs is None) != (optr is None):
        return None, (f"field {name!r}: offsets are {'' if info.get('offsets') else 'not '}listed, but "
                      f"{'no' if offs is None else 'an'} offsets file is")
    if offs is not None and offs.ndim == 2 and offs.shape[1:] != (2,):
        return Component.OFFS, f"has shape {offs.shape}, expected (positions, 2)"
    if (offx is not None) != (offs is not None and offs.ndim == 1):
        return Component.OFFX, ("is missing beside one-byte token spans" if offx is None
                                else "is present without one-byte token spans")
    if offx is not None and offx.shape[0] != 3:
        return Component.OFFX, f"has shape {offx.shape}, expected (3, escaped positions)"
    offk = arrays.get(Component.OFFK)
    if (offk is not None) != (offx is not None) or (offk is not None and len(offk) != -(-len(offs) // _spans.STRIDE)):
        return Component.OFFK, f"does not hold a checkpoint for every {_spans.STRIDE} one-byte token spans"
    if optr is not None and (len(optr) != units + 1 or optr[0] != 0 or optr[-1] != len(offs)):
        return Component.OPTR, f"offset pointers do not run from 0 to the {len(offs)} token positions, unit by unit"
    if info.get("nonempty", 0) > units:
        return None, f"field {name!r}: says {info['nonempty']} non-empty units of {units}"
    dptr, dterm = arrays.get(Component.DOCPTR), arrays.get(Component.DOCTERM)
    if ("doc_terms" in info) != (dterm is not None) or (dterm is None and dptr is not None):
        return None, (f"field {name!r}: terms per document are {'' if 'doc_terms' in info else 'not '}listed, "
                      f"but {'no' if dterm is None else 'a'} file of them is")
    if dterm is not None and dptr is None and (lengths is not None or len(dterm) != units or len(unit) != units):
        return Component.DOCTERM, (f"has {len(dterm)} terms without document pointers, which only a field of one "
                                   f"term per document ({units}) may")
    if dptr is not None and (lengths is not None or len(dptr) != units + 1 or dptr[0] != 0
                             or dptr[-1] != len(dterm) or len(dterm) != len(unit)):
        return Component.DOCPTR, (f"document pointers do not run from 0 to the {len(unit)} postings, "
                                  "document by document")
    bptr, bmax = arrays.get(Component.BLOCKPTR), arrays.get(Component.BLOCKMAX)
    if (lengths is None) != (bptr is None) or (bptr is None) != (bmax is None):
        return Component.BLOCKPTR, "block bounds are missing or present without lengths (the format writes them " \
                                   "for every field with lengths)"
    if bptr is not None and (len(bptr) != len(ptr) or bptr[0] != 0 or bptr[-1] != len(bmax) or bmax.shape[1:] != (2,)):
        return Component.BLOCKPTR, f"block pointers do not run from 0 to the {len(bmax)} block bounds, term by term"
    return None


def _runs(ptr: np.ndarray) -> Iterator[tuple[int, int, int, int]]:
    """(first group, end group, first item, end item) of chunks of about _CHUNK items of the groups
    `ptr` delimits (group g holds items [ptr[g], ptr[g + 1]); `ptr` never decreases)."""
    for g1, g2 in chunks(ptr, _CHUNK):
        yield g1, g2, int(ptr[g1]), int(ptr[g2])


def postings_problems(ptr: np.ndarray, unit: np.ndarray, tf: np.ndarray, units: int,
                      components: "tuple[Component, Component, Component]" = (Component.PTR, Component.UNIT,
                                                                               Component.TF),
                      what: str = "term") -> "list[Problem]":
    """Posting lists (of terms, or of pairs with `components` and `what`): pointers that never
    decrease, unit numbers below `units` and strictly ascending within a list, frequencies of at
    least 1. field_problem's sizes hold."""
    ptr_c, unit_c, tf_c = components
    if len(ptr) > 1 and np.any(ptr[1:] < ptr[:-1]):
        return [(ptr_c, "posting pointers do not start at 0 and increase")]
    found: list = []
    if len(unit) and int(unit.max()) >= units:
        found.append((unit_c, f"a unit number reaches {int(unit.max())}, but there are {units} units"))
    if len(tf) and int(tf.min()) < 1:
        found.append((tf_c, f"a {what} frequency is 0"))
    for g1, g2, a, b in _runs(ptr):
        if b - a < 2:
            continue
        ascending = unit[a + 1:b] > unit[a:b - 1]  # [i]: posting a + i + 1 against the one before
        starts = ptr[g1 + 1:g2]
        ascending[starts[(starts > a) & (starts < b)] - a - 1] = True  # a new list may start anywhere
        if not np.all(ascending):
            found.append((unit_c, f"units of a {what} are not in ascending order"))
            break
    return found


def positions_problems(ptr: np.ndarray, tf: np.ndarray, pptr: np.ndarray) -> "list[Problem]":
    """Position pointers that are the running sum of the frequencies at each term's first
    posting (so every posting's positions lie inside the position file). The posting pointers
    never decrease (postings_problems)."""
    for g1, g2, a, b in _runs(ptr):
        sums = np.empty(b - a + 1, dtype=np.int64)
        sums[0] = pptr[g1]
        np.cumsum(tf[a:b], out=sums[1:])
        sums[1:] += sums[0]
        if not np.array_equal(pptr[g1:g2 + 1], sums[ptr[g1:g2 + 1] - a]):
            return [(Component.PPTR, "position pointers do not match the term frequencies")]
    return []


def lengths_problems(lengths: np.ndarray, info: dict) -> "list[Problem]":
    """Unit lengths that sum to meta.json's tokens, with its count of non-empty units."""
    found: list = []
    tokens = int(lengths.sum(dtype=np.int64))
    if tokens != info.get("tokens"):
        found.append((Component.LEN, f"lengths sum to {tokens} tokens, meta.json says {info.get('tokens')}"))
    if "nonempty" in info and int(np.count_nonzero(lengths)) != info["nonempty"]:
        found.append((Component.LEN, "the count of non-empty units differs from meta.json"))
    return found


def passages_problems(udoc: np.ndarray, span: np.ndarray, doc_count: int) -> "list[Problem]":
    """Passages of documents in range and in order, each span starting at 0 or later and ending no
    sooner than it starts (where it ends against its stored text is checked when the text is read)."""
    found: list = []
    if len(udoc) and (int(udoc.max()) >= doc_count or np.any(udoc[1:] < udoc[:-1])):
        found.append((Component.UDOC, "passage documents are out of range or out of order"))
    if len(span) and (int(span[:, 0].min()) < 0 or np.any(span[:, 0] > span[:, 1])):
        found.append((Component.USPAN, "a passage ends before it starts"))
    return found


def pairs_problems(arrays: "list[np.ndarray]", n_terms: int, units: int) -> "list[Problem]":
    """Pair postings beyond pairs.problems (types and counts): keys strictly ascending, both term
    ids in the dictionary, every pair with a posting, then their posting lists as postings_problems
    judges a term's."""
    keys, ptr, unit, tf = arrays
    found: list = []
    if len(keys) and (np.any(keys[1:] <= keys[:-1])
                      or max(int(ids.max()) for ids in _pairs.pair_terms(keys)) >= n_terms):
        found.append((Component.PAIRKEY, "pair keys are not ascending term-id pairs of this dictionary"))
    if np.any(ptr[1:] <= ptr[:-1]):
        return found + [(Component.PAIRPTR, "pair pointers do not run from 0 to the pair postings")]
    return found + postings_problems(ptr, unit, tf, units, (Component.PAIRPTR, Component.PAIRUNIT, Component.PAIRTF),
                                     "pair")


def doc_terms_problems(ptr: np.ndarray, unit: np.ndarray, dptr: "np.ndarray | None", dterm: np.ndarray,
                       units: int, most: int) -> "list[Problem]":
    """Terms per document that are exactly the postings inverted (arrays.invert_postings), so a
    facet count read from them equals one read from the postings, without pointers only where
    every document has one term, and meta.json's `doc_terms` (`most`) the most terms a document
    has. field_problem's sizes hold."""
    want_ptr, want_term = invert_postings(ptr, unit, units)
    if dptr is None:
        if np.any(np.diff(want_ptr) != 1):
            return [(Component.DOCTERM, "has no document pointers, but not every document has one term")]
    elif not np.array_equal(want_ptr, dptr):
        return [(Component.DOCPTR, "document pointers do not match the postings")]
    if not np.array_equal(want_term, dterm):
        return [(Component.DOCTERM, "terms per document are not those of the postings")]
    if units and int(np.diff(want_ptr).max()) != most:
        return [(None, f"says a document has at most {most} terms, one has {int(np.diff(want_ptr).max())}")]
    return []


def content_problems(info: dict, arrays: "dict[Component, np.ndarray | None]", pairs: "list[np.ndarray] | None",
                     doc_count: int) -> "list[Problem]":
    """Everything above that applies to a field whose arrays passed field_problem (and its pair
    arrays pairs.problems), in one pass over each array."""
    ptr, unit, tf, pptr = (arrays[c] for c in (Component.PTR, Component.UNIT, Component.TF, Component.PPTR))
    units = info.get("units", doc_count)
    found = postings_problems(ptr, unit, tf, units)
    if found:
        return found
    if pptr is not None:
        found += positions_problems(ptr, tf, pptr)
    if arrays[Component.LEN] is not None:
        found += lengths_problems(arrays[Component.LEN], info)
    if arrays[Component.UDOC] is not None:
        found += passages_problems(arrays[Component.UDOC], arrays[Component.USPAN], doc_count)
    if pairs is not None:
        found += pairs_problems(pairs, len(ptr) - 1, units)
    if arrays.get(Component.DOCTERM) is not None:
        found += doc_terms_problems(ptr, unit, arrays.get(Component.DOCPTR), arrays[Component.DOCTERM], units,
                                    info["doc_terms"])
    if arrays.get(Component.BLOCKPTR) is not None and not found:
        bptr, bmax = block_bounds(ptr, unit, tf, arrays[Component.LEN])
        if not np.array_equal(bptr, arrays[Component.BLOCKPTR]):
            found.append((Component.BLOCKPTR, "block pointers are not those of the postings"))
        elif not np.array_equal(bmax, arrays[Component.BLOCKMAX]):
            found.append((Component.BLOCKMAX, "block bounds are not those of the postings (pruning would skip "
                                              "postings that score higher)"))
    optr, offs = arrays.get(Component.OPTR), arrays.get(Component.OFFS)
    if optr is not None and np.any(optr[1:] < optr[:-1]):
        found.append((Component.OPTR, "offset pointers decrease"))
    elif offs is not None:
        span = arrays.get(Component.USPAN)
        found += spans_problems(offs, arrays.get(Component.OFFX), arrays.get(Component.OFFK), optr,
                                None if span is None else span[:, 0])
    return found


def spans_problems(offs: np.ndarray, offx: "np.ndarray | None", offk: "np.ndarray | None", optr: np.ndarray,
                   base: "np.ndarray | None") -> "list[Problem]":
    """Token spans that decode: uint32 pairs that end no sooner than they start; one-byte codes
    (spans.py) whose exceptions are exactly their escaped positions, ascending, which decode to
    spans within 0..2**32 (decoded CHUNK positions at a time), with checkpoints that are their
    starts. field_problem's sizes hold and the pointers never decrease."""
    if offx is None:
        for a in range(0, len(offs), _CHUNK):
            part = offs[a:a + _CHUNK]
            if np.any(part[:, 0] > part[:, 1]):
                return [(Component.OFFS, "a token ends before it starts")]
        return []
    rows = np.asarray(offx[0])
    if len(rows) and (int(rows[0]) < 0 or int(rows[-1]) >= len(offs) or np.any(rows[1:] <= rows[:-1])):
        return [(Component.OFFX, "escaped positions are not ascending positions of the token spans")]
    escaped = sum(int(np.count_nonzero(_spans.ESCAPED[np.asarray(offs[a:a + _CHUNK])]))
                  for a in range(0, len(offs), _CHUNK))
    if escaped != len(rows):
        return [(Component.OFFX, f"lists {len(rows)} escaped positions, the token spans escape {escaped}")]
    try:  # decodes every unit: a span that does not decode is found on the way
        marks = _spans.checkpoints(offs, offx, optr, base)
    except _spans.SpanError as exc:
        return [(Component.OFFS, str(exc))]
    if not np.array_equal(marks, offk):
        return [(Component.OFFK, "checkpoints are not the starts of the token spans")]
    return []
