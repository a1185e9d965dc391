"""The BM25 family as small pure functions over numpy arrays, and the settings that tune them.

Statistics are index-wide (summed over segments), so a document scores the same however the
index is split into segments. Four variants (Kamphuis, de Vries, Boytsov and Lin, "Which BM25 do
you mean?", ECIR 2020, give the formulas and show they rank within a point of each other):

- ``bm25`` (the default), Lucene's: idf = log(1 + (N - df + 0.5) / (df + 0.5)), never negative,
  and tf factor = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl));
- ``robertson``: Robertson and Sparck Jones' idf log((N - df + 0.5) / (df + 0.5)), floored at 0
  as bm25s does (a word in more than half the units then adds nothing rather than subtracting),
  with the same tf factor;
- ``bm25l`` (Lv and Zhai, CIKM 2011): idf = log((N + 1) / (df + 0.5)); c = tf / (1 - b + b * dl /
  avgdl), tf factor = (k1 + 1) * (c + delta) / (k1 + c + delta), delta 0.5 by default, lifting long
  documents that plain BM25 over-penalises;
- ``bm25+`` (Lv and Zhai, CIKM 2011): idf = log((N + 1) / df); tf factor = BM25's + delta, delta
  1.0 by default: a word that occurs adds at least idf * delta however long the document.

Every variant scores only the units holding the word (as bm25s does; rank_bm25 also gives absent
words their delta, the same constant for every document), rises with tf and falls with length.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidArgumentError


VARIANTS = ("bm25", "robertson", "bm25l", "bm25+")
DEFAULT_DELTA = {"bm25": 0.0, "robertson": 0.0, "bm25l": 0.5, "bm25+": 1.0}
IDF_FORMULAS = {"bm25": "log(1 + (N - df + 0.5) / (df + 0.5))", "robertson": "max(0, log((N - df + 0.5) / (df + 0.5)))",
                "bm25l": "log((N + 1) / (df + 0.5))", "bm25+": "log((N + 1) / df)"}


@dataclass(frozen=True)
class BM25:
    """BM25 parameters: `k1` saturates term frequency, `b` scales length normalisation (0..1)."""

    k1: float = 1.2
    b: float = 0.75
    variant: str = "bm25"
    delta: float | None = None  # BM25L's and BM25+'s delta; None: the variant's default

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise InvalidArgumentError(f"unknown scoring {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.delta is not None and (isinstance(self.delta, bool) or not isinstance(self.delta, (int, float))
                                       or not 0 <= self.delta <= 10):
            raise InvalidArgumentError(f"delta must be a number between 0 and 10, got {self.delta!r}")
        # A bool is an int to Python, but True is no value of k1 or b a person means.
        if isinstance(self.k1, bool) or not (isinstance(self.k1, (int, float)) and 0 <= self.k1 <= 100):
            raise InvalidArgumentError(f"k1 must be a number between 0 and 100, got {self.k1!r}")
        if isinstance(self.b, bool) or not (isinstance(self.b, (int, float)) and 0 <= self.b <= 1):
            raise InvalidArgumentError(f"b must be a number between 0 and 1, got {self.b!r}")

    @property
    def d(self) -> float:
        """The delta in use: the given one, or the variant's default (0 for bm25 and robertson)."""
        return DEFAULT_DELTA[self.variant] if self.delta is None or self.variant in ("bm25", "robertson") else float(self.delta)


def idf(doc_count: int | np.ndarray, doc_freq: int | np.ndarray, variant: str = "bm25") -> np.ndarray | float:
    """The variant's idf (see the module docstring; Lucene's by default); a float for numbers (the
    same C log without numpy's per-call cost), an array for arrays."""
    n, df = doc_count, doc_freq
    array = isinstance(n, np.ndarray) or isinstance(df, np.ndarray)
    if variant == "bm25":
        ratio = (n - df + 0.5) / (df + 0.5)
        return np.log1p(ratio) if array else math.log1p(ratio)
    if variant == "robertson":
        ratio = (n - df + 0.5) / (df + 0.5)
        return np.log(np.maximum(ratio, 1.0)) if array else math.log(max(ratio, 1.0))
    ratio = (n + 1) / (df + 0.5) if variant == "bm25l" else (n + 1) / np.maximum(df, 1)
    return np.log(ratio) if array else math.log(ratio)


def length_norm(lengths: np.ndarray, avg_length: float, k1: float, b: float) -> np.ndarray:
    """k1 * (1 - b + b * len / avgdl) per unit, as float32: computed once per segment, field and
    BM25 parameters, and kept by the segment's evaluator."""
    avg = avg_length if avg_length > 0 else 1.0
    return (k1 * (1.0 - b + b * np.asarray(lengths, dtype=np.float64) / avg)).astype(np.float32)


