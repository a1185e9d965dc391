"""Analyzers: a tokenizer followed by filters, composed as `tokenizer | filter | filter`.

An analyzer built only from TermFilters is fused: the whole chain becomes one function of a word,
cached per distinct word, so indexing a large corpus costs one regex pass plus a dict lookup per
token. Words a query does not analyse in full have two readings of their own: `normalize` (the
normalising filters only: prefixes, wildcards, range ends) and `analyze_word` (the term filters
that never drop a word: fuzzy words). Any analyzer can be described as JSON-able data (`spec()`)
and rebuilt (`from_spec`), which is how schemas and YAML configs name their analyzers.
"""
from __future__ import annotations

import json
from typing import Container, Iterable, Iterator, Sequence

from . import registry
from .filters import Filter, TermFilter
from .stemming import SNOWBALL_LANGUAGES
from .tokenizers import RegexTokenizer, Token, Tokenizer

# Distinct words remembered per analyzer before the cache starts over (cleared at once: frequent
# words return after a few misses). An entry costs ~60-120 bytes (the word, often its own term
# string, the dict slot), so a full cache holds ~100 MB; read at every miss, so tests can lower it.
CACHE_LIMIT = 1_000_000


class Analyzer:
    """Turns text into tokens `(term, position, start_char, end_char)`."""

    def __init__(self, tokenizer: Tokenizer, filters: Sequence[Filter] = (), name: str | None = None):
        self.tokenizer = tokenizer
        self.filters = list(filters)
        self.name = name
        self.fused = all(isinstance(f, TermFilter) for f in self.filters)
        self.phrase_words = tokenizer.phrase_words  # a query word split in several tokens is a phrase
        self._maps = [f.map for f in self.filters] if self.fused else []
        self._cache: dict[str, str | None] = {}
        # map_word runs the chain in two stages: the filters up to the last normalising one
        # (cheap: case, accents, possessives), then the rest (stemming: slow) through a cache keyed
        # by the first stage's output, so "Word" and "word", in any field, are stemmed once.
        cut = max((i + 1 for i, f in enumerate(self.filters) if f.normalizes), default=0) if self.fused else 0
        self._head, self._tail = (self._maps[:cut], self._maps[cut:]) if 0 < cut < len(self._maps) else (self._maps, [])
        self._tail_cache: dict[str, str | None] = {}
        self._stem_log: list[tuple[str, str | None]] | None = None  # see log_stems
        for f in self.filters:
            if f.normalizes and not isinstance(f, TermFilter):
                raise TypeError(f"{type(f).__name__} says it normalizes but is not a TermFilter: "
                                "a normalising filter maps one word at a time")
        self._normalizers = [f.map for f in self.filters if f.normalizes]
        self._word_maps = [f.map for f in self.filters if isinstance(f, TermFilter) and not f.drops_words]

    def __or__(self, other: Filter) -> "Analyzer":
        if not isinstance(other, Filter):
            return NotImplemented
        return Analyzer(self.tokenizer, [*self.filters, other])

    # -- the word-level function behind fused analyzers ------------------------------------
    def map_word(self, word: str) -> str | None:
        """The term one word becomes (None if the chain drops it), not cached by `word`: for
        callers that keep their own cache, such as the writer's per-word numbering. The slow end of
        the chain (after the normalising filters) is cached by its input, for every caller."""
        for fn in self._head:
            word = fn(word)
            if word is None or word == "":
                return None
        if not self._tail:
            return word
        cache = self._tail_cache
        try:
            return cache[word]
        except KeyError:
            pass
        key = word
        for fn in self._tail:
            word = fn(word)
            if word is None or word == "":
                word = None
                break
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[key] = word
        if self._stem_log is not None:
            self._stem_log.append((key, word))
        return word

    def log_stems(self, on: bool = True) -> None:
        """Start (or stop) recording the results map_word computes for its slow end, so that
        processes analysing the same corpus can hand them to each other (learn_stems) instead of
        each stemming every word: the writer's analysis workers do."""
        self._stem_log = [] if on else None

    def logged_stems(self) -> list[tuple[str, str | None]]:
        """The results recorded since the previous call (empty when not recording)."""
        if not self._stem_log:
            return []
        taken, self._stem_log = self._stem_log, []
        return taken

    def learn_stems(self, stems: list[tuple[str, str | None]]) -> None:
        """Take results of map_word's slow end computed elsewhere (logged_stems of another process
        with the same analyzer); they are not recorded again."""
        cache = self._tail_cache
        if len(cache) + len(stems) > CACHE_LIMIT:
            return  # the cache would start over: these are not worth it
        cache.update(stems)

    def term(self, word: str) -> str | None:
        """The term one word becomes (None if the chain drops it); cached."""
        cache = self._cache
        try:
            return cache[word]
        except KeyError:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            result = cache[word] = self.map_word(word)
            return result

    # -- words that are not analysed in full -----------------------------------------------
    def normalize(self, text: str) -> str:
        """`text` through the normalising filters only (lower-casing, ASCII folding: see
        Filter.normalizes), not tokenized, stemmed or dropped: how a query reads a prefix, a
        wildcard pattern or a range end, as Lucene's Analyzer.normalize does. Not cached: the
        word cache holds whole-chain terms only."""
        for fn in self._normalizers:
            text = fn(text)
        return text

    def analyze_word(self, text: str) -> str:
        """`text` as one word through the term filters that never drop a word (see
        Filter.drops_words): stemmed like the index's terms, but not tokenized and never dropped
        as a stop word (a filter that maps it to nothing leaves it as it was). How a query reads
        a fuzzy word, as Whoosh does. Not cached."""
        word = text
        for fn in self._word_maps:
            mapped = fn(word)
            if mapped:
                word = mapped
        return word

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

    def tokens_matching(self, text: str, wanted: Container[str]) -> list[Token]:
        """The tokens of `text` whose term is in `wanted`: those `self(text)` gives, with the same
        positions and offsets. A fused analyzer builds no Token for the other words, and one with
        a plain regex tokenizer none for them at the tokenizer either (highlighting needs only
        the query's terms, and most words of a text are not among them)."""
        if not self.fused:
            return [tok for tok in self(text) if tok.term in wanted]
        cache, term = self._cache, self.term
        if type(self.tokenizer).__call__ is not RegexTokenizer.__call__:  # another tokenizer: its tokens
            return [tok._replace(term=t) for tok in self.tokenizer(text) if (t := term(tok.term)) in wanted]
        out = []
        missing = cache  # a marker no cached term can be
        for position, m in enumerate(self.tokenizer._re.finditer(text)):  # RegexTokenizer.__call__'s tokens
            word = m.group()
            t = cache.get(word, missing)
            if t is missing:
                t = term(word)
            if t in wanted:
                out.append(Token(t, position, m.start(), m.end()))
        return out

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
# Each preset is a spec (see Analyzer.spec), so it can be compared or listed without building it
# (building loads stemmers).

