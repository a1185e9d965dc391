"""A LlamaIndex retriever on a searchlib index: BM25 over passages, on disk, with updates.

    from searchlib.integrations.llamaindex import SearchlibRetriever
    retriever = SearchlibRetriever.from_defaults(nodes=nodes, path="indexes/rag", similarity_top_k=4)
    retriever.retrieve('"late miscarriage" storyline')       # [NodeWithScore, ...]
    SearchlibRetriever.from_defaults(path="indexes/rag")      # later, another process: nothing rebuilt

It replaces llama-index-retrievers-bm25 (bm25s, rebuilt or re-loaded whole, no phrases, no
updates). Each result is a `NodeWithScore` whose `TextNode` holds one passage (its span in
`start_char_idx`/`end_char_idx`), the source node's metadata plus `doc_id`, `field`, `passage`
and `snippet`, and a SOURCE relationship to the indexed node. Filters are searchlib filters or
LlamaIndex `MetadataFilters` (==, !=, >, >=, <, <=, in, nin, any, all; and/or/not), applied to the
vector side too when `vector_retriever=` is fused in.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

try:
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import BaseNode, MetadataMode, NodeRelationship, NodeWithScore, QueryBundle, \
        RelatedNodeInfo, TextNode
    from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("searchlib.integrations.llamaindex needs llama-index-core: "
                      "pip install \"searchlib[llamaindex]\"") from exc

from ..errors import InvalidArgumentError
from ..query.ast import Boolean, Every, Query, Range
from ..query.filters import filter_query
from ..schema import Schema
from .retrieval import Found, PassageStore


class SearchlibRetriever(BaseRetriever):
    """Retrieve the best passages of a searchlib index as NodeWithScore.

    `similarity_top_k`: passages returned; `filters`: a searchlib filter (mapping or query text)
    or `MetadataFilters`; `syntax`: "lenient", "strict" or "plain"; `group=True`: each document once;
    `search_kwargs` go to `Searcher.search`. `vector_retriever`: another retriever whose ranking is
    fused (`fusion` "rrf" or "normalized", `weights`); its node ids must be this index's ids.
    """

    def __init__(self, path: "str | Path", *, similarity_top_k: int = 4, filters: Any = None, syntax: str = "lenient",
                 group: bool = False, text_field: Optional[str] = None, search_kwargs: Optional[dict] = None,
                 vector_retriever: Optional[BaseRetriever] = None, fusion: str = "rrf",
                 weights: Optional[Sequence[float]] = None, **kwargs: Any):
        self._store = PassageStore(path, text_field)
        self.path = str(self._store.path)
        self.similarity_top_k, self.filters, self.syntax, self.group = similarity_top_k, filters, syntax, group
        self.search_kwargs = dict(search_kwargs or {})
        self.vector_retriever, self.fusion, self.weights = vector_retriever, fusion, weights
        self._split = self._store.index.schema.fields[self._store.text_field].passages is not None
        super().__init__(**kwargs)

    @classmethod
    def from_defaults(cls, *, nodes: Optional[Sequence[BaseNode]] = None, path: "str | Path",
                      analyzer: Any = "english", passages: Any = None, overwrite: bool = False,
                      **kwargs: Any) -> "SearchlibRetriever":
        """With `nodes`, index them at `path` first (see `from_nodes`); without, open the index there."""
        if nodes is not None:
            return cls.from_nodes(nodes, path=path, analyzer=analyzer, passages=passages, overwrite=overwrite, **kwargs)
        return cls(path, **kwargs)

    @classmethod
    def from_nodes(cls, nodes: Iterable[BaseNode], *, path: "str | Path", analyzer: Any = "english",
                   passages: Any = None, overwrite: bool = False, **kwargs: Any) -> "SearchlibRetriever":
        """Index `nodes` (their id, text without metadata, and metadata) at `path`; `passages` splits
        long texts ("paragraph", "sentences", "window" or a mapping; None: a node is one passage)."""
        PassageStore.create(path, _records(nodes), analyzer=analyzer, passages=passages, overwrite=overwrite)
        return cls(path, **kwargs)

    # -- updates ------------------------------------------------------------------------------
    def insert_nodes(self, nodes: Iterable[BaseNode]) -> list[str]:
        """Add nodes, replacing those with the same id; one commit. Returns their ids."""
        return self._store.add(_records(nodes))

    def delete_nodes(self, node_ids: Iterable[str]) -> None:
        """Delete the nodes with these ids; one commit."""
        self._store.delete(node_ids)

    # -- retrieving ---------------------------------------------------------------------------
    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.search(query_bundle.query_str)

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The search in the default executor, so that an event loop is not blocked by it."""
        return await asyncio.get_running_loop().run_in_executor(None, self.search, query_bundle.query_str)

    def search(self, query: str, *, similarity_top_k: Optional[int] = None, filters: Any = None,
               syntax: Optional[str] = None, **options: Any) -> list[NodeWithScore]:
        """`retrieve` with per-call `similarity_top_k`, `filters`, `syntax` and search options."""
        k = self.similarity_top_k if similarity_top_k is None else similarity_top_k
        spec = self.filters if filters is None else filters
        where = to_searchlib_filter(spec, self._store.index.schema) if isinstance(spec, MetadataFilters) else spec
        syntax = self.syntax if syntax is None else syntax
        options = {**self.search_kwargs, **options}
        if self.vector_retriever is None:
            return [self._node(f, f.score) for f in self._store.search(query, k, filter=where, syntax=syntax,
                                                                         group=self.group, **options)]
        others = self.vector_retriever.retrieve(query)
        ranking = [(n.node.node_id, n.score if n.score is not None else 1.0 / (rank + 1), n)
                   for rank, n in enumerate(others)]
        fused = self._store.search_fused(query, k, [ranking], method=self.fusion, weights=self.weights, filter=where,
                                         syntax=syntax, group=self.group, **options)
        return [self._node(item, score) if isinstance(item, Found) else NodeWithScore(node=item.node, score=score)
                for score, item in fused]

    def _node(self, found: Found, score: float) -> NodeWithScore:
        node_id = str(found.id) if not self._split else f"{found.id}#{found.passage}"
        node = TextNode(id_=node_id, text=found.text, metadata={**found.metadata, **found.details()},
                        start_char_idx=found.start, end_char_idx=found.end,
                        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=str(found.id))})
        node.metadata.pop("score", None)  # the score is NodeWithScore's
        return NodeWithScore(node=node, score=score)


