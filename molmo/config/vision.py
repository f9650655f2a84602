"""Vision-encoder (ViT) configuration and the preset registry.

One ViT implementation covers OpenAI CLIP, MetaCLIP, SigLIP and DINOv2; the differences are the
flags below (CLS token, pre-LN, patch-embedding bias, LayerScale, activation), chosen at build
time. Presets are plain data in ``VISION_PRESETS`` (numbers from molmo-facts §1.1). A config can
name a preset and override single fields::

    VisionConfig(preset="clip-vit-l14-336", skip_unused_layers=True)
    vision_preset("siglip-so400m-14-384", feature_layers=[-3, -9])

This module must import without torch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from molmo.config.base import StrictModel
from molmo.errors import UserError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIGLIP_MEAN = (0.5, 0.5, 0.5)
SIGLIP_STD = (0.5, 0.5, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_CLIP_L14 = {
    "family": "clip", "image_size": 336, "patch_size": 14, "d_model": 1024, "n_heads": 16, "head_dim": 64,
    "mlp_dim": 4096, "activation": "quick_gelu", "norm_eps": 1e-5, "cls_token": True, "pre_ln": True,
    "patch_bias": False, "layer_scale": False, "feature_layers": [-2, -9],
    "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
}  # fmt: skip

_TINY = {"d_model": 32, "n_heads": 4, "head_dim": 8, "mlp_dim": 64, "n_layers": 3, "feature_layers": [-1, -2]}

# Preset name -> field values. Data only: the architecture code never looks at these names.
VISION_PRESETS: dict[str, dict[str, Any]] = {
    # OpenAI CLIP ViT-L/14-336, truncated to 23 blocks as in every released Molmo checkpoint.
    "clip-vit-l14-336": {**_CLIP_L14, "n_layers": 23, "resize_mode": "molmo"},
    # MetaCLIP ViT-L/14 (fullcc2.5b) at 336 px: CLIP architecture, all 24 blocks.
    "metaclip-l14-336": {**_CLIP_L14, "n_layers": 24, "resize_mode": "metaclip"},
    # SigLIP so400m/14 at 378 px keeps the checkpoint's 27x27 = 729 positions.
    "siglip-so400m-14-384": {
        "family": "siglip", "image_size": 378, "patch_size": 14, "d_model": 1152, "n_heads": 16, "head_dim": 72,
        "mlp_dim": 4304, "n_layers": 27, "activation": "gelu_tanh", "norm_eps": 1e-6, "cls_token": False,
        "pre_ln": False, "patch_bias": True, "layer_scale": False, "feature_layers": [-3, -9],
        "image_mean": SIGLIP_MEAN, "image_std": SIGLIP_STD, "resize_mode": "siglip",
    },
    # DINOv2-L/14 with positional embeddings resized to 336 px (24x24 + CLS = 577).
    "dinov2-large-336": {
        "family": "dinov2", "image_size": 336, "patch_size": 14, "d_model": 1024, "n_heads": 16, "head_dim": 64,
        "mlp_dim": 4096, "n_layers": 24, "activation": "gelu", "norm_eps": 1e-6, "cls_token": True,
        "pre_ln": False, "patch_bias": True, "layer_scale": True, "feature_layers": [-3, -9],
        "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD, "resize_mode": "dino",
    },
    # Tiny presets for tests and the CPU demo (4x4 / 3x3 patch grids).
    "tiny-clip": {**_CLIP_L14, **_TINY, "image_size": 56, "resize_mode": "molmo"},
    "tiny-siglip": {
        **_TINY, "family": "siglip", "image_size": 42, "patch_size": 14, "activation": "gelu_tanh",
        "norm_eps": 1e-6, "cls_token": False, "pre_ln": False, "patch_bias": True,
        "layer_scale": False, "image_mean": SIGLIP_MEAN, "image_std": SIGLIP_STD, "resize_mode": "siglip",
    },
    "tiny-dinov2": {
        **_TINY, "family": "dinov2", "image_size": 56, "patch_size": 14, "activation": "gelu",
        "norm_eps": 1e-6, "cls_token": True, "pre_ln": False, "patch_bias": True, "layer_scale": True,
        "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD, "resize_mode": "dino",
    },
}  # fmt: skip


class VisionConfig(StrictModel):
    """A ViT image encoder (CLIP / MetaCLIP / SigLIP / DINOv2 variants) and which blocks feed Molmo."""

    preset: str | None = Field(
        None, description="Name of a VISION_PRESETS entry whose values fill every field not given explicitly."
    )
    family: Literal["clip", "siglip", "dinov2"] = Field(
        "clip", description="Checkpoint family: selects the Hugging Face key table used by the converter."
    )
    image_size: int = Field(336, gt=0, description="Side of one square crop in pixels.")
    patch_size: int = Field(14, gt=0, description="Side of one square patch in pixels.")
    channels: int = Field(3, gt=0, description="Colour channels per pixel.")
    d_model: int = Field(1024, gt=0, description="Width of the ViT residual stream.")
    n_heads: int = Field(16, gt=0, description="Attention heads per block.")
    head_dim: int = Field(64, gt=0, description="Width of one attention head.")
    mlp_dim: int = Field(4096, gt=0, description="Hidden width of the block MLP.")
    n_layers: int = Field(
        23, gt=0, description="Transformer blocks in the checkpoint (CLIP in Molmo: 23 of 24)."
    )
    activation: Literal["quick_gelu", "gelu", "gelu_tanh"] = Field(
        "quick_gelu", description="MLP activation: quick_gelu (CLIP), gelu (DINOv2), gelu_tanh (SigLIP)."
    )
    norm_eps: float = Field(1e-5, gt=0, description="LayerNorm epsilon.")
    cls_token: bool = Field(
        True, description="Prepend a learned CLS token (dropped from the output features)."
    )
    pre_ln: bool = Field(True, description="LayerNorm the embeddings before the first block (CLIP's pre_ln).")
    patch_bias: bool = Field(False, description="Patch-embedding Linear has a bias (SigLIP, DINOv2).")
    layer_scale: bool = Field(False, description="Per-channel LayerScale on both residual branches (DINOv2).")
    layer_scale_init: float = Field(1.0, description="Initial LayerScale value when training from scratch.")
    feature_layers: list[int] = Field(
        default_factory=lambda: [-2, -9],
        min_length=1,
        description="Block outputs concatenated on channels as features; negative = from the end of n_layers.",
    )
    skip_unused_layers: bool = Field(
        False,
        description="Build only blocks up to the deepest feature layer (False keeps all checkpoint keys).",
    )
    float32_attention: bool = Field(
        False, description="Compute ViT attention in float32 even under autocast."
    )
    image_mean: tuple[float, float, float] = Field(CLIP_MEAN, description="Per-channel normalisation mean.")
    image_std: tuple[float, float, float] = Field(CLIP_STD, description="Per-channel normalisation std.")
    resize_mode: Literal["molmo", "siglip", "dino", "metaclip"] = Field(
        "molmo",
        description="Crop resize style the preprocessor should use for this encoder (molmo-facts §3.2).",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") is not None:
            name = data["preset"]
            if name not in VISION_PRESETS:
                raise ValueError(
                    f"unknown vision preset {name!r}; known: {', '.join(sorted(VISION_PRESETS))}"
                )
            data = {**VISION_PRESETS[name], **data}
        return data

    @model_validator(mode="after")
    def _check(self) -> VisionConfig:
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )
        for layer in self.feature_layers:
            if not -self.n_layers <= layer < self.n_layers:
                raise ValueError(f"feature layer {layer} is out of range for {self.n_layers} blocks")
        return self

    # ---- derived sizes (plain properties, not fields) ----
    @property
    def grid(self) -> int:
        """Patches per side of the default crop (24 for CLIP-336, 27 for SigLIP-378)."""
        return self.image_size // self.patch_size

    @property
    def n_patches(self) -> int:
        """Patches per crop at the default size."""
        return self.grid * self.grid

    @property
    def n_positions(self) -> int:
        """Rows of the positional embedding: patches (+1 for CLS)."""
        return self.n_patches + int(self.cls_token)

    @property
    def patch_dim(self) -> int:
        """Values per flattened patch: patch_size * patch_size * channels (588 for 14x14 RGB)."""
        return self.patch_size * self.patch_size * self.channels

    @property
    def block_indices(self) -> list[int]:
        """0-based block indices of ``feature_layers`` (Molmo CLIP: [-2, -9] -> [21, 14])."""
        return [layer % self.n_layers for layer in self.feature_layers]

    @property
    def n_built_layers(self) -> int:
        """Blocks actually constructed: all, or up to the deepest feature layer when skipping."""
        return max(self.block_indices) + 1 if self.skip_unused_layers else self.n_layers

    @property
    def feature_dim(self) -> int:
        """Channels of the ViT feature output: d_model * len(feature_layers)."""
        return self.d_model * len(self.feature_layers)


def vision_preset(name: str, **overrides: Any) -> VisionConfig:
    """The config of preset ``name`` with ``overrides`` applied; unknown names raise UserError."""
    if name not in VISION_PRESETS:
        raise UserError(f"unknown vision preset {name!r}; known: {', '.join(sorted(VISION_PRESETS))}")
    return VisionConfig(preset=name, **overrides)


def list_vision_presets() -> list[str]:
    """Names of every registered vision preset, sorted."""
    return sorted(VISION_PRESETS)
