"""Learning-rate schedules: linear warm-up, then cosine / linear decay or constant.

Each parameter group (ViT, connector, LLM) has its own peak LR and warm-up length but shares the
schedule shape and horizon (Molmo's "multimodal" scheduler, molmo-facts §8.2):

    factor(step) = step / warmup                                   if step < warmup
                 = alpha_f + (1 - alpha_f) * (1 + cos(pi * p)) / 2 cosine,  p = (step - warmup) / (total - warmup)
                 = 1 - (1 - alpha_f) * p                            linear
                 = 1                                               constant

``step`` counts optimiser steps already taken (the LR used for step ``s`` is ``factor(s)``).
"""

from __future__ import annotations

import math

from molmo.config.train import ConstantSchedule, CosineSchedule, LinearSchedule, ScheduleKind


def lr_factor(shape: ScheduleKind, step: int, warmup: int, total: int) -> float:
    """Multiplier of the peak LR at optimiser step ``step`` (0-based) of a ``total``-step run."""
    if warmup > 0 and step < warmup:
        return step / warmup
    if isinstance(shape, ConstantSchedule):
        return 1.0
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    if isinstance(shape, CosineSchedule):
        return shape.alpha_f + (1.0 - shape.alpha_f) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if isinstance(shape, LinearSchedule):
        return 1.0 - (1.0 - shape.alpha_f) * progress
    raise TypeError(f"unknown schedule shape {type(shape).__name__}")


def set_group_lrs(param_groups: list[dict], shape: ScheduleKind, step: int, total: int) -> dict[str, float]:
    """Set ``lr`` of every group from its ``peak_lr``/``warmup`` entries; returns component -> lr."""
    lrs: dict[str, float] = {}
    for group in param_groups:
        lr = group["peak_lr"] * lr_factor(shape, step, group["warmup"], total)
        group["lr"] = lr
        lrs[group["component"]] = lr
    return lrs
