"""The training loop with real DeepSpeed on CPU (gloo): the debug recipe, resume, preemption, freezing."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch

import molmo
from molmo.config.recipe import load_train_recipe
from molmo.train.checkpoint import complete_checkpoints, resolve_resume
from molmo.train.loop import Trainer, train
from molmo.train.preemption import EXIT_PREEMPTED

from .debug_recipe import FP32, ROOT, recipe


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(ROOT)  # the debug recipe's paths are relative to the repository root


def losses_of(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_debug_recipe_trains(tmp_path):
    result = train(recipe("schedule.max_steps=8"), output=tmp_path)
    assert result.exit_code == 0 and result.step == 8
    assert sum(result.losses[-3:]) / 3 < sum(result.losses[:3]) / 3  # it learns
    assert (tmp_path / "final" / "model.safetensors").is_file()
    assert (tmp_path / "recipe.toml").is_file() and (tmp_path / "env.json").is_file()
    assert len(complete_checkpoints(tmp_path / "checkpoints")) == 2  # keep_last = 2 of steps 4, 8
    model = molmo.load(tmp_path / "final")
    assert model.tokenizer is not None and model.preprocess_config.max_crops == 4


def test_preemption_then_resume_reproduces_uninterrupted_losses(tmp_path, monkeypatch):
    full = train(recipe("checkpoint.every_n_steps=100"), output=tmp_path / "full")

    original = Trainer.train_step

    def preempt_after_3(self):
        out = original(self)
        if self.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # what SLURM sends before requeueing
        return out

    monkeypatch.setattr(Trainer, "train_step", preempt_after_3)
    first = train(recipe("checkpoint.every_n_steps=100"), output=tmp_path / "split")
    assert first.exit_code == EXIT_PREEMPTED and first.step == 3
    assert resolve_resume("auto", tmp_path / "split" / "checkpoints").step == 3
    monkeypatch.setattr(Trainer, "train_step", original)
    second = train(recipe("checkpoint.every_n_steps=100"), output=tmp_path / "split", resume="auto")
    assert second.exit_code == 0 and second.step == 8
    assert first.losses + second.losses == full.losses  # exact, per step (fp32)


def test_incomplete_checkpoints_are_ignored(tmp_path):
    train(recipe("schedule.max_steps=4", "checkpoint.every_n_steps=2"), output=tmp_path)
    root = tmp_path / "checkpoints"
    (root / ".tmp-step-00000006").mkdir()  # a save killed mid-write
    (root / "step-00000005").mkdir()  # a directory without its COMPLETE marker
    assert resolve_resume("auto", root).step == 4


def test_zero_stage_0_and_3_agree(tmp_path):
    r0 = train(recipe("schedule.max_steps=4", "engine.zero_stage=0"), output=tmp_path / "z0")
    r3 = train(recipe("schedule.max_steps=4", "engine.zero_stage=3"), output=tmp_path / "z3")
    assert torch.allclose(torch.tensor(r0.losses), torch.tensor(r3.losses), atol=1e-4)


def test_frozen_vit_with_activation_checkpointing(tmp_path):
    cfg = recipe("schedule.max_steps=3", "optim.vit.frozen=true", "engine.activation_checkpointing=all_blocks")
    result = train(cfg, output=tmp_path)
    assert result.exit_code == 0
    trained = molmo.load(tmp_path / "final")
    fresh = molmo.build(trained.config)  # the loop initialises with the recipe seed
    torch.manual_seed(cfg.seed)
    fresh.reset_parameters()
    for name, p in fresh.named_parameters():
        q = trained.get_parameter(name)
        if name.startswith("vision_backbone.image_vit."):
            assert torch.equal(p, q), name
    assert not torch.equal(fresh.transformer.ff_out.weight, trained.transformer.ff_out.weight)
    # Molmo's default: the original input embedding table stays frozen
    assert torch.equal(fresh.transformer.wte.embedding, trained.transformer.wte.embedding)


def test_non_finite_loss_is_skipped_then_aborts(tmp_path, monkeypatch):
    from molmo.errors import MolmoError
    from molmo.models.molmo import Molmo

    forward = Molmo.forward

    def nan_forward(self, *args, **kwargs):
        out = forward(self, *args, **kwargs)
        if out.loss is not None:
            out.loss = out.loss * float("nan")
            out.ce_loss = out.ce_loss * float("nan")
        return out

    monkeypatch.setattr(Molmo, "forward", nan_forward)
    with pytest.raises(MolmoError, match="non-finite"):
        train(recipe("schedule.max_steps=4", "engine.max_nan_steps=2"), output=tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped"] for r in records] == [1.0, 1.0]


def test_bad_recipe_value_fails_before_any_work(cli, tmp_path):
    code, _, err = cli("train", "recipes/debug.toml", "--set", "engine.zero_stage=9", "-o", tmp_path / "run")
    assert code == 2 and "engine.zero_stage" in err
    assert not (tmp_path / "run").exists()
    code, _, err = cli("train", "recipes/debug.toml", "--set", "model.tokenizer=missing.json", "-o", tmp_path / "run")
    assert code == 2 and "missing.json" in err
    code, out, _ = cli("train", "recipes/debug.toml", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["parameters"]["total"] > 0


def test_periodic_eval_loss_and_generative_eval(tmp_path):
    cfg = recipe("schedule.max_steps=2", "eval.every_n_steps=2", 'eval.loss_sources=["examples/shapes-debug"]',
                 "eval.max_batches=2", 'eval.tasks=["shapes"]', "eval.limit=4")
    result = train(cfg, output=tmp_path)
    assert result.exit_code == 0
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval/loss" in r]
    assert len(evals) == 1 and evals[0]["step"] == 2 and evals[0]["eval/loss_tokens"] > 0
    assert any(k.startswith("eval/shapes/") for k in evals[0])
    assert (tmp_path / "eval" / "step-00000002" / "results.json").is_file()


def test_checkpoint_weights_load_into_zero3_partitions(tmp_path):
    first = train(recipe("schedule.max_steps=2"), output=tmp_path / "a")
    start = molmo.load(first.native_checkpoint)
    text = (ROOT / "recipes" / "debug.toml").read_text()
    text = text.replace('preset = "tiny"', f'checkpoint = "{first.native_checkpoint}"')  # start from it
    (tmp_path / "from_ckpt.toml").write_text(text.replace('tokenizer = "molmo/', 'tokenizer = "' + str(ROOT) + '/molmo/'))
    cfg = load_train_recipe(tmp_path / "from_ckpt.toml", [
        *FP32, "schedule.max_steps=1", "schedule.shape.kind=constant",
        "optim.vit.lr=0", "optim.connector.lr=0", "optim.llm.lr=0",
    ])
    second = train(cfg, output=tmp_path / "b")
    after = molmo.load(second.native_checkpoint)
    for name, tensor in start.state_dict().items():  # lr 0: the weights must be exactly the loaded ones
        assert torch.equal(tensor, after.state_dict()[name]), name


def test_deepspeed_launcher_local_rank_argument_is_accepted(cli):
    code, out, _ = cli("train", "recipes/debug.toml", "--local_rank=0", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["zero_stage"] == 3


def test_tensorboard_event_files_are_written(tmp_path):
    train(recipe("schedule.max_steps=2", "logging.tensorboard=true"), output=tmp_path)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_preflight_rejects_sequence_shorter_than_image_tokens(cli, tmp_path):
    code, _, err = cli("train", "recipes/debug.toml", "--set", "model.preprocess.sequence_length=40", "--dry-run")
    assert code == 2 and "sequence_length=40" in err and "image tokens" in err
