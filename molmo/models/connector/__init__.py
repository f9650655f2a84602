"""The connector between ViT features and the LLM: padding embeddings, pooling, projectors
(configs in ``molmo.config.connector``)."""

from molmo.models.connector.pad_embed import PADDING_EMBEDS, PaddingEmbed
from molmo.models.connector.pooling import POOLINGS, build_pooling, to_windows
from molmo.models.connector.projector import PROJECTORS, build_projector

__all__ = [
    "PADDING_EMBEDS",
    "POOLINGS",
    "PROJECTORS",
    "PaddingEmbed",
    "build_pooling",
    "build_projector",
    "to_windows",
]
