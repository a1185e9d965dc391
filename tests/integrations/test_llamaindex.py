"""searchlib.integrations.llamaindex.SearchlibRetriever: NodeWithScore passages, metadata,
searchlib and MetadataFilters filters, updates, fusion, persistence across processes."""
import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core", reason="llama-index-core is not installed (pip install \"searchlib[llamaindex]\")")
from llama_index.core.base.base_retriever import BaseRetriever  # noqa: E402
from llama_index.core.schema import NodeRelationship, NodeWithScore, TextNode  # noqa: E402
from llama_index.core.vector_stores.types import (FilterCondition, FilterOperator, MetadataFilter,  # noqa: E402
                                                  MetadataFilters)

from corpus import RECORDS  # noqa: E402
from searchlib import InvalidArgumentError  # noqa: E402
from searchlib.integrations.llamaindex import SearchlibRetriever  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def nodes():
    return [TextNode(id_=doc_id, text=text, metadata=meta) for doc_id, text, meta in RECORDS]


@pytest.fixture
def retriever(tmp_path):
    return SearchlibRetriever.from_defaults(nodes=nodes(), path=tmp_path / "ix", passages="paragraph",
                                            similarity_top_k=3)


def ids(results):
    return {r.node.relationships[NodeRelationship.SOURCE].node_id for r in results}


def test_passages_as_nodes_with_scores(retriever):
    found = retriever.retrieve('"late miscarriage"')
    assert len(found) == 1 and isinstance(found[0], NodeWithScore)
    node, text = found[0].node, dict((r[0], r[1]) for r in RECORDS)["soap"]
    assert node.text == "The actress talks about a late miscarriage storyline in the soap."
    assert text[node.start_char_idx:node.end_char_idx] == node.text
    assert node.node_id == "soap#1" and node.metadata["doc_id"] == "soap" and node.metadata["year"] == 2017
    assert found[0].score > 0 and "<mark>" in node.metadata["snippet"]
    assert len(retriever.retrieve("storyline")) == 3
    assert len(retriever.search("storyline", similarity_top_k=1)) == 1


def test_unsplit_nodes_keep_their_ids(tmp_path):
    r = SearchlibRetriever.from_nodes(nodes(), path=tmp_path / "flat")
    assert [n.node.node_id for n in r.retrieve("tomatoes")] == ["garden"]


def test_searchlib_and_metadata_filters(retriever):
    assert ids(retriever.search("storyline", filters={"year": (2015, None)})) == {"soap", "radio"}
    eq = MetadataFilters(filters=[MetadataFilter(key="source", value="news/film.txt")])
    assert ids(retriever.search("storyline", filters=eq)) == {"film"}
    gte = MetadataFilters(filters=[MetadataFilter(key="year", value=2017, operator=FilterOperator.GTE),
                                   MetadataFilter(key="year", value=2020, operator=FilterOperator.LT)])
    assert ids(retriever.search("storyline", filters=gte)) == {"soap"}
    either = MetadataFilters(filters=[MetadataFilter(key="tags", value="film", operator=FilterOperator.CONTAINS),
                                      MetadataFilter(key="year", value=2020, operator=FilterOperator.EQ)],
                             condition=FilterCondition.OR)
    assert ids(retriever.search("storyline", filters=either)) == {"film", "radio"}
    nin = MetadataFilters(filters=[MetadataFilter(key="source", value=["news/soap.txt"], operator=FilterOperator.NIN)])
    assert ids(retriever.search("storyline", filters=nin)) == {"film", "radio"}
    fixed = SearchlibRetriever(retriever.path, filters=MetadataFilters(
        filters=[MetadataFilter(key="tags", value=["tv", "radio"], operator=FilterOperator.ANY)]))
    assert ids(fixed.retrieve("storyline")) == {"soap", "radio"}
    with pytest.raises(InvalidArgumentError, match="text_match"):
        retriever.search("storyline", filters=MetadataFilters(
            filters=[MetadataFilter(key="source", value="news", operator=FilterOperator.TEXT_MATCH)]))


def test_insert_and_delete_nodes(retriever):
    retriever.insert_nodes([TextNode(id_="fox", text="The fox is back.", metadata={"year": 2024})])
    found = retriever.retrieve("fox")
    assert [(n.node.text, n.node.metadata["year"]) for n in found] == [("The fox is back.", 2024)]
    retriever.delete_nodes(["fox"])
    assert retriever.retrieve("fox") == []


def test_async_retrieve_runs_in_the_default_executor(retriever, monkeypatch):
    threads = []
    search = retriever.search
    monkeypatch.setattr(retriever, "search", lambda *a, **k: threads.append(threading.get_ident()) or search(*a, **k))
    assert ids(asyncio.run(retriever.aretrieve("tomatoes"))) == {"garden"}
    assert threads and threads[0] != threading.get_ident()  # not on the event loop's thread


class Fixed(BaseRetriever):
    def __init__(self, found):
        self.found = found
        super().__init__()

    def _retrieve(self, query_bundle):
        return list(self.found)


def test_vector_retriever_fused_with_the_same_filter(tmp_path):
    r = SearchlibRetriever.from_nodes(nodes(), path=tmp_path / "ix")
    vector = Fixed([NodeWithScore(node=TextNode(id_="garden", text="g"), score=0.9),
                    NodeWithScore(node=TextNode(id_="film", text="f"), score=0.8),
                    NodeWithScore(node=TextNode(id_="unknown", text="u"), score=0.7)])
    hybrid = SearchlibRetriever(r.path, vector_retriever=vector, similarity_top_k=10)
    assert {n.node.node_id for n in hybrid.retrieve("miscarriage")} == {"soap", "radio", "garden", "film", "unknown"}
    only_new = MetadataFilters(filters=[MetadataFilter(key="year", value=2015, operator=FilterOperator.GT)])
    assert {n.node.node_id for n in hybrid.search("miscarriage", filters=only_new)} == {"soap", "radio", "garden"}


SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from searchlib.integrations.llamaindex import SearchlibRetriever
print(json.dumps([n.node.node_id for n in SearchlibRetriever.from_defaults(path=sys.argv[2]).retrieve(sys.argv[3])]))
"""


@pytest.mark.slow
def test_persistence_across_processes(retriever):
    retriever.insert_nodes([TextNode(id_="zebra", text="Zebras crossing.")])
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(REPO), retriever.path, "zebras"],
                         capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == ["zebra#0"]
