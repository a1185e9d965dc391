"""Collectors: the top-k threshold a scorer can ask for (the pruning seam), and totals."""
from __future__ import annotations

import numpy as np

from searchlib import ID, TEXT, Index, Schema
from searchlib.search.sparse import SparseScorer


def test_each_segment_scorer_is_handed_the_top_collector_and_its_threshold_rises(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT()))
    for start in (0, 20, 40):  # three segments
        with ix.writer(merge_factor=100) as w:
            for i in range(start, start + 20):
                w.add({"id": f"d{i}", "body": "apple " * (1 + i % 7) + "pear " * (i % 3)})
    seen = []
    real = SparseScorer.matches

    def recording(self, w, collector=None):
        if collector is not None:  # the stacked scorer of an exhaustive search asks for no threshold
            seen.append(collector.min_competitive_score)
        return real(self, w, collector)

    monkeypatch.setattr(SparseScorer, "matches", recording)
    with ix.searcher() as s:
        assert len(s.readers) == 3
        # a search that may prune (exact_total=False) goes segment by segment, handing each scorer
        # the collector; an exhaustive one scores every segment at once (search/stacked.py)
        res = s.search("apple", limit=5, highlight=False, exact_total=False)
        everything = sorted((h.score for h in s.search("apple", limit=100, highlight=False)), reverse=True)
    assert res.total == 60 and len(seen) == 3
    first_three = seen[:3]
    assert first_three[0] == -np.inf  # nothing collected before the first segment
    assert first_three[1] > -np.inf and first_three[1] <= first_three[2]  # five in after one segment, then higher
    assert first_three[2] <= everything[4]  # never above the final fifth best: it can only rule out losers
