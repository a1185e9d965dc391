"""Query execution: statistics, weight, segment scorers, collectors, results, the searcher.

The stages, each a module, each importing only from the ones before it:

    stats       index-wide statistics of one snapshot (N, lengths, document frequencies, expansions)
    postings    sorted-array operations over posting lists
    phrases     where a phrase occurs in a segment, and how often
    weighted    the compiled query with its statistics fixed (idf x boost per leaf)
    leaves      scoring leaves on one segment (BM25, BM25F, expansions, phrases, constants)
    dense       combining clauses as arrays (segments with passages)
    sparse      combining clauses as sorted document lists (segments without)
    explain     a document's score as a tree of its arithmetic
    weight      the Weight: creates each segment's scorer, reports its terms, explains
    collectors  count, top k by score, sort by field, filter: fed per-segment batches, merged
    results     Results, Hit, Passage, lazy stored fields, passages and snippets
    searcher    the Searcher: a snapshot's lifecycle and search() wiring the stages
"""
from .results import Hit, Passage, Results
from .searcher import Searcher, parse_index_query
from .stats import Stats
from .weight import Weight

__all__ = ["Hit", "Passage", "Results", "Searcher", "Stats", "Weight", "parse_index_query"]
