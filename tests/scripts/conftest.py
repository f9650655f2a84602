"""Shared helpers for the tests of ``scripts/`` (plain files, not an importable package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_script():
    """``load_script(name)`` imports ``scripts/<name>.py`` as a module."""
    return _load


@pytest.fixture
def checkpoint_without_tokenizer(tmp_path) -> Path:
    """The bundled model's weights and configs without its ``tokenizer.json``."""
    from molmo.demo import DEMO_DIR

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "molmo.json", "model.safetensors"):
        (bare / name).symlink_to(DEMO_DIR / name)
    return bare
