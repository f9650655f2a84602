"""Everything decided before the first training step: run directory, tokenizer, configs, pre-flight
checks, and building the model (partitioned under ZeRO-3, weights loaded into partitions).

``plan(recipe)`` is pure (no DeepSpeed, no process group): ``molmo train --dry-run`` prints it and
every user error in a recipe surfaces here, before any work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from molmo.checkpoint import iter_weights, read_checkpoint_meta
from molmo.config.model import MolmoConfig
from molmo.config.preprocess import PreprocessConfig
from molmo.config.recipe import TrainRecipe
from molmo.config.settings import get_settings
from molmo.config.vision import VisionConfig
from molmo.errors import UserError
from molmo.models.molmo import Molmo
from molmo.preprocess.layout import image_layout
from molmo.preprocess.tokenizer import MolmoTokenizer

MIN_TEXT_TOKENS = 16


@dataclass
class TrainPlan:
    """The resolved pieces of a run (no heavy objects besides the tokenizer)."""

    recipe: TrainRecipe
    run_dir: Path
    model_config: MolmoConfig
    preprocess: PreprocessConfig
    tokenizer: MolmoTokenizer
    tokenizer_path: Path
    init_checkpoint: Path | None
    total_steps: int | None
    notes: list[str] = field(default_factory=list)
    vision_weights: Path | None = None

    def summary(self) -> dict[str, Any]:
        from molmo.api import build

        counts = build(self.model_config, meta=True).num_parameters()
        r = self.recipe
        return {
            "run_dir": str(self.run_dir),
            "model": r.model.preset or r.model.checkpoint,
            "vision_weights": None if self.vision_weights is None else str(self.vision_weights),
            "parameters": counts,
            "tokenizer": str(self.tokenizer_path),
            "vocab": self.tokenizer.vocab_size,
            "sequence_length": self.preprocess.sequence_length,
            "max_crops": self.preprocess.max_crops,
            "total_steps": self.total_steps,
            "zero_stage": r.engine.zero_stage,
            "precision": r.engine.precision,
            "micro_batch_size": r.engine.micro_batch_size,
            "grad_accum": r.engine.grad_accum,
            "sources": [s.name for s in r.data.sources],
            "notes": self.notes,
        }


def run_dir_for(recipe: TrainRecipe, output: str | Path | None) -> Path:
    if output is not None:
        return Path(output)
    if recipe.output_dir is not None:
        return Path(recipe.output_dir)
    return get_settings().home / "runs" / recipe.name


def _tokenizer_file(recipe: TrainRecipe) -> Path:
    if recipe.model.tokenizer is not None:
        path = Path(recipe.model.tokenizer)
        return path / "tokenizer.json" if path.is_dir() else path
    if recipe.model.checkpoint is not None:
        return Path(recipe.model.checkpoint) / "tokenizer.json"
    raise UserError("model.tokenizer is required when training from a preset (a tokenizer.json or its directory)")


def plan(recipe: TrainRecipe, output: str | Path | None = None) -> TrainPlan:
    """Resolve configs and run the pre-flight checks (raises UserError on any problem)."""
    notes: list[str] = []
    init_checkpoint = None
    if recipe.model.checkpoint is not None:
        init_checkpoint = Path(recipe.model.checkpoint)
        base_config, meta = read_checkpoint_meta(init_checkpoint)
        config, preprocess = recipe.model.resolve(
            base=base_config.model_dump(mode="json"), base_preprocess=meta.get("preprocess")
        )
    else:
        config, preprocess = recipe.model.resolve()
    tok_file = _tokenizer_file(recipe)
    tokenizer = MolmoTokenizer.from_file(tok_file)
    ids = tokenizer.special_ids
    if config.special_tokens is not None and config.special_tokens != ids:
        tokenizer.check_special_ids(config.special_tokens)
    config = config.model_copy(update={"special_tokens": ids})
    llm = config.llm
    if ids.image_prompt >= llm.embedding_size + llm.additional_vocab_size:
        raise UserError(
            f"tokenizer has {tokenizer.vocab_size} ids but the model embeds only "
            f"{llm.embedding_size} + {llm.additional_vocab_size} (llm.embedding_size is too small)"
        )
    check_crops_match(preprocess, config.vision)
    if preprocess.sequence_length is not None:
        h, w = _largest_tiling_size(preprocess)
        most = image_layout(h, w, preprocess).n_tokens
        if preprocess.sequence_length < most + MIN_TEXT_TOKENS:
            raise UserError(
                f"model.preprocess.sequence_length={preprocess.sequence_length} cannot hold the {most} image tokens "
                f"of a {preprocess.max_crops}-crop image plus text; raise it or lower max_crops"
            )
    total = total_steps(recipe)
    if total is None and recipe.schedule.max_epochs is None and recipe.schedule.shape.kind != "constant":
        raise UserError("schedule.max_steps (or max_epochs) is needed to shape the LR schedule; "
                        "with only max_tokens use schedule.shape.kind = 'constant'")
    vision_weights = None
    if recipe.model.vision_weights is not None:
        vision_weights = Path(recipe.model.vision_weights)
        _check_vision_weights(vision_weights, config)
        notes.append(f"ViT weights from {vision_weights}")
    return TrainPlan(recipe, run_dir_for(recipe, None if output is None else output), config, preprocess,
                     tokenizer, tok_file, init_checkpoint, total, notes=notes, vision_weights=vision_weights)


def check_crops_match(preprocess: PreprocessConfig, vision: VisionConfig) -> None:
    """UserError unless the preprocessor's crops are what the vision encoder takes (size and patch)."""
    if preprocess.patch_size != vision.patch_size or preprocess.base_image_size[0] != vision.image_size:
        raise UserError(
            f"preprocessing crops ({preprocess.base_image_size[0]} px, patch {preprocess.patch_size}) do not match "
            f"the vision encoder ({vision.image_size} px, patch {vision.patch_size})"
        )


