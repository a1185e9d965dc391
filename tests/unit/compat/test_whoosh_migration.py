"""Migration from Whoosh: a Whoosh index with every field type becomes a searchlib index that holds
the same stored documents and answers the same queries with the same documents."""
from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest

whoosh_fields = pytest.importorskip("whoosh.fields")
from whoosh import analysis as wanalysis  # noqa: E402
from whoosh import index as windex  # noqa: E402
from whoosh.qparser import QueryParser  # noqa: E402

from searchlib import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Index, SearchlibError  # noqa: E402
from searchlib.cli import main  # noqa: E402
from searchlib.compat.whoosh import import_index, translate_analyzer  # noqa: E402

WORDS = ("cancer cancers tumor cell cells growth growing grows immune response responses therapy treatment "
         "treated treating patient patients clinical trial trials gene genes protein proteins mouse mice lung "
         "liver blood pressure study").split()
TAGS = ("Red", "Green", "Blue", "Lab Work", "Review")
N_DOCS = 30


def _documents() -> list[dict]:
    """Thirty deterministic documents with a value for every field (a few fields left out on purpose)."""
    rng = random.Random(7)
    docs = []
    for i in range(N_DOCS):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
        if i % 4 == 0:
            title += " immune response"
        if i % 5 == 1:
            title = "clinical trials of " + title
        summary = " ".join(rng.choice(WORDS) for _ in range(12)) + (" the clinical trial" if i % 3 == 0 else "")
        doc = {
            "id": f"doc{i:02d}",
            "title": title.capitalize(),
            "summary": summary,
            "body": f"unstored body text {rng.choice(WORDS)} {rng.choice(WORDS)}",
            "tags": ", ".join(rng.sample(TAGS, rng.randint(1, 3))),
            "year": 1990 + i % 25,
            "score": round(i * 0.5, 1),
            "published": dt.datetime(2000, 1, 1, 8, 30) + dt.timedelta(days=37 * i, hours=i),
            "available": i % 3 == 0,
            "extra": {"pages": (i, i + 10), "note": f"n{i}"},
            "grams": f"g{i} {rng.choice(WORDS)}",
        }
        if i == 5:
            del doc["summary"], doc["score"]  # a document without some fields
        docs.append(doc)
    return docs


def _whoosh_schema():
    f = whoosh_fields
    return f.Schema(
        id=f.ID(unique=True, stored=True),
        title=f.TEXT(stored=True, analyzer=wanalysis.StemmingAnalyzer(), field_boost=2.0),
        summary=f.TEXT(stored=True),
        body=f.TEXT(phrase=False),  # not stored: cannot be recovered
        tags=f.KEYWORD(stored=True, commas=True, lowercase=True),
        year=f.NUMERIC(int, stored=True),
        score=f.NUMERIC(float, stored=True),
        published=f.DATETIME(stored=True),
        available=f.BOOLEAN(stored=True),
        extra=f.STORED,
        grams=f.NGRAM(stored=True),
    )


@pytest.fixture(scope="module")
def whoosh_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("whoosh")
    ix = windex.create_in(str(path), _whoosh_schema())
    docs = _documents()
    for start in (0, 20):  # two commits: two Whoosh segments
        writer = ix.writer()
        for doc in docs[start:start + 20]:
            writer.add_document(**doc)
        writer.commit(merge=False)
    ix.close()
    return path


@pytest.fixture(scope="module")
def migrated(whoosh_dir: Path, tmp_path_factory):
    target = tmp_path_factory.mktemp("migrated") / "ix"
    report = import_index(whoosh_dir, target)
    return report, Index.open(target)


