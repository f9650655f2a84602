"""The vision backbone: ViT + padding embeddings + pooling + projector (molmo-facts §1–§2).

Used by the Molmo model as ``vision_backbone``; sub-module names are the checkpoint keys
(``image_vit``, ``pad_embed``, ``image_pooling_2d``, ``image_projector``)::

    images       (B, n_crops, n_patches, patch_dim)   normalised patches; padded crops all -1
    image_masks  (B, n_crops, n_patches)               real-pixel fraction per patch; -1 = padding
      -> image_vit.forward_features   (B*n_crops, n_patches, vit_dim * n_layers)   all crops at once
      -> + padding embeddings         (B, n_crops, n_patches, F)                   needs image_masks
      -> dropout, pooling             (B*n_crops, tokens_per_crop, pool_dim)       e.g. 2x2 -> 144
      -> image_projector              (B, n_crops, tokens_per_crop, llm_d_model)

Released Molmo-7B-D: 576 patches of 588 values -> 2048 features -> 144 tokens of 1024 -> 3584.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from molmo.config.connector import ConnectorConfig
from molmo.config.vision import VisionConfig
from molmo.errors import MolmoError
from molmo.models.connector.pad_embed import PADDING_EMBEDS
from molmo.models.connector.pooling import build_pooling
from molmo.models.connector.projector import build_projector
from molmo.models.vision.vit import VisionTransformer
from molmo.nn.norms import RMSNorm

Tensor = torch.Tensor


class VisionBackbone(nn.Module):
    """Images -> per-crop pooled tokens projected to the LLM width.

    Args:
        vision: the ViT config (which blocks feed the connector: ``vision.feature_layers``).
        connector: padding embedding, pooling and projector variants.
        llm_d_model: the LLM's hidden width (projector output).
        llm_mlp_hidden_size: the LLM's MLP hidden size in Molmo's convention (packed up+gate,
            e.g. 37888 for Qwen2-7B); the SwiGLU projector's default hidden width is half of it.
    """

    def __init__(
        self, vision: VisionConfig, connector: ConnectorConfig, llm_d_model: int, llm_mlp_hidden_size: int
    ) -> None:
        super().__init__()
        self.vision_config, self.connector_config = vision, connector
        feature_dim = vision.feature_dim
        self.image_vit = VisionTransformer(vision)
        self.padding = PADDING_EMBEDS[connector.padding_embed]
        shape = self.padding.param_shape(feature_dim)
        if shape:
            self.pad_embed = nn.Parameter(torch.zeros(shape))
        else:
            self.register_parameter("pad_embed", None)
        self.feature_dropout = nn.Dropout(connector.feature_dropout)
        self.image_pooling_2d = build_pooling(connector.pooling, feature_dim, vision)
        self.image_projector = build_projector(
            connector.projector, self.image_pooling_2d.out_dim, llm_d_model, llm_mlp_hidden_size
        )
        self.llm_d_model = llm_d_model
        # optional, not in the released models: bounds the feature scale for from-scratch training
        self.image_feature_norm = RMSNorm(llm_d_model) if connector.output_norm else None
        if self.image_feature_norm is not None:
            self.image_feature_norm.reset_parameters()  # RMSNorm leaves its weight for the owner to set
        if connector.init != "molmo":
            self.reset_connector_parameters()  # the sub-modules initialise themselves the released way

    # ---- sizes ----
    def pooled_grid(self, grid_hw: tuple[int, int] | None = None) -> tuple[int, int]:
        """Rows x columns of pooled tokens for a crop's patch grid (default: the config's grid)."""
        grid_hw = grid_hw or (self.vision_config.grid, self.vision_config.grid)
        return self.image_pooling_2d.pooled_grid(*grid_hw)

    @property
    def tokens_per_crop(self) -> int:
        """Image tokens per crop at the default crop size (144 for released Molmo)."""
        return math.prod(self.pooled_grid())

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts per part and in total; works on the meta device (no memory needed)."""
        parts = {
            "image_vit": sum(p.numel() for p in self.image_vit.parameters()),
            "image_pooling_2d": sum(p.numel() for p in self.image_pooling_2d.parameters()),
            "image_projector": sum(p.numel() for p in self.image_projector.parameters())
            + (0 if self.image_feature_norm is None else self.image_feature_norm.weight.numel()),
            "pad_embed": 0 if self.pad_embed is None else self.pad_embed.numel(),
        }
        return {**parts, "total": sum(parts.values())}

    # ---- initialisation ----
    def reset_connector_parameters(self) -> None:
        """Pooling and projector weights ~ N(0, 0.02), biases 0; ``pad_embed`` zeros (molmo-facts §4.3).

        With ``connector.init = "fan_in"`` the Linear weights are N(0, 1/fan_in) instead, so features
        keep their scale through pooling and projector (with 0.02 at small widths they reach the LLM
        ~1000x smaller than the token embeddings and the vision path barely trains from scratch).
        """
        self.image_pooling_2d.reset_parameters()
        self.image_projector.reset_parameters()
        if self.image_feature_norm is not None:
            self.image_feature_norm.reset_parameters()
        if self.connector_config.init == "fan_in":
            for module in (*self.image_pooling_2d.modules(), *self.image_projector.modules()):
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, std=module.in_features**-0.5)
        if self.pad_embed is not None:
            nn.init.zeros_(self.pad_embed)

    def reset_parameters(self) -> None:
        """Initialise everything (ViT included) as for training from scratch."""
        self.image_vit.reset_parameters()
        self.reset_connector_parameters()

    # ---- forward ----
    def _grid(self, n_patches: int, grid_hw: tuple[int, int] | None) -> tuple[int, int]:
        if grid_hw is not None:
            return grid_hw
        side = math.isqrt(n_patches)
        if side * side != n_patches:
            raise MolmoError(f"images hold {n_patches} patches per crop, not a square grid; pass grid_hw")
        return side, side

    def encode_image(
        self, images: Tensor, image_masks: Tensor | None = None, grid_hw: tuple[int, int] | None = None
    ) -> Tensor:
        """ViT features with padding embeddings: ``(B, n_crops, n_patches, vit_dim * n_layers)``."""
        b, n_crops, n_patches, patch_dim = images.shape
        if patch_dim != self.vision_config.patch_dim:
            raise MolmoError(
                f"images have {patch_dim} values per patch; the ViT expects {self.vision_config.patch_dim}"
            )
        crops = images.reshape(b * n_crops, n_patches, patch_dim)  # every crop in one batch
        features = self.image_vit(crops, grid_hw=self._grid(n_patches, grid_hw), features=True)
        features = features.reshape(b, n_crops, n_patches, -1)
        if image_masks is not None:
            features = self.padding.apply(features, image_masks, self.pad_embed)
        return features

    def forward(
        self, images: Tensor, image_masks: Tensor | None = None, grid_hw: tuple[int, int] | None = None
    ) -> Tensor:
        """``images (B, n_crops, n_patches, patch_dim)``, ``image_masks (B, n_crops, n_patches)`` or None
        -> ``(B, n_crops, tokens_per_crop, llm_d_model)``.

        ``grid_hw`` is the crop's patch grid (rows, cols); default: square.
        """
        b, n_crops, n_patches, _ = images.shape
        h, w = self._grid(n_patches, grid_hw)
        features = self.feature_dropout(self.encode_image(images, image_masks, (h, w)))
        pooled = self.image_pooling_2d(features.reshape(b * n_crops, h, w, -1))  # (B*n_crops, T, pool_dim)
        projected = self.image_projector(pooled)  # (B*n_crops, T, llm_d_model)
        if self.image_feature_norm is not None:
            projected = self.image_feature_norm(projected)
        return projected.reshape(b, n_crops, pooled.shape[1], -1)
