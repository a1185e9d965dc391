"""Schemas, passage specs and YAML configuration: validation, round trips, and the errors that name the key;
one rule per value, wherever the value is given (Python, YAML, per query)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from searchlib import (DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, ConfigError, Index, PassageSpec, Schema,
                       SchemaError, load_config)
from searchlib.analysis import Analyzer, LowercaseFilter, RegexTokenizer
from searchlib.config import Settings, config_from_dict, dump_config
from searchlib.scoring import BM25


# -- Schema -----------------------------------------------------------------------------------

def full_schema() -> Schema:
    return Schema(
        id=ID(unique=True, stored=True),
        title=TEXT(analyzer="english", stored=True, boost=2.0),
        body=TEXT(analyzer={"tokenizer": "regex", "filters": ["lowercase", {"type": "stop", "language": "german"}]},
                  stored=True, passages={"mode": "sentences", "size": 2, "overlap": 1}, positions=True),
        raw=TEXT(positions=False),
        tags=KEYWORD(stored=True, lowercase=True, commas=True),
        price=NUMERIC(),
        published=DATETIME(stored=False),
        extra=STORED(),
        ref=ID(),
    )


def test_schema_basics():
    s = full_schema()
    assert s.unique_field == "id"
    assert list(s) == ["id", "title", "body", "raw", "tags", "price", "published", "extra", "ref"]
    assert s.text_fields() == ["title", "body", "raw"]
    assert [n for n, f in s.items() if f.stored] == ["id", "title", "body", "tags", "price", "extra", "ref"]
    assert "price" in s and "nope" not in s
    assert isinstance(s["title"], TEXT) and s["title"].boost == 2.0
    with pytest.raises(SchemaError, match="no field 'nope'"):
        s["nope"]


@pytest.mark.parametrize("name", ["1abc", "a-b", "a b", "a.b", "é", "x" * 65, "title:"])
def test_schema_rejects_bad_field_names(name):
    with pytest.raises(SchemaError, match="field name"):
        Schema(**{name: TEXT()})


def test_schema_accepts_edge_names():
    s = Schema(_x=TEXT(), **{"a" * 64: ID()})
    assert "_x" in s and "a" * 64 in s


def test_schema_rejects_two_unique_fields():
    with pytest.raises(SchemaError, match="only one field can be unique"):
        Schema(a=ID(unique=True), b=ID(unique=True))


@pytest.mark.parametrize("value", ["text", 3, None, str])
def test_schema_rejects_wrong_types(value):
    with pytest.raises(SchemaError, match="expected a field type"):
        Schema(body=value)


def test_schema_accepts_a_field_instance():
    s = Schema(body=TEXT("english"))
    assert isinstance(s["body"], TEXT)


def test_text_rejects_an_unknown_analyzer():
    with pytest.raises(SchemaError, match="unknown analyzer 'no-such-analyzer'"):
        TEXT(analyzer="no-such-analyzer")


def test_schema_needs_a_field_and_accepts_classes():
    with pytest.raises(SchemaError):
        Schema()
    s = Schema(body=TEXT, key=ID)
    assert isinstance(s["body"], TEXT) and isinstance(s["key"], ID)


@pytest.mark.parametrize("boost", [0, -1, float("nan"), float("inf"), "2"])
def test_text_boost_must_be_positive_number(boost):
    with pytest.raises(SchemaError, match="boost"):
        TEXT(boost=boost)


def test_schema_json_round_trip():
    s = full_schema()
    data = s.to_json()
    assert data["title"] == {"type": "text", "stored": True, "analyzer": "english", "boost": 2.0,
                             "passages": None, "positions": True}
    assert data["body"]["passages"] == {"mode": "sentences", "size": 2, "overlap": 1}
    assert data["tags"] == {"type": "keyword", "stored": True, "lowercase": True, "commas": True}
    assert data["extra"] == {"type": "stored"}
    again = Schema.from_json(yaml.safe_load(yaml.safe_dump(data)))
    assert again == s
    assert again.to_json() == data
    assert again.unique_field == "id"
    text = "Die Katze und der Hund"
    assert list(again["body"].analyzer(text)) == list(s["body"].analyzer(text))
    assert Schema(a=TEXT()) != Schema(a=TEXT(stored=True))


def test_schema_from_json_unknown_type():
    with pytest.raises(SchemaError, match="unknown type"):
        Schema.from_json({"a": {"type": "blob"}})


# -- PassageSpec ------------------------------------------------------------------------------

def test_passage_spec_coercion():
    assert PassageSpec.coerce(None) is None
    assert PassageSpec.coerce(False) is None
    assert PassageSpec.coerce("none") is None
    assert PassageSpec.coerce("paragraph") == PassageSpec("paragraph", 1, 0)
    assert PassageSpec.coerce("sentences") == PassageSpec("sentences", 3, 0)
    assert PassageSpec.coerce("window") == PassageSpec("window", 100, 20)
    spec = PassageSpec("window", 10, 2)
    assert PassageSpec.coerce(spec) is spec
    assert PassageSpec.coerce({"mode": "sentences", "size": 5}) == PassageSpec("sentences", 5, 0)
    assert PassageSpec.coerce({"mode": "window", "size": 50, "overlap": 5}) == PassageSpec("window", 50, 5)
    assert PassageSpec.coerce({}) == PassageSpec("paragraph", 1, 0)
    assert PassageSpec.coerce({"mode": "window", "size": 40, "overlap": 0}).to_json() == \
        {"mode": "window", "size": 40, "overlap": 0}


def test_passage_window_with_small_size_gets_a_fitting_default_overlap():
    # the user gave only a size: the default overlap must not exceed it
    spec = PassageSpec.coerce({"mode": "window", "size": 10})
    assert spec.mode == "window" and spec.size == 10 and 0 <= spec.overlap < 10


@pytest.mark.parametrize("value, match", [
    ("pages", "passage mode"),
    ({"mode": "pages"}, "passage mode"),
    ({"mode": "window", "size": 0}, "size"),
    ({"mode": "window", "size": 2.5}, "size"),
    ({"mode": "window", "size": 10, "overlap": 10}, "overlap"),
    ({"mode": "window", "size": 10, "overlap": -1}, "overlap"),
    ({"mode": "paragraph", "width": 3}, "unknown passage keys"),
    (3, "passages must be"),
    (["paragraph"], "passages must be"),
])
def test_passage_spec_errors(value, match):
    with pytest.raises(SchemaError, match=match):
        PassageSpec.coerce(value)


def test_passage_spec_direct_errors():
    with pytest.raises(SchemaError):
        PassageSpec("window", 5, 5)
    with pytest.raises(SchemaError):
        TEXT(passages="chapters")


# -- YAML config ------------------------------------------------------------------------------

FULL_YAML = """\
path: indexes/news
analyzers:
  folded:
    tokenizer: regex
    filters:
      - lowercase
      - asciifold
      - {type: stop, language: english, words: [foo]}
      - {type: length, min: 2, max: 40}
      - {type: stem, stemmer: porter}
