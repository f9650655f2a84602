"""One decoder block. Parameter names mirror the released Molmo checkpoints (molmo-facts §5.3):

    attn_norm, att_proj (fused [q | k | v], optional bias), q_norm / k_norm (optional QK-norm),
    attn_out (no bias), ff_norm, ff_proj (packed [up | gate]), ff_out (down projection).

Two residual wirings, chosen at build time by ``LLMConfig.norm_after``:
    PreNormBlock    h = x + Attn(attn_norm(x));   out = h + MLP(ff_norm(h))      (Qwen2, Llama)
    NormAfterBlock  h = x + attn_norm(Attn(x));   out = h + ff_norm(MLP(h))      (OLMo-7B-1024, OLMo-2)
"""

from __future__ import annotations

import torch
from torch import nn

from molmo.config.llm import LLMConfig
from molmo.nn.attention import attend, merge_heads, split_heads
from molmo.nn.kv_cache import KVCache
from molmo.nn.mlp import packed_swiglu
from molmo.nn.norms import build_norm
from molmo.nn.rope import apply_rotary

Rope = tuple[torch.Tensor, torch.Tensor]  # cos, sin: (B, 1, T, head_dim) fp32


class DecoderBlock(nn.Module):
    """The attention and MLP sub-layers shared by both wirings; subclasses define ``forward``."""

    def __init__(self, cfg: LLMConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads, self.n_kv_heads = cfg.n_heads, cfg.n_kv_heads
        self.split_sizes = (cfg.q_dim, cfg.kv_dim, cfg.kv_dim)
        self.attention_dropout = cfg.attention_dropout
        self.attn_norm = build_norm(cfg.norm_type, cfg.d_model, cfg.norm_eps)
        self.att_proj = nn.Linear(cfg.d_model, sum(self.split_sizes), bias=cfg.qkv_bias)
        if cfg.qk_norm:
            self.q_norm = build_norm(cfg.norm_type, cfg.q_dim, cfg.norm_eps)
            self.k_norm = build_norm(cfg.norm_type, cfg.kv_dim, cfg.norm_eps)
        else:
            self.q_norm, self.k_norm = nn.Identity(), nn.Identity()
        self.attn_out = nn.Linear(cfg.q_dim, cfg.d_model, bias=False)
        self.ff_norm = build_norm(cfg.norm_type, cfg.d_model, cfg.norm_eps)
        self.ff_proj = nn.Linear(cfg.d_model, cfg.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(cfg.ffn_hidden_size, cfg.d_model, bias=False)
        self.dropout = nn.Dropout(cfg.residual_dropout)

    def attention(
        self, x: torch.Tensor, rope: Rope, mask: torch.Tensor | None, kv_cache: KVCache | None
    ) -> torch.Tensor:
        """x: (B, T, d) -> (B, T, d). mask: (B|1, 1, T, past+T) bool or None (causal)."""
        q, k, v = self.att_proj(x).split(self.split_sizes, dim=-1)
        q, k = self.q_norm(q), self.k_norm(k)  # full-width QK-norm, before the head split
        q, k, v = (
            split_heads(q, self.n_heads),
            split_heads(k, self.n_kv_heads),
            split_heads(v, self.n_kv_heads),
        )
        cos, sin = rope
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if kv_cache is not None:
            k, v = kv_cache.update(self.layer_idx, k, v)  # (B, H_kv, past + T, hd)
        dropout_p = self.attention_dropout if self.training else 0.0
        y = attend(q, k, v, mask, dropout_p=dropout_p)  # (B, H, T, hd)
        return self.attn_out(merge_heads(y))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        """SwiGLU: (B, T, d) -> (B, T, d)."""
        return self.ff_out(packed_swiglu(self.ff_proj(x)))

    def reset_parameters(self, std: float) -> None:
        for linear in (self.att_proj, self.attn_out, self.ff_proj, self.ff_out):
            nn.init.normal_(linear.weight, std=std)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)
        for norm in (self.attn_norm, self.ff_norm, self.q_norm, self.k_norm):
            if hasattr(norm, "reset_parameters"):
                norm.reset_parameters()


class PreNormBlock(DecoderBlock):
    def forward(
        self, x: torch.Tensor, rope: Rope, mask: torch.Tensor | None, kv_cache: KVCache | None = None
    ) -> torch.Tensor:
        h = x + self.dropout(self.attention(self.attn_norm(x), rope, mask, kv_cache))
        return h + self.dropout(self.mlp(self.ff_norm(h)))


class NormAfterBlock(DecoderBlock):
    def forward(
        self, x: torch.Tensor, rope: Rope, mask: torch.Tensor | None, kv_cache: KVCache | None = None
    ) -> torch.Tensor:
        h = x + self.dropout(self.attn_norm(self.attention(x, rope, mask, kv_cache)))
        return h + self.dropout(self.ff_norm(self.mlp(h)))


BLOCKS: dict[bool, type[DecoderBlock]] = {False: PreNormBlock, True: NormAfterBlock}


def build_block(cfg: LLMConfig, layer_idx: int) -> DecoderBlock:
    """The block class for ``cfg.norm_after`` (False: pre-norm, True: norm-after)."""
    return BLOCKS[cfg.norm_after](cfg, layer_idx)
