"""Configuration of the decoder-only language model (the ``transformer`` inside Molmo).

``LLMConfig`` describes one dense decoder; ``LLM_PRESETS`` holds the released backbones (and tiny
test models) as plain data, and ``llm_preset(name, **overrides)`` turns one into a validated config.
Numbers follow molmo-facts §4.1. Pure pydantic: this module never imports torch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from molmo.config.base import StrictModel
from molmo.errors import UserError


class LLMConfig(StrictModel):
    """A dense decoder-only transformer (pre-norm or OLMo-2 style ``norm_after``)."""

    d_model: int = Field(..., gt=0, description="Hidden size of the residual stream.")
    n_layers: int = Field(..., gt=0, description="Number of transformer blocks.")
    n_heads: int = Field(..., gt=0, description="Number of query heads.")
    n_kv_heads: int = Field(..., gt=0, description="Number of key/value heads (GQA); must divide n_heads.")
    head_dim: int = Field(..., gt=0, description="Size of one attention head (even, for RoPE).")
    mlp_hidden_size: int = Field(
        ...,
        gt=0,
        description="Output width of the packed ff_proj ([up | gate]); the SwiGLU hidden size is half.",
    )
    vocab_size: int = Field(..., gt=0, description="Number of tokens the tokenizer can produce.")
    embedding_size: int = Field(
        ...,
        gt=0,
        description="Rows of wte.embedding and of the output head (vocab_size padded up); logits cover only these.",
    )
    additional_vocab_size: int = Field(
        128, ge=0, description="Rows of wte.new_embedding (image special tokens); never predicted."
    )
    qkv_bias: bool = Field(False, description="Whether att_proj (fused q|k|v) has a bias.")
    qk_norm: bool = Field(
        False,
        description="Full-width QK-norm: q_norm over n_heads*head_dim, k_norm over n_kv_heads*head_dim, before RoPE.",
    )
    norm_after: bool = Field(
        False,
        description="OLMo-2 style: h = x + attn_norm(Attn(x)); out = h + ff_norm(MLP(h)). False = pre-norm.",
    )
    norm_type: Literal["rms", "layer"] = Field(
        "rms", description="Normalisation layer used everywhere (weight only, no bias)."
    )
    norm_eps: float = Field(1e-6, gt=0, description="Epsilon of every normalisation layer.")
    rope_theta: float = Field(10000.0, gt=0, description="RoPE base frequency theta.")
    max_sequence_length: int = Field(
        4096,
        gt=0,
        description="Longest sequence the model is meant to see (informational; RoPE is unbounded).",
    )
    weight_tying: bool = Field(
        False, description="Tie the output head to wte.embedding (no separate ff_out)."
    )
    residual_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Dropout on each sub-layer output before the residual add."
    )
    attention_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Dropout on attention probabilities (training only)."
    )
    init_std: float = Field(0.02, gt=0, description="Std of the normal init of weights and embeddings.")

    @model_validator(mode="after")
    def _check_shapes(self) -> LLMConfig:
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim={self.head_dim} must be even for RoPE")
        if self.mlp_hidden_size % 2:
            raise ValueError(f"mlp_hidden_size={self.mlp_hidden_size} must be even (packed [up | gate])")
        if self.embedding_size < self.vocab_size:
            raise ValueError(f"embedding_size={self.embedding_size} < vocab_size={self.vocab_size}")
        return self

    @property
    def q_dim(self) -> int:
        """Width of all query heads together (n_heads * head_dim)."""
        return self.n_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of all key (or value) heads together (n_kv_heads * head_dim)."""
        return self.n_kv_heads * self.head_dim

    @property
    def ffn_hidden_size(self) -> int:
        """SwiGLU hidden size (input width of the block ff_out)."""
        return self.mlp_hidden_size // 2


# --------------------------------------------------------------------------------------------------
# Presets: data only. Released backbones from molmo-facts §4.1, plus tiny models for tests.
# --------------------------------------------------------------------------------------------------