def test_schema_mapping(migrated):
    report, ix = migrated
    expected = {
        "id": ("ID(unique, stored)", "ID(unique, stored)"),
        "title": ("TEXT(stored, phrase, field_boost=2)", "TEXT(stored, phrase, boost=2)"),
        "summary": ("TEXT(stored, phrase)", "TEXT(stored, phrase)"),
        "body": ("TEXT()", "TEXT()"),
        "tags": ("KEYWORD(stored, lowercase, commas)", "KEYWORD(stored, lowercase, commas)"),
        "year": ("NUMERIC(int, stored)", "NUMERIC(stored)"),
        "score": ("NUMERIC(float, stored)", "NUMERIC(stored)"),
        "published": ("DATETIME(stored)", "DATETIME(stored)"),
        "available": ("BOOLEAN(stored)", "KEYWORD(stored, lowercase)"),
        "extra": ("STORED(stored)", "STORED()"),
        "grams": ("NGRAM(stored)", "TEXT(stored)"),
    }
    assert {m.name: (m.whoosh_type, m.searchlib_type) for m in report.fields} == expected
    kinds = {"id": ID, "title": TEXT, "summary": TEXT, "body": TEXT, "tags": KEYWORD, "year": NUMERIC,
             "score": NUMERIC, "published": DATETIME, "available": KEYWORD, "extra": STORED, "grams": TEXT}
    assert {name: type(ft) for name, ft in ix.schema.items()} == kinds
    assert report.unique_field == ix.schema.unique_field == "id"
    title = ix.schema["title"]
    assert title.boost == 2.0 and title.positions and not ix.schema["body"].positions
    filters = title.analyzer.spec()["filters"]
    assert {"type": "stem", "stemmer": "porter-martin"} in filters
    assert {"type": "length", "min": 2, "max": 255} in filters
    assert "stem porter-martin" in report.mapping("title").analyzer
    assert any("n-gram" in note for note in report.mapping("grams").notes)
    assert any('"true"' in note for note in report.mapping("available").notes)


def test_unstored_field_is_reported_not_dropped(migrated):
    report, ix = migrated
    assert report.unrecoverable == ["body"]
    assert "body" in ix.schema
    text = str(report)
    assert "cannot be recovered" in text and "body" in text.split("cannot be recovered")[1]
    with ix.searcher() as s:
        assert all("body" not in doc for doc in s.documents())
        assert s.search("body:unstored").total == 0


def _expected(doc: dict) -> dict:
    """A Whoosh document as searchlib stores it (body was not stored by Whoosh)."""
    out = {k: v for k, v in doc.items() if k != "body"}
    out["published"] = doc["published"].replace(tzinfo=dt.timezone.utc)
    out["available"] = "true" if doc["available"] else "false"
    out["extra"] = {"pages": list(doc["extra"]["pages"]), "note": doc["extra"]["note"]}
    return out


def test_every_stored_document_is_copied(migrated):
    report, ix = migrated
    assert report.documents == N_DOCS and not report.skipped_documents and not report.dropped_values
    with ix.searcher() as s:
        copied = {doc["id"]: doc for doc in s.documents()}
        assert s.doc_count() == N_DOCS
        hit_fields = {hit.id: hit.fields for hit in s.search("id:doc07 OR id:doc05", limit=5)}
    for doc in _documents():
        got = dict(copied[doc["id"]])
        assert isinstance(got["published"], dt.datetime)  # a stored DATETIME comes back as a datetime
        assert got == _expected(doc)
    assert hit_fields["doc07"]["title"] == _documents()[7]["title"]
    assert "summary" not in hit_fields["doc05"] and "score" not in hit_fields["doc05"]


QUERIES = [
    "title:cancer", "title:cancers", "title:treating", "title:mice", "title:growth",
    "summary:trial", "summary:trials", "summary:patients",
    'title:"immune response"', 'title:"clinical trials"', 'summary:"clinical trial"', 'title:"study grows"',
    'title:"cancers lung"',
    "tags:red", "tags:review", "id:doc07", "available:true", "available:false",
    "title:cancer AND tags:red", "title:cell AND summary:growth AND available:true",
    "title:mouse OR title:liver", "title:cancer NOT tags:blue", "(title:gene OR summary:gene) AND tags:green",
    "year:2005", "score:3.5", "year:1990 OR year:1991",
    "title:canc*", "title:p?tient*", "year:[1995 TO 2000]", "year:{1995 TO 2000]", "score:[3 TO 7.5]",
]


@pytest.mark.parametrize("query", QUERIES)
def test_queries_match_the_same_documents(query, whoosh_dir, migrated):
    _, ix = migrated
    wix = windex.open_dir(str(whoosh_dir))
    try:
        with wix.searcher() as ws:
            wq = QueryParser("title", wix.schema).parse(query)
            whoosh_ids = {hit["id"] for hit in ws.search(wq, limit=None)}
    finally:
        wix.close()
    with ix.searcher() as s:
        ids = {hit.id for hit in s.search(query, limit=100, highlight=False)}
    assert whoosh_ids, f"{query!r} should match something in Whoosh"
    assert ids == whoosh_ids, query