def _chain(tokenizer: dict, *filters: dict) -> dict:
    return {"tokenizer": tokenizer, "filters": list(filters)}


def _regex() -> dict:
    return RegexTokenizer().spec()


def _language(lang: str) -> dict:
    return _chain(_regex(), {"type": "lowercase"}, {"type": "stop", "language": lang, "words": []},
                  {"type": "length", "min": 1, "max": 255}, {"type": "stem", "stemmer": f"snowball-{lang}"})


PRESETS: dict[str, dict] = {
    "standard": _chain(_regex(), {"type": "lowercase"}, {"type": "length", "min": 1, "max": 255}),
    # English chosen by measurement (README "Relevance"; benchmarks/relevance_grid.py): nltk's 179
    # stop words and Snowball's English stemmer beat Lucene's 33 words and Porter on both SciFact
    # (claims) and CACM (long questions). "english-classic" is Lucene's EnglishAnalyzer chain, the
    # `english` preset before searchlib-5 indexes.
    "english": _chain(_regex(), {"type": "possessive"}, {"type": "lowercase"},
                      {"type": "stop", "language": "english-nltk", "words": []},
                      {"type": "length", "min": 1, "max": 255}, {"type": "stem", "stemmer": "snowball-english"}),
    "english-classic": _chain(_regex(), {"type": "possessive"}, {"type": "lowercase"},
                              {"type": "stop", "language": "english", "words": []},
                              {"type": "length", "min": 1, "max": 255}, {"type": "stem", "stemmer": "porter"}),
    "keyword": _chain({"type": "keyword"}),
    "whitespace": _chain({"type": "whitespace"}),
    "simple": _chain(_regex(), {"type": "lowercase"}),
}
PRESETS.update({lang: _language(lang) for lang in SNOWBALL_LANGUAGES if lang != "english"})
PRESETS["snowball-english"] = _language("english")
# Scripts without spaces (see cjk.py and segmenters.py): bigrams with no dependency, or a segmenter.
_FOLD = ({"type": "normalize", "form": "NFKC"}, {"type": "lowercase"}, {"type": "length", "min": 1, "max": 255})
PRESETS.update({name: _chain({"type": name}, *_FOLD) for name in ("cjk", "chinese", "japanese", "korean", "thai")})

