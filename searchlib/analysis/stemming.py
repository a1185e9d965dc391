"""Stemmers from nltk, one instance per name and process, loaded without nltk's package root.

Importing any nltk module first runs `nltk/__init__.py`, which imports most of nltk (and scipy
when it is installed): 0.5-2.5 s, paid by every process that opens an index. The stemmers need
none of it: nltk's stem modules import only `nltk.stem.api`, `nltk.stem.util`, `nltk.redos`,
`nltk.termsec` (and Snowball names `nltk.corpus.stopwords`, used only with ignore_stopwords,
which searchlib never sets). So `_nltk_module` imports the one module needed beneath stand-in
package modules whose search path is nltk's own directory, then takes the stand-ins and
everything loaded under them out of `sys.modules` again: a later `import nltk` anywhere in the
process imports the real package as usual. When nltk is already imported, it is used as it is.

Stemmers are not memoised here: the callers cache whole chains per word instead (a fused
analyzer's word cache, `Analyzer.term`, shared with every field using the same preset or spec;
an index writer's word numbering, indexing.analyze.FieldAnalysis), so a second cache of the same
words would only cost memory.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from functools import lru_cache
from typing import Callable

SNOWBALL_LANGUAGES = (
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "hungarian",
    "italian", "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish",
)

# name -> human description; "snowball-<language>" names are added below.
STEMMERS = {
    "none": "no stemming",
    "porter": "Porter, with NLTK's extensions (nltk PorterStemmer default mode)",
    "porter-original": "Porter's original 1980 algorithm (nltk ORIGINAL_ALGORITHM)",
    "porter-martin": "Porter, Martin's extensions (nltk MARTIN_EXTENSIONS)",
    "lancaster": "Lancaster (Paice/Husk)",
}
STEMMERS.update({f"snowball-{lang}": f"Snowball, {lang}" for lang in SNOWBALL_LANGUAGES})


_loading = threading.Lock()


def _nltk_module(name: str) -> types.ModuleType:
    """nltk's module `nltk.<name>` (a stem module), imported without running nltk/__init__.py
    unless nltk is already imported (see the module's docstring)."""
    if "nltk" in sys.modules:
        return importlib.import_module(f"nltk.{name}")
    with _loading:
        spec = importlib.util.find_spec("nltk")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("nltk is not installed: pip install nltk (searchlib's stemmers come from it)")
        root = list(spec.submodule_search_locations)[0]
        before = set(sys.modules)
        stand_ins = {"nltk": types.ModuleType("nltk"), "nltk.stem": types.ModuleType("nltk.stem"),
                     "nltk.corpus": types.ModuleType("nltk.corpus")}
        stand_ins["nltk"].__path__ = [root]
        stand_ins["nltk.stem"].__path__ = [f"{root}/stem"]
        stand_ins["nltk.corpus"].stopwords = None  # Snowball's ignore_stopwords only, never used here
        for helper in ("redos", "termsec"):  # used by demos (and Snowball's Arabic): loaded when first read
            stand_ins[f"nltk.{helper}"] = _on_first_use(f"nltk.{helper}", f"{root}/{helper}.py")
        sys.modules.update(stand_ins)
        try:
            return importlib.import_module(f"nltk.{name}")
        finally:
            for key in set(sys.modules) - before:
                if key == "nltk" or key.startswith("nltk."):
                    del sys.modules[key]


def _on_first_use(name: str, path: str) -> types.ModuleType:
    """A stand-in for the module `name` (a file of nltk's that imports nothing of nltk) whose
    attributes are functions that import the file at `path`, under a name of searchlib's own, when
    first called, then call the real function: nltk.redos imports the `regex` package (~20 ms) and
    nltk.termsec builds a table (~5 ms) for functions the stem modules import (`from nltk.termsec
    import safe_print`) but the stemmers searchlib calls never use (demos, Snowball's Arabic)."""
    stand_in = types.ModuleType(name)

    def load() -> types.ModuleType:
        real = sys.modules.get(f"searchlib._{name}")
        if real is None:
            spec = importlib.util.spec_from_file_location(f"searchlib._{name}", path)
            real = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(real)
            sys.modules[f"searchlib._{name}"] = real
        return real

    def __getattr__(attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)

        def forward(*args, **kwargs):
            return getattr(load(), attribute)(*args, **kwargs)

        return forward

    stand_in.__getattr__ = __getattr__
    return stand_in


def _build(name: str) -> Callable[[str], str] | None:
    if name == "none":
        return None
    if name.startswith("porter"):
        PorterStemmer = _nltk_module("stem.porter").PorterStemmer

        mode = {
            "porter": PorterStemmer.NLTK_EXTENSIONS,
            "porter-original": PorterStemmer.ORIGINAL_ALGORITHM,
            "porter-martin": PorterStemmer.MARTIN_EXTENSIONS,
        }[name]
        return PorterStemmer(mode=mode).stem
    if name == "lancaster":
        return _nltk_module("stem.lancaster").LancasterStemmer().stem
    return _nltk_module("stem.snowball").SnowballStemmer(name[len("snowball-"):]).stem


def check_stemmer(name: str) -> str:
    """The canonical name of stemmer `name` (a Snowball language names its Snowball stemmer);
    ValueError for an unknown one. Loads nothing."""
    if name in SNOWBALL_LANGUAGES:
        name = f"snowball-{name}"
    if name not in STEMMERS:
        raise ValueError(f"unknown stemmer {name!r}; choose one of {', '.join(sorted(STEMMERS))}")
    return name


@lru_cache(maxsize=None)
def get_stemmer(name: str) -> Callable[[str], str] | None:
    """The stem function called `name` (see STEMMERS), or None for "none"; one per name and process."""
    return _build(check_stemmer(name))