schema:
  id: {type: id, unique: true, stored: true}
  title: {type: text, analyzer: english, stored: true, boost: 2.5}
  body:
    type: text
    analyzer: folded
    stored: true
    passages: {mode: window, size: 50, overlap: 10}
  summary: {type: text, analyzer: german, passages: sentences}
  tags: {type: keyword, lowercase: true, stored: true}
  price: numeric
  date: {type: datetime, stored: true}
  raw: stored
search:
  default_fields: [title, body]
  operator: and
  bm25: {k1: 0.9, b: 0.4}
  passages_per_hit: 2
highlight:
  formatter: ansi
  fragment_chars: 120
  max_fragments: 2
  separator: " ... "
  field: body
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_loads(tmp_path):
    config = load_config(write(tmp_path, FULL_YAML))
    assert config.path == tmp_path / "indexes" / "news"  # relative to the YAML file
    schema = config.schema
    assert list(schema) == ["id", "title", "body", "summary", "tags", "price", "date", "raw"]
    assert schema.unique_field == "id"
    assert schema["title"].boost == 2.5 and schema["title"].analyzer.spec() == "english"
    body = schema["body"]
    assert body.passages == PassageSpec("window", 50, 10)
    assert [t.term for t in body.analyzer("Foo CAFÉS x running")] == ["cafe", "run"]
    assert schema["summary"].passages == PassageSpec("sentences", 3, 0)
    assert schema["summary"].analyzer.spec() == "german"
    assert isinstance(schema["tags"], KEYWORD) and schema["tags"].lowercase
    assert isinstance(schema["price"], NUMERIC) and isinstance(schema["date"], DATETIME)
    assert isinstance(schema["raw"], STORED)
    s = config.settings
    assert (s.k1, s.b, s.operator, s.passages_per_hit) == (0.9, 0.4, "AND", 2)
    assert s.default_fields == {"title": 1.0, "body": 1.0}
    hl = s.highlight
    assert (hl.formatter, hl.fragment_chars, hl.max_fragments, hl.separator, hl.field) == \
        ("ansi", 120, 2, " ... ", "body")


