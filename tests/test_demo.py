"""The bundled tiny-shapes demo model: it loads, fits the size budget, answers the example scenes,
and its shapes eval on a fresh-seed split stays above regression floors (well below the targets)."""

from __future__ import annotations

from pathlib import Path

import pytest

import molmo
from molmo.config.generation import GenerationConfig
from molmo.demo import DEMO_DIR, default_model_path
from molmo.predict import Predictor

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "shapes"

# Measured on 500 eval scenes (seed 3): caption 0.42, colour 1.00, count 0.70, point F1 0.32, read 0.63.
FLOORS = {  # measured on these 240 scenes: caption 0.39, colour 1.00, count 0.63, point F1 0.32, read 0.61
    "shapes/caption": ("exact_match", 0.28),
    "shapes/color": ("exact_match", 0.90),
    "shapes/count": ("count_accuracy", 0.50),
    "shapes/point": ("point_f1", 0.22),
    "shapes/read": ("anls", 0.45),
}


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load(device="cpu")


def test_bundled_checkpoint_loads_within_budget():
    assert default_model_path() == DEMO_DIR
    size = sum(p.stat().st_size for p in DEMO_DIR.iterdir())
    assert size <= 30 * 1024**2
    model = molmo.load(DEMO_DIR)
    assert model.tokenizer is not None and model.preprocess_config is not None
    assert 4_000_000 < model.num_parameters()["total"] < 8_000_000


def test_answers_the_example_scenes(predictor):
    gen = GenerationConfig(max_new_tokens=96)
    count = predictor.predict(EXAMPLES / "circles.png", "How many circles are there?", gen)
    assert count.count == 2 and count.answer.endswith("shows a total of 2.")
    assert len(count.points) == 2
    colour = predictor.predict(EXAMPLES / "orange-circle.png", "What color is the circle?", gen)
    assert colour.answer == "orange" and colour.count is None
    number = predictor.predict(EXAMPLES / "number-78.png", "What number is written in the image?", gen)
    assert number.answer == "78"


def test_shapes_eval_stays_above_floor(tmp_path):
    from molmo.data.synth import synth_shapes
    from molmo.eval.runner import run_eval

    synth_shapes(tmp_path / "eval", 240, seed=31337, split="eval")  # a fresh seed, never trained on
    outcome = run_eval(tasks=["shapes"], data=[str(tmp_path / "eval")], output=str(tmp_path / "out"),
                       batch_size=32, device="cpu")
    rows = {row.task: row for row in outcome.results}
    assert set(rows) == {"shapes/caption", "shapes/color", "shapes/count", "shapes/point", "shapes/read"}
    for task, (metric, floor) in FLOORS.items():
        assert rows[task].metrics[metric] >= floor, (task, rows[task].metrics)
