"""Analyzers: a tokenizer followed by filters, composed as `tokenizer | filter | filter`.

An analyzer built only from TermFilters is fused: the whole chain becomes one function of a word,
cached per distinct word, so indexing a large corpus costs one regex pass plus a dict lookup per
token. Any analyzer can be described as JSON-able data (`spec()`) and rebuilt (`from_spec`), which
is how schemas and YAML configs name their analyzers.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from .filters import FILTERS, Filter, LengthFilter, LowercaseFilter, PossessiveFilter, StemFilter, StopFilter, TermFilter
from .stemming import SNOWBALL_LANGUAGES
from .tokenizers import TOKENIZERS, KeywordTokenizer, RegexTokenizer, Token, Tokenizer

# Distinct words remembered per analyzer before the cache starts over (cleared at once: frequent
# words return after a few misses). An entry costs ~60-120 bytes (the word, often its own term
# string, the dict slot), so a full cache holds ~100 MB; read at every miss, so tests can lower it.
_CACHE_LIMIT = 1_000_000


class Analyzer:
    """Turns text into tokens `(term, position, start_char, end_char)`."""

    def __init__(self, tokenizer: Tokenizer, filters: Sequence[Filter] = (), name: str | None = None):
        self.tokenizer = tokenizer
        self.filters = list(filters)
        self.name = name
        self.fused = all(isinstance(f, TermFilter) for f in self.filters)
        self._maps = [f.map for f in self.filters] if self.fused else []
        self._cache: dict[str, str | None] = {}

    def __or__(self, other: Filter) -> "Analyzer":
        if not isinstance(other, Filter):
            return NotImplemented
        return Analyzer(self.tokenizer, [*self.filters, other])

    # -- the word-level function behind fused analyzers ------------------------------------
    def map_word(self, word: str) -> str | None:
        """The term one word becomes (None if the chain drops it), not cached: for callers that
        keep their own cache, such as the writer's per-word numbering."""
        for fn in self._maps:
            word = fn(word)
            if word is None or word == "":
                return None
        return word

    def term(self, word: str) -> str | None:
        """The term one word becomes (None if the chain drops it); cached."""
        cache = self._cache
        try:
            return cache[word]
        except KeyError:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            result = cache[word] = self.map_word(word)
            return result

    # -- public API -------------------------------------------------------------------------
    def __call__(self, text: str) -> Iterator[Token]:
        """Tokens with positions and offsets into `text` (offsets survive case folding)."""
        if self.fused:
            term = self.term
            for tok in self.tokenizer(text):
                t = term(tok.term)
                if t is not None:
                    yield tok._replace(term=t)
            return
        stream: Iterable[Token] = self.tokenizer(text)
        for f in self.filters:
            stream = f(stream)
        yield from stream

    def index_terms(self, text: str) -> tuple[list[str], list[int]]:
        """Terms and their positions, without offsets: all that indexing and query words need."""
        if not self.fused:
            toks = list(self(text))
            return [t.term for t in toks], [t.position for t in toks]
        words = self.tokenizer.words(text)
        cache = self._cache
        try:
            mapped = [cache[w] for w in words]
        except KeyError:
            term = self.term
            mapped = [term(w) for w in words]
        if None not in mapped:
            return mapped, list(range(len(mapped)))  # type: ignore[return-value]
        positions = [i for i, t in enumerate(mapped) if t is not None]
        return [mapped[i] for i in positions], positions  # type: ignore[misc]

    def spec(self) -> str | dict:
        """A JSON-able description: the preset name, or the tokenizer and filter chain."""
        if self.name is not None:
            return self.name
        return {"tokenizer": self.tokenizer.spec(), "filters": [f.spec() for f in self.filters]}

    def __repr__(self) -> str:
        return f"Analyzer({self.spec()!r})"


# -- presets -------------------------------------------------------------------------------

def _standard() -> Analyzer:
    return Analyzer(RegexTokenizer(), [LowercaseFilter(), LengthFilter(1, 255)])


def _english() -> Analyzer:
    return Analyzer(RegexTokenizer(), [PossessiveFilter(), LowercaseFilter(), StopFilter("english"),
                                       LengthFilter(1, 255), StemFilter("porter")])


def _language(lang: str):
    def build() -> Analyzer:
        return Analyzer(RegexTokenizer(), [LowercaseFilter(), StopFilter(lang), LengthFilter(1, 255),
                                           StemFilter(f"snowball-{lang}")])
    return build


PRESETS = {
    "standard": _standard,
    "english": _english,
    "keyword": lambda: Analyzer(KeywordTokenizer(), []),
    "whitespace": lambda: Analyzer(TOKENIZERS["whitespace"](), []),
    "simple": lambda: Analyzer(RegexTokenizer(), [LowercaseFilter()]),
}
PRESETS.update({lang: _language(lang) for lang in SNOWBALL_LANGUAGES if lang != "english"})
PRESETS["snowball-english"] = _language("english")

_preset_instances: dict[str, Analyzer] = {}


def get_analyzer(spec: "str | dict | Analyzer") -> Analyzer:
    """An analyzer from a preset name, a spec mapping, or an Analyzer (returned as is).

    Presets are shared per process so their word caches are reused across fields and indexes.
    """
    if isinstance(spec, Analyzer):
        return spec
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"unknown analyzer {spec!r}; presets are {', '.join(sorted(PRESETS))}")
        if spec not in _preset_instances:
            analyzer = PRESETS[spec]()
            analyzer.name = spec
            _preset_instances[spec] = analyzer
        return _preset_instances[spec]
    if isinstance(spec, dict):
        return from_spec(spec)
    raise TypeError(f"an analyzer is a preset name, a mapping or an Analyzer, not {type(spec).__name__}")


def _build(kind: str, registry: dict, spec: "str | dict", what: str):
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f"a {what} is a name or a mapping with 'type', got {spec!r}")
    args = {k: v for k, v in spec.items() if k != "type"}
    cls = registry.get(spec["type"])
    if cls is None:
        raise ValueError(f"unknown {what} {spec['type']!r}; choose one of {', '.join(sorted(registry))}")
    try:
        return cls(**args)
    except TypeError as exc:
        raise ValueError(f"bad options for {what} {spec['type']!r}: {exc}") from None


def from_spec(spec: dict) -> Analyzer:
    """Rebuild an analyzer from `{"tokenizer": ..., "filters": [...]}` (see Analyzer.spec)."""
    unknown = set(spec) - {"tokenizer", "filters"}
    if unknown:
        raise ValueError(f"unknown analyzer keys {sorted(unknown)}; allowed: tokenizer, filters")
    tokenizer = _build("tokenizer", TOKENIZERS, spec.get("tokenizer", "regex"), "tokenizer")
    filters = [_build("filter", FILTERS, f, "filter") for f in spec.get("filters", [])]
    return Analyzer(tokenizer, filters)
