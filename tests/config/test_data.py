from __future__ import annotations

import pytest
from pydantic import ValidationError

from molmo.config.data import DataConfig


def test_minimal_and_defaults():
    cfg = DataConfig(sources=[{"name": "a", "paths": ["x/{000..003}.tar"]}])
    assert cfg.seed == 0 and cfg.shuffle_buffer == 1000 and cfg.workers == 2 and cfg.epochs is None
    assert cfg.sources[0].rate is None and cfg.sources[0].group is None


def test_groups_and_rates():
    cfg = DataConfig(
        groups={"g": 0.5, "h": 0.5},
        sources=[
            {"name": "a", "paths": ["a"], "group": "g", "size": 10_000},
            {"name": "b", "paths": ["b"], "group": "h"},
        ],
    )
    assert cfg.sources[0].size == 10_000


@pytest.mark.parametrize(
    "sources,groups,match",
    [
        ([{"name": "a", "paths": ["a"], "rate": 1.0, "group": "g"}], {"g": 1.0}, "either 'rate' or 'group'"),
        ([{"name": "a", "paths": ["a"], "group": "nope"}], {}, "unknown group"),
        ([{"name": "a", "paths": ["a"]}, {"name": "a", "paths": ["b"]}], {}, "duplicate"),
        (
            [{"name": "a", "paths": ["a"], "rate": 1.0}, {"name": "b", "paths": ["b"], "group": "g"}],
            {"g": 1.0},
            "not both",
        ),
        (
            [{"name": "a", "paths": ["a"], "group": "g"}, {"name": "b", "paths": ["b"]}],
            {"g": 1.0},
            "without a group",
        ),
        ([{"name": "a", "paths": []}], {}, "at least 1"),
    ],
)
def test_invalid(sources, groups, match):
    with pytest.raises(ValidationError, match=match):
        DataConfig(sources=sources, groups=groups)


def test_unknown_key_rejected():
    with pytest.raises(ValidationError):
        DataConfig(sources=[{"name": "a", "paths": ["a"]}], shufle_buffer=3)
