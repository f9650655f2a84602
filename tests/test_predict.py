from __future__ import annotations

import json

import pytest
from PIL import Image

from molmo.config.generation import GenerationConfig
from molmo.errors import UserError
from molmo.predict import Predictor, done_ids, draw_points, iter_inputs, predict_batch

GEN = GenerationConfig(max_new_tokens=5)


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint):
    return Predictor.load(tiny_checkpoint, device="cpu")


def test_predict_returns_answer_tokens_and_timings(predictor, shapes_scene):
    folder, _ = shapes_scene
    streamed = []
    pred = predictor.predict(folder / "scene0.png", "How many circles are there?", GEN, on_token=streamed.append)
    assert pred.tokens == 5 and pred.finish_reason == "length"
    assert "".join(streamed).strip() == pred.answer
    assert set(pred.timings) == {"preprocess_ms", "prefill_ms", "decode_tokens_per_s"}
    assert pred.image_size == Image.open(folder / "scene0.png").size


def test_user_errors(predictor, tmp_path):
    with pytest.raises(UserError, match="image not found"):
        predictor.predict(tmp_path / "nope.png", "hi", GEN)
    with pytest.raises(UserError, match="directory"):
        predictor.predict(tmp_path, "hi", GEN)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="unsupported file type"):
        predictor.predict(tmp_path / "notes.txt", "hi", GEN)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(UserError):
        predictor.predict(tmp_path / "broken.png", "hi", GEN)
    with pytest.raises(UserError, match="empty"):
        predictor.predict(tmp_path / "broken.png", "  ", GEN)


def test_batch_mode_records_errors_and_resumes(predictor, shapes_scene, tmp_path):
    folder, _ = shapes_scene
    images = tmp_path / "imgs"
    images.mkdir()
    for p in folder.glob("*.png"):
        (images / p.name).write_bytes(p.read_bytes())
    (images / "corrupt.png").write_bytes(b"not an image")
    out = tmp_path / "out.jsonl"
    counts = predict_batch(predictor, str(images), "Describe this image.", out, GEN, batch_size=2)
    assert counts == {"total": 4, "skipped": 0, "done": 3, "failed": 1}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["id"] for r in rows} == {"scene0", "scene1", "scene2", "corrupt"}
    assert "error" in next(r for r in rows if r["id"] == "corrupt")
    again = predict_batch(predictor, str(images), "Describe this image.", out, GEN)
    assert again["skipped"] == 4 and again["done"] == 0
    assert done_ids(out) == {"scene0", "scene1", "scene2", "corrupt"}


def test_jsonl_inputs(tmp_path, shapes_scene):
    folder, _ = shapes_scene
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "image": str(folder / "scene0.png"), "prompt": "Count."}) + "\n")
    assert list(iter_inputs(str(src), None)) == [{"id": "a", "image": str(folder / "scene0.png"), "prompt": "Count."}]
    src.write_text("{bad json\n")
    with pytest.raises(UserError, match="invalid JSON"):
        list(iter_inputs(str(src), None))


def test_draw_points_changes_pixels(tmp_path):
    image = Image.new("RGB", (64, 48), (255, 255, 255))
    out = draw_points(image, [{"x": 20.0, "y": 10.0, "label": "a"}], tmp_path / "p.png")
    drawn = Image.open(out)
    assert drawn.size == (64, 48)
    assert drawn.getpixel((20, 10)) != (255, 255, 255)
