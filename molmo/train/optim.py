"""Parameter groups per model component, freezing, and the optimisers (AdamW, Lion).

Components follow Molmo's split (molmo-facts §8.2), by parameter name:

- ``vit``: ``vision_backbone.image_vit.*``
- ``connector``: the rest of ``vision_backbone.*`` (pooling, projector, pad_embed) and
  ``transformer.wte.new_embedding``
- ``llm``: everything else. ``transformer.wte.embedding`` is frozen when ``freeze_embedding``.

Each component becomes up to two optimiser groups (with and without weight decay); norms, biases
and embeddings are never decayed. Groups carry ``component``, ``peak_lr`` and ``warmup`` so the
schedule can set per-component LRs.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from molmo.config.train import COMPONENTS, AdamW, Lion, OptimConfig

FROZEN_EMBEDDING = "transformer.wte.embedding"


def component_of(name: str) -> str:
    """The component (``vit`` / ``connector`` / ``llm``) a parameter name belongs to."""
    if name.startswith("vision_backbone.image_vit."):
        return "vit"
    if name.startswith("vision_backbone.") or name == "transformer.wte.new_embedding":
        return "connector"
    return "llm"


def _no_decay(name: str, param: nn.Parameter) -> bool:
    return param.ndim < 2 or "embed" in name or "norm" in name


def apply_freezing(model: nn.Module, cfg: OptimConfig) -> dict[str, int]:
    """Set ``requires_grad`` from the config; returns trainable parameter counts per component."""
    counts = dict.fromkeys(COMPONENTS, 0)
    for name, param in model.named_parameters():
        comp = component_of(name)
        frozen = getattr(cfg, comp).frozen or (cfg.freeze_embedding and name == FROZEN_EMBEDDING)
        param.requires_grad_(not frozen)
        if not frozen:
            counts[comp] += _numel(param)
    return counts


def _numel(param: nn.Parameter) -> int:
    # ZeRO-3 partitions parameters; ds_numel keeps the full size.
    return int(getattr(param, "ds_numel", param.numel()))


def param_groups(model: nn.Module, cfg: OptimConfig) -> list[dict]:
    """Optimiser parameter groups (trainable params only), two per component at most."""
    buckets: dict[tuple[str, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            buckets.setdefault((component_of(name), _no_decay(name, param)), []).append(param)
    groups = []
    for (comp, no_decay), params in sorted(buckets.items()):
        comp_cfg = getattr(cfg, comp)
        groups.append(
            {
                "params": params,
                "component": comp,
                "name": f"{comp}{'.no_decay' if no_decay else ''}",
                "lr": comp_cfg.lr,
                "peak_lr": comp_cfg.lr,
                "warmup": comp_cfg.warmup_steps,
                "weight_decay": 0.0 if no_decay else comp_cfg.weight_decay,
            }
        )
    return groups


class LionOptimizer(torch.optim.Optimizer):
    """Lion (Chen et al., 2023): update = sign(beta1*m + (1-beta1)*g); m = beta2*m + (1-beta2)*g.

    Decoupled weight decay: p -= lr * wd * p before the update.
    """

    def __init__(self, params: Iterable, lr: float = 1e-4, betas=(0.9, 0.99), weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                update = m.mul(beta1).add_(p.grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-group["lr"])
                m.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss


def build_optimizer(groups: list[dict], cfg: OptimConfig) -> torch.optim.Optimizer:
    """A torch optimiser over ``groups`` (DeepSpeed wraps it; no JIT-compiled fused ops needed)."""
    kind = cfg.optimizer
    if isinstance(kind, AdamW):
        return torch.optim.AdamW(groups, betas=kind.betas, eps=kind.eps)
    if isinstance(kind, Lion):
        return LionOptimizer(groups, betas=kind.betas)
    raise TypeError(f"unknown optimizer {type(kind).__name__}")
