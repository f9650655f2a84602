"""The Molmo vision-language model: ViT → connector → features ADDED at ``<im_patch>`` tokens → LLM.

Module tree (== released checkpoint keys minus ``model.``, molmo-facts §5.3)::

    vision_backbone   image_vit, pad_embed, image_pooling_2d, image_projector
    transformer       wte.{embedding,new_embedding}, blocks.N.*, ln_f, ff_out

Forward (molmo-facts §0, §2.4, §8.1)::

    x        = transformer.embed(input_ids)                       (B, T, d)      -1 pads → row 0
    features = vision_backbone(images, image_masks)               (B, N, P, d)   N crops, P tokens/crop
    x[b, image_input_idx[b, n, p]] += features[b, n, p]           for every index >= 0
    logits   = transformer(inputs_embeds=x, ...)                  (B, T, V)      V = embedding_size
    loss     = Σ w·CE(logits, labels) / divisor  (+ z_loss_weight · Σ w·logsumexp(logits)² / divisor)

The model satisfies the ``molmo.generate`` protocol (images are prefill-only keyword arguments);
``Molmo.generate`` wraps it (EOS and the attached tokenizer as defaults) and ``Molmo.save`` writes a
native checkpoint (``molmo.checkpoint``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from molmo.config.generation import GenerationConfig
from molmo.config.model import MolmoConfig
from molmo.errors import MolmoError
from molmo.generate import Decode, GenerationResult, Stream, generate
from molmo.models.llm.model import DecoderLM
from molmo.models.vision_backbone import VisionBackbone
from molmo.nn.kv_cache import KVCache

IGNORE_INDEX = -100


@dataclass
class MolmoOutput:
    """logits (B, T|1, V); loss = ce_loss + z_loss (None without labels); n_loss_tokens = Σ loss weights."""

    logits: torch.Tensor
    kv_cache: KVCache | None = None
    loss: torch.Tensor | None = None
    ce_loss: torch.Tensor | None = None
    z_loss: torch.Tensor | None = None
    n_loss_tokens: torch.Tensor | None = None


class Molmo(nn.Module):
    """A ViT + connector + decoder LLM, built from a ``MolmoConfig``."""

    def __init__(self, config: MolmoConfig):
        super().__init__()
        self.config = config
        llm = config.llm
        self.vision_backbone = VisionBackbone(config.vision, config.connector, llm.d_model, llm.mlp_hidden_size)
        self.transformer = DecoderLM(llm)
        self.run_vision_without_images = True  # ZeRO-3: every rank runs the ViT every training step
        self.tokenizer = None  # a MolmoTokenizer, attached by molmo.load / molmo.build callers
        self.preprocess_config = None  # the PreprocessConfig the checkpoint was trained with

    # ---------------------------------------------------------------- sizes
    def num_parameters(self) -> dict[str, int]:
        """Parameter counts per part (works on the meta device)."""
        vis = self.vision_backbone.num_parameters()
        parts = {
            "vit": vis["image_vit"],
            "pooling": vis["image_pooling_2d"],
            "projector": vis["image_projector"],
            "pad_embed": vis["pad_embed"],
            "llm": self.transformer.num_parameters(),
        }
        return {**parts, "total": sum(parts.values())}

    def reset_parameters(self) -> None:
        """Fresh initialisation of every part (training from scratch)."""
        self.vision_backbone.reset_parameters()
        self.transformer.reset_parameters()

    # ---------------------------------------------------------------- image features
    def image_features(self, images: torch.Tensor, image_masks: torch.Tensor | None) -> torch.Tensor:
        """``images (B, N, P_patches, patch_dim)`` → ``(B, N, tokens_per_crop, d)`` (padded crops → 0)."""
        return self.vision_backbone(images, image_masks)

    def add_image_features(
        self,
        x: torch.Tensor,
        input_ids: torch.Tensor,
        features: torch.Tensor,
        image_input_idx: torch.Tensor,
    ) -> torch.Tensor:
        """Add ``features (B, N, P, d)`` to ``x (B, T, d)`` at ``image_input_idx (B, N, P)`` (skip < 0).

        Contract (checked): per row, the valid indices are distinct, lie inside the sequence, point at
        ``<im_patch>`` tokens when the special ids are known, and their number equals the number of
        ``<im_patch>`` tokens in the row.
        """
        B, T, d = x.shape
        if features.shape[:3] != image_input_idx.shape:
            raise MolmoError(
                f"image_input_idx has shape {tuple(image_input_idx.shape)} but the connector produced "
                f"{tuple(features.shape[:3])} (batch, crops, tokens per crop) features"
            )
        idx = image_input_idx.reshape(B, -1).long()  # (B, N*P)
        feats = features.reshape(B, -1, d).to(x.dtype)  # (B, N*P, d)
        valid = idx >= 0
        if bool((idx >= T).any()):
            raise MolmoError(f"image_input_idx points past the end of the sequence (length {T})")
        self._check_image_positions(input_ids, idx, valid)
        flat_pos = (idx + torch.arange(B, device=x.device)[:, None] * T)[valid]  # (n_valid,)
        return x.reshape(B * T, d).index_add(0, flat_pos, feats[valid]).reshape(B, T, d)

    def _check_image_positions(self, input_ids: torch.Tensor, idx: torch.Tensor, valid: torch.Tensor) -> None:
        """``idx (B, N*P)`` feature positions, ``valid = idx >= 0``: raise MolmoError on a broken contract."""
        special = self.config.special_tokens
        if special is not None:
            n_valid = valid.sum(dim=1)
            is_patch = input_ids == special.image_patch  # (B, T)
            n_patch_tokens = is_patch.sum(dim=1)
            if not torch.equal(n_valid, n_patch_tokens):
                raise MolmoError(
                    f"image features do not match <im_patch> tokens: {n_valid.tolist()} valid image_input_idx "
                    f"entries vs {n_patch_tokens.tolist()} <im_patch> tokens per row"
                )
            hits = is_patch.gather(1, idx.clamp(min=0)) | ~valid  # (B, N*P)
            if not bool(hits.all()):
                b, j = (~hits).nonzero()[0].tolist()
                raise MolmoError(
                    f"image_input_idx of row {b} points at position {int(idx[b, j])}, which holds token "
                    f"{int(input_ids[b, idx[b, j]])}, not <im_patch> ({special.image_patch})"
                )
        ordered = idx.masked_fill(~valid, -1).sort(dim=1).values  # (B, N*P), unused first
        repeats = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
        if bool(repeats.any()):
            b, j = repeats.nonzero()[0].tolist()
            raise MolmoError(f"image_input_idx of row {b} repeats position {int(ordered[b, j + 1])}")

    def _dummy_vision_term(self, x: torch.Tensor) -> torch.Tensor:
        """Run the vision path on one all-padding crop and return 0·Σ (keeps ZeRO-3 ranks in step)."""
        vis = self.config.vision
        dummy = torch.full((1, 1, vis.grid * vis.grid, vis.patch_dim), -1.0, device=x.device, dtype=x.dtype)
        dummy_masks = torch.full(dummy.shape[:3], -1.0, device=x.device, dtype=x.dtype)  # reaches pad_embed too
        return self.image_features(dummy, dummy_masks).sum() * 0.0

    # ---------------------------------------------------------------- forward
    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        images: torch.Tensor | None = None,
        image_input_idx: torch.Tensor | None = None,
        image_masks: torch.Tensor | None = None,
        subsegment_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        loss_mask: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        logit_positions: torch.Tensor | None = None,
        z_loss_weight: float = 0.0,
        loss_divisor: float | torch.Tensor | None = None,
        frame_times: torch.Tensor | None = None,  # unused here: part of the Batch contract (video)
    ) -> MolmoOutput:
        """Embed tokens, add image features, run the LLM, and (with ``labels``) compute the loss.

        input_ids (B, T) int64 (pad -1); attention_mask (B, past+T) bool (default: ids >= 0);
        images (B, N, P, patch_dim); image_input_idx (B, N, tokens_per_crop); image_masks (B, N, P);
        labels (B, T) target ids (IGNORE_INDEX = no loss); loss_mask (B, T) float weights;
        loss_divisor: normaliser of the summed loss (default: Σ loss weights of this batch), e.g. the
        global batch's loss-token count / world size as in Molmo training.
        """
        x = self.transformer.embed(input_ids)  # (B, T, d)
        if images is not None:
            if image_input_idx is None:
                raise MolmoError("images given without image_input_idx")
            x = self.add_image_features(x, input_ids, self.image_features(images, image_masks), image_input_idx)
        elif self.training and self.run_vision_without_images:
            x = x + self._dummy_vision_term(x)
        if attention_mask is None and kv_cache is None:
            attention_mask = input_ids >= 0
        out = self.transformer(
            position_ids=position_ids,
            attention_mask=attention_mask,
            kv_cache=kv_cache,
            inputs_embeds=x,
            subsegment_ids=subsegment_ids,
            logit_positions=logit_positions,
        )
        result = MolmoOutput(logits=out.logits, kv_cache=out.kv_cache)
        if labels is not None:
            self._add_loss(result, labels, loss_mask, z_loss_weight, loss_divisor)
        return result

    @staticmethod
    def _add_loss(result: MolmoOutput, labels, loss_mask, z_loss_weight: float, divisor) -> None:
        """Weighted CE (+ z-loss) over the positions with a label and a non-zero weight, in fp32."""
        logits = result.logits.float()  # (B, T, V) loss in fp32 (molmo-facts §8.1)
        V = logits.shape[-1]
        if logits.shape[:2] != labels.shape:
            raise MolmoError(f"labels have shape {tuple(labels.shape)} but the logits cover {tuple(logits.shape[:2])}")
        weights = (labels != IGNORE_INDEX).float() if loss_mask is None else loss_mask.float()
        weights = weights * (labels != IGNORE_INDEX)  # (B, T)
        used = weights != 0
        if bool(((labels < 0) | (labels >= V))[used].any()):
            bad = int(labels[used & ((labels < 0) | (labels >= V))][0])
            raise MolmoError(f"label {bad} has a loss weight but lies outside the output vocabulary [0, {V})")
        safe_labels = labels.masked_fill(~used, 0)
        ce = F.cross_entropy(logits.reshape(-1, V), safe_labels.reshape(-1), reduction="none").view_as(weights)
        n_tokens = weights.sum()
        denom = n_tokens.clamp(min=1.0) if divisor is None else divisor
        result.ce_loss = (ce * weights).sum() / denom
        result.z_loss = torch.zeros((), device=logits.device)
        if z_loss_weight:
            z = torch.logsumexp(logits, dim=-1).pow(2)  # (B, T)
            result.z_loss = z_loss_weight * (z * weights).sum() / denom
        result.loss = result.ce_loss + result.z_loss
        result.n_loss_tokens = n_tokens

    # ---------------------------------------------------------------- inference
    def generate(
        self,
        input_ids: torch.Tensor,
        *,
        images: torch.Tensor | None = None,
        image_input_idx: torch.Tensor | None = None,
        image_masks: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        config: GenerationConfig | None = None,
        decode: Decode | None = None,
        stream: Stream | None = None,
    ) -> GenerationResult:
        """Continue a batch of prompts (``molmo.generate.generate`` with this model).

        input_ids (B, T) int64 prompts, any padding (-1); images/image_input_idx/image_masks as in
        ``forward``: encoded ONCE in the prefill, never again. ``config.stop_token_ids=None`` stops at
        the model's EOS when its special ids are known; ``decode`` defaults to the attached
        tokenizer's. Runs in eval mode (the previous mode is restored) without gradients.
        """
        config = config or GenerationConfig()
        if config.stop_token_ids is None and self.config.special_tokens is not None:
            config = config.model_copy(update={"stop_token_ids": [self.config.special_tokens.eos]})
        if decode is None and self.tokenizer is not None:
            decode = self.tokenizer.decode
        if images is not None and image_input_idx is None:
            raise MolmoError("images given without image_input_idx")
        prefill = {"images": images, "image_input_idx": image_input_idx, "image_masks": image_masks}
        was_training = self.training
        self.eval()
        try:
            return generate(
                self, input_ids, config, attention_mask=attention_mask, position_ids=position_ids,
                decode=decode, stream=stream, **prefill,
            )  # fmt: skip
        finally:
            self.train(was_training)

    def save(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        """Write a native checkpoint (``molmo.checkpoint.save_native``) with the attached tokenizer and
        preprocessing config; ``kwargs``: dtype, max_shard_bytes, provenance, tokenizer, preprocess."""
        from molmo.checkpoint import save_native  # checkpoint loads models lazily: no import cycle

        kwargs.setdefault("tokenizer", self.tokenizer)
        kwargs.setdefault("preprocess", self.preprocess_config)
        return save_native(self, path, **kwargs)