def _records(nodes: Iterable[BaseNode]) -> list[tuple]:
    return [(n.node_id, n.get_content(metadata_mode=MetadataMode.NONE), dict(n.metadata)) for n in nodes]


# -- LlamaIndex MetadataFilters as a searchlib filter query ----------------------------------------
def to_searchlib_filter(filters: MetadataFilters, schema: Schema) -> Query:
    """`MetadataFilters` as the searchlib query that matches the same records. The keys must be
    indexed metadata fields (see searchlib.integrations.retrieval); an operator searchlib cannot
    express (text_match, is_empty) is an InvalidArgumentError naming it."""
    parts = [to_searchlib_filter(f, schema) if isinstance(f, MetadataFilters) else _one(f, schema)
             for f in filters.filters]
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.AND:
        return Boolean(must=tuple(parts)) if parts else Every()
    if condition == FilterCondition.OR:
        return Boolean(should=tuple(parts))
    if condition == FilterCondition.NOT:  # none of them
        return Boolean(must=(Every(),), must_not=tuple(parts))
    raise InvalidArgumentError(f"filter condition {condition!r} is not supported")


def _one(f: MetadataFilter, schema: Schema) -> Query:
    op, key, value = FilterOperator(f.operator), f.key, f.value
    if op in (FilterOperator.EQ, FilterOperator.CONTAINS):
        return filter_query(schema, {key: value})
    if op in (FilterOperator.IN, FilterOperator.ANY):
        return filter_query(schema, {key: list(value)})
    if op == FilterOperator.ALL:
        return Boolean(must=tuple(filter_query(schema, {key: v}) for v in value)) if value else Every()
    if op in (FilterOperator.NE, FilterOperator.NIN):
        values = list(value) if op == FilterOperator.NIN else value
        return Boolean(must=(Every(),), must_not=(filter_query(schema, {key: values}),))
    bounds = {FilterOperator.GT: (value, None, False, True), FilterOperator.GTE: (value, None, True, True),
              FilterOperator.LT: (None, value, True, False), FilterOperator.LTE: (None, value, True, True)}
    if op in bounds:
        schema[key]  # noqa: B018 - SchemaError naming the fields there are
        low, high, include_low, include_high = bounds[op]
        return Range(key, None if low is None else str(low), None if high is None else str(high),
                     include_low, include_high)
    raise InvalidArgumentError(f"metadata filter operator {op.value!r} on {key!r} has no searchlib equivalent; "
                               "use ==, !=, >, >=, <, <=, in, nin, any, all or contains")
