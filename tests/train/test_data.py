"""Training batches: multi-turn shapes dialogs as packed independent conversations (``data.split_turns``)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from molmo.config.recipe import load_train_recipe
from molmo.data.sample import DecodedSample
from molmo.data.synth import synth_shapes
from molmo.data.synth.shapes import make_sample
from molmo.preprocess.collate import PAD_ID
from molmo.preprocess.sequence import IGNORE_INDEX, IMAGE_SUBSEGMENT
from molmo.train.data import BatchStream, SampleTransform, split_pairs
from molmo.train.loop import train
from molmo.train.setup import plan as plan_training

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER = ROOT / "molmo" / "assets" / "shapes-tokenizer" / "tokenizer.json"


def _turn(role: str, text: str) -> dict[str, str]:
    return {"role": role, "content": text}


def test_split_pairs_cuts_plain_dialogs_only():
    dialog = [_turn("user", "a?"), _turn("assistant", "1"), _turn("user", "b?"), _turn("assistant", "2")]
    assert split_pairs(dialog) == [dialog[:2], dialog[2:]]
    with_system = [_turn("system", "be brief"), *dialog]
    assert split_pairs(with_system) == [with_system]
    marker = [_turn("user", "<|image|> a?"), _turn("assistant", "1"), *dialog[2:]]
    assert split_pairs(marker) == [marker]
    assert split_pairs(dialog[:3]) == [dialog[:3]]  # not user/assistant pairs


def _decoded(sample, position: int = 0) -> DecodedSample:
    image = Image.open(io.BytesIO(sample.png)).convert("RGB")
    return DecodedSample(key=sample.key, json=sample.json, images=[image], position=position)


def _answers(example: dict, segment_of_target: np.ndarray) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for k in sorted(set(segment_of_target.tolist()) - {IMAGE_SUBSEGMENT}):
        sel = (segment_of_target == k) & (example["labels"] != IGNORE_INDEX)
        out[k] = example["labels"][sel].tolist()
    return out


def test_split_turns_packs_each_pair_as_its_own_conversation(monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = plan_training(load_train_recipe(ROOT / "recipes" / "debug.toml"))
    sample = _decoded(make_sample("train", 4, 2, questions=5))
    n_pairs = len(sample.messages) // 2
    assert n_pairs >= 4

    packed = SampleTransform(plan.preprocess, TOKENIZER, seed=0, split_turns=True)(sample)
    whole = SampleTransform(plan.preprocess, TOKENIZER, seed=0, split_turns=False)(sample)
    assert "subsegment_ids" not in whole
    seg = packed["subsegment_ids"]
    assert set(seg.tolist()) == {IMAGE_SUBSEGMENT, *range(n_pairs)}
    # positions restart after the image for every conversation
    n_image = int((seg == IMAGE_SUBSEGMENT).sum())
    for k in range(n_pairs):
        assert packed["position_ids"][seg == k][0] == n_image
    # every conversation's targets are exactly the single-question encoding of that pair
    single = SampleTransform(plan.preprocess, TOKENIZER, seed=0)
    for k, answer_ids in _answers(packed, seg).items():
        pair = dict(sample.json, messages=sample.messages[2 * k : 2 * k + 2])
        alone = single(DecodedSample(key="x", json=pair, images=sample.images))
        assert answer_ids == alone["labels"][alone["labels"] != IGNORE_INDEX].tolist()
    # Molmo's sqrt(1/k) weighting; the unsplit dialog weights every answer token 1
    assert np.allclose(packed["loss_mask"][packed["loss_mask"] > 0], np.sqrt(1 / n_pairs))
    assert np.allclose(whole["loss_mask"][whole["loss_mask"] > 0], 1.0)


def test_split_turns_keeps_dialogs_with_image_markers_whole(monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = plan_training(load_train_recipe(ROOT / "recipes" / "debug.toml"))
    sample = _decoded(make_sample("train", 4, 3, questions=3))
    marked = [dict(m) for m in sample.messages]
    marked[0]["content"] = "<|image|> " + marked[0]["content"]
    sample = DecodedSample(key=sample.key, json=dict(sample.json, messages=marked), images=sample.images)
    packed = SampleTransform(plan.preprocess, TOKENIZER, seed=0, split_turns=True)(sample)
    whole = SampleTransform(plan.preprocess, TOKENIZER, seed=0)(sample)
    assert "subsegment_ids" not in packed
    assert packed["input_ids"].tolist() == whole["input_ids"].tolist()


def test_training_on_packed_dialogs(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    synth_shapes(tmp_path / "dialogs", 48, seed=9, questions=4, shard_samples=24)
    recipe = load_train_recipe(
        ROOT / "recipes" / "debug.toml",
        ["data.split_turns=true", "schedule.max_steps=6", "engine.zero_stage=0", "logging.interval=1"],
    )
    source = recipe.data.sources[0].model_copy(update={"paths": [str(tmp_path / "dialogs")]})
    recipe = recipe.model_copy(update={"data": recipe.data.model_copy(update={"sources": [source]})})
    result = train(recipe, output=tmp_path / "run")
    assert result.exit_code == 0 and result.step == 6
    assert all(np.isfinite(result.losses))
    assert sum(result.losses[-2:]) < sum(result.losses[:2])  # it learns


def _streams(tmp_path, monkeypatch, buckets: int, n: int = 40):
    """A maker: each call builds a fresh BatchStream of 4-sample batches over the same synth dialogs."""
    monkeypatch.chdir(ROOT)
    if not (tmp_path / "dialogs").exists():
        synth_shapes(tmp_path / "dialogs", n, seed=5, questions=3, shard_samples=20)
    recipe = load_train_recipe(ROOT / "recipes" / "debug.toml", ["data.split_turns=true", "data.workers=0",
                                                                 f"data.length_buckets={buckets}", "data.epochs=1"])
    source = recipe.data.sources[0].model_copy(update={"paths": [str(tmp_path / "dialogs")]})
    data = recipe.data.model_copy(update={"sources": [source]})
    plan = plan_training(recipe)

    def make() -> BatchStream:
        transform = SampleTransform(plan.preprocess, TOKENIZER, data.seed, split_turns=True)
        return BatchStream(data, transform, micro_batch_size=4, rank=0, world_size=1)

    return make


def _drain(stream: BatchStream) -> list[tuple[list[str], int, int]]:
    """(keys, padded positions, real tokens) of every remaining batch."""
    out = []
    while (item := stream.next_batch()) is not None:
        batch, keys = item
        real = int((batch.input_ids != PAD_ID).sum())
        out.append((keys, int(batch.input_ids.numel()), real))
    return out


def test_length_buckets_batch_similar_lengths_and_keep_every_sample(tmp_path, monkeypatch):
    plain = _drain(_streams(tmp_path, monkeypatch, buckets=1)())
    bucketed = _drain(_streams(tmp_path, monkeypatch, buckets=5)())
    assert len(plain) == len(bucketed) == 10
    assert sorted(k for keys, _, _ in plain for k in keys) == sorted(k for keys, _, _ in bucketed for k in keys)
    # the same samples, each window of 5 batches holds the same 20 samples either way
    for w in range(2):
        window = slice(5 * w, 5 * (w + 1))
        assert sorted(k for b in plain[window] for k in b[0]) == sorted(k for b in bucketed[window] for k in b[0])
    assert sum(b[2] for b in plain) == sum(b[2] for b in bucketed)  # same real tokens
    assert sum(b[1] for b in bucketed) < sum(b[1] for b in plain)  # ... in fewer padded positions
    # the worker queue is raised to hold a whole window (5 batches x 4 samples), stream order keeps it
    assert _streams(tmp_path, monkeypatch, buckets=5)().loader.config.prefetch == 20
    assert _streams(tmp_path, monkeypatch, buckets=1)().loader.config.prefetch == 2


def test_length_buckets_resume_mid_window_exactly(tmp_path, monkeypatch):
    make = _streams(tmp_path, monkeypatch, buckets=5)
    full = _drain(make())
    first = make()
    head = [first.next_batch()[1] for _ in range(3)]  # 3 of the first window's 5 batches
    state = first.state_dict()
    assert state["served"] == 3 and state["buckets"] == 5
    first.close()
    resumed = make()
    resumed.load_state_dict(state)
    rest = _drain(resumed)
    assert head + [keys for keys, _, _ in rest] == [keys for keys, _, _ in full]
    # at a window boundary the state is the plain loader position
    again = make()
    for _ in range(5):
        again.next_batch()
    assert "window" not in again.state_dict()
