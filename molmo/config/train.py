"""Training-recipe sections: optimiser, schedule, engine, checkpointing, logging, in-loop eval.

Defaults follow Molmo's stage-2 fine-tuning settings (molmo-facts §8.2) where one exists.
Variants (optimiser kind, schedule kind) are pydantic discriminated unions on ``kind``.
This module must import without torch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from molmo.config.base import StrictModel

COMPONENTS = ("vit", "connector", "llm")


# ----------------------------------------------------------------------------------------------
# Optimiser
# ----------------------------------------------------------------------------------------------


class ComponentOptim(StrictModel):
    """Optimisation settings of one model component (ViT, connector or LLM)."""

    lr: float = Field(1e-5, ge=0, description="Peak learning rate of this component.")
    warmup_steps: int = Field(200, ge=0, description="Linear warm-up steps from 0 to the peak LR.")
    weight_decay: float = Field(0.0, ge=0, description="Decoupled weight decay (norms/embeddings are never decayed).")
    frozen: bool = Field(False, description="Freeze the component: no gradients, no optimiser state.")
    grad_clip: float | None = Field(
        None, gt=0, description="Max grad norm for this component when optim.clip_mode = 'per_component'."
    )


class AdamW(StrictModel):
    """AdamW (decoupled weight decay). Molmo: betas (0.9, 0.95), eps 1e-6."""

    kind: Literal["adamw"] = Field("adamw", description="Optimiser kind.")
    betas: tuple[float, float] = Field((0.9, 0.95), description="Adam beta1, beta2.")
    eps: float = Field(1e-6, gt=0, description="Adam epsilon.")


class Lion(StrictModel):
    """Lion (sign-momentum) optimiser; use ~3-10x smaller LRs than AdamW."""

    kind: Literal["lion"] = Field("lion", description="Optimiser kind.")
    betas: tuple[float, float] = Field((0.9, 0.99), description="Lion beta1, beta2.")


OptimizerKind = Annotated[AdamW | Lion, Field(discriminator="kind")]


class OptimConfig(StrictModel):
    """Optimiser, per-component parameter groups and gradient clipping."""

    optimizer: OptimizerKind = Field(default_factory=AdamW, description="Optimiser and its hyper-parameters.")
    vit: ComponentOptim = Field(
        default_factory=lambda: ComponentOptim(lr=5e-6), description="Vision encoder parameter group."
    )
    connector: ComponentOptim = Field(
        default_factory=lambda: ComponentOptim(lr=5e-6),
        description="Connector group (pooling, projector, pad_embed, new_embedding).",
    )
    llm: ComponentOptim = Field(default_factory=lambda: ComponentOptim(lr=1e-5), description="LLM parameter group.")
    freeze_embedding: bool = Field(
        True, description="Freeze the LLM's original input embedding table (Molmo's ft_embedding='lm_head')."
    )
    clip_mode: Literal["global", "per_component", "none"] = Field(
        "per_component", description="Clip one global grad norm, each component separately (Molmo), or not at all."
    )
    grad_clip: float = Field(1.0, gt=0, description="Max grad norm (global, or default per component).")
    z_loss: float = Field(
        0.0, ge=0, description="z-loss coefficient: adds z_loss·logsumexp(logits)² per loss token (Molmo: 1e-4)."
    )


# ----------------------------------------------------------------------------------------------
# Schedule and run length
# ----------------------------------------------------------------------------------------------


class CosineSchedule(StrictModel):
    """Linear warm-up, then cosine decay to ``alpha_f`` x peak at the last step (Molmo: 0.1)."""

    kind: Literal["cosine"] = Field("cosine", description="Schedule kind.")
    alpha_f: float = Field(0.1, ge=0, le=1, description="Final LR as a fraction of the peak.")


class LinearSchedule(StrictModel):
    """Linear warm-up, then linear decay to ``alpha_f`` x peak at the last step."""

    kind: Literal["linear"] = Field("linear", description="Schedule kind.")
    alpha_f: float = Field(0.0, ge=0, le=1, description="Final LR as a fraction of the peak.")


class ConstantSchedule(StrictModel):
    """Linear warm-up, then a constant LR."""

    kind: Literal["constant"] = Field("constant", description="Schedule kind.")


ScheduleKind = Annotated[CosineSchedule | LinearSchedule | ConstantSchedule, Field(discriminator="kind")]


class ScheduleConfig(StrictModel):
    """LR schedule shape and how long the run lasts (the first limit reached stops training)."""

    shape: ScheduleKind = Field(default_factory=CosineSchedule, description="Shape after warm-up.")
    max_steps: int | None = Field(None, gt=0, description="Stop after this many optimiser steps.")
    max_epochs: float | None = Field(None, gt=0, description="Stop after this many passes over the data.")
    max_tokens: int | None = Field(None, gt=0, description="Stop after this many (non-padding) input tokens.")

    @model_validator(mode="after")
    def _has_limit(self) -> ScheduleConfig:
        if self.max_steps is None and self.max_epochs is None and self.max_tokens is None:
            raise ValueError("set at least one of max_steps, max_epochs, max_tokens")
        return self


# ----------------------------------------------------------------------------------------------
# Engine (DeepSpeed)
# ----------------------------------------------------------------------------------------------


class EngineConfig(StrictModel):
    """Distributed engine settings; turned into a DeepSpeed config by molmo.train.engine."""

    zero_stage: Literal[0, 1, 2, 3] = Field(3, description="DeepSpeed ZeRO stage.")
    precision: Literal["bf16", "fp32"] = Field(
        "bf16", description="bf16 = fp32 master weights with bf16 autocast compute; fp32 = full precision."
    )
    micro_batch_size: int = Field(1, ge=1, description="Samples per rank per forward/backward.")
    grad_accum: int = Field(1, ge=1, description="Micro-batches accumulated per optimiser step.")
    offload_optimizer: bool = Field(False, description="ZeRO: keep optimiser states in CPU memory.")
    offload_params: bool = Field(False, description="ZeRO-3: keep parameters in CPU memory.")
    activation_checkpointing: Literal["none", "llm_blocks", "vit_blocks", "all_blocks"] = Field(
        "none", description="Recompute activations of these transformer blocks in the backward pass."
    )
    backend: Literal["auto", "gloo", "nccl"] = Field("auto", description="torch.distributed backend (auto: nccl on CUDA).")
    nan_policy: Literal["abort", "skip"] = Field(
        "skip", description="On a non-finite loss: skip the step (up to max_nan_steps) or abort at once."
    )
    max_nan_steps: int = Field(10, ge=0, description="Abort after this many skipped non-finite steps.")


# ----------------------------------------------------------------------------------------------
# Checkpoints, logging, in-loop evaluation
# ----------------------------------------------------------------------------------------------


class CheckpointConfig(StrictModel):
    """When and how training state is saved."""

    every_n_steps: int | None = Field(1000, gt=0, description="Save every N optimiser steps (none: only at the end).")
    keep_last: int = Field(3, ge=1, description="Keep the newest K complete checkpoints; older ones are deleted.")
    save_final: bool = Field(True, description="Save a checkpoint when training ends.")
    export_native: bool = Field(
        True, description="Also consolidate the final weights into a native checkpoint (output_dir/final)."
    )


class LoggingConfig(StrictModel):
    """Metrics logging."""

    interval: int = Field(10, ge=1, description="Log every N optimiser steps.")
    tensorboard: bool = Field(True, description="Write TensorBoard event files (needs the tensorboard extra).")
    peak_flops: float | None = Field(
        None, gt=0, description="Per-device peak FLOP/s for the MFU estimate (none: measured at start-up)."
    )


class EvalConfig(StrictModel):
    """Periodic evaluation during training."""

    every_n_steps: int | None = Field(None, gt=0, description="Evaluate every N steps (none: never during training).")
    loss_sources: list[str] = Field(
        default_factory=list, description="Shard paths of held-out data for the eval loss."
    )
    max_batches: int = Field(20, ge=1, description="Batches of held-out data per eval-loss pass.")
    tasks: list[str] = Field(default_factory=list, description="Generative eval tasks run through the eval runner.")
    data: list[str] = Field(
        default_factory=list, description="Data of the generative tasks, as TASK=PATH (like `molmo eval --data`)."
    )
    limit: int | None = Field(100, gt=0, description="Samples per generative eval task.")
