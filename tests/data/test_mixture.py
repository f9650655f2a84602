from __future__ import annotations

import numpy as np
import pytest

from molmo.config.data import DataConfig
from molmo.data.mixture import CHUNK, SourceChooser, SourcePlan, mixture_rates
from molmo.errors import UserError


def _cfg(sources, groups=None):
    return DataConfig(sources=sources, groups=groups or {})


def test_rates_explicit_natural_and_sqrt_groups():
    explicit = _cfg([{"name": "a", "paths": ["x"], "rate": 3}, {"name": "b", "paths": ["y"], "rate": 1}])
    assert mixture_rates(explicit, {"a": 10, "b": 10}) == {"a": 0.75, "b": 0.25}
    natural = _cfg([{"name": "a", "paths": ["x"]}, {"name": "b", "paths": ["y"]}])
    assert mixture_rates(natural, {"a": 30, "b": 10}) == {"a": 0.75, "b": 0.25}
    grouped = _cfg(
        [
            {"name": "a", "paths": ["x"], "group": "g"},
            {"name": "b", "paths": ["y"], "group": "g", "size": 400},
            {"name": "c", "paths": ["z"], "group": "h"},
        ],
        {"g": 0.6, "h": 0.2},
    )
    r = mixture_rates(grouped, {"a": 100, "b": 1, "c": 5})
    # inside g: sqrt(100)=10 vs sqrt(400)=20 (size override); groups renormalised 0.6/0.2 -> 0.75/0.25
    assert (
        r["a"] == pytest.approx(0.75 / 3)
        and r["b"] == pytest.approx(0.75 * 2 / 3)
        and r["c"] == pytest.approx(0.25)
    )
    with pytest.raises(UserError, match="no samples"):
        mixture_rates(natural, {"a": 0, "b": 1})


def test_chooser_is_seekable_and_matches_rates():
    ch = SourceChooser([0.7, 0.2, 0.1], seed=5)
    n = 50 * CHUNK
    src = np.concatenate([ch.chunk(c)[0] for c in range(50)])
    freq = np.bincount(src, minlength=3) / n
    assert np.allclose(freq, [0.7, 0.2, 0.1], atol=0.01)
    # ordinals count each source's draws 0, 1, 2, ... in position order, also when located out of order
    fresh = SourceChooser([0.7, 0.2, 0.1], seed=5)
    for g in [n - 1, 3 * CHUNK + 17, 5, CHUNK * 10]:
        s, k = fresh.locate(g)
        assert s == src[g] and k == int((src[:g] == s).sum())
    assert SourceChooser([0.7, 0.2, 0.1], seed=6).chunk(0)[0].tolist() != src[:CHUNK].tolist()


def test_plan_epochs_are_permutations():
    counts = [5, 3, 4]
    plan = SourcePlan(counts, seed=1, source_index=0, shuffle_buffer=4, shuffle_shards=True)
    seen = [plan.locate(p) for p in range(24)]
    for e in (0, 1):
        items = [(s, i) for ep, s, i in seen[e * 12 : (e + 1) * 12]]
        assert all(ep == e for ep, _, _ in seen[e * 12 : (e + 1) * 12])
        assert sorted(items) == sorted((s, i) for s in range(3) for i in range(counts[s]))
    assert seen[:12] != [(1, s, i) for _, s, i in seen[12:]]
    ordered = SourcePlan(counts, seed=1, source_index=0, shuffle_buffer=0, shuffle_shards=False)
    assert [ordered.locate(p)[1:] for p in range(6)] == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0)]
    assert plan.total == 12
