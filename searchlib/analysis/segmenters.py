"""Dictionary word segmentation for Chinese, Japanese, Korean and Thai, through optional packages.

Each tokenizer wraps one well-kept segmenter (an extra: `pip install "searchlib[chinese]"`, ...):

- `chinese`: rjieba, the Rust port of jieba (same dictionary and segmentation, several times
  quicker to load, and no cache file written at first use);
- `japanese`: SudachiPy with its core dictionary (a Rust morphological analyser); a word's term is
  its dictionary form, so 行き and 行った both find 行く;
- `korean`: kiwipiepy (Kiwi), morphemes: 만들었습니다 is 만들 었 습니다;
- `thai`: PyThaiNLP's `newmm` segmenter with the dictionary inside the package.

Text in other scripts goes through the same segmenter (they all keep Latin words and numbers whole);
punctuation, spaces and symbols are dropped. Offsets are the segmenter's, on the original text, so
highlighting marks the original characters. A tokenizer whose package is missing raises at once,
naming the package and the extra to install: an index built with a segmenter is never read with
another (never a silent fallback that changes what a query matches). Nothing is downloaded at run
time; the dictionaries are in the packages (PyThaiNLP creates an empty `~/pythainlp-data` folder
when imported; set PYTHAINLP_DATA_DIR to move it).
"""
from __future__ import annotations

import importlib.util
import threading
from typing import Callable, Iterator

import regex

from .tokenizers import Token, Tokenizer

_WORDLIKE = regex.compile(r"[\w--[\u200c\u200d]]", regex.V1)  # a letter, digit or mark: a word


# Text is given to a segmenter in pieces of at most this many characters, cut after a line break,
# else a sentence end, else a space, where there is one in the piece's second half: SudachiPy refuses input
# over 49,149 bytes, and the others hold a whole input's lattice in memory.
CHUNK_CHARS = 10_000
_BREAKS = ("\n", "。", "．", "！", "？", ". ", "! ", "? ", " ", "\u3000", "、", "，")


def _chunks(text: str) -> list[tuple[int, int]]:
    """Spans covering `text`, each at most CHUNK_CHARS long, cut where a word is least likely."""
    spans, start = [], 0
    while len(text) - start > CHUNK_CHARS:
        end, half = start + CHUNK_CHARS, start + CHUNK_CHARS // 2
        cut = end
        for b in _BREAKS:  # in order of preference
            i = text.rfind(b, half, end)
            if i >= 0:
                cut = min(end, i + len(b))
                break
        spans.append((start, cut))
        start = cut
    spans.append((start, len(text)))
    return spans


class MissingPackageError(ValueError):
    """A tokenizer needs a package that is not installed (the message says how to install it)."""


class DictionaryTokenizer(Tokenizer):
    """Base of the segmenter tokenizers: `_load()` returns a function from text to (term, start,
    end) triples, called once per process at the first text (loading a dictionary takes a while)."""

    name = ""  # the tokenizer's (and preset's) name, which is also the extra to install
    package = ""  # the module to import
    requirement = ""  # what pip installs
    phrase_words = True  # a query word the segmenter splits is a phrase of its words

    def __init__(self):
        if importlib.util.find_spec(self.package) is None:
            raise MissingPackageError(
                f"the {self.name!r} tokenizer needs the {self.requirement} package, which is not installed: "
                f'pip install "searchlib[{self.name}]" (or pip install {self.requirement})')
        self._segment: Callable[[str], list[tuple[str, int, int]]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> Callable[[str], list[tuple[str, int, int]]]:
        raise NotImplementedError

    def _pieces(self, text: str) -> list[tuple[str, int, int]]:
        if self._segment is None:
            with self._lock:
                if self._segment is None:
                    self._segment = self._load()
        if not text or text.isspace():
            return []
        search, segment = _WORDLIKE.search, self._segment
        if len(text) <= CHUNK_CHARS:
            return [p for p in segment(text) if search(text, p[1], p[2])]
        out = []
        for a, b in _chunks(text):
            chunk = text[a:b]
            out.extend((term, a + s, a + e) for term, s, e in segment(chunk) if search(chunk, s, e))
        return out

    def __call__(self, text: str) -> Iterator[Token]:
        for pos, (term, start, end) in enumerate(self._pieces(text)):
            yield Token(term, pos, start, end)

    def words(self, text: str) -> list[str]:
        return [term for term, _, _ in self._pieces(text)]

    def spec(self) -> dict:
        return {"type": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ChineseTokenizer(DictionaryTokenizer):
    """Chinese words by jieba's dictionary and HMM (through rjieba): 我们在北京大学学习 -> 我们 在
    北京大学 学习."""

    name, package, requirement = "chinese", "rjieba", "rjieba"

    def _load(self):
        import rjieba

        return lambda text: rjieba.tokenize(text)


class JapaneseTokenizer(DictionaryTokenizer):
    """Japanese morphemes by SudachiPy (core dictionary, split mode C: the longest units), each as
    its dictionary form: 東京タワーに行きました -> 東京 タワー に 行く ます た."""

    name, package, requirement = "japanese", "sudachipy", "sudachipy and sudachidict-core"

    def __init__(self):
        super().__init__()
        if importlib.util.find_spec("sudachidict_core") is None:
            raise MissingPackageError(
                "the 'japanese' tokenizer needs the sudachidict-core package (SudachiPy's dictionary), which "
                'is not installed: pip install "searchlib[japanese]"')

    def _load(self):
        from sudachipy import Dictionary, SplitMode

        tokenize = Dictionary(dict="core").tokenizer(mode=SplitMode.C).tokenize
        return lambda text: [(m.dictionary_form(), m.begin(), m.end()) for m in tokenize(text)]


class KoreanTokenizer(DictionaryTokenizer):
    """Korean morphemes by Kiwi (kiwipiepy): 검색 엔진을 만들었습니다 -> 검색 엔진 을 만들 었 습니다.
    Loading its model takes a few seconds, once per process."""

    name, package, requirement = "korean", "kiwipiepy", "kiwipiepy"

    def _load(self):
        from kiwipiepy import Kiwi

        tokenize = Kiwi().tokenize
        return lambda text: [(t.form, t.start, t.start + t.len) for t in tokenize(text)]


class ThaiTokenizer(DictionaryTokenizer):
    """Thai words by PyThaiNLP's newmm (maximal matching over its bundled dictionary):
    ภาษาไทยง่ายนิดเดียว -> ภาษาไทย ง่าย นิดเดียว."""

    name, package, requirement = "thai", "pythainlp", "pythainlp"

    def _load(self):
        from pythainlp.tokenize import word_tokenize

        def segment(text: str) -> list[tuple[str, int, int]]:
            out, start = [], 0
            for word in word_tokenize(text, engine="newmm", keep_whitespace=True):
                out.append((word, start, start + len(word)))
                start += len(word)
            if start != len(text):
                raise RuntimeError("pythainlp's words do not cover the text: offsets would be wrong")
            return out

        return segment


SEGMENTERS = {cls.name: cls for cls in (ChineseTokenizer, JapaneseTokenizer, KoreanTokenizer, ThaiTokenizer)}
