"""Pooling ViT patch features into fewer tokens (molmo-facts §2.2).

Every pooling module maps a crop's patch grid to a token sequence::

    x (N, grid_h, grid_w, in_dim)  ->  (N, n_tokens, out_dim),   n_tokens = prod(pooled_grid(h, w))

and exposes ``out_dim`` and ``pooled_grid(h, w)``. Windows are cut row-major (window rows, then
columns; inside a window (dh, dw) order); odd grids are zero-padded at the bottom/right first, so
SigLIP's 27x27 grid pools to 14x14. The released Molmo pooling is ``attention_meanq``: per 2x2
window, multi-head attention whose query is the window mean and whose keys/values are the four
patches (``wq, wk, wv``: in_dim -> heads*head_dim with bias; ``wo``: -> ViT width).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from molmo.config import connector as cc
from molmo.config.vision import VisionConfig
from molmo.models.connector.c_abstractor import CAbstractorPool
from molmo.models.vision.attention import MultiHeadAttention

Tensor = torch.Tensor


def to_windows(x: Tensor, window_h: int, window_w: int) -> Tensor:
    """``(N, h, w, C)`` -> ``(N, ceil(h/wh) * ceil(w/ww), wh * ww, C)``, zero-padding bottom/right."""
    n, h, w, c = x.shape
    pad_h, pad_w = (-h) % window_h, (-w) % window_w
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    gh, gw = (h + pad_h) // window_h, (w + pad_w) // window_w
    x = x.reshape(n, gh, window_h, gw, window_w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(n, gh * gw, window_h * window_w, c)


# Query of one window (M, k, C) -> (M, 1, C), by pooling kind.
WINDOW_QUERIES: dict[str, Callable[[Tensor], Tensor]] = {
    "attention_meanq": lambda win: win.mean(dim=1, keepdim=True),
    "attention": lambda win: win[:, :1],
    "attention_1d": lambda win: win.mean(dim=1, keepdim=True),
}


class WindowAttentionPool(MultiHeadAttention):
    """Attention pooling of each window to one token; parameters ``wq, wk, wv, wo`` at top level."""

    def __init__(self, in_dim: int, n_heads: int, head_dim: int, out_dim: int, query: str) -> None:
        super().__init__(in_dim, in_dim, n_heads, head_dim, out_dim)
        self.out_dim = out_dim
        self.query = WINDOW_QUERIES[query]
        self.reset_parameters()

    def pool_windows(self, windows: Tensor) -> Tensor:
        """``(N, T, k, C)`` -> ``(N, T, out_dim)``: one attention call over all N*T windows."""
        n, t, k, c = windows.shape
        flat = windows.reshape(n * t, k, c)
        pooled = super().forward(self.query(flat), flat)  # (N*T, 1, out_dim)
        return pooled.reshape(n, t, self.out_dim)


class AttentionPool2d(WindowAttentionPool):
    """One token per ``window_h x window_w`` window (``attention_meanq`` / ``attention``)."""

    def __init__(self, cfg: cc.AttentionPool2d, in_dim: int, vit: VisionConfig) -> None:
        n_heads, head_dim = cfg.n_heads or vit.n_heads, cfg.head_dim or vit.head_dim
        super().__init__(in_dim, n_heads, head_dim, vit.d_model, cfg.kind)
        self.window = (cfg.window_h, cfg.window_w)

    def pooled_grid(self, h: int, w: int) -> tuple[int, int]:
        return math.ceil(h / self.window[0]), math.ceil(w / self.window[1])

    def forward(self, x: Tensor) -> Tensor:
        """``(N, h, w, in_dim)`` -> ``(N, ceil(h/wh) * ceil(w/ww), vit_width)``."""
        return self.pool_windows(to_windows(x, *self.window))


class AttentionPool1d(WindowAttentionPool):
    """One token per run of ``window`` consecutive patches in row-major order (mean query)."""

    def __init__(self, cfg: cc.AttentionPool1d, in_dim: int, vit: VisionConfig) -> None:
        n_heads, head_dim = cfg.n_heads or vit.n_heads, cfg.head_dim or vit.head_dim
        super().__init__(in_dim, n_heads, head_dim, vit.d_model, cfg.kind)
        self.window = cfg.window

    def pooled_grid(self, h: int, w: int) -> tuple[int, int]:
        return 1, math.ceil(h * w / self.window)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, h, w, in_dim)`` -> ``(N, ceil(h*w / window), vit_width)``."""
        n, h, w, c = x.shape
        return self.pool_windows(to_windows(x.reshape(n, 1, h * w, c), 1, self.window))


class StackPool(nn.Module):
    """Concatenate each window's patches on channels: ``out_dim = wh * ww * in_dim``; no parameters."""

    def __init__(self, cfg: cc.StackPool, in_dim: int, vit: VisionConfig) -> None:
        super().__init__()
        self.window = (cfg.window_h, cfg.window_w)
        self.out_dim = cfg.window_h * cfg.window_w * in_dim

    def pooled_grid(self, h: int, w: int) -> tuple[int, int]:
        return math.ceil(h / self.window[0]), math.ceil(w / self.window[1])

    def forward(self, x: Tensor) -> Tensor:
        """``(N, h, w, C)`` -> ``(N, n_windows, wh * ww * C)``."""
        windows = to_windows(x, *self.window)
        return windows.flatten(2)

    def reset_parameters(self) -> None:
        """No parameters."""


class NoPool(nn.Module):
    """One token per patch: ``(N, h, w, C)`` -> ``(N, h * w, C)``."""

    def __init__(self, cfg: cc.NoPool, in_dim: int, vit: VisionConfig) -> None:
        super().__init__()
        self.out_dim = in_dim

    def pooled_grid(self, h: int, w: int) -> tuple[int, int]:
        return h, w

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1, 2)

    def reset_parameters(self) -> None:
        """No parameters."""


POOLINGS: dict[str, Callable[..., nn.Module]] = {
    "attention_meanq": AttentionPool2d,
    "attention": AttentionPool2d,
    "attention_1d": AttentionPool1d,
    "stack": StackPool,
    "none": NoPool,
    "c_abstractor": CAbstractorPool,
}


def build_pooling(cfg: cc.PoolingConfig, in_dim: int, vit: VisionConfig) -> nn.Module:
    """The pooling module for ``cfg`` on features of width ``in_dim`` from the ViT ``vit``."""
    return POOLINGS[cfg.kind](cfg, in_dim, vit)
