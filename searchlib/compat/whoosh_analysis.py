"""Whoosh analyzers rebuilt as searchlib analyzers, part by part.

A Whoosh analyzer is a tokenizer followed by filters; each part with a searchlib counterpart is
translated exactly (the tokenizer's own pattern, the exact stop list and minimum length, the
stemmer), so a migrated field splits and matches words the way the Whoosh field did. A part
without one is approximated or left out, and a note says so. Used by `compat.whoosh` and by tests
that compare the two engines; needs whoosh installed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..analysis import PRESETS, SNOWBALL_LANGUAGES, RegexTokenizer

# Whoosh language codes (whoosh.lang.languages) -> Snowball language names as searchlib spells them.
WHOOSH_LANGUAGES = {
    "ar": "arabic", "da": "danish", "nl": "dutch", "en": "english", "fi": "finnish", "fr": "french",
    "de": "german", "hu": "hungarian", "it": "italian", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "es": "spanish", "sv": "swedish", "tr": "turkish",
}

# Whoosh's own stemming functions (by module) -> the nearest searchlib stemmer, with a caveat.
WHOOSH_STEMMERS = {
    "whoosh.lang.porter": ("porter-martin", "Whoosh's own Porter implementation; nltk's Porter with Martin's "
                                            "extensions is the closest, but stems a few per cent of words "
                                            "differently"),
    "whoosh.lang.porter2": ("snowball-english", ""),
    "whoosh.lang.paicehusk": ("lancaster", ""),
}


@dataclass
class AnalyzerTranslation:
    """A Whoosh analyzer rebuilt for searchlib: `spec` is a preset name or a tokenizer + filters spec."""

    spec: "str | dict"
    whoosh: str  # the Whoosh chain, described
    notes: list[str] = field(default_factory=list)  # parts approximated or left out

    def describe(self) -> str:
        """The searchlib chain in words."""
        if isinstance(self.spec, str):
            return f"preset {self.spec!r}"
        return " | ".join(_describe_spec_part(p) for p in [self.spec["tokenizer"], *self.spec["filters"]])


def translate_analyzer(analyzer: Any) -> AnalyzerTranslation:
    """The searchlib analyzer nearest to a Whoosh analyzer, built from its tokenizer and filters.

    A chain equal to a searchlib preset is named by the preset. Needs whoosh installed.
    """
    parts = list(getattr(analyzer, "items", None) or [analyzer])
    notes: list[str] = []
    tokenizer = _tokenizer_spec(parts[0], notes)
    filters: list[dict] = []
    for part in parts[1:]:
        filters += _filter_specs(part, notes)
    spec: str | dict = {"tokenizer": tokenizer, "filters": filters}
    spec = _preset_named(spec) or spec
    return AnalyzerTranslation(spec, " | ".join(_describe_whoosh_part(p) for p in parts), notes)


def _tokenizer_spec(tokenizer: Any, notes: list[str]) -> dict:
    from whoosh import analysis as wa

    if isinstance(tokenizer, wa.IDTokenizer):
        return {"type": "keyword"}
    if isinstance(tokenizer, wa.RegexTokenizer):
        expression = tokenizer.expression
        plain_flags = not expression.flags & ~re.UNICODE
        if tokenizer.gaps and expression.pattern in (r"\s+", r"\s") and plain_flags:
            return {"type": "whitespace"}
        if not tokenizer.gaps and plain_flags:
            pattern = _non_capturing(expression.pattern)
            if pattern is not None:
                return {"type": "regex", "pattern": pattern}
    notes.append(f"tokenizer {_describe_whoosh_part(tokenizer)} has no searchlib equivalent: the standard word "
                 "tokenizer splits this field instead")
    return RegexTokenizer().spec()


def _non_capturing(pattern: str) -> str | None:
    """`pattern` with its plain groups made non-capturing (a searchlib tokenizer pattern must not
    capture), or None if that is impossible (named groups, back-references)."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            for literal in ("^", "]"):  # "[^]...]" and "[]...]": the first "]" is a literal
                if pattern.startswith(literal, i):
                    out.append(literal)
                    i += 1
            continue
        elif c == "(" and not pattern.startswith("?", i + 1):
            out.append("(?:")
            i += 1
            continue
        out.append(c)
        i += 1
    converted = "".join(out)
    try:
        return converted if re.compile(converted).groups == 0 else None
    except re.error:
        return None


