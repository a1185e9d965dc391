"""The tokens of a whole batch of texts, found with numpy instead of a match object per token.

For the tokenizer patterns below, tokens are runs of "token characters", and a text's tokens can
be read off the run boundaries of the whole batch at once:

- WORD_PATTERN, `\\d+(?:[.,]\\d+)+|\\w+(?:['’]\\w+)*`: a token character is a `\\w` character, an
  apostrophe between two `\\w` characters, or a `.`/`,` between two `\\d` characters. Any string
  the pattern matches consists of such characters (its inner apostrophes and separators are
  flanked that way), so every token lies inside one run, and every `\\w` character is in a token,
  so the tokens split each run. A run without a separator has the form `\\w+(?:['’]\\w+)*` and is
  exactly one token (the first alternative needs a separator; the second matches it greedily and
  cannot go past its end). A run with a separator ("1.5", but also "1.5a" = "1.5" + "a") is
  re-read with the regex, confined to the run (the match attempts are the same inside it).
- `\\S+` (WhitespaceTokenizer): runs of non-space characters, always.

Characters are classified through a lookup table for ASCII and with the pattern's own regular
expressions once per other distinct code point of the batch. The batch also gets a compact code
unit per character (`BatchTokens.units`): ASCII as itself, other code points numbered from 128 in
the batch, so a token's units are an exact key for its word within the batch (analysis.distinct).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .tokenizers import WORD_PATTERN

_WORD, _DIGIT, _JOIN_WORDS, _JOIN_DIGITS = 1, 2, 4, 8  # character class bits
_SEPARATOR = "\n"  # between the texts of a batch: in no class, so no run crosses it
PADDING = 32  # separators after the last text: 32 bytes of units can be read from any token's start


def _classifier(pattern: str):
    """Code point -> class bits for a pattern this module handles, else None."""
    if pattern == WORD_PATTERN:
        word, digit = re.compile(r"\w").match, re.compile(r"\d").match

        def classify(ch: str) -> int:
            return ((_WORD if word(ch) else 0) | (_DIGIT if digit(ch) else 0)
                    | (_JOIN_WORDS if ch in "'’" else 0) | (_JOIN_DIGITS if ch in ".," else 0))
        return classify
    if pattern == r"\S+":
        space = re.compile(r"\s").match
        return lambda ch: 0 if space(ch) else _WORD
    return None


@dataclass
class BatchTokens:
    """Every token of a batch of texts, as character spans in the texts joined by a separator."""

    text: str  # the batch's texts joined by "\n", then PADDING "\n"s
    units: np.ndarray | None  # uint8/uint16 code unit per character of `text`, never 0 in a token; None: too many distinct characters
    starts: np.ndarray  # int32 (int64 past 2**31 characters) start of every token in `text`, in order
    ends: np.ndarray  # same type: end of every token in `text`
    counts: np.ndarray  # int64 tokens of each text
    bases: np.ndarray  # int64 start of each text in `text`

    def offsets(self) -> np.ndarray:
        """uint32 (tokens, 2) spans, each relative to its own text."""
        base = np.repeat(self.bases.astype(self.starts.dtype), self.counts)
        out = np.empty((len(base), 2), dtype=np.uint32)
        np.subtract(self.starts, base, out=out[:, 0], casting="unsafe")  # 0 <= offset < 2**32
        np.subtract(self.ends, base, out=out[:, 1], casting="unsafe")
        return out


class SpanFinder:
    """The tokens of a batch of texts for one supported tokenizer pattern (see `for_pattern`)."""

    def __init__(self, pattern: str, classify):
        self.pattern = pattern
        self._regex = re.compile(pattern)
        self._classify = classify
        self._ascii = np.array([classify(chr(c)) for c in range(128)], dtype=np.uint8)
        self._table = self._ascii.tobytes() + bytes(128)  # for bytes.translate (ASCII text only)
        self._joins = pattern == WORD_PATTERN
        self._nul_in_tokens = bool(self._ascii[0])  # then a unit of 0 could be in a token

    @classmethod
    def for_pattern(cls, pattern: str) -> "SpanFinder | None":
        """A finder when the pattern's tokens are provably runs of a character class, else None."""
        classify = _classifier(pattern)
        return None if classify is None else cls(pattern, classify)

    def _classes(self, text: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(class bits, code units) of each character of `text`: a table for ASCII, the regex once
        per other distinct code point, which is numbered from 128 in the units."""
        if text.isascii():  # the common case: one C-level pass through a byte table
            raw = text.encode("ascii")
            return np.frombuffer(raw.translate(self._table), dtype=np.uint8), np.frombuffer(raw, dtype=np.uint8)
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        wide = codes >= 128
        cls = self._ascii[np.where(wide, 0, codes)]
        distinct, where = np.unique(codes[wide], return_inverse=True)
        cls[wide] = np.array([self._classify(chr(c)) for c in distinct.tolist()], dtype=np.uint8)[where]
        if 128 + len(distinct) > 1 << 16:
            return cls, None
        units = codes.astype(np.uint8 if 128 + len(distinct) <= 1 << 8 else np.uint16)
        units[wide] = 128 + where
        return cls, units

    def tokens(self, texts: list[str]) -> BatchTokens:
        """The spans of the tokens of every text of the batch, exactly the pattern's matches."""
        joined = _SEPARATOR.join(texts) + _SEPARATOR * PADDING
        cls, units = self._classes(joined)
        if units is not None and self._nul_in_tokens and "\0" in joined:
            units = None
        size = len(cls)
        token = np.zeros(size + 2, dtype=np.uint8)  # 1 per token character, padded with a 0 each side
        np.bitwise_and(cls, _WORD, out=token[1:-1])
        separators = None
        if self._joins:
            # a joiner counts when flanked: apostrophes by word characters, separators by digits
            at = np.flatnonzero(cls[1:-1] >= _JOIN_WORDS) + 1
            left, mid, right = cls[at - 1], cls[at], cls[at + 1]
            words = ((mid & _JOIN_WORDS) != 0) & ((left & right & _WORD) != 0)
            digits = ((mid & _JOIN_DIGITS) != 0) & ((left & right & _DIGIT) != 0)
            token[at[words | digits] + 1] = 1
            separators = at[digits]
        edges = np.flatnonzero(token[1:] != token[:-1])
        del token, cls
        index = np.int32 if size < 1 << 31 else np.int64  # spans as int32 in any batch the writer makes
        starts, ends = edges[0::2].astype(index), edges[1::2].astype(index)
        del edges
        if separators is not None and len(separators):
            starts, ends = self._split_runs(joined, starts, ends, separators)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        bases = np.cumsum(lengths + 1) - (lengths + 1)  # each text's start in `joined`
        counts = np.diff(np.searchsorted(starts, np.append(bases, size + 1)))
        return BatchTokens(joined, units, starts, ends, counts, bases)

    def _split_runs(self, joined: str, starts: np.ndarray, ends: np.ndarray,
                    separators: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Replace each run holding a number separator by the regex's tokens inside it."""
        runs = np.unique(np.searchsorted(starts, separators, side="right") - 1)
        found = np.array([m.span() for s, e in zip(starts[runs].tolist(), ends[runs].tolist())
                          for m in self._regex.finditer(joined, s, e)], dtype=starts.dtype).reshape(-1, 2)
        kept_starts, kept_ends = np.delete(starts, runs), np.delete(ends, runs)
        at = np.searchsorted(kept_starts, found[:, 0])
        return np.insert(kept_starts, at, found[:, 0]), np.insert(kept_ends, at, found[:, 1])
