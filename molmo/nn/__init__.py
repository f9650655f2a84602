"""Generic neural-network layers (no Molmo names): norms, RoPE, attention, KV cache, masks, MLPs."""

from molmo.nn.attention import attend, merge_heads, repeat_kv, split_heads
from molmo.nn.kv_cache import KVCache
from molmo.nn.masks import (
    IMAGE_SUBSEGMENT_ID,
    build_attention_mask,
    causal_mask,
    position_ids_from_mask,
    subsegment_position_ids,
)
from molmo.nn.mlp import SwiGLU, packed_swiglu
from molmo.nn.norms import NORMS, LayerNorm, RMSNorm, build_norm
from molmo.nn.rope import RotaryEmbedding, apply_rotary, rotate_half
from molmo.nn.sampling import sample_next, top_k_filter, top_p_filter

__all__ = [
    "IMAGE_SUBSEGMENT_ID",
    "NORMS",
    "KVCache",
    "LayerNorm",
    "RMSNorm",
    "RotaryEmbedding",
    "SwiGLU",
    "apply_rotary",
    "attend",
    "build_attention_mask",
    "build_norm",
    "causal_mask",
    "merge_heads",
    "packed_swiglu",
    "position_ids_from_mask",
    "repeat_kv",
    "rotate_half",
    "sample_next",
    "split_heads",
    "subsegment_position_ids",
    "top_k_filter",
    "top_p_filter",
]