def test_default_fields_mapping_with_boosts(tmp_path):
    text = FULL_YAML.replace("default_fields: [title, body]", "default_fields: {title: 3, tags: 0.5}")
    config = load_config(write(tmp_path, text))
    assert config.settings.default_fields == {"title": 3, "tags": 0.5}
    assert config.settings.fields_for(config.schema) == {"title": 3.0, "tags": 0.5}


def test_minimal_config_defaults(tmp_path):
    config = load_config(write(tmp_path, "schema:\n  body: text\n"))
    assert config.path is None
    assert config.settings == Settings()
    assert config.settings.fields_for(config.schema) == {"body": 1.0}


def test_dump_config_round_trip(tmp_path):
    config = load_config(write(tmp_path, FULL_YAML))
    dumped = dump_config(config)
    again = load_config(write(tmp_path, dumped, "again.yaml"))
    assert again.schema == config.schema
    assert again.settings == config.settings
    assert again.path == config.path
    assert dump_config(again) == dumped
    assert "!!python" not in dumped


@pytest.mark.parametrize("boost", [-2.0, 0, float("nan"), float("inf"), "2", True, None])
def test_index_create_rejects_bad_default_field_boosts(tmp_path, boost):
    schema = Schema(id=ID(unique=True), body=TEXT())
    with pytest.raises(ConfigError) as info:
        Index.create(tmp_path / "ix", schema, Settings(default_fields={"body": boost}))
    assert info.value.key_path == "settings.default_fields.body"
    assert "boost must be a positive number" in str(info.value)
    with pytest.raises(ConfigError, match="settings.default_fields.body: boost must be a positive number"):
        Settings.from_json({"default_fields": {"body": boost}})
    with pytest.raises(ConfigError, match="settings.default_fields: a list of field names or a mapping"):
        Index.create(tmp_path / "ix", schema, Settings(default_fields="body"))
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("settings", [Settings(default_fields=["body"]), {"default_fields": ["body"]},
                                      Settings(default_fields=("body",))])
def test_default_fields_list_means_boost_one_everywhere(tmp_path, settings):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(), body=TEXT())
    ix = Index.create(tmp_path / "ix", schema, settings)
    assert ix.settings.default_fields == {"body": 1.0}
    assert Index.open(tmp_path / "ix").settings.default_fields == {"body": 1.0}
    with ix.writer() as w:
        w.add({"id": "a", "title": "storyline", "body": "a river"})
        w.add({"id": "b", "title": "river", "body": "a storyline"})
    assert [h.id for h in ix.search("storyline")] == ["b"]  # the title is not a default field


def test_config_error_message_is_not_cut_at_a_colon(tmp_path):
    # the YAML path replaces the settings path; the message itself is kept whole, ": " and all
    err = config_error(tmp_path, with_(search__default_fields={"body": "x: y"}))
    assert err.key_path == "search.default_fields.body"
    assert err.message == "boost must be a positive number, got 'x: y'"


def config_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


BASE = {
    "schema": {"id": {"type": "id", "unique": True}, "body": {"type": "text", "analyzer": "english", "stored": True}},
}


def with_(**changes) -> str:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        keys = dotted.split("__")
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return yaml.safe_dump(data)


