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
    facets      facet counters (values, ranges, histograms) and per-document KEYWORD values
    collectors  count, top k by score, sort by field, filter, facets, collapse: fed per-segment
                batches, merged
    results     Results, Hit, Passage, lazy stored fields, passages and snippets
    words       term document frequencies and the surface words of stemmed terms
    complete    autocomplete from the sorted term dictionaries
    suggest     "did you mean": corrected query text
    similar     more like this: a document's key terms as a query
    searcher    the Searcher: a snapshot's lifecycle and search() wiring the stages
"""
from .complete import Completion
from .results import Hit, Passage, Results
from .searcher import Searcher, parse_index_query
from .similar import KeyTerm
from .stats import Stats
from .weight import Weight

__all__ = ["Completion", "Hit", "KeyTerm", "Passage", "Results", "Searcher", "Stats", "Weight", "parse_index_query"]
