"""Non-causal multi-head attention against an explicit softmax reference."""

from __future__ import annotations

import math

import torch

from molmo.models.vision.attention import MultiHeadAttention


def reference(attn: MultiHeadAttention, x_q: torch.Tensor, x_kv: torch.Tensor) -> torch.Tensor:
    h, d = attn.n_heads, attn.head_dim
    q = attn.wq(x_q).unflatten(-1, (h, d)).transpose(1, 2)
    k = attn.wk(x_kv).unflatten(-1, (h, d)).transpose(1, 2)
    v = attn.wv(x_kv).unflatten(-1, (h, d)).transpose(1, 2)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
    return attn.wo((weights @ v).transpose(1, 2).flatten(2))


def test_self_attention_matches_reference():
    torch.manual_seed(0)
    attn = MultiHeadAttention(12, 12, 3, 4, 12)
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), reference(attn, x, x))


def test_cross_attention_shapes_and_values():
    torch.manual_seed(0)
    attn = MultiHeadAttention(q_dim=6, kv_dim=10, n_heads=2, head_dim=4, out_dim=7, float32_attention=True)
    x_q, x_kv = torch.randn(3, 1, 6), torch.randn(3, 4, 10)
    with torch.no_grad():
        out = attn(x_q, x_kv)
        assert out.shape == (3, 1, 7)
        torch.testing.assert_close(out, reference(attn, x_q, x_kv))


def test_reset_parameters():
    attn = MultiHeadAttention(64, 64, 4, 16, 64)
    attn.reset_parameters()
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in (attn.wq, attn.wk, attn.wv, attn.wo))
    assert 0.015 < attn.wq.weight.std() < 0.025