# One shared Analyzer per preset name and per spec, so a word cache is filled once per process
# however many fields, schemas and indexes use the analyzer (Schema.from_json rebuilds fields at
# every open). Analyzers are not changed after construction, so sharing them is safe. Distinct
# specs are few in practice; past SPEC_LIMIT entries the spec instances are forgotten (fields keep
# theirs); read at every new spec, so tests can lower it.
SPEC_LIMIT = 1_000
_preset_instances: dict[str, Analyzer] = {}
_spec_instances: dict[str, Analyzer] = {}


def get_analyzer(spec: "str | dict | Analyzer") -> Analyzer:
    """An analyzer from a preset name, a spec mapping, or an Analyzer (returned as is).

    Presets and spec mappings give one shared instance per process (per name, per spec), so their
    word caches are reused across fields and indexes.
    """
    if isinstance(spec, Analyzer):
        return spec
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"unknown analyzer {spec!r}; presets are {', '.join(sorted(PRESETS))}")
        if spec not in _preset_instances:
            analyzer = _build_analyzer(PRESETS[spec])
            analyzer.name = spec
            _preset_instances[spec] = analyzer
        return _preset_instances[spec]
    if isinstance(spec, dict):
        return from_spec(spec)
    raise TypeError(f"an analyzer is a preset name, a mapping or an Analyzer, not {type(spec).__name__}")


def _build_analyzer(spec: dict) -> Analyzer:
    """A new analyzer from a spec mapping (not shared)."""
    unknown = set(spec) - {"tokenizer", "filters"}
    if unknown:
        raise ValueError(f"unknown analyzer keys {sorted(unknown)}; allowed: tokenizer, filters")
    tokenizer = registry.build("tokenizer", spec.get("tokenizer", "regex"))
    filters = [registry.build("filter", f) for f in spec.get("filters", [])]
    return Analyzer(tokenizer, filters)


def _spec_key(spec: "str | dict") -> str | None:
    try:
        return json.dumps(spec, sort_keys=True)
    except (TypeError, ValueError):
        return None


def from_spec(spec: dict) -> Analyzer:
    """The analyzer described by `{"tokenizer": ..., "filters": [...]}` (see Analyzer.spec).

    One instance is shared per distinct spec, also between a spec and its normalised form (the
    analyzer's own `spec()`, as schemas save it); a spec that is not JSON data builds a new one.
    """
    key = _spec_key(spec)
    analyzer = _spec_instances.get(key) if key is not None else None
    if analyzer is None:
        analyzer = _build_analyzer(spec)
        if key is None:
            return analyzer
        canonical = _spec_key(analyzer.spec())
        analyzer = _spec_instances.get(canonical, analyzer) if canonical is not None else analyzer
        if len(_spec_instances) + 2 > SPEC_LIMIT:
            _spec_instances.clear()
        _spec_instances[key] = analyzer
        if canonical is not None:
            _spec_instances[canonical] = analyzer
    return analyzer
