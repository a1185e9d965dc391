"""Character spans of a regex tokenizer's tokens, found with numpy instead of a match object per token.

For the tokenizer patterns below, a text's tokens are exactly the maximal runs of "token
characters" whenever there are as many runs as tokens, so the spans are the run boundaries:

- WORD_PATTERN, `\\d+(?:[.,]\\d+)+|\\w+(?:['’]\\w+)*`: a token character is a `\\w` character, an
  apostrophe between two `\\w` characters, or a `.`/`,` between two `\\d` characters. Every token
  lies inside one run (its inner apostrophes and separators are flanked that way) and every `\\w`
  character is in a token, so the tokens split the runs; with as many tokens as runs, each run is
  one token. Texts where they differ ("1.5a" is the tokens "1.5" and "a") are left to the regex.
- `\\S+` (WhitespaceTokenizer): runs of non-space characters, always.

Characters are classified on the text as a UTF-32 array: ASCII through a lookup table, other code
points once per distinct code point in the batch with the same regular expressions as the pattern.
"""
from __future__ import annotations

import re

import numpy as np

from .tokenizers import WORD_PATTERN

_WORD, _DIGIT, _JOIN_WORDS, _JOIN_DIGITS = 1, 2, 4, 8  # character class bits
_SEPARATOR = "\n"  # between the texts of a batch: in no class, so no run crosses it


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


class SpanFinder:
    """Token spans of a batch of texts for one supported tokenizer pattern (see `for_pattern`)."""

    def __init__(self, pattern: str, classify):
        self.pattern = pattern
        self._classify = classify
        self._ascii = np.array([classify(chr(c)) for c in range(128)], dtype=np.uint8)
        self._table = self._ascii.tobytes() + bytes(128)  # for bytes.translate (ASCII text only)
        self._joins = pattern == WORD_PATTERN

    @classmethod
    def for_pattern(cls, pattern: str) -> "SpanFinder | None":
        """A finder when the pattern's tokens are provably runs of a character class, else None."""
        classify = _classifier(pattern)
        return None if classify is None else cls(pattern, classify)

    def _classes(self, codes: np.ndarray) -> np.ndarray:
        """Class bits of each code point: a table for ASCII, the regex once per other code point."""
        wide = codes >= 128
        out = self._ascii[np.where(wide, 0, codes)]
        if wide.any():
            distinct, where = np.unique(codes[wide], return_inverse=True)
            out[wide] = np.array([self._classify(chr(c)) for c in distinct.tolist()], dtype=np.uint8)[where]
        return out

    def spans(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, runs): int64 character spans of the runs of every text, each relative to
        its own text, in order, and int64 runs per text. Where a text's run count differs from its
        tokenizer's token count, its spans are not its tokens' (see the module docstring)."""
        if not texts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        joined = _SEPARATOR.join(texts)
        if joined.isascii():  # the common case: one C-level pass through a byte table
            cls = np.frombuffer(joined.encode("ascii").translate(self._table), dtype=np.uint8)
        else:
            cls = self._classes(np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))
        size = len(cls)
        token = np.zeros(size + 2, dtype=np.uint8)  # 1 per token character, padded with a 0 each side
        np.bitwise_and(cls, _WORD, out=token[1:-1])
        if self._joins:
            # a joiner counts when flanked: apostrophes by word characters, separators by digits
            at = np.flatnonzero(cls[1:-1] >= _JOIN_WORDS) + 1
            left, mid, right = cls[at - 1], cls[at], cls[at + 1]
            flanked = (((mid & _JOIN_WORDS) != 0) & ((left & right & _WORD) != 0)) | \
                (((mid & _JOIN_DIGITS) != 0) & ((left & right & _DIGIT) != 0))
            token[at[flanked] + 1] = 1
        edges = np.flatnonzero(token[1:] != token[:-1])
        starts, ends = edges[0::2], edges[1::2]
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        first = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)  # each text's start
        runs = np.diff(np.searchsorted(starts, np.append(first, size + 1)))
        base = np.repeat(first, runs)
        return starts - base, ends - base, runs