@pytest.mark.parametrize("text, key_path", [
    (with_(colour="red"), "colour"),
    (with_(schema__body__colour="red"), "schema.body.colour"),
    (with_(schema__body__type="txt"), "schema.body.type"),
    (with_(schema__body__analyzer="klingon"), "schema.body.analyzer"),
    (with_(schema__body__stored="yes please"), "schema.body.stored"),
    (with_(schema__body__passages="chapters"), "schema.body.passages"),
    (with_(search__bm25__k1="high"), "search.bm25.k1"),
    (with_(search__bm25__k1=True), "search.bm25.k1"),
    (with_(search__bm25__b=1.5), "search.bm25.b"),
    (with_(search__bm25__b=-0.1), "search.bm25.b"),
    (with_(search__bm25__k1=-1), "search.bm25.k1"),
    (with_(search__bm25__c=1), "search.bm25.c"),
    (with_(search__operator="XOR"), "search.operator"),
    (with_(search__passages_per_hit=0), "search.passages_per_hit"),
    (with_(search__default_fields=["nope"]), "search.default_fields.nope"),
    (with_(search__default_fields={"body": -1}), "search.default_fields.body"),
    (with_(search__default_fields="body"), "search.default_fields"),
    (with_(search__colour=1), "search.colour"),
    (with_(highlight__formatter="pdf"), "highlight.formatter"),
    (with_(highlight__fragment_chars=0), "highlight.fragment_chars"),
    (with_(highlight__field="id"), "highlight.field"),
    (with_(highlight__colour="red"), "highlight.colour"),
    (with_(analyzers__mine={"tokenizer": "regex", "filters": ["nope"]}), "analyzers.mine"),
    (with_(analyzers__english={"tokenizer": "regex"}), "analyzers.english"),
    (with_(path=""), "path"),
    ("schema: {}\n", "schema"),
    ("body: text\n", "body"),
    (with_(schema__other={"type": "id", "unique": True}), "schema"),
    (with_(analyzers=["a", "b"]), "analyzers"),
    (with_(search=["operator"]), "search"),
    (with_(highlight="html"), "highlight"),
    (with_(search__bm25=3), "search.bm25"),
])
def test_bad_config_names_the_key(tmp_path, text, key_path):
    err = config_error(tmp_path, text)
    assert err.key_path == key_path, str(err)
    assert err.source.endswith("config.yaml")
    assert str(err).startswith(f"{err.source}: {key_path}: ")


def test_unknown_key_error_lists_allowed_keys(tmp_path):
    err = config_error(tmp_path, with_(colour="red"))
    assert "schema" in str(err) and "search" in str(err)
    err = config_error(tmp_path, with_(search__operator="XOR"))
    assert "OR" in str(err) and "AND" in str(err)


def test_malformed_yaml_reports_the_line(tmp_path):
    text = "schema:\n  body: text\n  title: [unclosed\nsearch:\n  operator: OR\n"
    err = config_error(tmp_path, text)
    assert err.key_path == ""
    # the bracket opened on line 3 is found unclosed at the ':' after "search" (line 4, column 7)
    assert "invalid YAML at line 4, column 7:" in str(err)
    text = "schema:\n  body: text\n   bad indent: 1\n"
    err = config_error(tmp_path, text)
    assert "invalid YAML at line 3, column 14:" in str(err)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("schema:\n  body: text\n# café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path):
    err = config_error(tmp_path, "- a\n- b\n")
    assert "mapping" in str(err)


def test_python_object_tags_are_rejected_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = textwrap.dedent(f"""\
        schema:
          body: !!python/object/apply:os.system ["touch {marker}"]
        """)
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(write(tmp_path, text))
    assert not marker.exists()
    text2 = "schema: !!python/object:searchlib.schema.Schema {}\n"
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, text2, "two.yaml"))


def test_config_source_uses_safe_load_only():
    source = (REPO / "searchlib" / "config.py").read_text()
    assert "yaml.safe_load(" in source
    assert "yaml.load(" not in source and "yaml.unsafe_load" not in source and "FullLoader" not in source


def test_config_from_dict_directly():
    config = config_from_dict({"schema": {"body": {"type": "text", "analyzer": {"tokenizer": "whitespace"}}}})
    assert [t.term for t in config.schema["body"].analyzer("A-b c")] == ["A-b", "c"]
    with pytest.raises(ConfigError) as info:
        config_from_dict({"schema": {"body": {"type": "text", "analyzer": 5}}})
    assert info.value.key_path == "schema.body.analyzer"


def test_settings_from_json_validates():
    s = Settings.from_json({"k1": 2.0, "operator": "AND", "highlight": {"formatter": "plain"}})
    assert (s.k1, s.operator, s.highlight.formatter) == (2.0, "AND", "plain")
    assert Settings.from_json(s.to_json()) == s
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"k2": 1})
    assert info.value.key_path == "settings.k2"
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"b": 2})
    assert info.value.key_path == "settings.b"


# -- Index.from_config ------------------------------------------------------------------------

