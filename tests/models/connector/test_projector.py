"""Projectors: SwiGLU formula and released sizes, linear, GELU MLP, init."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from molmo.config import connector as cc
from molmo.models.connector.projector import build_projector


def test_swiglu_formula_and_default_hidden():
    torch.manual_seed(0)
    proj = build_projector(cc.SwiGLUProjector(), 8, llm_d_model=12, llm_mlp_hidden_size=20)
    assert (
        proj.w1.weight.shape == (10, 8)
        and proj.w3.weight.shape == (10, 8)
        and proj.w2.weight.shape == (12, 10)
    )
    assert all(layer.bias is None for layer in (proj.w1, proj.w2, proj.w3))
    x = torch.randn(3, 5, 8)
    expected = F.silu(x @ proj.w1.weight.T) * (x @ proj.w3.weight.T) @ proj.w2.weight.T
    torch.testing.assert_close(proj(x), expected)
    assert build_projector(cc.SwiGLUProjector(hidden_size=7), 8, 12, 20).w1.weight.shape == (7, 8)


def test_released_projector_parameter_count_on_meta():
    with torch.device("meta"):
        proj = build_projector(cc.SwiGLUProjector(), 1024, llm_d_model=3584, llm_mlp_hidden_size=37888)
    assert sum(p.numel() for p in proj.parameters()) == 106_692_608
    assert set(dict(proj.named_parameters())) == {"w1.weight", "w2.weight", "w3.weight"}


def test_linear_projector():
    proj = build_projector(cc.LinearProjector(bias=True), 8, 12, 20)
    assert set(dict(proj.named_parameters())) == {"weight", "bias"}
    assert torch.count_nonzero(proj.bias) == 0
    assert proj(torch.randn(2, 8)).shape == (2, 12)


def test_gelu_mlp_projector():
    torch.manual_seed(0)
    proj = build_projector(cc.GeluMLPProjector(), 8, 12, 20)
    assert proj.w1.weight.shape == (12, 8)  # default hidden = llm_d_model
    x = torch.randn(4, 8)
    torch.testing.assert_close(proj(x), proj.w2(F.gelu(proj.w1(x))))
    assert torch.count_nonzero(proj.w1.bias) == 0


def test_init_std():
    proj = build_projector(cc.SwiGLUProjector(), 256, 256, 512)
    assert 0.018 < proj.w2.weight.std() < 0.022
