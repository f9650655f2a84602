"""The training recipe: one TOML file that fully describes a ``molmo train`` run.

Sections: ``[model]``, ``[data]``, ``[optim]``, ``[schedule]``, ``[engine]``, ``[checkpoint]``,
``[logging]``, ``[eval]``. Load it with :func:`load_train_recipe` (includes + ``--set`` overrides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from molmo.config.base import StrictModel
from molmo.config.data import DataConfig
from molmo.config.loader import (
    apply_override,
    deep_merge,
    format_validation_error,
    load_composed,
    load_recipe_file,
    suggest,
    validate,
)
from molmo.config.train import (
    CheckpointConfig,
    EngineConfig,
    EvalConfig,
    LoggingConfig,
    OptimConfig,
    ScheduleConfig,
)
from molmo.errors import UserError


class ModelSection(StrictModel):
    """Which model to train: a registered preset (fresh weights) or an existing native checkpoint.

    ``vision`` / ``connector`` / ``llm`` / ``preprocess`` are partial tables merged over the preset
    (or over the checkpoint's own config), e.g. ``[model.llm] n_layers = 4``. With a preset they are
    validated when the recipe loads; with a checkpoint, when the checkpoint is read.
    """

    preset: str | None = Field(None, description="Name of a registered Molmo preset, built with fresh weights.")
    checkpoint: str | None = Field(None, description="Native checkpoint directory to start from.")
    tokenizer: str | None = Field(
        None, description="tokenizer.json file or directory holding one (default: the checkpoint's own)."
    )
    vision_weights: str | None = Field(
        None,
        description="Directory of safetensors ViT weights (native 'vision_backbone.image_vit.*' keys, e.g. from "
        "scripts/pretrain_shapes_vit.py or a converted checkpoint) loaded over the start model's ViT.",
    )
    vision: dict[str, Any] = Field(default_factory=dict, description="Overrides of the vision config.")
    connector: dict[str, Any] = Field(default_factory=dict, description="Overrides of the connector config.")
    llm: dict[str, Any] = Field(default_factory=dict, description="Overrides of the LLM config.")
    preprocess: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the preprocessing config (crops, margins, sequence length…)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ModelSection:
        if (self.preset is None) == (self.checkpoint is None):
            raise ValueError("set exactly one of model.preset or model.checkpoint")
        if self.preset is not None:
            self.resolve()
        return self

    def overrides(self) -> dict[str, Any]:
        """The non-empty model overrides as one nested dict."""
        return {k: v for k, v in (("vision", self.vision), ("connector", self.connector), ("llm", self.llm)) if v}

    def resolve(self, base: dict[str, Any] | None = None, base_preprocess: dict[str, Any] | None = None):
        """(MolmoConfig, PreprocessConfig) from the preset (or ``base`` dicts) plus the overrides."""
        from molmo.config.model import MolmoConfig, model_preset_dict, preset_preprocess_overrides
        from molmo.config.preprocess import PreprocessConfig, preprocess_for_vision

        model_dict = deep_merge(base if base is not None else model_preset_dict(self.preset), self.overrides())
        try:
            config = MolmoConfig.model_validate(model_dict)
        except ValidationError as e:
            raise ValueError(format_validation_error(e, MolmoConfig, model_dict, prefix="model.")) from None
        if base_preprocess is None:
            extra = preset_preprocess_overrides(self.preset) if self.preset else {}
            base_preprocess = preprocess_for_vision(config.vision, **extra).model_dump()
        pre_base = base_preprocess
        pre_dict = deep_merge(pre_base, self.preprocess)
        try:
            preprocess = PreprocessConfig.model_validate(pre_dict)
        except ValidationError as e:
            raise ValueError(format_validation_error(e, PreprocessConfig, pre_dict, prefix="model.preprocess.")) from None
        return config, preprocess


class TrainRecipe(StrictModel):
    """A complete training run."""

    kind: Literal["train"] = Field("train", description="Recipe kind (selects the schema).")
    name: str = Field("run", description="Run name, used for the default output directory.")
    output_dir: str | None = Field(None, description="Run directory (default: $MOLMO_HOME/runs/<name>).")
    seed: int = Field(6198, description="Global seed for model init, dropout and sampling.")
    model: ModelSection = Field(..., description="Model to train.")
    data: DataConfig = Field(..., description="Training data sources and loader settings.")
    optim: OptimConfig = Field(default_factory=OptimConfig, description="Optimiser and parameter groups.")
    schedule: ScheduleConfig = Field(..., description="LR schedule and run length.")
    engine: EngineConfig = Field(default_factory=EngineConfig, description="DeepSpeed engine settings.")
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig, description="Checkpointing.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Metrics logging.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="In-training evaluation.")


def load_train_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainRecipe:
    """Load and validate a training recipe; errors are ``UserError`` with dotted key paths."""
    return load_recipe_file(TrainRecipe, path, overrides)


RECIPE_SCHEMAS: dict[str, type[StrictModel]] = {"train": TrainRecipe}
"""Recipe kind (the top-level ``kind`` key, default ``train``) -> schema. Other modules register theirs."""

_SCHEMA_MODULES = {"eval": "molmo.config.eval"}
"""Kinds whose schema module registers itself on import (imported on demand, keeping start-up light)."""


def register_recipe_schema(kind: str, schema: type[StrictModel]) -> None:
    """Make ``kind = "<kind>"`` recipes validate against ``schema``."""
    RECIPE_SCHEMAS[kind] = schema


def load_any_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> StrictModel:
    """Load a recipe of any registered kind (chosen by its top-level ``kind`` key)."""
    data = load_composed(path)
    kind = data.get("kind", "train")
    if kind not in RECIPE_SCHEMAS and kind in _SCHEMA_MODULES:
        import importlib

        importlib.import_module(_SCHEMA_MODULES[kind])
    if kind not in RECIPE_SCHEMAS:
        raise UserError(f"{path}: unknown recipe kind {kind!r}{suggest(str(kind), list(RECIPE_SCHEMAS))}")
    schema = RECIPE_SCHEMAS[kind]
    for assignment in overrides:
        data = apply_override(data, schema, assignment)
    return validate(schema, data, source=str(path))
