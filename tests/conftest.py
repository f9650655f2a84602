"""Shared test fixtures. Tests run on CPU with tiny configs and project-generated data."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("MOLMO_NO_PROGRESS", "1")
# One thread per test process: small matmuls collapse when 2 cores are oversubscribed (stack notes).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own MOLMO_HOME so nothing leaks into the user's cache."""
    monkeypatch.setenv("MOLMO_HOME", str(tmp_path_factory.mktemp("molmo_home")))


@pytest.fixture
def cli(capsys):
    """Run the molmo CLI in-process: ``code, out, err = cli("recipes", "list")``."""
    from molmo_cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before this command
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A random tiny Molmo (debug-recipe shapes) with the bundled shapes tokenizer, saved natively."""
    from pathlib import Path

    import molmo
    from molmo.config.recipe import load_train_recipe
    from molmo.preprocess.tokenizer import MolmoTokenizer

    root = Path(__file__).resolve().parents[1]
    recipe = load_train_recipe(root / "recipes" / "debug.toml")
    config, preprocess = recipe.model.resolve()
    tokenizer = MolmoTokenizer.from_file(root / "molmo" / "assets" / "shapes-tokenizer" / "tokenizer.json")
    model = molmo.build(config.model_copy(update={"special_tokens": tokenizer.special_ids}), seed=0)
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    molmo.save(model, path, tokenizer=tokenizer, preprocess=preprocess)
    return path


@pytest.fixture(scope="session")
def shapes_scene(tmp_path_factory):
    """A few eval-split tiny-shapes scenes written as PNG files: returns (dir, [samples])."""
    from molmo.data.synth.shapes import make_sample

    out = tmp_path_factory.mktemp("scenes")
    samples = [make_sample("eval", 11, i) for i in range(3)]
    for i, s in enumerate(samples):
        (out / f"scene{i}.png").write_bytes(s.png)
    return out, samples
