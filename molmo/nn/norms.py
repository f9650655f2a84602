"""Normalisation layers computed in fp32 and cast back to the input dtype.

Both layers carry a weight only (no bias), as in every Molmo LLM (``include_bias=False``):
``y = weight * normalize(x.float()).to(x.dtype)``. Autocast is disabled inside so bf16 training
keeps the statistics in fp32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """Root-mean-square norm over the last dim: ``x / sqrt(mean(x^2) + eps) * weight``."""

    def __init__(self, size: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., size) any float dtype -> same shape and dtype."""
        with torch.autocast(device_type=x.device.type, enabled=False):
            xf = x.float()
            xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
            return self.weight * xf.to(x.dtype)

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


class LayerNorm(nn.Module):
    """Mean/variance layer norm over the last dim with a weight and no bias."""

    def __init__(self, size: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., size) any float dtype -> same shape and dtype."""
        with torch.autocast(device_type=x.device.type, enabled=False):
            xf = F.layer_norm(x.float(), (x.shape[-1],), eps=self.eps)
            return self.weight * xf.to(x.dtype)

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


NORMS: dict[str, type[nn.Module]] = {"rms": RMSNorm, "layer": LayerNorm}


def build_norm(kind: str, size: int, eps: float) -> nn.Module:
    """The normalisation layer registered under ``kind`` ("rms" or "layer")."""
    return NORMS[kind](size, eps)
