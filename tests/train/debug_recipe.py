"""The debug recipe with fp32 and per-step logging, shared by the training-loop tests."""

from __future__ import annotations

from pathlib import Path

from molmo.config.recipe import load_train_recipe

ROOT = Path(__file__).resolve().parents[2]
FP32 = ["engine.precision=fp32", "logging.interval=1"]


def recipe(*overrides: str):
    """``recipes/debug.toml`` with :data:`FP32` and ``overrides`` (paths are relative to :data:`ROOT`)."""
    return load_train_recipe(ROOT / "recipes" / "debug.toml", [*FP32, *overrides])
