"""What a newcomer expects of writing (issue 14): a unique key is unique, a second writer waits,
a refused create leaves the directory as it was, changed settings are not ignored silently."""
import threading
import time
import warnings

import pytest

from searchlib import ID, TEXT, ConfigError, Index, IndexLockedError, Schema, SettingsIgnoredWarning
from searchlib.config import DEFAULT_LOCK_TIMEOUT, load_config
from searchlib.indexing import writer as writer_module


def schema():
    return Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True))


def ids_and_bodies(ix):
    with ix.searcher() as s:
        return sorted((d["id"], d["body"]) for d in s.documents())


# -- item 5: unique=True means unique ------------------------------------------------------------

def test_add_with_an_existing_key_replaces_the_document(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        w.add({"id": "a", "body": "first"})
        w.add({"id": "b", "body": "other"})
    with ix.writer() as w:
        w.add({"id": "a", "body": "second"})
    assert ids_and_bodies(ix) == [("a", "second"), ("b", "other")]
    assert ix.doc_count() == 2


def test_the_last_of_several_adds_with_one_key_in_a_batch_wins(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer(buffer_chars=40) as w:  # small buffers: the versions land in different segments
        for version in range(6):
            w.add({"id": "a", "body": f"version {version} " + "x" * 20})
        w.add({"id": "b", "body": "b"})
    assert ix.doc_count() == 2
    assert ids_and_bodies(ix)[0][1].startswith("version 5")


@pytest.mark.parametrize("few", [True, False], ids=["binary-search", "vectorised"])
def test_bulk_adds_replace_by_key_in_both_lookup_paths(tmp_path, monkeypatch, few):
    monkeypatch.setattr(writer_module, "_LOOKUP_RATIO", 10**9 if few else 0)
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w:
        for i in range(500):
            w.add({"id": f"doc-{i:05d}", "body": "old"})
    with ix.writer() as w:
        for i in range(250, 750):
            w.add({"id": f"doc-{i:05d}", "body": "new"})
    docs = ids_and_bodies(ix)
    assert len(docs) == 750 and ix.doc_count() == 750
    assert {body for key, body in docs if key >= "doc-00250"} == {"new"}
    assert {body for key, body in docs if key < "doc-00250"} == {"old"}


def test_update_still_requires_the_key(tmp_path):
    from searchlib import DocumentError
    ix = Index.create(tmp_path / "ix", schema())
    with ix.writer() as w, pytest.raises(DocumentError, match="unique key field 'id'"):
        w.update({"body": "no key"})


# -- the writer waits for the lock ----------------------------------------------------------------

def test_writer_waits_for_the_lock_by_default(tmp_path):
    ix = Index.create(tmp_path / "ix", schema())
    assert ix.settings.lock_timeout == DEFAULT_LOCK_TIMEOUT == 30
    first = ix.writer()
    first.add({"id": "first", "body": "one"})

    def finish():
        time.sleep(0.3)
        first.commit()
        first.close()

    thread = threading.Thread(target=finish)
    thread.start()
    with ix.writer() as second:  # no timeout given: waits instead of raising IndexLockedError
        second.add({"id": "second", "body": "two"})
    thread.join()
    assert ix.doc_count() == 2


def test_lock_timeout_comes_from_the_configuration(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"path: {tmp_path / 'ix'}\nschema:\n  id: {{type: id, unique: true}}\n  body: text\n"
                      "writer:\n  lock_timeout: 0.2\n")
    ix = Index.from_config(config)
    assert ix.settings.lock_timeout == 0.2
    with ix.writer():
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match="after waiting 0.2 s"):
            ix.writer()
        assert time.monotonic() - started >= 0.2
    config.write_text("schema:\n  body: text\nwriter:\n  lock_timeout: -1\n")
    with pytest.raises(ConfigError, match="writer.lock_timeout"):
        load_config(config)


# -- item 3: a refused create leaves the directory as it was ---------------------------------------

@pytest.mark.parametrize("overwrite", [False, True])
def test_refused_create_leaves_no_lock_file(tmp_path, overwrite):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="holds files|already holds"):
        Index.create(folder, schema(), overwrite=overwrite)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_create_that_fails_removes_the_directory_it_made(tmp_path, monkeypatch):
    import searchlib.index as index_module

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_module, "write_manifest", fail)
    with pytest.raises(OSError):
        Index.create(tmp_path / "new" / "ix", schema())
    assert not (tmp_path / "new" / "ix").exists()


# -- item 6: changed settings in Python -----------------------------------------------------------

def write_config(path, k1):
    path.write_text(f"path: ix\nschema:\n  id: {{type: id, unique: true}}\n  body: text\nsearch:\n  bm25: {{k1: {k1}}}\n")


def test_from_config_warns_when_the_settings_differ_and_can_save_them(tmp_path):
    config = tmp_path / "c.yaml"
    write_config(config, 1.2)
    Index.from_config(config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Index.from_config(config)  # the same settings: no warning
    write_config(config, 0.9)
    with pytest.warns(SettingsIgnoredWarning, match=r"differ from .*c.yaml in k1; pass update_settings=True"):
        ix = Index.from_config(config)
    assert ix.settings.k1 == 1.2
    ix = Index.from_config(config, update_settings=True)
    assert ix.settings.k1 == 0.9 and Index.open(tmp_path / "ix").settings.k1 == 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Index.from_config(config)
