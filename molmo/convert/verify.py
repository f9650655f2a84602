"""Check a conversion numerically: run the source side and the converted side on one fixed random
input and report the largest absolute difference.

- ``verify_hf_molmo`` (from-hf / to-hf): the HF Molmo files are read through the HF config mapping
  and key map into one model, the native checkpoint into another; both run the full multimodal
  forward (2 crops, image tokens, text) and the logits are compared.
- ``verify_init``: ViT features of the native checkpoint vs the ``transformers`` vision model built
  from the HF directory (blocks ``feature_layers`` concatenated, CLS dropped), and LLM logits vs the
  ``transformers`` causal LM (``from_pretrained``, offline).

Both sides run in float32. Where a conversion changed the dtype, the source tensors are first
rounded to the converted dtype, so the check measures the mapping, not the rounding. Only one
model is held in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from molmo.checkpoint import iter_weights, load_native, load_state_into, read_checkpoint_meta
from molmo.config.model import MolmoConfig
from molmo.convert.hf_molmo import hf_native_tensors, read_hf_molmo
from molmo.convert.stream import scan_safetensors
from molmo.errors import UserError

SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
DEFAULT_TOLERANCE = 1e-3


@dataclass
class VerifyReport:
    """Max absolute differences per check, and the tolerance they were held to."""

    diffs: dict[str, float] = field(default_factory=dict)
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def ok(self) -> bool:
        return all(d <= self.tolerance for d in self.diffs.values())

    def as_dict(self) -> dict[str, Any]:
        return {"max_abs_diff": dict(self.diffs), "tolerance": self.tolerance, "ok": self.ok}


def max_abs_diff(a: torch.Tensor, b: torch.Tensor, what: str) -> float:
    if a.shape != b.shape:
        raise UserError(f"verify: {what} shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a.float() - b.float()).abs().max())


# ----------------------------------------------------------------------------------------------
# Fixed inputs
# ----------------------------------------------------------------------------------------------


def fixed_inputs(config: MolmoConfig, tokens_per_crop: int, seed: int = 0, n_crops: int = 2,
                 n_text: int = 8) -> dict[str, torch.Tensor]:
    """A one-row batch: ``[BOS] <im_start> <im_patch>*(n_crops*tokens_per_crop) <im_end> text``.

    Crop 0 is fully real; crop 1 is half real, half padding (exercises the padding embeddings).
    """
    special = config.special_tokens
    if special is None:
        raise UserError("verify needs the special token ids in the model config")
    gen = torch.Generator().manual_seed(seed)
    vis = config.vision
    n_image = n_crops * tokens_per_crop
    text = torch.randint(0, min(config.llm.vocab_size, config.llm.embedding_size), (n_text,), generator=gen)
    text[text == special.image_patch] = special.eos
    ids = torch.cat([torch.tensor([special.bos, special.image_start]), torch.full((n_image,), special.image_patch),
                     torch.tensor([special.image_end]), text])[None]  # fmt: skip
    masks = torch.ones(1, n_crops, vis.n_patches)
    if n_crops > 1:
        masks[0, 1, vis.n_patches // 2 :] = 0.0
        masks[0, 1, : vis.n_patches // 4] = 0.5
    return {
        "input_ids": ids,
        "images": torch.randn(1, n_crops, vis.n_patches, vis.patch_dim, generator=gen),
        "image_masks": masks,
        "image_input_idx": (torch.arange(n_image) + 2).reshape(1, n_crops, tokens_per_crop),
    }


@torch.no_grad()
def _logits_from(config: MolmoConfig, inputs_config: MolmoConfig, tensors: Iterable[tuple[str, torch.Tensor]],
                 round_to: dict[str, torch.dtype | None] | None, source: str) -> torch.Tensor:
    """Build a model for ``config`` from ``tensors`` (first rounded to ``round_to`` dtypes), run the fixed input."""
    from molmo.models.molmo import Molmo

    if round_to is not None:
        tensors = ((k, t.to(round_to[k]) if t.is_floating_point() and round_to.get(k) else t) for k, t in tensors)
    with torch.device("meta"):
        model = Molmo(config)
    load_state_into(model, tensors, dtype=torch.float32, source=source)
    model.eval()
    return model(**fixed_inputs(inputs_config, model.vision_backbone.tokens_per_crop)).logits.float()


# ----------------------------------------------------------------------------------------------
# HF Molmo <-> native
# ----------------------------------------------------------------------------------------------


def verify_hf_molmo(hf_dir: str | Path, native_dir: str | Path, *, round_to: Literal["hf", "native"] = "native",
                    tolerance: float = DEFAULT_TOLERANCE) -> VerifyReport:
    """Logits of the HF-layout checkpoint vs the native checkpoint on one fixed multimodal input.

    Each side is built from its own config and files. ``round_to`` names the conversion's output
    side: the source side's tensors are first cast to the output's per-tensor dtypes (``native``
    after from-hf, ``hf`` after to-hf).
    """
    hf_dir, native_dir = Path(hf_dir), Path(native_dir)
    native_config, _ = read_checkpoint_meta(native_dir)
    hf_config, _, _ = read_hf_molmo(hf_dir)
    hf_dtypes = {r.key.removeprefix("model."): SAFETENSORS_DTYPES.get(r.dtype) for r in scan_safetensors(hf_dir)}
    native_dtypes = {r.key: SAFETENSORS_DTYPES.get(r.dtype) for r in scan_safetensors(native_dir)}
    native_logits = _logits_from(native_config, native_config, iter_weights(native_dir),
                                 hf_dtypes if round_to == "hf" else None, str(native_dir))
    hf_stream = hf_native_tensors(hf_dir, hf_config)
    hf_logits = _logits_from(hf_config, native_config, hf_stream, native_dtypes if round_to == "native" else None,
                             str(hf_dir))
    return VerifyReport({"logits": max_abs_diff(native_logits, hf_logits, "logits")}, tolerance)


# ----------------------------------------------------------------------------------------------
# init: vision features and LLM logits vs transformers
# ----------------------------------------------------------------------------------------------


def _round_like(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).float())
    return model.float().eval()


def verify_init(vision_dir: str | Path, llm_dir: str | Path, native_dir: str | Path, *, seed: int = 0,
                tolerance: float = DEFAULT_TOLERANCE) -> VerifyReport:
    """ViT features and LLM logits of an ``init`` checkpoint vs the transformers models it came from."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bars on the caller's stderr
    try:
        return _verify_init(vision_dir, llm_dir, native_dir, seed, tolerance)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


