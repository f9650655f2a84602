"""``molmo train``: the training loop.

One optimiser step =
    for each of grad_accum micro-batches:  forward (bf16 autocast) → loss / divisor → backward
    agree across ranks whether loss and gradients are finite (skip or abort otherwise)
    clip gradients (per component, Molmo's default, or globally) → set per-group LRs → step

The loss of a step is the global token mean: Σ CE over every loss token of the global batch divided
by that batch's loss-token count (molmo-facts §8.1). DeepSpeed averages gradients over ranks and
micro-batches, so each micro-batch divides its summed loss by ``global_tokens / (world · accum)``.

Checkpoints every N steps and at the end; SIGTERM/SIGUSR1 → save and exit ``EXIT_PREEMPTED``.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
import torch

from molmo.config.recipe import TrainRecipe
from molmo.errors import MolmoError
from molmo.train import engine as eng
from molmo.train.checkpoint import (
    checkpoint_meta,
    load_trainer_state,
    resolve_resume,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from molmo.train.console import TrainConsole
from molmo.train.data import BatchStream, SampleTransform
from molmo.train.flops import measure_peak_flops, train_flops
from molmo.train.metrics_log import MetricsWriter, format_line
from molmo.train.optim import apply_freezing, build_optimizer, component_of, param_groups
from molmo.train.preemption import EXIT_PREEMPTED, PreemptionFlag
from molmo.train.schedule import set_group_lrs
from molmo.train.setup import TrainPlan, build_model, plan, total_steps

log = logging.getLogger("molmo.train")


@dataclass
class TrainResult:
    """What a finished (or preempted) run reports."""

    run_dir: str
    step: int
    tokens: int
    losses: list[float]
    exit_code: int
    final_checkpoint: str | None
    native_checkpoint: str | None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _write_run_files(p: TrainPlan, world_size: int) -> None:
    p.run_dir.mkdir(parents=True, exist_ok=True)
    (p.run_dir / "recipe.toml").write_text(tomli_w.dumps(p.recipe.model_dump(mode="json", exclude_none=True)))
    env = {
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
        "cuda": torch.version.cuda, "world_size": world_size, "threads": torch.get_num_threads(),
    }
    (p.run_dir / "env.json").write_text(json.dumps(env, indent=2))


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Trainer:
    """Holds the engine, data stream and counters of one run."""

    def __init__(self, recipe: TrainRecipe, output: str | Path | None = None, resume: str = "auto"):
        self.recipe = recipe
        self.plan = plan(recipe, output)  # all user errors surface here, before DeepSpeed starts
        self.dist = eng.setup_distributed(recipe.engine.backend)
        self.rank, self.world = self.dist.rank, self.dist.world_size
        torch.manual_seed(recipe.seed)
        if self.dist.is_main:
            _write_run_files(self.plan, self.world)
        r = recipe
        self.ds_config = eng.deepspeed_config(r.engine, r.optim, self.world)
        model = build_model(self.plan, r.seed, eng.zero_init_context(self.ds_config), eng.gathered_parameters, self.rank)
        model.transformer.activation_checkpointing = r.engine.activation_checkpointing in ("llm_blocks", "all_blocks")
        if r.engine.activation_checkpointing in ("vit_blocks", "all_blocks"):
            model.vision_backbone.image_vit.activation_checkpointing = True
        self.trainable = apply_freezing(model, r.optim)
        self.param_counts = {c: 0 for c in ("vit", "connector", "llm")}
        for name, p in model.named_parameters():
            self.param_counts[component_of(name)] += int(getattr(p, "ds_numel", p.numel()))
        self.engine = eng.Engine(model, build_optimizer(param_groups(model, r.optim), r.optim), self.ds_config)
        self.components = self._component_params()
        transform = SampleTransform(self.plan.preprocess, self.plan.tokenizer_path, r.data.seed, r.data.split_turns)
        self.data = BatchStream(r.data, transform, r.engine.micro_batch_size, self.rank, self.world)
        self.total_steps = total_steps(r, self.data.dataset_size, self.world)
        self.ckpt_root = self.plan.run_dir / "checkpoints"
        self.step, self.tokens, self.nan_steps = 0, 0, 0
        self.tokens_step = 0  # attended positions of the last train_step (real tokens, not padding)
        self._data_wait = 0.0  # seconds spent waiting on the data stream since the last log line
        self._resume(resume)
        self.autocast = r.engine.precision == "bf16"

    # ------------------------------------------------------------------ set-up helpers
    def _component_params(self) -> dict[str, list[torch.nn.Parameter]]:
        out: dict[str, list[torch.nn.Parameter]] = {}
        for name, p in self.engine.module.named_parameters():
            if p.requires_grad:
                out.setdefault(component_of(name), []).append(p)
        return out

    def _resume(self, resume: str) -> None:
        ref = resolve_resume(resume, self.ckpt_root)
        if ref is None:
            return
        self.engine.load(ref.root, ref.tag)
        state = load_trainer_state(ref, self.rank)
        self.data.load_state_dict(json.loads(state["loader"]))
        set_rng_state(state["rng"])
        self.step, self.tokens = int(state["step"]), int(state["tokens"])
        self.nan_steps = int(state.get("nan_steps", 0))
        if self.dist.is_main:
            log.info("resumed from %s (step %d, %s)", ref.path, self.step, checkpoint_meta(ref).get("reason", ""))

    def save(self, reason: str) -> Path:
        state = {
            "loader": json.dumps(self.data.state_dict()), "rng": rng_state(), "step": self.step,
            "tokens": self.tokens, "nan_steps": self.nan_steps,
        }
        meta = {"tokens": self.tokens, "world_size": self.world, "reason": reason}
        ref = save_checkpoint(self.engine, self.ckpt_root, self.step, state, meta, self.rank,
                              self.recipe.checkpoint.keep_last, write_model_files=self._write_model_files)
        return ref.path

    def _write_model_files(self, directory: Path) -> None:
        """What ``molmo convert zero`` needs besides the shards: model config, preprocessing, tokenizer."""
        from molmo.train.export import write_model_files

        write_model_files(directory, self.plan.model_config, self.plan.preprocess, self.plan.tokenizer)

    # ------------------------------------------------------------------ one step
    def _micro_batches(self):
        batches = []
        for _ in range(self.recipe.engine.grad_accum):
            t0 = time.perf_counter()
            item = self.data.next_batch()
            self._data_wait += time.perf_counter() - t0
            if item is None:
                return None
            batches.append(item[0].to(self.dist.device))
        return batches

    def train_step(self) -> dict[str, float] | None:
        """Run one optimiser step; returns its metrics, or None when the data ran out."""
        self.tokens_step = 0
        batches = self._micro_batches()
        local = sum(float(b.loss_mask.sum()) for b in batches) if batches is not None else 0.0
        agreed = eng.all_reduce_sum(torch.tensor([0.0 if batches is not None else 1.0, local], dtype=torch.float64))
        if agreed[0] > 0:
            return None
        global_tokens = float(agreed[1])
        divisor = max(global_tokens, 1.0) / (self.world * len(batches))
        r = self.recipe
        loss_sum = torch.zeros(3, dtype=torch.float64)  # ce, z, finite flag
        self.engine.train()
        for batch in batches:
            with torch.autocast(self.dist.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                out = self.engine(**batch.model_inputs(), z_loss_weight=r.optim.z_loss, loss_divisor=divisor)
            self.engine.backward(out.loss)
            loss_sum[0] += float(out.ce_loss.detach()) * divisor
            loss_sum[1] += float(out.z_loss.detach()) * divisor
            self.tokens_step += int(batch.attention_mask.sum())
        loss_sum[2] = 0.0 if math.isfinite(float(loss_sum[0] + loss_sum[1])) else 1.0
        totals = eng.all_reduce_sum(loss_sum)
        limits = self._clip_limits()
        norms = self.engine.clip_(self.components, limits) if limits else self.engine.grad_norms(self.components)
        finite = totals[2] == 0 and all(math.isfinite(v) for v in norms.values())
        lrs = set_group_lrs(self.engine.param_groups, r.schedule.shape, self.step, self.total_steps or 1)
        if not finite:
            self._handle_nonfinite()
        self.engine.step()
        self.step += 1
        metrics = {
            "loss": float(totals[0] + totals[1]) / max(global_tokens, 1.0),
            "ce_loss": float(totals[0]) / max(global_tokens, 1.0),
            "z_loss": float(totals[1]) / max(global_tokens, 1.0),
            "loss_tokens": global_tokens,
            "skipped": 0.0 if finite else 1.0,
        }
        metrics.update({f"lr/{k}": v for k, v in lrs.items()})
        metrics.update({f"grad_norm/{k}": v for k, v in norms.items()})
        return metrics

    def _clip_limits(self) -> dict[str, float]:
        o = self.recipe.optim
        if o.clip_mode == "per_component":
            return {c: (getattr(o, c).grad_clip or o.grad_clip) for c in self.components}
        return {}

    def _handle_nonfinite(self) -> None:
        """Skip: zero the LRs for this step so weights stay unchanged (Adam moments decay one step)."""
        self.nan_steps += 1
        policy = self.recipe.engine
        if policy.nan_policy == "abort" or self.nan_steps > policy.max_nan_steps:
            raise MolmoError(f"non-finite loss or gradient at step {self.step + 1} "
                             f"({self.nan_steps} non-finite step(s); nan_policy={policy.nan_policy})")
        for group in self.engine.param_groups:
            group["lr"] = 0.0
        log.warning("non-finite loss/gradient at step %d: step skipped (%d so far)", self.step + 1, self.nan_steps)

    # ------------------------------------------------------------------ the run
    def _done(self) -> bool:
        s = self.recipe.schedule
        if self.total_steps is not None and self.step >= self.total_steps:
            return True
        if s.max_tokens is not None and self.tokens >= s.max_tokens:
            return True
        return s.max_epochs is not None and self.data.epoch >= s.max_epochs

    def run(self) -> TrainResult:
        r, main = self.recipe, self.dist.is_main
        writer = MetricsWriter(self.plan.run_dir, r.logging.tensorboard, enabled=main)
        console = TrainConsole(self.total_steps, self.step, enabled=main)
        peak = r.logging.peak_flops or measure_peak_flops(
            self.dist.device, torch.bfloat16 if self.autocast else torch.float32)
        losses: list[float] = []
        exit_code, last_ckpt = 0, None
        window: list[dict[str, float]] = []
        t_window, tokens_window = time.perf_counter(), 0
        try:
            with PreemptionFlag() as flag:
                while not self._done():
                    metrics = self.train_step()
                    if metrics is None:
                        console.message("data exhausted")
                        break
                    tokens = int(eng.all_reduce_sum(float(self.tokens_step)))
                    self.tokens += tokens
                    tokens_window += tokens
                    losses.append(metrics["loss"])
                    window.append(metrics)
                    if self.step % r.logging.interval == 0 or self._done():
                        values = self._interval_values(window, tokens_window, time.perf_counter() - t_window, peak)
                        writer.write(self.step, values)
                        console.update(self.step, values)
                        window, t_window, tokens_window, self._data_wait = [], time.perf_counter(), 0, 0.0
                    if r.eval.every_n_steps and (self.step % r.eval.every_n_steps == 0 or self._done()):
                        values = self.evaluate()
                        writer.write(self.step, values)
                        console.message(format_line(self.step, self.total_steps, values))
                    every = r.checkpoint.every_n_steps
                    if every and self.step % every == 0 and not self._done():
                        last_ckpt = self.save("interval")
                    preempted = eng.all_reduce_sum(1.0 if flag.requested is not None else 0.0) > 0
                    if preempted:
                        last_ckpt = self.save("preempted")
                        console.message(f"preempted ({flag.name or 'signal on another rank'}): saved {last_ckpt}; "
                                        f"rerun with --resume auto (exit {EXIT_PREEMPTED})")
                        exit_code = EXIT_PREEMPTED
                        break
            native = None
            if exit_code == 0 and r.checkpoint.save_final:
                last_ckpt = self.save("final")
                if r.checkpoint.export_native:
                    native = self.export_native(last_ckpt)
        finally:
            console.close()
            writer.close()
            self.data.close()
        return TrainResult(str(self.plan.run_dir), self.step, self.tokens, losses, exit_code,
                           str(last_ckpt) if last_ckpt else None, native)

    def evaluate(self) -> dict[str, float]:
        """Held-out loss and generative eval tasks of the recipe (collective; values on rank 0)."""
        from molmo.train.evaluation import eval_loss, generative_eval

        values: dict[str, float] = {}
        if self.recipe.eval.loss_sources:
            values.update(eval_loss(self))
        if self.recipe.eval.tasks:
            values.update(generative_eval(self, self.step))
        return values

    def _interval_values(self, window, tokens, seconds, peak) -> dict[str, float]:
        n = len(window)
        values = {k: sum(m[k] for m in window) / n for k in window[-1] if not k.startswith(("lr/", "loss_tokens"))}
        values.update({k: v for k, v in window[-1].items() if k.startswith("lr/")})
        samples = n * self.recipe.engine.micro_batch_size * self.recipe.engine.grad_accum * self.world
        pre = self.plan.preprocess
        vit_patches = samples * pre.patches_per_crop * (pre.max_crops + 1)  # upper bound: all crops used
        flops = train_flops(self.param_counts["llm"], tokens, self.param_counts["vit"], vit_patches,
                            self.trainable["vit"] > 0)
        values.update({
            "tokens_per_s": tokens / max(seconds, 1e-9),
            "samples_per_s": samples / max(seconds, 1e-9),
            "mfu": flops / max(seconds, 1e-9) / (peak * self.world),
            "data_wait": min(1.0, self._data_wait / max(seconds, 1e-9)),
            "peak_mem_mb": _peak_memory_mb(self.dist.device),
            "epoch": self.data.epoch,
        })
        return values

    def export_native(self, ckpt: Path) -> str | None:
        """Consolidate the ZeRO checkpoint into ``run_dir/final`` (native format) on rank 0."""
        from molmo.train.export import export_native

        out = None
        if self.dist.is_main:
            out = str(export_native(ckpt, self.plan.run_dir / "final"))
        if self.world > 1:
            torch.distributed.barrier()
        return out


def train(recipe: TrainRecipe, output: str | Path | None = None, resume: str = "auto") -> TrainResult:
    """Run (or resume) training; always tears the process group down."""
    try:
        return Trainer(recipe, output, resume).run()
    finally:
        eng.teardown()
