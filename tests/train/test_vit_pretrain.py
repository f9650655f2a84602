"""Dense ViT pretraining (molmo.train.vit_pretrain) and starting a run from its weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import molmo
from molmo.checkpoint import iter_weights, save_weights
from molmo.data.synth.patch_labels import HEADS, answer_digits
from molmo.errors import UserError
from molmo.train.loop import train
from molmo.train.setup import VIT_PREFIX, plan
from molmo.train.vit_pretrain import VitPretrainConfig, dense_loss, pretrain_vit, scene_batch

from .debug_recipe import ROOT, recipe


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(ROOT)  # the debug recipe's paths are relative to the repository root


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> tuple[Path, dict]:
    config, preprocess = recipe().model.resolve()  # the tiny preset, 4-crop tiling
    cfg = VitPretrainConfig(steps=60, batch_size=4, eval_every=30, eval_scenes=6, warmup_steps=4, max_shapes=2, bf16=False)
    out = tmp_path_factory.mktemp("vit") / "pretrained"
    lines: list[str] = []
    report = pretrain_vit(config.vision, preprocess, cfg, out, log=lines.append, workers=0)
    assert len(lines) == 2 and lines[-1].startswith("step=60 ")
    return out, report


def test_pretraining_learns_and_writes_native_vit_weights(pretrained):
    out, report = pretrained
    first, last = report["history"][0], report["history"][-1]
    assert first["step"] == 0 and last["step"] == 60
    assert last["eval_loss"] < 0.7 * first["eval_loss"]  # held-out scenes: it learns
    names = [name for name, _ in iter_weights(out)]
    assert names and all(n.startswith(VIT_PREFIX) for n in names)
    assert (out / "vit_pretrain.json").is_file()


def test_a_run_starts_from_the_pretrained_vit(pretrained, tmp_path):
    out, _ = pretrained
    run = recipe("schedule.max_steps=1", "optim.vit.lr=0", f"model.vision_weights={out}")
    assert plan(run).notes[-1] == f"ViT weights from {out}"
    result = train(run, output=tmp_path)  # ZeRO-3: the weights load into partitions
    trained = molmo.load(result.native_checkpoint).state_dict()
    for name, tensor in iter_weights(out):  # ViT lr 0: exactly the pretrained weights
        assert torch.equal(trained[name], tensor), name


def test_vision_weights_are_checked_before_training(tmp_path, pretrained):
    with pytest.raises(UserError, match="no model.safetensors"):
        plan(recipe(f"model.vision_weights={tmp_path}"))
    bad = tmp_path / "bad"
    bad.mkdir()
    save_weights([(VIT_PREFIX + "positional_embedding", torch.zeros(3, 5))], bad)
    with pytest.raises(UserError, match="has shape"):
        plan(recipe(f"model.vision_weights={bad}"))
    save_weights([("transformer.wte.embedding", torch.zeros(3, 5))], bad)
    with pytest.raises(UserError, match="not a ViT weight"):
        plan(recipe(f"model.vision_weights={bad}"))
    partial = tmp_path / "partial"
    partial.mkdir()
    save_weights([t for t in iter_weights(pretrained[0]) if "positional" in t[0]], partial)
    with pytest.raises(UserError, match="lack"):
        plan(recipe(f"model.vision_weights={partial}"))


def test_dry_run_reports_the_vision_weights(cli, pretrained):
    out, _ = pretrained
    code, stdout, _ = cli("train", "recipes/debug.toml", "--set", f"model.vision_weights={out}", "--dry-run", "--json")
    assert code == 0 and json.loads(stdout)["vision_weights"] == str(out)
    code, _, err = cli("train", "recipes/debug.toml", "--set", "model.vision_weights=no/such/dir", "--dry-run")
    assert code == 2 and "no/such/dir" in err and len(err.strip().splitlines()) == 1


def test_coordinate_head_reports_its_error(tmp_path):
    config, preprocess = recipe("model.preprocess.max_crops=1").model.resolve()
    cfg = VitPretrainConfig(steps=2, batch_size=2, eval_every=2, eval_scenes=2, coord_weight=1.0, bf16=False)
    report = pretrain_vit(config.vision, preprocess, cfg, tmp_path / "vit", log=lambda _: None, workers=0)
    first, last = report["history"]
    assert 0 < last["coord_mae_pct"] < 100 and last["eval_loss"] != first["eval_loss"]


def test_centre_head_trains_alongside_the_coordinate_head(tmp_path):
    config, preprocess = recipe("model.preprocess.max_crops=1").model.resolve()
    cfg = VitPretrainConfig(steps=2, batch_size=2, eval_every=2, eval_scenes=4, centre_weight=1.0, bf16=False)
    report = pretrain_vit(config.vision, preprocess, cfg, tmp_path / "vit", log=lambda _: None, workers=0)
    first, last = report["history"]
    assert "coord_mae_pct" not in last and 0 < last["centre_mae_pct"] < 100
    assert last["centre_mae_pct"] != first["centre_mae_pct"]
    x, labels = scene_batch(["a", "b"], preprocess, cfg.model_copy(update={"coord_weight": 1.0}))
    assert labels["centres"].shape == labels["coords"].shape == (*x.shape[:2], 2)
    assert torch.equal(labels["centres_valid"], labels["kind"] > 0)


def test_answer_digit_head_trains_on_the_centre_digits(tmp_path):
    config, preprocess = recipe("model.preprocess.max_crops=1").model.resolve()
    cfg = VitPretrainConfig(steps=4, batch_size=2, eval_every=4, eval_scenes=4, centre_digit_weight=1.0, bf16=False)
    report = pretrain_vit(config.vision, preprocess, cfg, tmp_path / "vit", log=lambda _: None, workers=0)
    first, last = report["history"]
    assert "centre_mae_pct" not in last  # digits without the regression
    assert 0 <= last["centre_tens_acc"] <= 1 and 0 <= last["centre_units_acc"] <= 1
    assert last["eval_loss"] != first["eval_loss"]
    x, labels = scene_batch(["a", "b"], preprocess, cfg)
    digits, valid = labels["centre_digits"], labels["centres_valid"]
    assert digits.shape == (*x.shape[:2], 4) and digits.dtype == torch.int64 and valid.any()
    assert torch.equal(valid, labels["kind"] > 0)
    assert torch.equal(digits, torch.from_numpy(answer_digits(10.0 * labels["centres"].numpy())))
    # the loss counts the digits on shape patches only, as a cross-entropy over 10 classes
    n, p = x.shape[:2]
    logits = {name: torch.zeros(n, p, len(classes)) for name, classes in HEADS.items()}
    right = 20.0 * torch.nn.functional.one_hot(digits, 10).float()
    off = right.clone()
    off[~valid] = torch.roll(right[~valid], 1, dims=-1)  # wrong digits where no shape is: no effect
    base = dense_loss({**logits, "centre_digits": right}, labels, cfg)
    assert torch.isclose(dense_loss({**logits, "centre_digits": off}, labels, cfg), base)
    wrong = torch.roll(right, 1, dims=-1)
    assert dense_loss({**logits, "centre_digits": wrong}, labels, cfg) > base + 4.0  # margin 20, one head of four


def test_the_pretraining_script_lists_every_option(capsys):
    """Its --help is built from VitPretrainConfig (descriptions hold a literal '%')."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pretrain_script", ROOT / "scripts" / "pretrain_shapes_vit.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit) as exit_:
        script.main(["--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for name in VitPretrainConfig.model_fields:
        assert f"--{name.replace('_', '-')}" in shown
    assert "10 %" in shown
