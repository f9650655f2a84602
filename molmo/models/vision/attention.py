"""Non-causal multi-head dot-product attention (ViT blocks and the connector's attention pooling).

Separate ``wq, wk, wv, wo`` Linear layers with biases, as in Molmo's checkpoints. Queries and
keys/values may come from different inputs of different widths (pooling: query = window mean,
keys/values = the window's patches, width ``vit_dim * n_layers``). Uses torch SDPA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadAttention(nn.Module):
    """``out = wo(softmax(q k^T / sqrt(head_dim)) v)`` with ``n_heads`` heads of ``head_dim``.

    Args:
        q_dim: width of the query input.
        kv_dim: width of the key/value input.
        n_heads, head_dim: head layout; the inner width is ``n_heads * head_dim``.
        out_dim: width of the output (``wo``: inner -> out_dim).
        float32_attention: run the softmax(q k^T) v product in float32 even under autocast.
    """

    def __init__(
        self,
        q_dim: int,
        kv_dim: int,
        n_heads: int,
        head_dim: int,
        out_dim: int,
        float32_attention: bool = False,
    ) -> None:
        super().__init__()
        inner = n_heads * head_dim
        self.n_heads, self.head_dim = n_heads, head_dim
        self.float32_attention = float32_attention
        self.wq = nn.Linear(q_dim, inner)
        self.wk = nn.Linear(kv_dim, inner)
        self.wv = nn.Linear(kv_dim, inner)
        self.wo = nn.Linear(inner, out_dim)

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor | None = None) -> torch.Tensor:
        """``x_q (N, Tq, q_dim)``, ``x_kv (N, Tk, kv_dim)`` (default: ``x_q``) -> ``(N, Tq, out_dim)``."""
        x_kv = x_q if x_kv is None else x_kv
        n, tq, tk = x_q.shape[0], x_q.shape[1], x_kv.shape[1]
        q = self.wq(x_q).view(n, tq, self.n_heads, self.head_dim).transpose(1, 2)  # (N, H, Tq, hd)
        k = self.wk(x_kv).view(n, tk, self.n_heads, self.head_dim).transpose(1, 2)  # (N, H, Tk, hd)
        v = self.wv(x_kv).view(n, tk, self.n_heads, self.head_dim).transpose(1, 2)  # (N, H, Tk, hd)
        if self.float32_attention:
            with torch.autocast(device_type=q.device.type, enabled=False):
                out = F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(v.dtype)
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # (N, H, Tq, hd)
        out = out.transpose(1, 2).reshape(n, tq, self.n_heads * self.head_dim)
        return self.wo(out)

    def reset_parameters(self, std: float = 0.02) -> None:
        """Weights ~ N(0, std), biases zero (molmo-facts §4.3)."""
        for layer in (self.wq, self.wk, self.wv, self.wo):
            nn.init.normal_(layer.weight, std=std)
            nn.init.zeros_(layer.bias)
