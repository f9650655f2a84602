"""Dense ViT pretraining on the tiny-shapes world: the demo model's stand-in for a pretrained CLIP.

Released Molmo starts from a pretrained CLIP. A from-scratch ViT trained only through the decoder's
caption/answer loss learns colours (a mean colour is easy) but, measured over five demo runs, never
told a circle from a square: the kind signal is a few words per answer, routed back through the LLM.
This stage first teaches the ViT, per patch, which shape kind / colour / digit covers it; the VLM
run then starts from it with ``[model] vision_weights`` (see ``recipes/tiny-shapes.toml``).

    scenes (synth, drawn on the fly) -> crops       (N crops, P, patch_dim)   the model's preprocessor
        -> image_vit.forward_features                (N, P, F)                 the connector's input
        -> one linear head per label kind            (N, P, n_classes)         molmo.data.synth.patch_labels
        -> optional linear regressions               (N, P, 2)                 the patch's own position
                                                                               and its shape's answer point
        -> optional answer-digit classifier          (N, P, 4, 10)             that point's x/y tens and
                                                                               units digits
    loss = weighted mean over heads of cross-entropy ("none" class: ``none_weight``, digit head: ``digit_weight``),
           of the regressions' smooth-L1 (``coord_weight``, ``centre_weight``) and of the answer-digit
           cross-entropy on the patches a shape covers (``centre_digit_weight``)

Writes ``OUT/model.safetensors`` (``vision_backbone.image_vit.*`` keys, loadable as vision weights)
and ``OUT/vit_pretrain.json`` (settings, vision config, held-out accuracies), atomically.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import nn

from molmo.checkpoint import AtomicDir, save_weights, write_json
from molmo.config.base import StrictModel
from molmo.config.preprocess import PreprocessConfig
from molmo.config.train import CosineSchedule
from molmo.config.vision import VisionConfig
from molmo.data.synth.patch_labels import HEADS, answer_digits, dense_targets, patch_positions
from molmo.data.synth.render import render_scene
from molmo.data.synth.shapes import MAX_SHAPES, make_scene
from molmo.errors import UserError
from molmo.models.vision.vit import VisionTransformer
from molmo.preprocess.crops import image_crops
from molmo.train.schedule import lr_factor
from molmo.train.setup import VIT_PREFIX, check_crops_match

_SCHEDULE = CosineSchedule(alpha_f=0.1)  # linear warm-up, cosine decay to 0.1 x peak


class VitPretrainConfig(StrictModel):
    """Settings of the dense shapes pretraining of a ViT."""

    steps: int = Field(800, gt=0, description="Optimiser steps.")
    batch_size: int = Field(32, gt=0, description="Scenes per step.")
    lr: float = Field(1e-3, gt=0, description="Peak AdamW learning rate.")
    warmup_steps: int = Field(50, ge=0, description="Linear warm-up steps, then cosine decay to 10 %.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    none_weight: float = Field(0.1, gt=0, description="Loss weight of the 'none' class (most patches).")
    digit_weight: float = Field(1.0, gt=0, description="Weight of the digit head's loss (kind and colour: 1).")
    coord_weight: float = Field(
        0.0, ge=0, description="Weight of a per-patch regression of the patch's own position in image percent "
        "(what point answers are written in); 0 = no coordinate head.",
    )
    centre_weight: float = Field(
        0.0, ge=0, description="Weight of a per-patch regression of the answer point (image percent) of the "
        "shape covering the patch, finer than the patch grid; 0 = no centre head.",
    )
    centre_digit_weight: float = Field(
        0.0, ge=0, description="Weight of a per-patch classification of the tens and units digits (x and y) "
        "of the answer point of the shape covering the patch, the digits a point answer writes; 0 = off.",
    )
    min_cover: float = Field(0.15, gt=0, le=1, description="Patch fraction an object must cover to label it.")
    max_shapes: int = Field(MAX_SHAPES, ge=1, le=MAX_SHAPES, description="Shapes per scene: 1..max_shapes.")
    number_rate: float = Field(0.5, ge=0, le=1, description="Fraction of scenes with a drawn number.")
    eval_scenes: int = Field(128, ge=1, description="Held-out scenes for the accuracy report.")
    eval_every: int = Field(100, gt=0, description="Report held-out accuracy every this many steps.")
    seed: int = Field(0, description="Seed of the scene stream and the head/ViT initialisation.")
    bf16: bool = Field(True, description="bf16 autocast for the ViT (CPU and CUDA).")
    device: str = Field("cpu", description="Torch device ('cpu', 'cuda', 'cuda:1', ...).")


class DenseHeads(nn.Module):
    """One linear classifier per label kind on the ViT's connector features: (N, P, F) -> {head: (N, P, C)}."""

    def __init__(self, feature_dim: int, regressions: tuple[str, ...] = (), answer_digits: bool = False) -> None:
        super().__init__()
        self.heads = nn.ModuleDict({name: nn.Linear(feature_dim, len(classes)) for name, classes in HEADS.items()})
        # (x, y) in units of 10 % of the image, one linear map per regression target
        self.regressions = nn.ModuleDict({name: nn.Linear(feature_dim, 2) for name in regressions})
        # 4 digit positions (x tens, x units, y tens, y units) x 10 digits
        self.answer_digits = nn.Linear(feature_dim, 4 * 10) if answer_digits else None

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {name: head(features) for name, head in self.heads.items()}
        out.update({name: head(features) for name, head in self.regressions.items()})
        if self.answer_digits is not None:
            out[DIGITS] = self.answer_digits(features).unflatten(-1, (4, 10))  # (N, P, 4, 10)
        return out


