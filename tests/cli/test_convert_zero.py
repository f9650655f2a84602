"""``molmo convert zero``: a ZeRO-3 training checkpoint → native (and HF) equals the run's final weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch

import molmo
from molmo.config.recipe import load_train_recipe
from molmo.train.loop import train

ROOT = Path(__file__).resolve().parents[2]


def test_zero_checkpoint_consolidates_to_native_and_hf(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    recipe = load_train_recipe(ROOT / "recipes" / "debug.toml", ["schedule.max_steps=2", "checkpoint.every_n_steps=1"])
    result = train(recipe, output=tmp_path / "run")
    ckpt = Path(result.final_checkpoint)
    code, out, err = cli("convert", "zero", ckpt, tmp_path / "native", "--hf", tmp_path / "hf", "--json")
    assert code == 0, err
    assert out.lstrip().startswith("{"), out[:500]
    info = json.loads(out)
    native = molmo.load(info["native"])
    final = molmo.load(tmp_path / "run" / "final")
    for name, p in final.state_dict().items():
        assert torch.equal(p, native.state_dict()[name]), name
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["model_type"] == "molmo"
    code, _, err = cli("convert", "zero", tmp_path / "run" / "checkpoints", tmp_path / "x")
    assert code == 2 and "COMPLETE" in err
