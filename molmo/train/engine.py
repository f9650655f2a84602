"""The DeepSpeed engine: the only module that imports ``deepspeed``.

- ``setup_distributed`` joins (or, without a launcher, creates) the process group: gloo on CPU,
  nccl on CUDA. A plain ``molmo train`` is a 1-process group on a free local port; under
  ``torchrun`` / the ``deepspeed`` launcher the usual ``RANK``/``WORLD_SIZE``/``MASTER_*`` apply.
- ``deepspeed_config`` turns the recipe's engine/optim sections into a DeepSpeed config. Precision
  ``bf16`` means fp32 master weights and fp32 gradients with bf16 autocast compute (Molmo's
  ``amp_bf16``); the loop owns the autocast, DeepSpeed sees an fp32 model.
- ``Engine`` wraps ``deepspeed.initialize`` and adds per-component gradient clipping, checkpoint
  save/load into a given directory, ZeRO-3 construction/gather contexts and consolidation.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import deepspeed
import torch
import torch.distributed as dist
from deepspeed.utils import safe_get_full_grad, safe_get_local_grad, safe_set_full_grad, safe_set_local_grad

from molmo.config.train import EngineConfig, OptimConfig

log = logging.getLogger("molmo.train.engine")


def _deepspeed_logs_to_stderr() -> None:
    """DeepSpeed logs to stdout; move its handlers to stderr so stdout carries only results (--json)."""
    import sys

    from deepspeed.utils import logger as ds_logger

    for handler in ds_logger.handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


_deepspeed_logs_to_stderr()


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_OWN_GROUP = False  # True when we created a private 1-process group (no launcher)


def setup_distributed(backend: str = "auto") -> DistInfo:
    """Initialise torch.distributed through DeepSpeed (idempotent)."""
    global _OWN_GROUP
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
        if not dist.is_initialized():
            _OWN_GROUP = True
            atexit.register(_destroy)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if backend == "auto":
        backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        deepspeed.init_distributed(dist_backend=backend)
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, device)


def _destroy() -> None:
    if dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()


def teardown() -> None:
    """Barrier then destroy the process group (avoids exit-time aborts of multi-process runs).

    A private 1-process group (plain ``molmo train``, or training called from Python) is kept for
    the rest of the process and destroyed at exit: DeepSpeed caches process-group handles, so a
    second run in the same interpreter must reuse the group.
    """
    if not _OWN_GROUP:
        _destroy()


def all_reduce_sum(value: float | torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    """Sum a scalar or tensor over all ranks (returns a float64 tensor for scalars)."""
    t = value if isinstance(value, torch.Tensor) else torch.tensor(float(value), dtype=torch.float64)
    if device is not None:
        t = t.to(device)
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def deepspeed_config(engine: EngineConfig, optim: OptimConfig, world_size: int) -> dict[str, Any]:
    """The DeepSpeed JSON config for this recipe."""
    zero: dict[str, Any] = {"stage": engine.zero_stage}
    if engine.offload_optimizer and engine.zero_stage > 0:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": torch.cuda.is_available()}
    if engine.offload_params and engine.zero_stage == 3:
        zero["offload_param"] = {"device": "cpu", "pin_memory": torch.cuda.is_available()}
    if engine.zero_stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = False
    return {
        "train_micro_batch_size_per_gpu": engine.micro_batch_size,
        "gradient_accumulation_steps": engine.grad_accum,
        "train_batch_size": engine.micro_batch_size * engine.grad_accum * world_size,
        "gradient_clipping": optim.grad_clip if optim.clip_mode == "global" else 0.0,
        "zero_optimization": zero,
        "steps_per_print": 2**31 - 1,
        "wall_clock_breakdown": False,
        "zero_allow_untested_optimizer": True,
    }


class Engine:
    """A DeepSpeed engine plus the operations the training loop needs."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: dict[str, Any]):
        self.config = config
        self.zero_stage = int(config["zero_optimization"]["stage"])
        self.ds, self.optimizer, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)

    @property
    def module(self) -> torch.nn.Module:
        return self.ds.module

    @property
    def param_groups(self) -> list[dict]:
        """The optimiser's groups (DeepSpeed keeps our ``component``/``peak_lr`` entries)."""
        return self.optimizer.param_groups

    def __call__(self, *args, **kwargs):
        return self.ds(*args, **kwargs)

    def train(self, mode: bool = True) -> None:
        self.ds.train(mode)

    def backward(self, loss: torch.Tensor) -> None:
        self.ds.backward(loss)

    def is_boundary(self) -> bool:
        """True when the next ``step`` applies the optimiser (end of gradient accumulation)."""
        return bool(self.ds.is_gradient_accumulation_boundary())

    def step(self) -> None:
        self.ds.step()

    # -- gradient norms and clipping ---------------------------------------------------------

    def _grad(self, p: torch.nn.Parameter) -> torch.Tensor | None:
        if self.zero_stage == 3:
            return safe_get_local_grad(p)
        if self.zero_stage == 0:
            return p.grad
        return safe_get_full_grad(p)

    def _set_grad(self, p: torch.nn.Parameter, g: torch.Tensor) -> None:
        if self.zero_stage == 3:
            safe_set_local_grad(p, g)
        elif self.zero_stage == 0:
            p.grad.copy_(g)
        else:
            safe_set_full_grad(p, g)

    def grad_norms(self, groups: dict[str, list[torch.nn.Parameter]]) -> dict[str, float]:
        """L2 norm of the (averaged) gradient of each named parameter set; call before ``step``."""
        device = next(self.module.parameters()).device
        sq = torch.zeros(len(groups), dtype=torch.float64, device=device)
        for i, params in enumerate(groups.values()):
            for p in params:
                g = self._grad(p)
                if g is not None:
                    sq[i] += g.detach().double().pow(2).sum()
        if self.zero_stage == 3:  # local partitions are disjoint: sum the squares over ranks
            sq = all_reduce_sum(sq)
        return {name: math.sqrt(float(v)) for name, v in zip(groups, sq.tolist())}

    def clip_(self, groups: dict[str, list[torch.nn.Parameter]], max_norms: dict[str, float]) -> dict[str, float]:
        """Scale each set's gradient to at most its max norm; returns the norms before clipping."""
        norms = self.grad_norms(groups)
        for name, params in groups.items():
            limit = max_norms.get(name)
            if limit is None or not math.isfinite(norms[name]) or norms[name] <= limit:
                continue
            coef = limit / (norms[name] + 1e-6)
            for p in params:
                g = self._grad(p)
                if g is not None:
                    self._set_grad(p, g * coef)
        return norms

    # -- checkpoints ---------------------------------------------------------------------------

    def save(self, root: Path, tag: str) -> None:
        """Write engine state (weights, optimiser, ZeRO partitions) to ``root/tag`` on every rank."""
        self.ds.save_checkpoint(str(root), tag=tag, save_latest=False)

    def load(self, root: Path, tag: str) -> None:
        """Restore engine state written by ``save`` (same world size)."""
        path, _ = self.ds.load_checkpoint(str(root), tag=tag, load_module_strict=True)
        if path is None:
            raise FileNotFoundError(f"no DeepSpeed checkpoint in {root / tag}")


def zero_init_context(config: dict[str, Any]):
    """Build a model inside this context to partition its parameters at construction (ZeRO-3)."""
    if int(config["zero_optimization"]["stage"]) == 3:
        return deepspeed.zero.Init(config_dict_or_path=config)
    return contextlib.nullcontext()


def gathered_parameters(params: list[torch.nn.Parameter], modifier_rank: int | None = 0):
    """Gather ZeRO-3 partitioned parameters (write on ``modifier_rank`` to load weights)."""
    params = [p for p in params if hasattr(p, "ds_id")]
    if not params:
        return contextlib.nullcontext()
    return deepspeed.zero.GatheredParameters(params, modifier_rank=modifier_rank)


def consolidate(root: Path, tag: str) -> dict[str, torch.Tensor]:
    """fp32 full state dict from the ZeRO shards of ``root/tag`` (any stage; CPU memory)."""
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    return get_fp32_state_dict_from_zero_checkpoint(str(root), tag=tag)
