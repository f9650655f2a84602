"""C-Abstractor pooling: shapes, odd grids, gradients."""

from __future__ import annotations

import torch

from molmo.config import connector as cc
from molmo.config.vision import vision_preset
from molmo.models.connector.c_abstractor import ChannelLayerNorm
from molmo.models.connector.pooling import build_pooling

VIT = vision_preset("tiny-clip")


def test_shapes_and_odd_grid():
    torch.manual_seed(0)
    pool = build_pooling(cc.CAbstractor(depth=1, hidden_size=24), 16, VIT)
    assert pool.out_dim == 24
    assert pool(torch.randn(2, 4, 4, 16)).shape == (2, 4, 24)
    assert pool.pooled_grid(5, 5) == (3, 3)
    assert pool(torch.randn(2, 5, 5, 16)).shape == (2, 9, 24)


def test_default_width_and_depth_zero():
    assert build_pooling(cc.CAbstractor(depth=1), 16, VIT).out_dim == VIT.d_model
    plain = build_pooling(cc.CAbstractor(depth=0), 16, VIT)
    x = torch.randn(1, 4, 4, 16)
    assert plain.out_dim == 16 and not list(plain.parameters())
    torch.testing.assert_close(plain(x), x.reshape(1, 2, 2, 2, 2, 16).mean((2, 4)).reshape(1, 4, 16))


def test_gradients_reach_every_parameter():
    pool = build_pooling(cc.CAbstractor(depth=2, hidden_size=8), 16, VIT)
    pool(torch.randn(1, 4, 4, 16)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pool.parameters())


def test_channel_layer_norm_normalises_channels():
    norm = ChannelLayerNorm(6)
    out = norm(torch.randn(2, 6, 3, 3) * 5 + 2)
    torch.testing.assert_close(out.mean(1), torch.zeros(2, 3, 3), atol=1e-5, rtol=0)