def test_dynamic_fields_and_sort_columns(tmp_path: Path):
    f = whoosh_fields
    schema = f.Schema(id=f.ID(stored=True), title=f.TEXT(sortable=True))  # title: unstored but sortable
    schema.add("*_note", f.TEXT(stored=True), glob=True)
    (tmp_path / "w").mkdir()
    wix = windex.create_in(str(tmp_path / "w"), schema)
    with wix.writer() as w:
        w.add_document(id="a", title="Sortable title", first_note="dynamic field value")
        w.add_document(id="b")
    wix.close()
    report = import_index(tmp_path / "w", tmp_path / "new")
    assert report.from_columns == ["title"] and report.unrecoverable == []
    assert report.unique_field is None
    ix = Index.open(tmp_path / "new")
    assert {"id", "title", "first_note"} <= set(ix.schema)
    with ix.searcher() as s:
        assert {h.id for h in s.search("title:sortable")} == {None}  # matched; no unique key to name it
        assert s.search("title:sortable").total == 1
        assert [d.get("first_note") for d in s.documents()] == ["dynamic field value", None]


def test_values_that_cannot_be_converted_are_counted_not_hidden(tmp_path: Path):
    f = whoosh_fields
    (tmp_path / "w").mkdir()
    wix = windex.create_in(str(tmp_path / "w"), f.Schema(id=f.ID(unique=True, stored=True), extra=f.STORED))
    with wix.writer() as w:
        w.add_document(id="a", extra=complex(1, 2))  # Whoosh pickles stored values; JSON has no complex numbers
        w.add_document(id="b", extra=[1, 2])
    wix.close()
    report = import_index(tmp_path / "w", tmp_path / "new")
    assert report.documents == 2 and report.dropped_values == {"extra": 1}
    assert "Values not copied: extra: 1" in str(report) and "complex" in str(report)
    with Index.open(tmp_path / "new").searcher() as s:
        assert sorted(s.documents(), key=lambda d: d["id"]) == [{"id": "a"}, {"id": "b", "extra": [1, 2]}]


def test_translate_analyzer_uses_a_preset_when_the_chain_is_one():
    assert translate_analyzer(wanalysis.IDTokenizer()).spec == "keyword"
    assert translate_analyzer(wanalysis.KeywordAnalyzer()).spec == {
        "tokenizer": {"type": "regex", "pattern": "[^ \\t\\r\\n]+"}, "filters": []}
    assert translate_analyzer(wanalysis.LanguageAnalyzer("de")).spec["filters"][-1] == {
        "type": "stem", "stemmer": "snowball-german"}
    fancy = translate_analyzer(wanalysis.FancyAnalyzer())
    assert fancy.spec["tokenizer"] == {"type": "whitespace"}
    assert any("IntraWordFilter" in note for note in fancy.notes)


def test_translate_analyzer_finds_a_preset_without_building_any(monkeypatch):
    from searchlib.analysis import analyzers, stemming

    def no_stemmer(name):
        raise AssertionError(f"stemmer {name!r} loaded to look up a preset")

    stemming.get_stemmer.cache_clear()
    monkeypatch.setattr(stemming, "_build", no_stemmer)
    monkeypatch.setattr(analyzers, "_preset_instances", {})
    try:
        assert translate_analyzer(wanalysis.IDTokenizer()).spec == "keyword"
        assert translate_analyzer(wanalysis.LanguageAnalyzer("de")).spec["filters"][-1]["stemmer"] == "snowball-german"
        assert analyzers._preset_instances == {}
    finally:
        monkeypatch.undo()
        stemming.get_stemmer.cache_clear()


def test_errors(tmp_path: Path, whoosh_dir: Path, monkeypatch):
    with pytest.raises(SearchlibError, match="no such directory"):
        import_index(tmp_path / "missing", tmp_path / "new")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SearchlibError, match="cannot open a Whoosh index"):
        import_index(tmp_path / "empty", tmp_path / "new")
    assert not (tmp_path / "new").exists()
    monkeypatch.setitem(sys.modules, "whoosh", None)  # as if the extra were not installed
    with pytest.raises(SearchlibError, match=r"pip install searchlib\[whoosh\]"):
        import_index(whoosh_dir, tmp_path / "new")


def test_command(whoosh_dir: Path, tmp_path: Path, capsys):
    target = tmp_path / "ix"
    assert main(["migrate-whoosh", str(whoosh_dir), str(target), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{N_DOCS} documents copied" in out and "KEYWORD(stored, lowercase, commas)" in out
    assert "cannot be recovered" in out and "body" in out
    assert Index.open(target).doc_count() == N_DOCS
    assert main(["migrate-whoosh", str(whoosh_dir), str(target), "--no-progress"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["migrate-whoosh", str(whoosh_dir), str(target), "--overwrite", "--no-progress"]) == 0
    assert main(["migrate-whoosh", str(tmp_path / "nowhere"), str(tmp_path / "x"), "--no-progress"]) == 2
    assert "no such directory" in capsys.readouterr().err
