"""Connector configuration: padding embeddings, pooling and the projector to the LLM width.

The connector turns ViT features ``(…, n_patches, vit_dim * n_feature_layers)`` into LLM-width
tokens. Pooling and projector variants are pydantic discriminated unions on ``kind``; the defaults
reproduce the released Molmo checkpoints (molmo-facts §2): ``pad_and_partial_pad`` padding
embeddings, 2x2 ``attention_meanq`` pooling and a bias-free SwiGLU projector.

This module must import without torch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from molmo.config.base import StrictModel

PaddingEmbedKind = Literal["pad_and_partial_pad", "pad_embed", "regress", "none"]


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------


class AttentionPool2d(StrictModel):
    """Multi-head attention over each h x w window of patches (one output token per window).

    ``attention_meanq`` (released Molmo) queries with the window mean; ``attention`` with the
    window's first (top-left) patch. Odd grids are zero-padded at the bottom/right first.
    """

    kind: Literal["attention_meanq", "attention"] = Field("attention_meanq", description="Query choice.")
    window_h: int = Field(2, gt=0, description="Window height in patches.")
    window_w: int = Field(2, gt=0, description="Window width in patches.")
    n_heads: int | None = Field(None, gt=0, description="Attention heads; None = the ViT's head count.")
    head_dim: int | None = Field(None, gt=0, description="Width of one head; None = the ViT's head_dim.")


class AttentionPool1d(StrictModel):
    """Mean-query attention over runs of ``window`` consecutive patches in row-major order."""

    kind: Literal["attention_1d"] = Field("attention_1d", description="Pooling kind.")
    window: int = Field(4, gt=0, description="Consecutive patches pooled into one token (tail zero-padded).")
    n_heads: int | None = Field(None, gt=0, description="Attention heads; None = the ViT's head count.")
    head_dim: int | None = Field(None, gt=0, description="Width of one head; None = the ViT's head_dim.")


class StackPool(StrictModel):
    """Concatenate the features of each h x w window on channels (no parameters)."""

    kind: Literal["stack"] = Field("stack", description="Pooling kind.")
    window_h: int = Field(2, gt=0, description="Window height in patches.")
    window_w: int = Field(2, gt=0, description="Window width in patches.")


class NoPool(StrictModel):
    """Keep one token per patch."""

    kind: Literal["none"] = Field("none", description="Pooling kind.")


class CAbstractor(StrictModel):
    """Honeybee-style C-Abstractor: ResNet blocks, adaptive average pooling, ResNet blocks."""

    kind: Literal["c_abstractor"] = Field("c_abstractor", description="Pooling kind.")
    depth: int = Field(3, ge=0, description="ResNet blocks before and after the pooling.")
    hidden_size: int | None = Field(
        None, gt=0, description="Channels of the ResNet stages; None = ViT width."
    )
    downsample: int = Field(
        2, gt=0, description="Grid reduction factor per side (output side = ceil(side/f))."
    )


PoolingConfig = Annotated[
    AttentionPool2d | AttentionPool1d | StackPool | NoPool | CAbstractor, Field(discriminator="kind")
]


# ----------------------------------------------------------------------------------------------
# Projector
# ----------------------------------------------------------------------------------------------


class SwiGLUProjector(StrictModel):
    """Bias-free SwiGLU MLP ``w2(silu(w1 x) * (w3 x))`` (released Molmo ``mlp``)."""

    kind: Literal["swiglu"] = Field("swiglu", description="Projector kind.")
    hidden_size: int | None = Field(
        None, gt=0, description="Hidden width; None = the LLM's mlp_hidden_size // 2 (Molmo convention)."
    )


class LinearProjector(StrictModel):
    """A single Linear layer to the LLM width (Molmo ``linear``)."""

    kind: Literal["linear"] = Field("linear", description="Projector kind.")
    bias: bool = Field(False, description="Add a bias.")


class GeluMLPProjector(StrictModel):
    """Two Linear layers with a GELU between them (LLaVA-style; Molmo ``2mlp``)."""

    kind: Literal["mlp_gelu"] = Field("mlp_gelu", description="Projector kind.")
    hidden_size: int | None = Field(None, gt=0, description="Hidden width; None = the LLM's d_model.")
    bias: bool = Field(True, description="Add biases to both layers.")


ProjectorConfig = Annotated[SwiGLUProjector | LinearProjector | GeluMLPProjector, Field(discriminator="kind")]


class ConnectorConfig(StrictModel):
    """Everything between the ViT features and the LLM embeddings."""

    padding_embed: PaddingEmbedKind = Field(
        "pad_and_partial_pad",
        description=(
            "Learned padding embeddings added before pooling: pad_and_partial_pad (2 vectors: all-pad "
            "patches, partially padded patches incl. mask -1), pad_embed (1 vector scaled by 1 - mask), "
            "regress (1 vector scaled by max(mask, 0)) or none."
        ),
    )
    feature_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on ViT features before pooling.")
    output_norm: bool = Field(
        False,
        description="RMSNorm the projected features before they are added to the <im_patch> embeddings (not in "
        "released Molmo; keeps their scale bounded when ViT, connector and LLM all train from scratch).",
    )
    init: Literal["molmo", "fan_in"] = Field(
        "molmo",
        description="Fresh connector weights: 'molmo' = N(0, 0.02) as released (pretrained backbones); "
        "'fan_in' = N(0, 1/fan_in) per layer, which keeps the image features' scale (training from scratch).",
    )
    pooling: PoolingConfig = Field(default_factory=AttentionPool2d, description="Patch pooling variant.")
    projector: ProjectorConfig = Field(default_factory=SwiGLUProjector, description="Projector variant.")
