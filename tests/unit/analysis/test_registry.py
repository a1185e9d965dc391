"""Tokenizers and filters of the user's own, by name: registered in code or through the
`searchlib.analyzers` entry point group, recorded in the index as name + parameters, and a clear
error naming the component when a process opens the index without it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from searchlib import ID, TEXT, Index, Schema, SchemaError
from searchlib.analysis import (Filter, TermFilter, Token, Tokenizer, UnknownComponentError, from_spec,
                                get_analyzer, register, registry, unregister)
from searchlib.analysis import analyzers

REPO = Path(__file__).resolve().parents[3]


class ReversedWords(Tokenizer):
    """Words split on `sep`, each reversed (a tokenizer no built-in one resembles)."""

    def __init__(self, sep: str = " "):
        self.sep = sep

    def __call__(self, text):
        start = 0
        for i, word in enumerate(text.split(self.sep)):
            yield Token(word[::-1], i, start, start + len(word))
            start += len(word) + len(self.sep)


class Doubled(TermFilter):
    def map(self, term):
        return term + term


@pytest.fixture
def registered():
    register("reversed", ReversedWords)
    register("doubled", lambda: Doubled(), kind="filter")
    yield
    unregister("reversed", "tokenizer")
    unregister("doubled", "filter")


def test_registered_components_build_by_name_and_record_name_and_parameters(registered, tmp_path):
    spec = {"tokenizer": {"type": "reversed", "sep": "-"}, "filters": ["lowercase", "doubled"]}
    analyzer = from_spec(spec)
    assert [(t.term, t.start_char, t.end_char) for t in analyzer("Ab-cd")] == [("baba", 0, 2), ("dcdc", 3, 5)]
    assert analyzer.spec() == {"tokenizer": {"type": "reversed", "sep": "-"},
                               "filters": [{"type": "lowercase"}, {"type": "doubled"}]}
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT(analyzer=spec, stored=True)))
    with ix.writer() as w:
        w.add({"id": "1", "body": "hello-world"})
    manifest = max((tmp_path / "ix").glob("manifest-*.json"))
    recorded = json.loads(json.loads(manifest.read_text())["manifest"])["schema"]["body"]["analyzer"]
    assert recorded["tokenizer"] == {"type": "reversed", "sep": "-"}  # data, not code
    with Index.open(tmp_path / "ix").searcher() as s:
        assert [h.id for h in s.search("hello")] == ["1"]  # the query reversed too
        assert s.search("olleh").total == 0


def test_opening_an_index_without_its_component_names_it(registered, tmp_path, monkeypatch):
    spec = {"tokenizer": "reversed", "filters": ["doubled"]}
    Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT(analyzer=spec)))
    code = textwrap.dedent(f"""
        from searchlib import Index, SchemaError
        try:
            Index.open({str(tmp_path / "ix")!r})
        except SchemaError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert "field 'body': unknown tokenizer 'reversed'" in out
    assert "searchlib.analysis.register('reversed', factory)" in out
    unregister("reversed", "tokenizer")
    monkeypatch.setattr(analyzers, "_spec_instances", {})  # analyzers built before keep their tokenizer
    with pytest.raises(SchemaError, match="field 'body': unknown tokenizer 'reversed'"):
        Index.open(tmp_path / "ix")


def test_registration_mistakes_are_clear_errors(registered):
    with pytest.raises(ValueError, match="'lowercase' is a built-in filter"):
        register("lowercase", Doubled)
    with pytest.raises(ValueError, match="already registered"):
        register("reversed", type("Other", (ReversedWords,), {}))
    register("reversed", ReversedWords)  # the same factory again is fine
    with pytest.raises(ValueError, match="pass kind="):
        register("mystery", lambda: None)
    with pytest.raises(ValueError, match="is a filter, not a tokenizer"):
        register("wrong", Doubled, kind="tokenizer")
    with pytest.raises(ValueError, match="must be JSON data"):
        from_spec({"tokenizer": {"type": "reversed", "sep": {1, 2}}})
    with pytest.raises(UnknownComponentError, match=r"unknown filter 'reversed' \('reversed' is a tokenizer\)"):
        from_spec({"filters": ["reversed"]})
    register("not_a_filter", lambda: "nothing", kind="filter")
    try:
        with pytest.raises(ValueError, match="built a str, not a Filter"):
            from_spec({"filters": ["not_a_filter"]})
    finally:
        unregister("not_a_filter", "filter")


def test_an_unregistered_component_instance_says_how_to_record_it():
    analyzer = ReversedWords() | Doubled()
    with pytest.raises(NotImplementedError, match="register it"):
        Schema(body=TEXT(analyzer=analyzer)).to_json()


def test_entry_points_provide_components(tmp_path, monkeypatch):
    (tmp_path / "myplugin.py").write_text(textwrap.dedent("""
        from searchlib.analysis import TermFilter

        class Shout(TermFilter):
            def __init__(self, mark="!"):
                self.mark = mark

            def map(self, term):
                return term.upper() + self.mark
    """))
    dist = tmp_path / "myplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[searchlib.analyzers]\nshout = myplugin:Shout\nbroken = myplugin:Nope\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_entry_points_read", False)
    monkeypatch.setattr(registry, "_registered", {"tokenizer": {}, "filter": {}})
    analyzer = from_spec({"tokenizer": "whitespace", "filters": [{"type": "shout", "mark": "?"}]})
    assert [t.term for t in analyzer("hi there")] == ["HI?", "THERE?"]
    assert analyzer.spec()["filters"] == [{"type": "shout", "mark": "?"}]
    with pytest.raises(ValueError, match="entry point 'broken' .*cannot be used"):
        from_spec({"tokenizer": "broken"})


def test_new_builtin_components_are_listed_by_name():
    for name in ("unicode", "cjk", "chinese", "japanese", "korean", "thai"):
        assert registry.lookup("tokenizer", name)
    for name in ("normalize", "casefold"):
        assert registry.lookup("filter", name)
    assert get_analyzer("cjk").spec() == "cjk"
    assert isinstance(get_analyzer("cjk").filters[0], Filter)
