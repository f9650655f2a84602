"""The full Molmo model config (``config.json`` of a native checkpoint) and the model presets.

``MolmoConfig`` = vision encoder + connector + decoder LLM (+ the tokenizer's special-token ids once
a tokenizer is attached). Presets are plain data naming a vision preset, an LLM preset and
connector settings (molmo-facts §1–§5):

| preset | vision | LLM |
|---|---|---|
| ``molmo-7b-d`` | CLIP ViT-L/14-336 (23 blocks) | Qwen2-7B |
| ``molmo-7b-o`` | CLIP ViT-L/14-336 (23 blocks) | OLMo-7B-1024 (norm-after, QK-norm) |
| ``molmo-72b`` | CLIP ViT-L/14-336 (23 blocks) | Qwen2-72B |
| ``tiny`` / ``tiny-olmo`` / ``tiny-siglip`` | tiny test encoders | tiny test decoders |

Pure pydantic (no torch).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from molmo.config.base import StrictModel
from molmo.config.connector import ConnectorConfig
from molmo.config.llm import LLMConfig, llm_preset
from molmo.config.loader import deep_merge, suggest
from molmo.config.preprocess import SpecialTokenIds
from molmo.config.vision import VisionConfig, vision_preset
from molmo.errors import UserError


class MolmoConfig(StrictModel):
    """A complete Molmo model: ViT, connector and decoder LLM."""

    vision: VisionConfig = Field(..., description="Vision encoder (ViT) and the blocks that feed the connector.")
    connector: ConnectorConfig = Field(
        default_factory=ConnectorConfig, description="Padding embeddings, pooling and projector."
    )
    llm: LLMConfig = Field(..., description="Decoder-only language model.")
    special_tokens: SpecialTokenIds | None = Field(
        None, description="Token ids of BOS/EOS/pad and the image tokens (None until a tokenizer is attached)."
    )


# Released Qwen2-based Molmo id layout (molmo-facts §3.1).
_QWEN_IDS = {
    "bos": 151643, "eos": 151643, "pad": 151643,
    "image_start": 152064, "image_end": 152065, "image_patch": 152066, "image_col": 152067, "image_prompt": 152068,
}
# OLMo-7B-1024: the 0924 code padded to vocab_size (100278), so image tokens follow it (§3.1 caveat).
_OLMO_IDS = {
    "bos": 100257, "eos": 100257, "pad": 100257,
    "image_start": 100278, "image_end": 100279, "image_patch": 100280, "image_col": 100281, "image_prompt": 100282,
}

MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "molmo-7b-d": {"vision": "clip-vit-l14-336", "llm": "qwen2-7b", "special_tokens": _QWEN_IDS},
    "molmo-7b-o": {"vision": "clip-vit-l14-336", "llm": "olmo-7b-1024", "special_tokens": _OLMO_IDS},
    "molmo-72b": {"vision": "clip-vit-l14-336", "llm": "qwen2-72b", "special_tokens": _QWEN_IDS},
    # 56-px tiny crops have 4x4 patches: no room for overlap margins.
    "tiny": {"vision": "tiny-clip", "llm": "tiny-qwen2", "preprocess": {"overlap_margins": (0, 0)}},
    "tiny-olmo": {"vision": "tiny-clip", "llm": "tiny-olmo2", "preprocess": {"overlap_margins": (0, 0)}},
    "tiny-siglip": {"vision": "tiny-siglip", "llm": "tiny-llama", "preprocess": {"overlap_margins": (0, 1)}},
}
"""Preset name -> vision preset, LLM preset, connector overrides, special-token ids and the
preprocessing overrides the preset needs on top of ``preprocess_for_vision``."""


def model_preset_dict(name: str) -> dict[str, Any]:
    """The preset as a plain dict (vision/llm presets expanded), ready for overrides."""
    if name not in MODEL_PRESETS:
        raise UserError(f"unknown model preset {name!r}{suggest(name, list(MODEL_PRESETS))}")
    spec = MODEL_PRESETS[name]
    out: dict[str, Any] = {
        "vision": vision_preset(spec["vision"]).model_dump(),
        "llm": llm_preset(spec["llm"]).model_dump(),
        "connector": dict(spec.get("connector", {})),
    }
    if "special_tokens" in spec:
        out["special_tokens"] = dict(spec["special_tokens"])
    return out


def preset_preprocess_overrides(name: str) -> dict[str, Any]:
    """Preprocessing settings a preset needs beyond the defaults of its vision encoder."""
    model_preset_dict(name)  # validates the name
    return dict(MODEL_PRESETS[name].get("preprocess", {}))


def model_preset(name: str, overrides: dict[str, Any] | None = None) -> MolmoConfig:
    """A validated ``MolmoConfig`` from a preset, with nested ``overrides`` merged on top."""
    return MolmoConfig.model_validate(deep_merge(model_preset_dict(name), overrides or {}))
