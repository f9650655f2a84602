"""Pooling variants: window order, mean/first queries, odd grids, shapes, released sizes."""

from __future__ import annotations

import pytest
import torch

from molmo.config import connector as cc
from molmo.config.vision import vision_preset
from molmo.models.connector.pooling import build_pooling, to_windows
from molmo.models.vision.attention import MultiHeadAttention

VIT = vision_preset("tiny-clip")  # width 32, 4 heads x 8


def test_to_windows_row_major_with_dh_dw_inside():
    x = torch.arange(16.0).reshape(1, 4, 4, 1)
    windows = to_windows(x, 2, 2)
    assert windows.shape == (1, 4, 4, 1)
    assert windows[0, :, :, 0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_to_windows_zero_pads_odd_grids_bottom_right():
    x = torch.ones(1, 3, 3, 1)
    windows = to_windows(x, 2, 2)
    assert windows.shape == (1, 4, 4, 1)
    assert windows[0, 3, :, 0].tolist() == [1, 0, 0, 0]  # bottom-right window: only the corner patch


@pytest.mark.parametrize(("kind", "query_index"), [("attention_meanq", None), ("attention", 0)])
def test_attention_pool_2d_matches_explicit_attention(kind, query_index):
    torch.manual_seed(0)
    pool = build_pooling(cc.AttentionPool2d(kind=kind), 64, VIT)
    assert pool.out_dim == 32 and pool.pooled_grid(4, 4) == (2, 2)
    x = torch.randn(3, 4, 4, 64)
    with torch.no_grad():
        out = pool(x)
        assert out.shape == (3, 4, 32)
        window = x[1, 2:4, 0:2].reshape(1, 4, 64)  # third window of crop 1 (bottom-left)
        query = window.mean(1, keepdim=True) if query_index is None else window[:, :1]
        expected = MultiHeadAttention.forward(pool, query, window)
        torch.testing.assert_close(out[1, 2], expected[0, 0])


def test_odd_grid_pooling_equals_explicit_zero_padding():
    torch.manual_seed(0)
    pool = build_pooling(cc.AttentionPool2d(), 16, VIT)
    x = torch.randn(2, 5, 5, 16)
    padded = torch.zeros(2, 6, 6, 16)
    padded[:, :5, :5] = x
    with torch.no_grad():
        out = pool(x)
        assert out.shape == (2, 9, 32) and pool.pooled_grid(5, 5) == (3, 3)
        torch.testing.assert_close(out, pool(padded))
    assert pool.pooled_grid(27, 27) == (14, 14)


def test_attention_1d_pool():
    pool = build_pooling(cc.AttentionPool1d(window=4), 16, VIT)
    x = torch.randn(2, 3, 3, 16)  # 9 patches -> 3 runs of 4 (last zero-padded)
    with torch.no_grad():
        out = pool(x)
        assert out.shape == (2, 3, 32) and pool.pooled_grid(3, 3) == (1, 3)
        run = x.reshape(2, 9, 16)[:, 4:8]
        expected = MultiHeadAttention.forward(pool, run.mean(1, keepdim=True), run)
        torch.testing.assert_close(out[:, 1], expected[:, 0])


def test_stack_and_none():
    x = torch.randn(2, 4, 4, 8)
    stack = build_pooling(cc.StackPool(), 8, VIT)
    out = stack(x)
    assert out.shape == (2, 4, 32) and stack.out_dim == 32 and not list(stack.parameters())
    torch.testing.assert_close(out[0, 1], torch.cat([x[0, 0, 2], x[0, 0, 3], x[0, 1, 2], x[0, 1, 3]]))
    none = build_pooling(cc.NoPool(), 8, VIT)
    assert none.out_dim == 8 and none.pooled_grid(4, 4) == (4, 4)
    torch.testing.assert_close(none(x), x.reshape(2, 16, 8))


def test_heads_override_and_init():
    pool = build_pooling(cc.AttentionPool2d(n_heads=2, head_dim=6), 16, VIT)
    assert pool.wq.weight.shape == (12, 16) and pool.wo.weight.shape == (32, 12)
    assert torch.count_nonzero(pool.wq.bias) == 0 and torch.count_nonzero(pool.wo.bias) == 0


def test_released_pooling_parameter_count_on_meta():
    with torch.device("meta"):
        pool = build_pooling(cc.AttentionPool2d(), 2048, vision_preset("clip-vit-l14-336"))
    assert sum(p.numel() for p in pool.parameters()) == 7_344_128
    assert pool.wq.weight.shape == (1024, 2048)