def test_index_from_config_creates_then_reopens(tmp_path):
    cfg = write(tmp_path, FULL_YAML)
    ix = Index.from_config(cfg)
    assert ix.path == tmp_path / "indexes" / "news"
    assert Index.exists(ix.path)
    assert ix.schema == load_config(cfg).schema
    assert ix.settings.k1 == 0.9 and ix.settings.operator == "AND"
    with ix.writer() as w:
        w.add({"id": "1", "title": "Storm warning", "body": "A storm hits the coast tonight."})
    again = Index.from_config(cfg)
    assert again.doc_count() == 1
    assert again.generation == ix.generation
    assert [h.id for h in again.search("storm")] == ["1"]


def test_index_from_config_explicit_path(tmp_path):
    cfg = write(tmp_path, "schema:\n  body: text\n")
    with pytest.raises(ConfigError) as info:
        Index.from_config(cfg)
    assert info.value.key_path == "path"
    ix = Index.from_config(cfg, path=tmp_path / "elsewhere")
    assert ix.path == tmp_path / "elsewhere" and Index.exists(tmp_path / "elsewhere")


def test_index_from_config_refuses_changed_schema(tmp_path):
    cfg = write(tmp_path, FULL_YAML)
    ix = Index.from_config(cfg)
    with ix.writer() as w:
        w.add({"id": "1", "title": "kept"})
    write(tmp_path, FULL_YAML.replace("boost: 2.5", "boost: 3"))
    with pytest.raises(ConfigError) as info:
        Index.from_config(cfg)
    assert info.value.key_path == "schema"
    write(tmp_path, FULL_YAML.replace("  raw: stored\n", ""))
    with pytest.raises(ConfigError):
        Index.from_config(cfg)
    assert Index.open(ix.path).doc_count() == 1  # nothing was rebuilt or lost


def test_schema_with_custom_analyzer_object_round_trips_through_index(tmp_path):
    analyzer = Analyzer(RegexTokenizer(r"[a-z]+"), [LowercaseFilter()])
    ix = Index.create(tmp_path / "ix", Schema(body=TEXT(analyzer=analyzer, stored=True)))
    reopened = Index.open(ix.path)
    assert reopened.schema == ix.schema
    assert [t.term for t in reopened.schema["body"].analyzer("abc DEF 123")] == ["abc"]


# -- bools are not numbers --------------------------------------------------------------------

def small_index(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True),
                                              body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "a", "title": "hello there", "body": "hello world"})
        w.add({"id": "b", "title": "other", "body": "hello again, hello"})
    return ix


@pytest.mark.parametrize("params", [{"k1": True}, {"b": True}, {"k1": False}, {"b": False}])
def test_bm25_refuses_bools(params):
    with pytest.raises(ValueError, match="must be a number"):
        BM25(**params)


@pytest.mark.parametrize("params", [{"k1": True}, {"b": False}])
def test_per_query_bm25_refuses_bools(tmp_path, params):
    with small_index(tmp_path).searcher() as s, pytest.raises(ValueError, match="must be a number"):
        s.search("hello", **params)


@pytest.mark.parametrize("key", ["k1", "b"])
def test_settings_refuse_bool_bm25_parameters(key):
    with pytest.raises(ConfigError) as info:
        Settings.from_json({key: True})
    assert info.value.key_path == f"settings.{key}"


def test_settings_refuse_bool_passages_per_hit():
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"passages_per_hit": True})
    assert info.value.key_path == "settings.passages_per_hit"


@pytest.mark.parametrize("spec", [{"size": True}, {"mode": "window", "size": 10, "overlap": True},
                                  {"mode": "sentences", "size": 3, "overlap": False}])
def test_passage_spec_refuses_bools(spec):
    with pytest.raises(SchemaError):
        PassageSpec(**spec)


def test_passage_spec_still_takes_whole_numbers():
    assert PassageSpec("window", 10, 0).overlap == 0
    assert PassageSpec.coerce({"mode": "window", "size": 50}) == PassageSpec("window", 50, 10)


@pytest.mark.parametrize("boost", [True, False, 0, -1, float("nan"), float("inf"), "2"])
def test_text_boost_follows_the_default_fields_rule(boost):
    with pytest.raises(SchemaError, match="boost must be a positive number"):
        TEXT(boost=boost)
    with pytest.raises(ConfigError, match="boost must be a positive number"):
        Settings.from_json({"default_fields": {"body": boost}})


def test_yaml_text_boost_bool_names_the_field():
    data = {"schema": {"body": {"type": "text", "boost": True}}}
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert info.value.key_path == "schema.body"


# -- per-query fields follow the settings' rule -----------------------------------------------

