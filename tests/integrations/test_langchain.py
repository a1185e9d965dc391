"""searchlib.integrations.langchain.SearchlibRetriever: passages, metadata, filters, updates,
fusion, persistence across processes, and langchain's own standard retriever tests."""
import asyncio
import json
import subprocess
import sys
import tempfile
import threading

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is not installed (pip install \"searchlib[langchain]\")")
from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]  # the checkout under test
from corpus import RECORDS  # noqa: E402
from searchlib import ID, TEXT, Index, QuerySyntaxError, Schema, SchemaError  # noqa: E402
from searchlib.integrations.langchain import SearchlibRetriever  # noqa: E402


def documents():
    return [Document(page_content=text, metadata=meta, id=doc_id) for doc_id, text, meta in RECORDS]


@pytest.fixture
def retriever(tmp_path):
    return SearchlibRetriever.from_documents(documents(), path=tmp_path / "ix", passages="paragraph", k=3)


def test_returns_passages_with_metadata_span_score_and_snippet(retriever):
    docs = retriever.invoke('"late miscarriage"')
    assert len(docs) == 1
    doc = docs[0]
    text = dict((r[0], r[1]) for r in RECORDS)["soap"]
    assert doc.id == "soap" and doc.page_content == "The actress talks about a late miscarriage storyline in the soap."
    meta = doc.metadata
    assert text[meta["start"]:meta["end"]] == doc.page_content
    assert meta["source"] == "news/soap.txt" and meta["year"] == 2017 and meta["tags"] == ["tv", "soap"]
    assert meta["doc_id"] == "soap" and meta["field"] == "text" and meta["passage"] == 1 and meta["score"] > 0
    assert "<mark>late miscarriage</mark>" in meta["snippet"]


def test_k_ranking_and_grouping(retriever):
    docs = retriever.invoke("storyline")
    assert len(docs) == 3  # three passages hold the word
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)
    assert len(retriever.invoke("storyline", k=1)) == 1
    grouped = SearchlibRetriever(path=retriever.path, group=True, k=10).invoke("storyline miscarriage")
    assert len({d.id for d in grouped}) == len(grouped)


def test_filters_on_metadata(retriever):
    assert {d.id for d in retriever.invoke("storyline", filter={"source": "news/film.txt"})} == {"film"}
    assert {d.id for d in retriever.invoke("storyline", filter={"year": (2015, None)})} == {"soap", "radio"}
    assert {d.id for d in retriever.invoke("storyline", filter={"tags": ["radio", "film"]})} == {"radio", "film"}
    assert {d.id for d in retriever.invoke("storyline", filter="year:<2015")} == {"film"}
    fixed = SearchlibRetriever(path=retriever.path, filter={"tags": "soap"})
    assert {d.id for d in fixed.invoke("storyline")} == {"soap"}


def test_query_syntax_options(retriever):
    assert {d.id for d in retriever.invoke("storyline -soap")} == {"film", "radio"}
    assert {d.id for d in retriever.invoke("storyline -soap", syntax="plain")} >= {"soap"}  # "-" is no operator
    assert retriever.invoke('storyline ("unbalanced') is not None  # lenient: no error
    with pytest.raises(QuerySyntaxError):
        retriever.invoke('storyline ("unbalanced', syntax="strict")
    with pytest.raises(ValueError, match="syntax"):
        SearchlibRetriever(path=retriever.path, syntax="loose")
    assert [d.id for d in retriever.invoke("quick fox zebra", operator="AND")] == []  # a search option
    assert [d.id for d in retriever.invoke("quick fox zebra")] == ["fox"]


def test_add_documents_and_delete(retriever):
    ids = retriever.add_documents([Document(page_content="A new storyline about tomatoes.", metadata={"year": 2022}),
                                   Document(page_content="The fox is back.", metadata={}, id="fox")])
    assert ids[1] == "fox" and len(ids[0]) == 32
    assert {d.id for d in retriever.invoke("tomatoes")} == {ids[0], "garden"}
    back = retriever.invoke("fox")
    assert [d.page_content for d in back] == ["The fox is back."]  # replaced by id, metadata with it
    assert "source" not in back[0].metadata
    retriever.delete(["fox", "garden"])
    assert retriever.invoke("fox") == [] and {d.id for d in retriever.invoke("tomatoes")} == {ids[0]}


def test_metadata_json_cannot_hold_is_kept_as_text(tmp_path):
    import datetime as dt
    docs = [Document(page_content="alpha", metadata={"when": dt.date(2024, 5, 1), "path": tmp_path, "pair": (1, 2),
                                                     "bad": float("nan")}, id="a")]
    r = SearchlibRetriever.from_documents(docs, path=tmp_path / "j")
    meta = r.invoke("alpha")[0].metadata
    assert meta["when"] == "2024-05-01" and meta["path"] == str(tmp_path) and meta["pair"] == [1, 2]
    assert meta["bad"] is None
    assert [d.id for d in r.invoke("alpha", filter={"when": "2024-05-01"})] == ["a"]  # indexed as text


def test_from_texts(tmp_path):
    r = SearchlibRetriever.from_texts(["alpha beta", "beta gamma"], [{"n": 1}, {"n": 2}], ids=["x", "y"],
                                      path=tmp_path / "t")
    assert [(d.id, d.metadata["n"]) for d in r.invoke("gamma")] == [("y", 2)]
    with pytest.raises(ValueError, match="metadatas"):
        SearchlibRetriever.from_texts(["a"], [{}, {}], path=tmp_path / "u")


