"""Gated MLPs (SwiGLU).

``packed_swiglu`` is the activation of a packed projection laid out as ``[up | gate]`` along
the last dim (Molmo's ``ff_proj``): ``silu(gate) * up``. ``SwiGLU`` is the three-matrix form
``w2(silu(w1 x) * w3 x)`` (w1 = gate, w3 = up, w2 = down).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def packed_swiglu(h: torch.Tensor) -> torch.Tensor:
    """(..., 2F) laid out [up | gate] -> (..., F) = silu(gate) * up."""
    up, gate = h.chunk(2, dim=-1)
    return F.silu(gate) * up


class SwiGLU(nn.Module):
    """x: (..., d_in) -> (..., d_out) via ``w2(silu(w1 x) * w3 x)``; hidden width ``hidden``."""

    def __init__(self, d_in: int, hidden: int, d_out: int, bias: bool = False):
        super().__init__()
        self.w1 = nn.Linear(d_in, hidden, bias=bias)
        self.w3 = nn.Linear(d_in, hidden, bias=bias)
        self.w2 = nn.Linear(hidden, d_out, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))
