"""A toy model whose parameter names follow Molmo's components (for engine/optim tests)."""

from __future__ import annotations

import torch
from torch import nn


class _Vit(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 8)


class _Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_vit = _Vit()
        self.image_projector = nn.Linear(8, 8, bias=False)


class _Wte(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(10, 8) * 0.1)
        self.new_embedding = nn.Parameter(torch.randn(2, 8) * 0.1)


class _Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = _Wte()
        self.block = nn.Linear(8, 8)
        self.ff_out = nn.Linear(8, 1)


class ToyMolmo(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision_backbone = _Backbone()
        self.transformer = _Transformer()

    def forward(self, x: torch.Tensor, ids: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        table = torch.cat([self.transformer.wte.embedding, self.transformer.wte.new_embedding])
        h = self.vision_backbone.image_projector(torch.tanh(self.vision_backbone.image_vit.proj(x)))
        h = h + table[ids]
        out = self.transformer.ff_out(torch.tanh(self.transformer.block(h)))
        return ((out - y) ** 2).mean()


def toy_batches(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(4, 6, generator=g), torch.randint(0, 12, (4,), generator=g), torch.randn(4, 1, generator=g))
        for _ in range(n)
    ]
