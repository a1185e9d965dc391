"""The BM25 family as small pure functions over numpy arrays, and the settings that tune them.

Statistics are index-wide (summed over segments), so a document scores the same however the
index is split into segments. Lucene's idf is used: it is never negative, so a very common term
can only add to a score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidArgumentError


@dataclass(frozen=True)
class BM25:
    """BM25 parameters: `k1` saturates term frequency, `b` scales length normalisation (0..1)."""

    k1: float = 1.2
    b: float = 0.75

    def __post_init__(self):
        # A bool is an int to Python, but True is no value of k1 or b a person means.
        if isinstance(self.k1, bool) or not (isinstance(self.k1, (int, float)) and 0 <= self.k1 <= 100):
            raise InvalidArgumentError(f"k1 must be a number between 0 and 100, got {self.k1!r}")
        if isinstance(self.b, bool) or not (isinstance(self.b, (int, float)) and 0 <= self.b <= 1):
            raise InvalidArgumentError(f"b must be a number between 0 and 1, got {self.b!r}")


def idf(doc_count: int | np.ndarray, doc_freq: int | np.ndarray) -> np.ndarray | float:
    """Lucene's BM25 idf: log(1 + (N - df + 0.5) / (df + 0.5)); a float for numbers (the same
    C log1p without numpy's per-call cost), an array for arrays."""
    ratio = (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)
    return np.log1p(ratio) if isinstance(ratio, np.ndarray) else math.log1p(ratio)


def length_norm(lengths: np.ndarray, avg_length: float, k1: float, b: float) -> np.ndarray:
    """k1 * (1 - b + b * len / avgdl) per unit, as float32: computed once per segment, field and
    BM25 parameters, and kept by the segment's evaluator."""
    avg = avg_length if avg_length > 0 else 1.0
    return (k1 * (1.0 - b + b * np.asarray(lengths, dtype=np.float64) / avg)).astype(np.float32)


def bm25(tf: np.ndarray, norm: np.ndarray, weight: "float | np.ndarray", k1: float) -> np.ndarray:
    """Scores of postings, float32: weight (idf times boosts, one or per posting) * (k1 + 1) * tf
    / (tf + norm), with `norm` from length_norm for the postings' units."""
    tf = tf.astype(np.float32)
    scores = np.asarray(weight, dtype=np.float32) * (np.float32(k1) + np.float32(1)) * tf
    scores /= tf + norm
    return scores


# -- explanations -----------------------------------------------------------------------------
@dataclass
class Explanation:
    """How a score was computed: `value` is `description` applied to the `details` (a tree, as in
    Lucene's explain). `str()` prints one line per node, children indented under their parent."""

    value: float
    description: str
    details: list["Explanation"] = field(default_factory=list)

    def lines(self, depth: int = 0) -> list[str]:
        out = [f"{'  ' * depth}{self.value:.6g} = {self.description}"]
        for d in self.details:
            out += d.lines(depth + 1)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict:
        return {"value": self.value, "description": self.description,
                "details": [d.to_dict() for d in self.details]}


def explain_idf(n: int, df: int, what: str = "units") -> Explanation:
    """Lucene's idf with its inputs."""
    return Explanation(float(idf(n, df)), "idf = log(1 + (N - df + 0.5) / (df + 0.5)) from:",
                       [Explanation(float(n), f"N, {what} in the index"),
                        Explanation(float(df), f"df, {what} containing it")])


def explain_tf(tf: float, length: float, avg_length: float, k1: float, b: float, what: str = "tf") -> Explanation:
    """BM25's saturated term-frequency factor with its inputs."""
    avg = avg_length if avg_length > 0 else 1.0
    value = tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg)) if tf else 0.0
    return Explanation(value, "tf factor = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) from:",
                       [Explanation(float(tf), what), Explanation(float(k1), "k1"), Explanation(float(b), "b"),
                        Explanation(float(length), "dl, length of the unit"),
                        Explanation(float(avg_length), "avgdl, average length")])
