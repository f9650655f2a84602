"""The dense decoder-only language model (Molmo's ``transformer``).

Module tree (== released checkpoint keys minus ``model.transformer.``, molmo-facts §5.3):

    wte.embedding (embedding_size, d)      wte.new_embedding (additional_vocab_size, d)
    blocks.N.{attn_norm, att_proj, q_norm, k_norm, attn_out, ff_norm, ff_proj, ff_out}
    ln_f                                   ff_out (d -> embedding_size; absent when weight_tying)

Forward = embed -> blocks -> ln_f -> head. The multimodal model uses the pieces separately:
``x = llm.embed(input_ids)``; add image features to ``x``; ``llm(inputs_embeds=x, ...)``.
Logits always cover ``embedding_size`` rows only: new tokens can never be predicted.

It satisfies the ``molmo.generate`` protocol: ``forward(input_ids, position_ids, attention_mask,
kv_cache, logit_positions=...) -> LLMOutput`` with ``.logits`` and ``.kv_cache``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from molmo.config.llm import LLMConfig
from molmo.models.llm.block import DecoderBlock, build_block
from molmo.models.llm.embedding import ExtendedEmbedding
from molmo.nn.kv_cache import KVCache
from molmo.nn.masks import build_attention_mask, position_ids_from_mask
from molmo.nn.norms import build_norm
from molmo.nn.rope import RotaryEmbedding


@dataclass
class LLMOutput:
    """What ``DecoderLM.forward`` returns.

    logits: (B, T, embedding_size), or (B, 1, embedding_size) when ``logit_positions`` was given.
    hidden_states: (B, T, d) output of ``ln_f`` (the head's input) at every position.
    kv_cache: the cache passed in (now holding the new positions), or None.
    all_hidden_states: (n_layers + 1) x (B, T, d) — embeddings then each block's output — when
        requested with ``output_all_hidden_states=True``, else None.
    """

    logits: torch.Tensor
    hidden_states: torch.Tensor
    kv_cache: KVCache | None = None
    all_hidden_states: tuple[torch.Tensor, ...] | None = None


class DecoderLM(nn.Module):
    """Dense decoder: pre-norm or norm-after blocks, RoPE, GQA, optional QK-norm and qkv bias."""

    def __init__(self, cfg: LLMConfig):
        super().__init__()
        self.config = cfg
        self.wte = ExtendedEmbedding(cfg.embedding_size, cfg.additional_vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList([build_block(cfg, i) for i in range(cfg.n_layers)])
        self.ln_f = build_norm(cfg.norm_type, cfg.d_model, cfg.norm_eps)
        if not cfg.weight_tying:
            self.ff_out = nn.Linear(cfg.d_model, cfg.embedding_size, bias=False)
        self.rope = RotaryEmbedding(cfg.head_dim, cfg.rope_theta)
        self.activation_checkpointing = False  # set True to recompute blocks in backward
        self.reset_parameters()

    # ---------------------------------------------------------------- parameters
    def reset_parameters(self) -> None:
        """N(0, init_std) weights and embeddings, zero biases, unit norms (no-op on meta)."""
        std = self.config.init_std
        self.wte.reset_parameters(std)
        for block in self.blocks:
            block.reset_parameters(std)
        self.ln_f.reset_parameters()
        if not self.config.weight_tying:
            nn.init.normal_(self.ff_out.weight, std=std)

    def num_parameters(self, include_new_embedding: bool = True) -> int:
        """Number of parameters (works on the meta device)."""
        n = sum(p.numel() for p in self.parameters())
        return n if include_new_embedding else n - self.wte.new_embedding.numel()

    def head_weight(self) -> torch.Tensor:
        """(embedding_size, d) output projection: ``ff_out.weight`` or the tied ``wte.embedding``."""
        return self.wte.embedding if self.config.weight_tying else self.ff_out.weight

    # ---------------------------------------------------------------- forward
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 (pad = -1 allowed) -> (B, T, d) input embeddings."""
        return self.wte(input_ids)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
        subsegment_ids: torch.Tensor | None = None,
        logit_positions: torch.Tensor | None = None,
        output_all_hidden_states: bool = False,
    ) -> LLMOutput:
        """Run the decoder on T new positions (after ``kv_cache.seq_len`` cached ones).

        input_ids: (B, T) int64, or pass ``inputs_embeds`` (B, T, d) instead.
        position_ids: (B, T) int64 RoPE positions; default ``cumsum(attention_mask) - 1`` (last T
            columns) or ``past + arange(T)`` without a mask.
        attention_mask: (B, past + T) bool, True = valid key (padding may be anywhere); None = all valid.
        kv_cache: a ``KVCache`` to read the past from and append the new keys/values to (inference).
        subsegment_ids: (B, past + T) int64 sub-segment ids (multi-annotation packing), see nn.masks.
        logit_positions: (B,) int64; if given, logits only at that position of each row -> (B, 1, V).
        """
        x = self.embed(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, d)
        B, T, _ = x.shape
        past = kv_cache.seq_len if kv_cache is not None else 0
        if position_ids is None:
            position_ids = self._default_position_ids(attention_mask, past, T, x.device)
        mask = build_attention_mask(attention_mask, T, past + T, subsegment_ids, device=x.device)
        rope = self.rope(position_ids)  # cos, sin: (B, 1, T, head_dim)

        all_hidden = [x] if output_all_hidden_states else None
        for block in self.blocks:
            x = self._run_block(block, x, rope, mask, kv_cache)
            if all_hidden is not None:
                all_hidden.append(x)

        x = self.ln_f(x)
        h = x
        if logit_positions is not None:
            h = x.gather(1, logit_positions.view(B, 1, 1).expand(B, 1, x.shape[-1]))  # (B, 1, d)
        # call the owning module (not its weight) so ZeRO-3 gathers the head's parameters
        logits = self.wte(hidden=h) if self.config.weight_tying else self.ff_out(h)  # (B, T|1, embedding_size)
        hidden = tuple(all_hidden) if all_hidden is not None else None
        return LLMOutput(logits=logits, hidden_states=x, kv_cache=kv_cache, all_hidden_states=hidden)

    def _run_block(
        self,
        block: DecoderBlock,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        kv_cache: KVCache | None,
    ) -> torch.Tensor:
        if self.activation_checkpointing and self.training and kv_cache is None:
            return checkpoint(block, x, rope, mask, None, use_reentrant=False)
        return block(x, rope, mask, kv_cache)

    @staticmethod
    def _default_position_ids(
        attention_mask: torch.Tensor | None, past: int, T: int, device: torch.device
    ) -> torch.Tensor:
        if attention_mask is not None:
            return position_ids_from_mask(attention_mask)[:, -T:]
        return torch.arange(past, past + T, device=device)[None]


def llm_num_parameters(cfg: LLMConfig, include_new_embedding: bool = True) -> int:
    """Parameter count of ``DecoderLM(cfg)``, built on the meta device (no memory, instant)."""
    with torch.device("meta"):
        model = DecoderLM(cfg)
    return model.num_parameters(include_new_embedding)
