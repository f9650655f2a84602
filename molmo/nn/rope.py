"""Rotary position embeddings (RoPE), "rotate-half" / NeoX / Llama style, computed in fp32.

``inv_freq[i] = theta ** (-2i / head_dim)`` for i < head_dim/2; the angle of position p is
``p * inv_freq``, repeated for the two halves of each head. Cos/sin are recomputed from the
position ids on every forward (cheap) so the module holds no buffers: it works unchanged on the
meta device, after ``to_empty``, and under ZeRO-3 partitioning.
"""

from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Produces (cos, sin) tables for given position ids."""

    def __init__(self, head_dim: int, theta: float = 10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RoPE needs an even head_dim, got {head_dim}")
        self.head_dim = head_dim
        self.theta = theta

    def inv_freq(self, device: torch.device) -> torch.Tensor:
        """(head_dim/2,) fp32 inverse frequencies."""
        exponent = torch.arange(0, self.head_dim, 2, dtype=torch.int64, device=device).float() / self.head_dim
        return 1.0 / (self.theta**exponent)

    def forward(self, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """position_ids: (B, T) int -> cos, sin: (B, 1, T, head_dim) fp32 (broadcast over heads)."""
        with torch.autocast(device_type=position_ids.device.type, enabled=False):
            angles = position_ids.float()[..., None] * self.inv_freq(position_ids.device)  # (B, T, hd/2)
            angles = torch.cat([angles, angles], dim=-1)[:, None]  # (B, 1, T, hd)
            return angles.cos(), angles.sin()

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, theta={self.theta}"


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(..., d) -> (..., d): [x1, x2] -> [-x2, x1] with x1, x2 the two halves of the last dim."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x: (B, H, T, hd) by cos/sin: (B, 1, T, hd). Math in fp32, result in x.dtype."""
    xf = x.float()
    return (xf * cos + rotate_half(xf) * sin).to(x.dtype)
