"""Scaled dot-product attention with grouped-query heads and an optional KV cache.

Module-free building blocks, so a model can keep its own (checkpoint-mirroring) parameter names:
``split_heads`` / ``merge_heads`` reshape, ``attend`` runs torch SDPA on (B, H, T, hd) tensors,
expanding the n_kv_heads key/value heads to n_heads (GQA) only at compute time.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, T, n_heads * hd) -> (B, n_heads, T, hd)."""
    B, T, _ = x.shape
    return x.view(B, T, n_heads, -1).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, T, hd) -> (B, T, H * hd)."""
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """(B, H_kv, T, hd) -> (B, H_kv * n_rep, T, hd), each kv head serving n_rep query heads."""
    if n_rep == 1:
        return x
    B, H, T, D = x.shape
    return x[:, :, None].expand(B, H, n_rep, T, D).reshape(B, H * n_rep, T, D)


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Softmax attention.

    q: (B, H, Tq, hd); k, v: (B, H_kv, Tk, hd) with H a multiple of H_kv.
    mask: (B|1, 1, Tq, Tk) bool (True = may attend), or None = causal if Tq == Tk, else full.
    Returns (B, H, Tq, hd) in q's dtype.
    """
    n_rep = q.shape[1] // k.shape[1]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    is_causal = mask is None and q.shape[2] == k.shape[2] and q.shape[2] > 1
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal)
