"""segment.stable_order: the flush's stable argsort of term ids, in each of its three regimes."""
from __future__ import annotations

import numpy as np
import pytest

from searchlib.storage.segment import stable_order


@pytest.mark.parametrize("max_key", [1, 300, (1 << 16) - 1, 1 << 16, 5_000_000, (1 << 32) - 1, 1 << 40])
def test_stable_order_is_a_stable_argsort(max_key):
    rng = np.random.default_rng(max_key % 1000)
    keys = rng.integers(0, max_key + 1, size=20_000, dtype=np.int64)
    keys[::7] = keys[0]  # many ties, so stability shows
    keys[1] = max_key
    order = stable_order(keys, max_key)
    assert order.tolist() == np.argsort(keys, kind="stable").tolist()


def test_stable_order_of_nothing():
    assert stable_order(np.zeros(0, dtype=np.int64), 1 << 20).tolist() == []
