"""Proximity: reward documents where adjacent query words occur close together.

The sequential dependence model's idea (Metzler and Croft, SIGIR 2005) on BM25: every pair of
adjacent words of a plain query is also searched as a sloppy phrase (slop `PAIR_SLOP`, so a
dropped stop word or one word in between still counts), worth `weight` times a phrase's BM25 (the
pair's idfs summed, its sloppy frequency saturated like a tf). The pairs are optional clauses:
they never change which documents match, only their order. Fields without positions get no pairs.
"""
from __future__ import annotations

from ..query.compile import BoolNode, FieldsLeaf, Node, PhraseLeaf, TermLeaf
from ..schema import Schema

PAIR_SLOP = 3


def _positions(schema: Schema, fname: str) -> bool:
    ft = schema.fields.get(fname)
    return bool(getattr(ft, "positions", False))


def _pair(a: Node, b: Node, weight: float, schema: Schema) -> list[PhraseLeaf]:
    """The phrase clauses of two adjacent word leaves (one per shared field); none for others."""
    if type(a) is TermLeaf and type(b) is TermLeaf and a.field == b.field and _positions(schema, a.field):
        return [PhraseLeaf(a.field, [(0, a.term), (1, b.term)], weight * min(a.boost, b.boost), PAIR_SLOP)]
    if type(a) is FieldsLeaf and type(b) is FieldsLeaf:
        return [PhraseLeaf(f, [(0, a.terms[f]), (1, b.terms[f])], weight * a.weights[f] * min(a.boost, b.boost),
                           PAIR_SLOP)
                for f in a.terms if f in b.terms and _positions(schema, f)]
    return []


def with_pairs(node: Node, weight: float, schema: Schema) -> Node:
    """`node` with its adjacent word pairs added as optional sloppy phrases worth `weight` (a
    node that is not a Boolean of words is returned as it is)."""
    if weight <= 0 or type(node) is not BoolNode:
        return node
    words = node.must or node.should
    pairs = [p for a, b in zip(words, words[1:]) for p in _pair(a, b, weight, schema)]
    if not pairs:
        return node
    return BoolNode(must=list(node.must), should=list(node.should) + pairs, must_not=list(node.must_not),
                    boost=node.boost)
