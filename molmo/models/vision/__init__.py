"""Vision encoders: one ViT implementation for CLIP, MetaCLIP, SigLIP and DINOv2 (presets in
``molmo.config.vision``)."""

from molmo.models.vision.attention import MultiHeadAttention
from molmo.models.vision.pos_embed import resize_pos_embed
from molmo.models.vision.vit import ACTIVATIONS, VisionTransformer, ViTBlock, patchify

__all__ = [
    "ACTIVATIONS",
    "MultiHeadAttention",
    "ViTBlock",
    "VisionTransformer",
    "patchify",
    "resize_pos_embed",
]
