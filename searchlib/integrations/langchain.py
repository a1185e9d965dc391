"""A LangChain retriever on a searchlib index: BM25 over passages, on disk, with updates.

    from searchlib.integrations.langchain import SearchlibRetriever
    retriever = SearchlibRetriever.from_documents(docs, path="indexes/rag", k=4)   # was BM25Retriever.from_documents(docs)
    retriever.invoke('"late miscarriage" storyline')
    SearchlibRetriever(path="indexes/rag")          # later, in another process: nothing rebuilt

Unlike `BM25Retriever` (rank_bm25, in memory, rebuilt at every start), the index persists, takes
`add_documents`/`delete`, understands phrases, fields and filters, and returns passages: each
`Document` is one passage (`page_content` its text) with the record's metadata plus `doc_id`,
`score`, `field`, `start`/`end` (the passage's span in the document's text), `passage` (its ordinal)
and `snippet` (the matched words in `<mark>`). `vector_retriever=` fuses another retriever's ranking
with reciprocal-rank fusion; its documents must carry the same ids (`Document.id`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Literal, Optional

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables.config import run_in_executor
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("searchlib.integrations.langchain needs langchain-core: pip install \"searchlib[langchain]\"") \
        from exc
from pydantic import ConfigDict, PrivateAttr

from .retrieval import Found, PassageStore


class SearchlibRetriever(BaseRetriever):
    """Retrieve the best passages of a searchlib index as LangChain Documents.

    `k`: passages returned; `filter`: a searchlib filter (a mapping such as `{"source": "a.txt",
    "year": (2010, None)}`, or query text); `syntax`: "lenient" (the query language, never an
    error), "strict" or "plain" (words only); `group=True` returns each document once, as its best
    passage; `search_kwargs` go to `Searcher.search` (fields, operator, k1, b). `invoke(query, k=,
    filter=, syntax=)` overrides those for one call. With `vector_retriever`, its ranking and
    searchlib's are fused (`fusion`: "rrf" or "normalized", `weights`), the filter applied to both.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    k: int = 4
    filter: Any = None
    syntax: Literal["lenient", "strict", "plain"] = "lenient"
    group: bool = False
    text_field: Optional[str] = None
    search_kwargs: dict = {}
    vector_retriever: Optional[BaseRetriever] = None
    fusion: Literal["rrf", "normalized"] = "rrf"
    weights: Optional[list[float]] = None
    _store: PassageStore = PrivateAttr()

    def __init__(self, **data: Any):
        if isinstance(data.get("path"), Path):
            data["path"] = str(data["path"])
        super().__init__(**data)
        self._store = PassageStore(self.path, self.text_field)

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def from_documents(cls, documents: Iterable[Document], *, path: "str | Path", ids: Optional[list] = None,
                       analyzer: Any = "english", passages: Any = None, overwrite: bool = False,
                       **kwargs: Any) -> "SearchlibRetriever":
        """Index `documents` at `path` (a new directory, or an index to replace with `overwrite`).
        Ids come from `ids`, else `Document.id`, else are generated. `passages` splits long texts
        ("paragraph", "sentences", "window" or a mapping; None: each document is one passage);
        `analyzer` is a searchlib analyzer name or spec. `kwargs` set the retriever's options."""
        documents = list(documents)
        PassageStore.create(path, _records(documents, ids), analyzer=analyzer, passages=passages, overwrite=overwrite)
        return cls(path=str(path), **kwargs)

    @classmethod
    def from_texts(cls, texts: Iterable[str], metadatas: Optional[Iterable[dict]] = None, ids: Optional[list] = None,
                   *, path: "str | Path", **kwargs: Any) -> "SearchlibRetriever":
        """`from_documents` for plain texts with optional metadata dicts and ids."""
        texts = list(texts)
        metadatas = list(metadatas) if metadatas is not None else [{}] * len(texts)
        if len(metadatas) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(metadatas)} metadatas")
        docs = [Document(page_content=t, metadata=m or {}) for t, m in zip(texts, metadatas)]
        return cls.from_documents(docs, path=path, ids=ids, **kwargs)

    # -- updates ------------------------------------------------------------------------------
    def add_documents(self, documents: Iterable[Document], ids: Optional[list] = None) -> list[str]:
        """Add documents, replacing those with the same id; one commit. Returns their ids."""
        return self._store.add(_records(list(documents), ids))

    def delete(self, ids: Iterable[Any]) -> None:
        """Delete the documents with these ids; one commit."""
        self._store.delete(ids)

    # -- retrieving ---------------------------------------------------------------------------
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: Optional[int] = None, filter: Any = None, syntax: Optional[str] = None,
                                **kwargs: Any) -> list[Document]:
        k = self.k if k is None else k
        filter = self.filter if filter is None else filter
        syntax = self.syntax if syntax is None else syntax
        options = {**self.search_kwargs, **kwargs}
        if self.vector_retriever is None:
            return [_document(f) for f in self._store.search(query, k, filter=filter, syntax=syntax,
                                                             group=self.group, **options)]
        others = self.vector_retriever.invoke(query, config={"callbacks": run_manager.get_child()})
        ranking = [(d.id if d.id is not None else d.metadata.get("doc_id"), _score(d, rank), d)
                   for rank, d in enumerate(others)]
        fused = self._store.search_fused(query, k, [[r for r in ranking if r[0] is not None]], method=self.fusion,
                                         weights=self.weights, filter=filter, syntax=syntax, group=self.group,
                                         **options)
        out = []
        for score, item in fused:
            doc = _document(item) if isinstance(item, Found) else item.model_copy(deep=True)
            doc.metadata["fused_score"] = score
            out.append(doc)
        return out

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **kwargs: Any) -> list[Document]:
        """The search in the default executor (searchlib releases the GIL in numpy, not in Python)."""
        return await run_in_executor(None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(),
                                     **kwargs)


def _records(documents: list[Document], ids: Optional[list]) -> list[tuple]:
    if ids is not None and len(ids) != len(documents):
        raise ValueError(f"{len(documents)} documents but {len(ids)} ids")
    ids = ids if ids is not None else [d.id for d in documents]
    return [(i, d.page_content, d.metadata) for i, d in zip(ids, documents)]


def _document(found: Found) -> Document:
    return Document(page_content=found.text, metadata={**found.metadata, **found.details()}, id=str(found.id))


def _score(doc: Document, rank: int) -> float:
    """A vector retriever's score if its documents carry one, else one that falls with the rank
    (all reciprocal-rank fusion needs; score-normalised fusion wants real scores)."""
    score = doc.metadata.get("score")
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else 1.0 / (rank + 1)