@torch.no_grad()
def _verify_init(vision_dir: str | Path, llm_dir: str | Path, native_dir: str | Path, seed: int,
                 tolerance: float) -> VerifyReport:
    from transformers import AutoModel, AutoModelForCausalLM

    from molmo.convert.init import read_hf_vision_config
    from molmo.models.vision import patchify

    vision_dir, llm_dir, native_dir = Path(vision_dir), Path(llm_dir), Path(native_dir)
    stored = {r.key: SAFETENSORS_DTYPES.get(r.dtype, torch.float32) for r in scan_safetensors(native_dir)}
    vit_dtype = stored["vision_backbone.image_vit.patch_embedding.weight"]
    llm_dtype = stored["transformer.wte.embedding"]
    native, _, _ = load_native(native_dir, dtype=torch.float32)
    config: MolmoConfig = native.config
    vis = config.vision
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randn(1, vis.channels, vis.image_size, vis.image_size, generator=gen)
    ids = torch.randint(0, min(config.llm.vocab_size, config.llm.embedding_size), (1, 16), generator=gen)
    our_features = native.vision_backbone.image_vit.forward_features(patchify(pixels, vis.patch_size))
    our_logits = native.transformer(ids).logits.float()
    del native

    family, hf_vision_cfg = read_hf_vision_config(vision_dir)
    hf = AutoModel.from_pretrained(str(vision_dir), local_files_only=True)
    encoder = _round_like(getattr(hf, "vision_model", hf), vit_dtype)
    kwargs: dict[str, Any] = {"pixel_values": pixels, "output_hidden_states": True}
    if family != "dinov2" and hf_vision_cfg["image_size"] // vis.patch_size != vis.grid:
        kwargs["interpolate_pos_encoding"] = True
    hidden = encoder(**kwargs).hidden_states  # (embeddings, block 0, block 1, ...)
    ref_features = torch.cat([hidden[i + 1] for i in vis.block_indices], dim=-1)[:, int(vis.cls_token) :]
    diffs = {"vision_features": max_abs_diff(our_features, ref_features, "vision features")}
    del hf, encoder, hidden

    lm = AutoModelForCausalLM.from_pretrained(str(llm_dir), local_files_only=True)
    ref_logits = _round_like(lm, llm_dtype)(input_ids=ids).logits.float()
    diffs["llm_logits"] = max_abs_diff(our_logits, ref_logits, "LLM logits")
    del lm
    return VerifyReport(diffs, tolerance)
