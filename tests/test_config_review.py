"""Review fixes in configuration, schema validation, loaders and packaging: one rule per value,
wherever the value is given (Python, YAML, per query)."""
from __future__ import annotations

import pytest

from conftest import REPO
from searchlib import ID, TEXT, ConfigError, Index, PassageSpec, Schema, SchemaError
from searchlib.config import Settings, config_from_dict
from searchlib.scoring import BM25


def small_index(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True),
                                              body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "a", "title": "hello there", "body": "hello world"})
        w.add({"id": "b", "title": "other", "body": "hello again, hello"})
    return ix


# -- bools are not numbers -----------------------------------------------------------------------

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


# -- per-query fields follow the settings' rule ---------------------------------------------------

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


# -- passages: {mode: none} ---------------------------------------------------------------------

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


# -- YAML settings go through Settings.from_json ---------------------------------------------------

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


# -- one version ---------------------------------------------------------------------------------

def test_installed_metadata_version_is_the_package_version():
    import importlib.metadata

    import searchlib

    try:
        installed = importlib.metadata.version("searchlib")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("searchlib is not installed (tests run from the source tree): no metadata to compare")
    assert installed == searchlib.__version__


def test_setup_cfg_reads_the_version_from_the_package():
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    assert cfg["metadata"]["version"] == "attr: searchlib.__version__"


# -- loading and indexing: one policy for the command and the example ---------------------------

def keyed_index(tmp_path, key="id"):
    return Index.create(tmp_path / "ix", Schema(**{key: ID(unique=True, stored=True)}, body=TEXT(stored=True)))


def test_index_documents_names_extra_keys_once_and_updates_by_key(tmp_path):
    from searchlib.loaders import index_documents

    ix = keyed_index(tmp_path)
    messages = []
    docs = [{"id": "a", "body": "one", "metadata": {}}, {"id": "b", "body": "two", "metadata": {}, "url": "x"},
            {"id": "a", "body": "three"}, {"body": "no key"}]
    with ix.writer() as w:
        assert index_documents(w, docs, warn=messages.append) == 4
    assert messages == ["ignoring key(s) not in the schema: metadata", "ignoring key(s) not in the schema: url"]
    with ix.searcher() as s:
        assert s.search("three").total == 1 and s.search("one").total == 0  # "a" was replaced
        assert ix.doc_count() == 3


def test_index_documents_warns_by_default(tmp_path):
    from searchlib.loaders import index_documents

    with keyed_index(tmp_path).writer() as w, pytest.warns(UserWarning, match="not in the schema: extra"):
        index_documents(w, [{"id": "a", "body": "x", "extra": 1}])


def test_example_keys_documents_by_the_configured_key_field(tmp_path):
    import importlib.util

    from searchlib.config import Config

    script = REPO / "examples" / "search.py"
    spec = importlib.util.spec_from_file_location("example_search_review", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text("First\n\nA storyline.\n", encoding="utf-8")
    schema = Schema(key=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True))
    config = Config(path=None, schema=schema, settings=Settings())
    ix = example.open_or_build(tmp_path / "ix", corpus, config, ())
    ix = example.open_or_build(tmp_path / "ix", corpus, config, ())  # reused: nothing is added twice
    assert ix.doc_count() == 1
    assert [h.id for h in ix.search("storyline")] == ["one"]


def test_fingerprint_describes_the_files_the_load_reads(tmp_path):
    from searchlib.loaders import corpus_fingerprint, load_documents

    (tmp_path / "a.txt").write_text("alpha", encoding="utf-8")
    documents = load_documents(tmp_path)
    before = documents.fingerprint()
    assert before == corpus_fingerprint(tmp_path)
    (tmp_path / "b.txt").write_text("beta", encoding="utf-8")  # after the listing: neither read nor hashed
    assert [d["id"] for d in documents] == ["a"]
    assert documents.fingerprint() == before != corpus_fingerprint(tmp_path)
