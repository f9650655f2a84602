"""Learned padding embeddings added to ViT features before pooling (molmo-facts §2.1).

``image_masks`` holds, per patch, the fraction of real (non-padding) pixels; batch-padding crops
and, in the 0924 release, the last crop (legacy mask shift, §3.5) hold -1. The parameter itself
lives on the backbone as ``pad_embed`` (its checkpoint key); this module only knows its shape
and how to apply it::

    features (B, n_crops, n_patches, F)  +  weights(mask) (B, n_crops, n_patches, V)  @  pad_embed (V, F)

Variants (``ConnectorConfig.padding_embed``):
- ``pad_and_partial_pad`` (released): V = 2; vector 0 where mask == 0 (all padding), vector 1
  where mask != 0 and mask < 1 (partial padding, including -1).
- ``pad_embed``: one vector scaled by ``1 - mask``.
- ``regress``: one vector scaled by ``max(mask, 0)``.
- ``none``: nothing is added and no parameter exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Tensor = torch.Tensor


def _pad_and_partial_pad(masks: Tensor) -> Tensor:
    all_pad = masks == 0
    partial_pad = (masks < 1) & (masks != 0)
    return torch.stack([all_pad, partial_pad], dim=-1)  # (..., 2) bool


@dataclass(frozen=True)
class PaddingEmbed:
    """A padding-embedding variant: ``n_vectors`` learned vectors weighted per patch by ``weights``."""

    n_vectors: int
    weights: Callable[[Tensor], Tensor]  # masks (...,) -> (..., n_vectors)
    stacked: bool  # parameter shape (n_vectors, F) when True, else (F,)

    def param_shape(self, feature_dim: int) -> tuple[int, ...]:
        """Shape of the ``pad_embed`` parameter; ``()`` means no parameter."""
        if self.n_vectors == 0:
            return ()
        return (self.n_vectors, feature_dim) if self.stacked else (feature_dim,)

    def apply(self, features: Tensor, masks: Tensor, pad_embed: Tensor | None) -> Tensor:
        """``features (..., P, F)``, ``masks (..., P)`` -> ``features + weights(masks) @ pad_embed``."""
        if pad_embed is None:
            return features
        vectors = pad_embed.to(features.dtype).reshape(self.n_vectors, -1)  # (V, F)
        weights = self.weights(masks).to(features.dtype)  # (..., P, V)
        return features + weights @ vectors


PADDING_EMBEDS: dict[str, PaddingEmbed] = {
    "pad_and_partial_pad": PaddingEmbed(2, _pad_and_partial_pad, stacked=True),
    "pad_embed": PaddingEmbed(1, lambda m: (1 - m)[..., None], stacked=False),
    "regress": PaddingEmbed(1, lambda m: m.clamp(min=0)[..., None], stacked=False),
    "none": PaddingEmbed(0, lambda m: m[..., :0], stacked=False),
}
