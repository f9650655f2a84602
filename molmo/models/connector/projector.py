"""Projectors from pooled image features to the LLM width (molmo-facts §2.3).

All map ``(..., in_dim) -> (..., llm_d_model)``:
- ``swiglu`` (released Molmo ``mlp``): bias-free ``w2(silu(w1 x) * (w3 x))``; hidden width
  defaults to ``llm_mlp_hidden_size // 2`` (Molmo's LLM ``mlp_hidden_size`` counts the packed
  up+gate projection, e.g. 37888 for Qwen2-7B -> 18944).
- ``linear``: one Linear layer (the module itself, keys ``image_projector.weight``).
- ``mlp_gelu``: ``w2(gelu(w1 x))``; hidden width defaults to ``llm_d_model``.
Initialisation: weights ~ N(0, 0.02), biases zero (molmo-facts §4.3).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from molmo.config import connector as cc

Tensor = torch.Tensor


def _init_linears(module: nn.Module, std: float = 0.02) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class SwiGLUProjector(nn.Module):
    """``w2(silu(w1 x) * (w3 x))``, no biases: in_dim -> hidden -> out_dim."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(in_dim, hidden, bias=False)  # gate (silu)
        self.w3 = nn.Linear(in_dim, hidden, bias=False)  # up
        self.w2 = nn.Linear(hidden, out_dim, bias=False)  # down
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))

    def reset_parameters(self) -> None:
        _init_linears(self)


class LinearProjector(nn.Linear):
    """A single Linear layer in_dim -> out_dim."""

    def reset_parameters(self) -> None:
        _init_linears(self)  # nn.Linear.__init__ calls this once weight and bias exist


class GeluMLPProjector(nn.Module):
    """``w2(gelu(w1 x))``: in_dim -> hidden -> out_dim."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, bias: bool) -> None:
        super().__init__()
        self.w1 = nn.Linear(in_dim, hidden, bias=bias)
        self.w2 = nn.Linear(hidden, out_dim, bias=bias)
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.gelu(self.w1(x)))

    def reset_parameters(self) -> None:
        _init_linears(self)


# kind -> builder(cfg, in_dim, llm_d_model, llm_mlp_hidden_size)
PROJECTORS: dict[str, Callable[..., nn.Module]] = {
    "swiglu": lambda cfg, i, d, h: SwiGLUProjector(i, cfg.hidden_size or h // 2, d),
    "linear": lambda cfg, i, d, h: LinearProjector(i, d, bias=cfg.bias),
    "mlp_gelu": lambda cfg, i, d, h: GeluMLPProjector(i, cfg.hidden_size or d, d, cfg.bias),
}


def build_projector(
    cfg: cc.ProjectorConfig, in_dim: int, llm_d_model: int, llm_mlp_hidden_size: int
) -> nn.Module:
    """The projector for ``cfg``: ``(..., in_dim) -> (..., llm_d_model)``."""
    return PROJECTORS[cfg.kind](cfg, in_dim, llm_d_model, llm_mlp_hidden_size)
