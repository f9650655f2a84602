"""Evaluation during training: the loss on held-out shards, and generative eval through the eval runner.

Both are collective: every rank calls them at the same step. The eval loss runs the (possibly
ZeRO-3 partitioned) engine on every rank in lockstep and reduces token-weighted sums. Generative
eval gathers the weights once into a plain model on rank 0 (parameter by parameter, so ZeRO-3 never
needs the whole model on other ranks), runs ``molmo.eval`` there in-process, and the other ranks wait.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import torch

from molmo.config.data import DataConfig, DataSource
from molmo.train import engine as eng

log = logging.getLogger("molmo.train")


def eval_loss(trainer: Any) -> dict[str, float]:
    """Token-mean cross-entropy over ``eval.max_batches`` micro-batches of ``eval.loss_sources``."""
    from molmo.train.data import BatchStream

    cfg = trainer.recipe.eval
    data = DataConfig(sources=[DataSource(name="eval", paths=list(cfg.loss_sources))], seed=0, shuffle_buffer=0,
                      shuffle_shards=False, workers=0)
    stream = BatchStream(data, trainer.data.transform, trainer.recipe.engine.micro_batch_size,
                         trainer.rank, trainer.world, workers=0)
    totals = torch.zeros(2, dtype=torch.float64)
    trainer.engine.train(False)
    try:
        for _ in range(cfg.max_batches):
            item = stream.next_batch()
            if eng.all_reduce_sum(0.0 if item is not None else 1.0) > 0:  # every rank must still have a batch
                break
            batch = item[0].to(trainer.dist.device)
            with torch.no_grad(), torch.autocast(trainer.dist.device.type, dtype=torch.bfloat16,
                                                 enabled=trainer.autocast):
                out = trainer.engine(**batch.model_inputs(), loss_divisor=1.0)
            totals += torch.tensor([float(out.ce_loss), float(out.n_loss_tokens)], dtype=torch.float64)
    finally:
        stream.close()
        trainer.engine.train(True)
    ce, n = eng.all_reduce_sum(totals).tolist()
    return {"eval/loss": ce / n if n else float("nan"), "eval/loss_tokens": n}


def _snapshot(trainer: Any) -> dict[str, torch.Tensor] | None:
    """Full fp32 weights on rank 0 (None elsewhere); a collective under ZeRO-3."""
    state = {}
    for name, p in trainer.engine.module.named_parameters():
        with eng.gathered_parameters([p], modifier_rank=None):
            if trainer.dist.is_main:
                state[name] = p.detach().to("cpu", torch.float32, copy=True)
    return state if trainer.dist.is_main else None


def generative_eval(trainer: Any, step: int) -> dict[str, float]:
    """Run ``eval.tasks`` with the current weights; returns ``eval/<task>/<metric>`` values (rank 0)."""
    from molmo.checkpoint import load_state_into
    from molmo.eval.runner import run_inference
    from molmo.eval.suite import plan_eval
    from molmo.models.molmo import Molmo

    cfg = trainer.recipe.eval
    state = _snapshot(trainer)
    values: dict[str, float] = {}
    if trainer.dist.is_main:
        with torch.device("meta"):
            model = Molmo(trainer.plan.model_config)
        load_state_into(model, state.items(), device=trainer.dist.device, source=f"step {step}")
        model.eval()
        model.tokenizer = trainer.plan.tokenizer
        model.preprocess_config = trainer.plan.preprocess
        out_dir = trainer.plan.run_dir / "eval" / f"step-{step:08d}"
        plan = plan_eval(tasks=cfg.tasks, model=str(trainer.plan.run_dir), data=cfg.data,
                         output=str(out_dir), limit=cfg.limit, device=trainer.dist.device.type)
        plan = dataclasses.replace(plan, model=f"{trainer.plan.run_dir}@step{step}")  # in-memory weights
        outcome = run_inference(plan, model_obj=model, distributed=False)
        for row in outcome.results:
            for metric, value in row.metrics.items():
                values[f"eval/{row.task}/{metric}"] = float(value)
        log.info("step %d generative eval: %s", step, " ".join(f"{k}={v:.4f}" for k, v in values.items()))
    if trainer.world > 1:
        torch.distributed.barrier()
    return values