#: regression keys in logits/labels: (N, P, 2) positions, each with ``KEY + "_valid"`` (N, P).
COORDS = "coords"    # the patch's own position
CENTRES = "centres"  # the answer point of the shape covering the patch
#: answer-digit key: (N, P, 4) digits of the centre (logits (N, P, 4, 10)), valid where ``centres_valid``.
DIGITS = "centre_digits"


def regression_weights(cfg: VitPretrainConfig) -> dict[str, float]:
    """The regression heads that are on, with their loss weights."""
    return {name: w for name, w in ((COORDS, cfg.coord_weight), (CENTRES, cfg.centre_weight)) if w > 0}


def scene_batch(
    seeds: list[str], preprocess: PreprocessConfig, cfg: VitPretrainConfig
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Draw, render and label one scene per seed string: crops ``(N, P, patch_dim)`` and labels
    ``{head: (N, P)}``, plus ``coords`` / ``centres`` ``(N, P, 2)`` with ``*_valid`` ``(N, P)`` for each
    regression head that is on, and ``centre_digits`` ``(N, P, 4)`` (with ``centres``) for the
    answer-digit head (N = total crops; every crop is an independent ViT input)."""
    digits = cfg.centre_digit_weight > 0
    dense = tuple(regression_weights(cfg))  # the point targets (the digits are read off the centres)
    if digits and CENTRES not in dense:
        dense += (CENTRES,)
    crops, labels = [], {name: [] for name in (*HEADS, *dense, *(k + "_valid" for k in dense), *((DIGITS,) * digits))}
    for s in seeds:
        rng = random.Random(s)
        scene = make_scene(rng, rng.randint(1, cfg.max_shapes), with_number=rng.random() < cfg.number_rate)
        crops.append(image_crops(np.asarray(render_scene(scene)), preprocess).crops)
        classes, centres = dense_targets(scene, preprocess, cfg.min_cover)
        for name, value in classes.items():
            labels[name].append(value)
        for name in dense:
            if name == COORDS:
                xy, valid = patch_positions(scene.width, scene.height, preprocess)
            else:
                xy, valid = centres
            labels[name].append(xy / 10.0)
            labels[name + "_valid"].append(valid)
        if digits:
            labels[DIGITS].append(answer_digits(centres[0]))
    x = torch.from_numpy(np.concatenate(crops))
    return x, {name: torch.from_numpy(np.concatenate(v)) for name, v in labels.items()}


class _Scenes(torch.utils.data.IterableDataset):
    """Endless training batches (scene ``i`` of a seed is the same in every run)."""

    def __init__(self, preprocess: PreprocessConfig, cfg: VitPretrainConfig) -> None:
        self.preprocess, self.cfg = preprocess, cfg

    def __iter__(self) -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        torch.set_num_threads(1)
        b = self.cfg.batch_size
        for step in range(self.cfg.steps):
            yield scene_batch([f"vit-pretrain/{self.cfg.seed}/{step * b + j}" for j in range(b)], self.preprocess, self.cfg)


def dense_loss(
    logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], cfg: VitPretrainConfig
) -> torch.Tensor:
    """Weighted mean over heads of the class-weighted patch cross-entropy."""
    total, norm = 0.0, 0.0
    for name, weight in regression_weights(cfg).items():
        valid = labels[name + "_valid"]
        if valid.any():  # a batch of empty scenes has no shape patches to regress
            err = nn.functional.smooth_l1_loss(logits[name].float()[valid], labels[name][valid])
            total, norm = total + weight * err, norm + weight
    if cfg.centre_digit_weight > 0:
        valid = labels[CENTRES + "_valid"]
        if valid.any():
            ce = nn.functional.cross_entropy(logits[DIGITS].float()[valid].reshape(-1, 10), labels[DIGITS][valid].reshape(-1))
            total, norm = total + cfg.centre_digit_weight * ce, norm + cfg.centre_digit_weight
    for name in HEADS:
        lg = logits[name]
        weight = torch.ones(lg.shape[-1], device=lg.device)
        weight[0] = cfg.none_weight
        ce = nn.functional.cross_entropy(lg.float().reshape(-1, lg.shape[-1]), labels[name].reshape(-1), weight=weight)
        head_weight = cfg.digit_weight if name == "digit" else 1.0
        total, norm = total + head_weight * ce, norm + head_weight
    return total / norm


@torch.no_grad()
def evaluate(
    vit: VisionTransformer, heads: DenseHeads, batch: tuple[torch.Tensor, dict[str, torch.Tensor]], cfg: VitPretrainConfig
) -> dict[str, float]:
    """Held-out loss; per head, accuracy over the patches an object covers (``<head>_acc``); and
    accuracy over the patches no object covers (``none_acc``: every head says "none")."""
    vit.eval()
    x, labels = batch
    with torch.autocast(torch.device(cfg.device).type, torch.bfloat16, enabled=cfg.bf16):
        logits = heads(vit(x.to(cfg.device), features=True))
    out = {"eval_loss": round(dense_loss(logits, {k: v.to(cfg.device) for k, v in labels.items()}, cfg).item(), 4)}
    empty = torch.ones_like(labels["kind"], dtype=torch.bool)
    correct_empty = torch.ones_like(empty)
    for name in regression_weights(cfg):
        valid = labels[name + "_valid"].to(logits[name].device)
        diff = (logits[name].float() - labels[name].to(valid.device)).abs()[valid]
        out[f"{name.rstrip('s')}_mae_pct"] = round(10.0 * diff.mean().item(), 3) if valid.any() else float("nan")
    if cfg.centre_digit_weight > 0:
        valid = labels[CENTRES + "_valid"].to(logits[DIGITS].device)
        hit = (logits[DIGITS].argmax(-1) == labels[DIGITS].to(valid.device))[valid]  # (n_valid, 4)
        for col, place in ((0, "tens"), (1, "units")):  # x and y together
            out[f"centre_{place}_acc"] = (round(hit[:, [col, col + 2]].float().mean().item(), 4)
                                          if valid.any() else float("nan"))
    for name in HEADS:
        lg = logits[name]
        y = labels[name].to(lg.device)
        pred = lg.argmax(-1)
        fg = y > 0
        empty &= ~fg.cpu()
        correct_empty &= (pred == 0).cpu()
        out[f"{name}_acc"] = round((pred[fg] == y[fg]).float().mean().item(), 4) if fg.any() else float("nan")
    out["none_acc"] = round(correct_empty[empty].float().mean().item(), 4)
    vit.train()
    return out


def pretrain_vit(
    vision: VisionConfig,
    preprocess: PreprocessConfig,
    cfg: VitPretrainConfig,
    out_dir: str | Path,
    log: Callable[[str], None] = print,
    workers: int = 1,
) -> dict[str, Any]:
    """Train a fresh ViT of ``vision`` on dense shapes labels; write it to ``out_dir``; return the report."""
    check_crops_match(preprocess, vision)
    torch.manual_seed(cfg.seed)
    vit = VisionTransformer(vision).to(cfg.device)
    vit.reset_parameters()
    heads = DenseHeads(vision.feature_dim, regressions=tuple(regression_weights(cfg)),
                       answer_digits=cfg.centre_digit_weight > 0).to(cfg.device)
    params = list(vit.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, eps=1e-8, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(_SCHEDULE, s, cfg.warmup_steps, cfg.steps))
    held_out = scene_batch([f"vit-pretrain/{cfg.seed}/eval/{i}" for i in range(cfg.eval_scenes)], preprocess, cfg)
    loader = torch.utils.data.DataLoader(
        _Scenes(preprocess, cfg), batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None
    )
    device_type = torch.device(cfg.device).type
    history: list[dict[str, Any]] = [{"step": 0, **evaluate(vit, heads, held_out, cfg)}]
    start = time.perf_counter()
    for step, (x, labels) in enumerate(loader, start=1):
        with torch.autocast(device_type, torch.bfloat16, enabled=cfg.bf16):
            logits = heads(vit(x.to(cfg.device), features=True))
        loss = dense_loss(logits, {k: v.to(cfg.device) for k, v in labels.items()}, cfg)
        if not torch.isfinite(loss):
            raise UserError(f"ViT pretraining: non-finite loss at step {step}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            row = {"step": step, "loss": round(loss.item(), 4), **evaluate(vit, heads, held_out, cfg),
                   "elapsed_s": round(time.perf_counter() - start, 1)}
            history.append(row)
            log(" ".join(f"{k}={v}" for k, v in row.items()))
    report = {"config": cfg.model_dump(mode="json"), "vision": vision.model_dump(mode="json"),
              "final": history[-1], "history": history}
    with AtomicDir(out_dir) as tmp:
        save_weights(((VIT_PREFIX + k, v.float()) for k, v in vit.state_dict().items()), tmp)
        write_json(tmp / "vit_pretrain.json", report)
    return report