LLM_PRESETS: dict[str, dict[str, Any]] = {
    # Molmo-7B-D's LLM (Qwen/Qwen2-7B).
    "qwen2-7b": {
        "d_model": 3584,
        "n_layers": 28,
        "n_heads": 28,
        "n_kv_heads": 4,
        "head_dim": 128,
        "mlp_hidden_size": 37888,
        "vocab_size": 152064,
        "embedding_size": 152064,
        "qkv_bias": True,
        "qk_norm": False,
        "norm_after": False,
        "norm_type": "rms",
        "norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "max_sequence_length": 4096,
        "weight_tying": False,
    },
    # Molmo-72B's LLM (Qwen/Qwen2-72B).
    "qwen2-72b": {
        "d_model": 8192,
        "n_layers": 80,
        "n_heads": 64,
        "n_kv_heads": 8,
        "head_dim": 128,
        "mlp_hidden_size": 59136,
        "vocab_size": 152064,
        "embedding_size": 152064,
        "qkv_bias": True,
        "qk_norm": False,
        "norm_after": False,
        "norm_type": "rms",
        "norm_eps": 1e-5,
        "rope_theta": 1_000_000.0,
        "max_sequence_length": 4096,
        "weight_tying": False,
    },
    # Molmo-7B-O's LLM (allenai/OLMo-7B-1024-preview): norm-after + full-width QK-norm.
    "olmo-7b-1024": {
        "d_model": 4096,
        "n_layers": 32,
        "n_heads": 32,
        "n_kv_heads": 32,
        "head_dim": 128,
        "mlp_hidden_size": 22016,
        "vocab_size": 100278,
        "embedding_size": 100352,
        "qkv_bias": False,
        "qk_norm": True,
        "norm_after": True,
        "norm_type": "rms",
        "norm_eps": 1e-6,
        "rope_theta": 500_000.0,
        "max_sequence_length": 4096,
        "weight_tying": False,
    },
    # A Llama-3-8B-style backbone (meta-llama/Meta-Llama-3-8B shapes).
    "llama3-8b": {
        "d_model": 4096,
        "n_layers": 32,
        "n_heads": 32,
        "n_kv_heads": 8,
        "head_dim": 128,
        "mlp_hidden_size": 28672,
        "vocab_size": 128256,
        "embedding_size": 128256,
        "qkv_bias": False,
        "qk_norm": False,
        "norm_after": False,
        "norm_type": "rms",
        "norm_eps": 1e-5,
        "rope_theta": 500_000.0,
        "max_sequence_length": 8192,
        "weight_tying": False,
    },
    # Tiny random models for tests and the bundled demo (same variants as the big ones).
    "tiny-qwen2": {
        "d_model": 64,
        "n_layers": 2,
        "n_heads": 4,
        "n_kv_heads": 2,
        "head_dim": 16,
        "mlp_hidden_size": 256,
        "vocab_size": 250,
        "embedding_size": 256,
        "additional_vocab_size": 16,
        "qkv_bias": True,
        "qk_norm": False,
        "norm_after": False,
        "norm_type": "rms",
        "norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "max_sequence_length": 512,
        "weight_tying": False,
    },
    "tiny-olmo2": {
        "d_model": 64,
        "n_layers": 2,
        "n_heads": 4,
        "n_kv_heads": 4,
        "head_dim": 16,
        "mlp_hidden_size": 256,
        "vocab_size": 250,
        "embedding_size": 256,
        "additional_vocab_size": 16,
        "qkv_bias": False,
        "qk_norm": True,
        "norm_after": True,
        "norm_type": "rms",
        "norm_eps": 1e-6,
        "rope_theta": 500_000.0,
        "max_sequence_length": 512,
        "weight_tying": False,
    },
    "tiny-llama": {
        "d_model": 64,
        "n_layers": 2,
        "n_heads": 4,
        "n_kv_heads": 1,
        "head_dim": 16,
        "mlp_hidden_size": 192,
        "vocab_size": 256,
        "embedding_size": 256,
        "additional_vocab_size": 16,
        "qkv_bias": False,
        "qk_norm": False,
        "norm_after": False,
        "norm_type": "rms",
        "norm_eps": 1e-5,
        "rope_theta": 10_000.0,
        "max_sequence_length": 512,
        "weight_tying": True,
    },
}


def llm_preset_names() -> list[str]:
    """Names of all LLM presets, sorted."""
    return sorted(LLM_PRESETS)


def llm_preset(name: str, **overrides: Any) -> LLMConfig:
    """Build the ``LLMConfig`` of preset ``name``, with optional field overrides.

    Raises ``UserError`` for an unknown preset name.
    """
    if name not in LLM_PRESETS:
        raise UserError(f"unknown LLM preset {name!r}; choose one of {', '.join(llm_preset_names())}")
    return LLMConfig(**{**LLM_PRESETS[name], **overrides})