def test_async_invoke_runs_in_the_default_executor(retriever, monkeypatch):
    threads = []
    search = retriever._store.search
    monkeypatch.setattr(retriever._store, "search",
                        lambda *a, **k: threads.append(threading.get_ident()) or search(*a, **k))
    docs = asyncio.run(retriever.ainvoke("tomatoes", k=1))
    assert [d.id for d in docs] == ["garden"]
    assert threads and threads[0] != threading.get_ident()  # not on the event loop's thread


def test_an_existing_index(tmp_path):
    ix = Index.create(tmp_path / "plain", Schema(key=ID(unique=True), title=TEXT(stored=True),
                                                 body=TEXT(analyzer="english", stored=True, passages="paragraph")))
    with ix.writer() as w:
        w.add({"key": "k1", "title": "Gardens", "body": "Intro.\n\nTomatoes need sun."})
    docs = SearchlibRetriever(path=tmp_path / "plain").invoke("tomato")
    assert [(d.id, d.page_content, d.metadata["title"]) for d in docs] == [("k1", "Tomatoes need sun.", "Gardens")]
    ix2 = Index.create(tmp_path / "unstored", Schema(key=ID(unique=True), body=TEXT()))
    with pytest.raises(SchemaError, match="stored TEXT"):
        SearchlibRetriever(path=ix2.path)


class FixedRetriever(BaseRetriever):
    """A stand-in for a vector retriever: returns its documents in order, whatever the query."""
    docs: list

    def _get_relevant_documents(self, query, *, run_manager):
        return list(self.docs)


def test_vector_retriever_is_fused_with_the_same_filter(retriever):
    vector = FixedRetriever(docs=[Document(page_content="x", id="garden", metadata={"score": 0.9}),
                                  Document(page_content="y", id="film", metadata={"score": 0.8}),
                                  Document(page_content="z", id="elsewhere", metadata={"score": 0.7})])
    hybrid = SearchlibRetriever(path=retriever.path, vector_retriever=vector, k=10, group=True)
    docs = hybrid.invoke("miscarriage")
    assert {d.id for d in docs} == {"soap", "radio", "garden", "film", "elsewhere"}
    assert all("fused_score" in d.metadata for d in docs)
    garden = next(d for d in docs if d.id == "garden")
    assert garden.page_content == "x"  # only the vector side found it: its document
    filtered = hybrid.invoke("miscarriage", filter={"year": (2015, None)})
    assert {d.id for d in filtered} == {"soap", "radio", "garden"}  # film (2012) and the unknown id are out
    normalised = SearchlibRetriever(path=retriever.path, vector_retriever=vector, fusion="normalized",
                                    weights=[0.3, 0.7], k=2, group=True).invoke("miscarriage")
    assert normalised[0].id == "garden"


SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from searchlib.integrations.langchain import SearchlibRetriever
r = SearchlibRetriever(path=sys.argv[2])
if sys.argv[3] == "add":
    from langchain_core.documents import Document
    r.add_documents([Document(page_content="zebras crossing", id="zebra", metadata={"year": 2000})])
print(json.dumps([[d.id, d.metadata.get("year")] for d in r.invoke(sys.argv[4])]))
"""


@pytest.mark.slow
def test_persistence_across_processes(retriever):
    def child(action, query):
        out = subprocess.run([sys.executable, "-c", SCRIPT, str(REPO), retriever.path, action, query],
                             capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)
    assert child("search", "tomatoes") == [["garden", 2021]]
    assert child("add", "zebras") == [["zebra", 2000]]
    assert [d.id for d in retriever.invoke("zebras")] == ["zebra"]  # the parent sees the child's commit


try:  # langchain's standard suite comes with langchain-tests (in the dev extra), its async test with pytest-asyncio
    from langchain_tests.integration_tests import RetrieversIntegrationTests
    import pytest_asyncio  # noqa: F401
except ImportError:
    RetrieversIntegrationTests = None

if RetrieversIntegrationTests is not None:
    # The suite's one async test is unmarked, and pytest-asyncio (strict mode) runs marked coroutines
    # only; the suite forbids overriding it, so the mark goes on the inherited function itself.
    pytest.mark.asyncio(RetrieversIntegrationTests.test_ainvoke_returns_documents)

    class TestStandardRetriever(RetrieversIntegrationTests):
        """langchain-tests' own checks of a retriever (k in the constructor and at invoke, sync and async)."""

        _path = None

        @property
        def retriever_constructor(self):
            return SearchlibRetriever

        @property
        def retriever_constructor_params(self):
            if TestStandardRetriever._path is None:
                path = tempfile.mkdtemp(prefix="searchlib-lc-") + "/ix"
                SearchlibRetriever.from_documents(documents(), path=path, passages="paragraph")
                TestStandardRetriever._path = path
            return {"path": TestStandardRetriever._path}

        @property
        def retriever_query_example(self):
            return "storyline miscarriage soap"
else:
    def test_standard_retriever_suite():
        pytest.skip("langchain-tests or pytest-asyncio is not installed: langchain's standard retriever tests "
                    "did not run")