@pytest.mark.parametrize("boost", [-1, 0, float("nan"), float("inf"), True, "2", None])
def test_per_query_field_boosts_are_checked_like_settings(tmp_path, boost):
    # ConfigError (a ValueError) naming the search argument, with the message Settings gives
    with small_index(tmp_path).searcher() as s:
        with pytest.raises(ConfigError, match="boost must be a positive number") as info:
            s.search("hello", fields={"body": boost})
        assert info.value.key_path == "fields.body"
        with pytest.raises(ValueError):
            s.explain("hello", "a", fields={"title": 1, "body": boost})
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"default_fields": {"body": boost}})
    assert info.value.key_path == "settings.default_fields.body" and "boost must be a positive number" in str(info.value)


def test_per_query_fields_by_name_list_or_mapping(tmp_path):
    with small_index(tmp_path).searcher() as s:
        assert {h.id for h in s.search("hello", fields="title")} == {"a"}
        assert {h.id for h in s.search("hello", fields=["title"])} == {"a"}
        by_map = {h.id: h.score for h in s.search("hello", fields={"body": 2})}
        by_list = {h.id: h.score for h in s.search("hello", fields=["body"])}
        assert by_map.keys() == by_list.keys() == {"a", "b"}
        assert all(by_map[k] > by_list[k] > 0 for k in by_map)
        with pytest.raises(ConfigError, match="field names must be text"):
            s.search("hello", fields=[1])
        with pytest.raises(SchemaError, match="no field 'nope'"):
            s.search("hello", fields=["nope"])


def test_settings_still_refuse_a_lone_name_and_normalise_in_place():
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"default_fields": "body"})
    assert info.value.key_path == "settings.default_fields"
    settings = Settings(default_fields=["body"])
    settings.validate()
    assert settings.default_fields == {"body": 1.0}


# -- passages: {mode: none} -------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["none", None])
def test_passages_mapping_with_mode_none_means_no_passages(mode):
    assert PassageSpec.coerce({"mode": mode}) is None
    config = config_from_dict({"schema": {"body": {"type": "text", "passages": {"mode": mode}}}})
    assert config.schema.fields["body"].passages is None


@pytest.mark.parametrize("passages", [{"mode": "none", "size": 2}, {"mode": None, "overlap": 0}, {"mode": "chapters"},
                                      {"mode": "window", "size": 0}, {"mode": "none", "colour": 1}])
def test_bad_passages_name_the_passages_key(passages):
    with pytest.raises(SchemaError):
        PassageSpec.coerce(passages)
    with pytest.raises(ConfigError) as info:
        config_from_dict({"schema": {"body": {"type": "text", "passages": passages}}})
    assert info.value.key_path == "schema.body.passages"


# -- YAML settings go through Settings.from_json ----------------------------------------------

def test_settings_from_json_checks_against_a_schema_and_a_bad_highlight():
    schema = Schema(id=ID(unique=True), body=TEXT(stored=True))
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"default_fields": ["nope"]}, schema=schema)
    assert info.value.key_path == "settings.default_fields.nope"
    assert Settings.from_json({"default_fields": ["body"]}, schema=schema).default_fields == {"body": 1.0}
    with pytest.raises(ConfigError) as info:
        Settings.from_json({"highlight": "html"})
    assert info.value.key_path == "settings.highlight"


def test_yaml_settings_null_keys_keep_defaults_and_paths_are_yaml_paths():
    schema = {"id": {"type": "id", "unique": True}, "body": {"type": "text", "stored": True}}
    config = config_from_dict({"schema": schema, "search": {"operator": None, "bm25": {"k1": None, "b": 0.5},
                                                            "passages_per_hit": None}, "highlight": None})
    assert config.settings == Settings(b=0.5)
    config = config_from_dict({"schema": schema, "search": {"operator": "and"}})
    assert config.settings.operator == "AND"
    for search, key_path in [({"bm25": {"k1": True}}, "search.bm25.k1"), ({"bm25": {"b": "x"}}, "search.bm25.b"),
                             ({"passages_per_hit": True}, "search.passages_per_hit"),
                             ({"default_fields": {"body": True}}, "search.default_fields.body")]:
        with pytest.raises(ConfigError) as info:
            config_from_dict({"schema": schema, "search": search})
        assert info.value.key_path == key_path
    with pytest.raises(ConfigError) as info:
        config_from_dict({"schema": schema, "highlight": {"max_fragments": True}})
    assert info.value.key_path == "highlight.max_fragments"
