"""Connector configs: released defaults and discriminated unions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from molmo.config.connector import (
    AttentionPool1d,
    AttentionPool2d,
    CAbstractor,
    ConnectorConfig,
    GeluMLPProjector,
    LinearProjector,
    NoPool,
    StackPool,
    SwiGLUProjector,
)


def test_defaults_are_the_released_molmo_connector():
    cfg = ConnectorConfig()
    assert cfg.padding_embed == "pad_and_partial_pad"
    assert isinstance(cfg.pooling, AttentionPool2d) and cfg.pooling.kind == "attention_meanq"
    assert (cfg.pooling.window_h, cfg.pooling.window_w) == (2, 2)
    assert isinstance(cfg.projector, SwiGLUProjector) and cfg.projector.hidden_size is None


@pytest.mark.parametrize(
    ("pooling", "cls"),
    [
        ({"kind": "attention"}, AttentionPool2d),
        ({"kind": "attention_meanq", "window_h": 3}, AttentionPool2d),
        ({"kind": "attention_1d", "window": 8}, AttentionPool1d),
        ({"kind": "stack"}, StackPool),
        ({"kind": "none"}, NoPool),
        ({"kind": "c_abstractor", "depth": 1}, CAbstractor),
    ],
)
def test_pooling_union_from_dict(pooling, cls):
    cfg = ConnectorConfig.model_validate({"pooling": pooling})
    assert type(cfg.pooling) is cls
    assert ConnectorConfig.model_validate(cfg.model_dump()) == cfg


@pytest.mark.parametrize(
    ("projector", "cls"),
    [({"kind": "swiglu", "hidden_size": 8}, SwiGLUProjector), ({"kind": "linear"}, LinearProjector),
     ({"kind": "mlp_gelu", "bias": False}, GeluMLPProjector)],
)  # fmt: skip
def test_projector_union_from_dict(projector, cls):
    assert type(ConnectorConfig.model_validate({"projector": projector}).projector) is cls


def test_rejects_unknown_kinds_and_fields():
    with pytest.raises(ValidationError):
        ConnectorConfig.model_validate({"pooling": {"kind": "attention_v9"}})
    with pytest.raises(ValidationError):
        ConnectorConfig.model_validate({"pooling": {"kind": "stack", "window": 2}})
    with pytest.raises(ValidationError):
        ConnectorConfig.model_validate({"padding_embed": "zeros"})
    with pytest.raises(ValidationError):
        ConnectorConfig.model_validate({"projector": {"kind": "linear", "hidden_size": 3}})
