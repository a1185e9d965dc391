"""The work one query may ask for: its length, its clauses, its dictionary-scanning clauses.

Query text comes from the public. Without a bound, a megabyte of words, a thousand leading
wildcards or a thousand fuzzy words each cost seconds and hundreds of megabytes. The limits are
settings (`search.max_query_chars`, `search.max_clauses`, `search.max_expanding_clauses`); a query
beyond them raises QuerySyntaxError naming the setting, in lenient mode too (lenient parsing
forgives malformed text, not unbounded work). Checked before the dictionary is touched.
"""
from __future__ import annotations

from ..config import Settings
from ..errors import QuerySyntaxError
from .compile import BoolNode, ExpandLeaf, FieldsLeaf, Node


def check_length(text: str, settings: Settings) -> None:
    """Refuse query text longer than `settings.max_query_chars`."""
    if len(text) > settings.max_query_chars:
        raise QuerySyntaxError(f"the query is {len(text)} characters long, over the limit of "
                               f"{settings.max_query_chars} (setting search.max_query_chars)",
                               settings.max_query_chars + 1)


def check_clauses(node: "Node | None", settings: Settings) -> None:
    """Refuse a compiled query with more leaves than `settings.max_clauses` (a word over several
    fields counts once per field), or more prefix/wildcard/fuzzy clauses than
    `settings.max_expanding_clauses`. Iterative: the tree's depth cannot exhaust the stack."""
    if type(node) is not BoolNode:
        return
    clauses = expanding = 0
    stack = [node]
    while stack:
        n = stack.pop()
        if type(n) is BoolNode:
            stack += n.must
            stack += n.should
            stack += n.must_not
            continue
        clauses += len(n.terms) if type(n) is FieldsLeaf else 1
        expanding += type(n) is ExpandLeaf
    if clauses > settings.max_clauses:
        raise QuerySyntaxError(f"the query has {clauses} clauses after analysis, over the limit of "
                               f"{settings.max_clauses} (setting search.max_clauses)", 1)
    if expanding > settings.max_expanding_clauses:
        raise QuerySyntaxError(f"the query has {expanding} prefix, wildcard or fuzzy clauses, over the limit of "
                               f"{settings.max_expanding_clauses} (setting search.max_expanding_clauses)", 1)