def bm25(tf: np.ndarray, norm: np.ndarray, weight: "float | np.ndarray", k1: float, variant: str = "bm25",
         delta: float = 0.0) -> np.ndarray:
    """Scores of postings, float32: weight (idf times boosts, one or per posting) times the
    variant's tf factor, with `norm` = k1 * (1 - b + b * dl / avgdl) from length_norm for the
    postings' units (BM25L's c = tf / (1 - b + b * dl / avgdl) is tf * k1 / norm)."""
    tf = tf.astype(np.float32)
    k1 = np.float32(k1)
    if variant == "bm25l":
        if k1 == 0:
            return np.broadcast_to(np.asarray(weight, dtype=np.float32), tf.shape).copy()
        c = tf * k1 / norm + np.float32(delta)
        return np.asarray(weight, dtype=np.float32) * (k1 + np.float32(1)) * c / (k1 + c)
    scores = np.asarray(weight, dtype=np.float32) * (k1 + np.float32(1)) * tf
    scores /= tf + norm
    if variant == "bm25+":
        scores += np.asarray(weight, dtype=np.float32) * np.float32(delta)
    return scores


def saturate(x: np.ndarray, k1: float, variant: str = "bm25", delta: float = 0.0) -> np.ndarray:
    """BM25F's saturation of a combined length-normalised frequency x (> 0 where the word occurs):
    x * (k1 + 1) / (k1 + x), with BM25L's delta added to x or BM25+'s to the result; 0 where x is
    0 (the word is absent); for k1 = 0, 1 (plus BM25+'s delta) where x > 0."""
    k1 = np.float32(k1)
    if k1 == 0:
        return (np.asarray(x) > 0).astype(np.float32) * (np.float32(1) + np.float32(delta if variant == "bm25+" else 0))
    if variant == "bm25":
        return x * (k1 + np.float32(1)) / (k1 + x)
    x = np.asarray(x, dtype=np.float32)
    present = x > 0
    if variant == "bm25l":
        x = x + np.float32(delta)
    out = x * (k1 + np.float32(1)) / (k1 + x)
    if variant == "bm25+":
        out = out + np.float32(delta)
    return np.where(present, out, np.float32(0))


def tf_factor_bound(tf: np.ndarray, norm: np.ndarray, k1: float, variant: str = "bm25", delta: float = 0.0
                    ) -> np.ndarray:
    """The variant's tf factor in float64, for upper bounds (search/prune.py): at a block's largest
    tf and smallest length it bounds every posting's, as each factor rises with tf and falls with
    norm. (BM25L's with k1 = 0 is 1, as bm25() gives it.)"""
    tf = np.asarray(tf, dtype=np.float64)
    if variant == "bm25l":
        if k1 == 0:
            return np.ones_like(tf)
        c = tf * k1 / norm + delta
        return (k1 + 1) * c / (k1 + c)
    out = (k1 + 1) * tf / (tf + norm)
    return out + delta if variant == "bm25+" else out


def saturate_bound(x: np.ndarray, k1: float, variant: str = "bm25", delta: float = 0.0) -> np.ndarray:
    """saturate() in float64, for upper bounds (search/prune.py); 0 where x is 0."""
    x = np.asarray(x, dtype=np.float64)
    if k1 == 0:
        return (x > 0) * (1.0 + (delta if variant == "bm25+" else 0.0))
    shifted = x + delta if variant == "bm25l" else x
    out = shifted * (k1 + 1) / (k1 + shifted) + (delta if variant == "bm25+" else 0.0)
    return np.where(x > 0, out, 0.0)


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


def explain_idf(n: int, df: int, what: str = "units", variant: str = "bm25") -> Explanation:
    """The variant's idf with its inputs."""
    return Explanation(float(idf(n, df, variant)), f"idf = {IDF_FORMULAS[variant]} from:",
                       [Explanation(float(n), f"N, {what} in the index"),
                        Explanation(float(df), f"df, {what} containing it")])


def explain_tf(tf: float, length: float, avg_length: float, k1: float, b: float, what: str = "tf",
               variant: str = "bm25", delta: float = 0.0) -> Explanation:
    """The variant's term-frequency factor with its inputs."""
    avg = avg_length if avg_length > 0 else 1.0
    lnorm = 1 - b + b * length / avg
    inputs = [Explanation(float(tf), what), Explanation(float(k1), "k1"), Explanation(float(b), "b"),
              Explanation(float(length), "dl, length of the unit"), Explanation(float(avg_length), "avgdl, average length")]
    if variant == "bm25l":
        c = tf / lnorm + delta
        value = (k1 + 1) * c / (k1 + c) if k1 else 1.0
        return Explanation(value, "tf factor (BM25L) = (k1 + 1) * (c + delta) / (k1 + c + delta), "
                                  "c = tf / (1 - b + b * dl / avgdl), from:", inputs + [Explanation(delta, "delta")])
    value = tf * (k1 + 1) / (tf + k1 * lnorm) if tf else 0.0
    if variant == "bm25+":
        return Explanation(value + delta, "tf factor (BM25+) = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) "
                                          "+ delta from:", inputs + [Explanation(delta, "delta")])
    return Explanation(value, "tf factor = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) from:", inputs)
