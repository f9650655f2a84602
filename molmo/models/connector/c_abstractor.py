"""C-Abstractor pooling (Honeybee, Cha et al. 2024): convolutional locality-preserving resampler.

    x (N, h, w, in_dim) -> channels-first (N, in_dim, h, w)
      stage1: ``depth`` ResNet blocks, in_dim -> hidden           (N, hidden, h, w)
      adaptive average pooling to (ceil(h/f), ceil(w/f))         (N, hidden, h', w')
      stage2: ``depth`` ResNet blocks, hidden -> hidden
    -> (N, h' * w', hidden)   tokens in row-major order

A ResNet block is ``act(norm(conv3x3(act(norm(conv3x3(x))))) + shortcut(x))`` with LayerNorm over
channels and SiLU; ``shortcut`` is a 1x1 conv when the width changes. The projector that follows
maps ``hidden`` to the LLM width (Honeybee's readout MLP).
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from molmo.config import connector as cc
from molmo.config.vision import VisionConfig

Tensor = torch.Tensor


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of a ``(N, C, H, W)`` tensor."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ResNetBlock(nn.Module):
    """Two 3x3 convs with channel LayerNorm and SiLU plus a residual: ``(N, Ci, H, W) -> (N, Co, H, W)``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)
        self.norm1 = ChannelLayerNorm(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.norm2 = ChannelLayerNorm(out_ch)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1, bias=False) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = F.silu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        return F.silu(h + self.shortcut(x))


class CAbstractorPool(nn.Module):
    """``(N, h, w, in_dim)`` -> ``(N, ceil(h/f) * ceil(w/f), hidden)``; see the module docstring."""

    def __init__(self, cfg: cc.CAbstractor, in_dim: int, vit: VisionConfig) -> None:
        super().__init__()
        hidden = cfg.hidden_size or vit.d_model
        self.downsample = cfg.downsample
        widths = [in_dim] + [hidden] * cfg.depth
        self.stage1 = nn.Sequential(*(ResNetBlock(a, b) for a, b in itertools.pairwise(widths)))
        self.stage2 = nn.Sequential(*(ResNetBlock(hidden, hidden) for _ in range(cfg.depth)))
        # With depth 0 the input width passes straight through.
        self.out_dim = hidden if cfg.depth else in_dim
        self.reset_parameters()

    def pooled_grid(self, h: int, w: int) -> tuple[int, int]:
        return math.ceil(h / self.downsample), math.ceil(w / self.downsample)

    def forward(self, x: Tensor) -> Tensor:
        grid = self.pooled_grid(x.shape[1], x.shape[2])
        x = self.stage1(x.permute(0, 3, 1, 2))  # (N, hidden, h, w)
        x = F.adaptive_avg_pool2d(x, grid)  # (N, hidden, h', w')
        x = self.stage2(x)
        return x.flatten(2).transpose(1, 2)  # (N, h' * w', hidden)

    def reset_parameters(self, std: float = 0.02) -> None:
        """Conv weights ~ N(0, std); norms 1/0."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=std)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