#: key prefix of the ViT inside a native Molmo checkpoint (what ``vision_weights`` holds).
VIT_PREFIX = "vision_backbone.image_vit."


def _vit_shapes(config: MolmoConfig) -> dict[str, tuple[int, ...]]:
    from molmo.api import build

    model = build(config, meta=True)
    return {n: tuple(p.shape) for n, p in model.named_parameters() if n.startswith(VIT_PREFIX)}


def _check_vision_weights(path: Path, config: MolmoConfig) -> None:
    """Pre-flight: ``path`` holds exactly the ViT's tensors, with the model's shapes (header read only)."""
    expected = _vit_shapes(config)
    found = set()
    for name, tensor in iter_weights(path, meta=True):
        if name not in expected:
            raise UserError(f"{path}: tensor {name!r} is not a ViT weight of this model "
                            f"(vision weights use '{VIT_PREFIX}*' keys)")
        if tuple(tensor.shape) != expected[name]:
            raise UserError(f"{path}: ViT tensor {name!r} has shape {tuple(tensor.shape)}, "
                            f"model expects {expected[name]} (does [model.vision] match?)")
        found.add(name)
    missing = sorted(set(expected) - found)
    if missing:
        raise UserError(f"{path}: vision weights lack {len(missing)} ViT tensor(s), e.g. {missing[0]!r}")


def _largest_tiling_size(pre: PreprocessConfig) -> tuple[int, int]:
    """An image size that uses the most crops (a 1 x max_crops strip)."""
    ch, cw = pre.base_image_size
    return ch, cw * pre.max_crops * 2


def total_steps(recipe: TrainRecipe, dataset_size: int | None = None, world_size: int = 1) -> int | None:
    """Optimiser steps of the LR horizon: max_steps, else from max_epochs when the data size is known."""
    s = recipe.schedule
    if s.max_steps is not None:
        return s.max_steps
    if s.max_epochs is not None and dataset_size is not None:
        global_batch = recipe.engine.micro_batch_size * recipe.engine.grad_accum * world_size
        return max(1, math.ceil(s.max_epochs * dataset_size / global_batch))
    return None


def build_model(plan_: TrainPlan, seed: int, zero_context, gather, rank: int) -> Molmo:
    """Construct the model (inside ``zero_context``), initialise it identically on every ZeRO stage,
    and load the starting checkpoint, then ``vision_weights``, into (possibly partitioned)
    parameters with ``gather``."""
    with zero_context:
        model = Molmo(plan_.model_config)
    params = dict(model.named_parameters())
    if plan_.init_checkpoint is None:
        with gather(list(params.values())):
            if rank == 0 or not _partitioned(params):
                torch.manual_seed(seed)
                model.reset_parameters()
    else:
        _load_tensors(plan_.init_checkpoint, params, gather, rank, complete=True)
    if plan_.vision_weights is not None:
        _load_tensors(plan_.vision_weights, params, gather, rank, complete=False)
    return model


def _load_tensors(path: Path, params: dict[str, torch.nn.Parameter], gather, rank: int, complete: bool) -> None:
    """Copy every tensor of the safetensors directory ``path`` into ``params`` (possibly ZeRO-3
    partitioned); with ``complete`` every parameter must be present."""
    seen = set()
    for name, tensor in iter_weights(path):
        if name not in params:
            raise UserError(f"{path}: unexpected tensor {name!r} for this model config")
        p = params[name]
        shape = tuple(getattr(p, "ds_shape", p.shape))
        if tuple(tensor.shape) != shape:
            raise UserError(f"{path}: tensor {name!r} has shape {tuple(tensor.shape)}, model expects {shape}")
        with gather([p]):
            if rank == 0 or not _partitioned(params):
                p.data.copy_(tensor.to(p.dtype))
        seen.add(name)
    missing = sorted(set(params) - seen)
    if complete and missing:
        raise UserError(f"{path}: checkpoint lacks {len(missing)} tensor(s), e.g. {missing[0]!r}")


def _partitioned(params: dict[str, torch.nn.Parameter]) -> bool:
    return any(hasattr(p, "ds_id") for p in params.values())
