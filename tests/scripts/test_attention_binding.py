"""scripts/attention_binding.py: decoder attention on the shape a question asks about."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import molmo
from molmo.data.synth import synth_shapes
from molmo.data.synth.render import shape_point
from molmo.data.synth.shapes import Scene, Shape
from molmo.demo import DEMO_DIR


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("attention_binding")


@pytest.fixture(scope="module")
def model():
    return molmo.load(DEMO_DIR).eval()


def test_target_of_colour_and_pointing_questions(script):
    shapes = [Shape("circle", "red", 20, 30, 8), Shape("square", "blue", 60, 30, 8), Shape("circle", "blue", 90, 50, 8)]
    colour = {"task": "color", "messages": [{"role": "user", "content": "What color is the square?"}]}
    assert script.target_shape(colour, shapes) == ("colour", 1)
    repeated = {"task": "color", "messages": [{"role": "user", "content": "What color is the circle?"}]}
    assert script.target_shape(repeated, shapes) is None  # two circles: not about one shape
    x, y = shape_point("circle", 90, 50, 8)
    point = {"task": "point", "refs": {"count": 1, "points": [[x, y]]},
             "messages": [{"role": "user", "content": "Point to the blue circle."}]}
    assert script.target_shape(point, shapes) == ("point", 2)
    two = {"task": "point", "refs": {"count": 2, "points": [[20, 30], [90, 50]]},
           "messages": [{"role": "user", "content": "Point to all the circles."}]}
    assert script.target_shape(two, shapes) is None
    assert script.target_shape({"task": "read", "messages": [{"role": "user", "content": "Read it."}]}, shapes) is None


def test_token_owners_follow_the_crop_geometry(script, model):
    # a square image: no letterbox, the 224-px crop is the image scaled; 8 x 8 pooled tokens of 28 px
    scene = Scene(width=224, height=224, background="white",
                  shapes=[Shape("square", "red", 42, 42, 13), Shape("circle", "blue", 168, 182, 13)])
    owners = script.token_owners(scene, model).reshape(8, 8)
    assert set(np.unique(owners)) == {-1, 0, 1}
    rows, cols = np.nonzero(owners == 0)
    assert rows.min() >= 0 and rows.max() <= 2 and cols.max() <= 2  # the square spans px 29-55
    rows, cols = np.nonzero(owners == 1)
    assert rows.min() >= 5 and cols.min() >= 5  # the circle sits bottom-right
    assert owners[4, 4] == -1


def test_recorded_attention_leaves_the_outputs_alone(script, model):
    ids = torch.randint(0, 400, (1, 12))
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        with script.recorded_attention() as weights:
            seen = model(input_ids=ids).logits
    assert torch.equal(plain, seen)
    assert len(weights) == model.config.llm.n_layers
    w = weights[0][0]  # (H, T, T): causal rows that sum to one
    assert torch.allclose(w.sum(-1), torch.ones_like(w.sum(-1)), atol=1e-5)
    assert float(w.triu(1).abs().sum()) == 0.0
    with torch.no_grad():
        model(input_ids=ids)
    assert len(weights) == model.config.llm.n_layers  # nothing recorded once the block is left


def test_bundled_model_finds_the_object_of_colour_questions(script, tmp_path, capsys):
    shards = tmp_path / "eval"
    synth_shapes(shards, 80, seed=21, split="eval", min_shapes=2)
    assert script.main([str(DEMO_DIR), str(shards), "--questions", "6", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    layers = molmo.load(DEMO_DIR).config.llm.n_layers
    for kind in ("colour", "point"):
        mine = [r for r in rows if r["question"] == kind]
        assert [r["layer"] for r in mine] == list(range(layers))
        assert all(0 <= r["target_mass"] + r["other_mass"] <= 1.0001 and 0 < r["chance"] < 1 for r in mine)
        assert all(r["n"] == 6 for r in mine)
    assert all(0 <= r["words"] <= 1 for r in rows)
    # the shipped model answers colour questions by reading the kind asked for, then the shape itself
    best = max((r for r in rows if r["question"] == "colour"), key=lambda r: r["excess"])
    assert best["target_share"] > 0.8 and best["excess"] > 0.2
    assert max(r["words"] for r in rows if r["question"] == "colour") > 0.5
    assert script.main([str(DEMO_DIR), str(shards), "--questions", "2"]) == 0
    assert "chance" in capsys.readouterr().out.splitlines()[0]


def test_errors_are_one_line(script, checkpoint_without_tokenizer, tmp_path, capsys):
    bare = checkpoint_without_tokenizer
    assert script.main([str(bare), str(tmp_path), "--questions", "1"]) == 2
    assert "tokenizer" in capsys.readouterr().err
    single = tmp_path / "single"
    synth_shapes(single, 5, seed=2, split="eval", max_shapes=1)  # one shape per scene: nothing to single out
    assert script.main([str(DEMO_DIR), str(single)]) == 2
    err = capsys.readouterr().err
    assert "no colour or single-target pointing questions" in err and len(err.strip().splitlines()) == 1