def _filter_specs(part: Any, notes: list[str]) -> list[dict]:
    from whoosh import analysis as wa

    if isinstance(part, wa.LowercaseFilter):
        return [{"type": "lowercase"}]
    if isinstance(part, wa.StopFilter):
        specs: list[dict] = []
        if part.stops:
            specs.append({"type": "stop", "language": None, "words": sorted(part.stops)})
        if part.min > 1 or part.max:
            specs.append({"type": "length", "min": part.min, "max": part.max or 255})
        if part.renumber:
            notes.append("Whoosh renumbered positions after removing stop words; searchlib keeps their places, so "
                         "a phrase spanning a removed word needs some word in its place")
        return specs
    if isinstance(part, wa.StemFilter):
        return _stem_specs(part, notes)
    if isinstance(part, wa.CharsetFilter):
        notes.append("Whoosh's charset table is approximated by ASCII folding")
        return [{"type": "asciifold"}]
    if isinstance(part, (wa.PassFilter, wa.StripFilter)):
        return []  # searchlib tokenizers never keep surrounding spaces
    notes.append(f"{_describe_whoosh_part(part)} has no searchlib equivalent and is left out")
    return []


def _stem_specs(part: Any, notes: list[str]) -> list[dict]:
    if part.ignore:
        notes.append(f"Whoosh left {len(part.ignore)} words unstemmed (ignore=); searchlib stems them")
    if part.lang:
        language = WHOOSH_LANGUAGES.get(str(part.lang).lower(), str(part.lang).lower())
        if language in SNOWBALL_LANGUAGES:
            return [{"type": "stem", "stemmer": f"snowball-{language}"}]
        notes.append(f"no searchlib stemmer for language {part.lang!r}: words are not stemmed")
        return []
    module = getattr(part.stemfn, "__module__", "")
    if module in WHOOSH_STEMMERS:
        stemmer, caveat = WHOOSH_STEMMERS[module]
        if caveat:
            notes.append(caveat)
        return [{"type": "stem", "stemmer": stemmer}]
    notes.append(f"stemming function {module}.{getattr(part.stemfn, '__name__', '?')} has no searchlib "
                 "equivalent: words are not stemmed")
    return []


def _preset_named(spec: dict) -> str | None:
    """The name of the preset whose chain is exactly `spec`, if any (compares specs: builds nothing)."""
    return next((name for name, preset in PRESETS.items() if preset == spec), None)


def _describe_whoosh_part(part: Any) -> str:
    from whoosh import analysis as wa

    kind = type(part).__name__
    if isinstance(part, wa.RegexTokenizer):
        return f"{kind}({part.expression.pattern!r}{', gaps' if part.gaps else ''})"
    if isinstance(part, wa.StopFilter):
        limits = f", min={part.min}" + (f", max={part.max}" if part.max else "")
        return f"{kind}({len(part.stops)} words{limits})"
    if isinstance(part, wa.StemFilter):
        return f"{kind}({part.lang or getattr(part.stemfn, '__module__', '?').rsplit('.', 1)[-1]})"
    return kind


def _describe_spec_part(part: dict) -> str:
    kind = part["type"]
    if kind == "regex":
        return f"regex {part['pattern']!r}"
    if kind == "stop":
        return f"stop ({len(part['words'])} words, Whoosh's list)" if part.get("words") else f"stop {part['language']}"
    if kind == "length":
        return f"length {part['min']}-{part['max']}"
    if kind == "stem":
        return f"stem {part['stemmer']}"
    return kind
