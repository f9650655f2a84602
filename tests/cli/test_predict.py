"""``molmo predict`` through the CLI: JSON schema, drawing, batch mode and one-line errors (exit 2)."""

from __future__ import annotations

import json

from PIL import Image


def test_json_schema_and_draw(cli, tiny_checkpoint, shapes_scene, tmp_path):
    folder, _ = shapes_scene
    out = tmp_path / "drawn.png"
    code, stdout, err = cli("predict", folder / "scene0.png", "Point to the circles.", "--model", tiny_checkpoint,
                            "--max-new-tokens", "4", "--json", "--draw", out)
    assert code == 0, err
    data = json.loads(stdout)
    assert set(data) >= {"answer", "points", "count", "tokens", "timings"}
    assert set(data["timings"]) == {"preprocess_ms", "prefill_ms", "decode_tokens_per_s"}
    assert Image.open(out).size == Image.open(folder / "scene0.png").size


def test_plain_output_and_sampling_options(cli, tiny_checkpoint, shapes_scene):
    folder, _ = shapes_scene
    code, stdout, _ = cli("predict", folder / "scene1.png", "Describe this image.", "--model", tiny_checkpoint,
                          "--max-new-tokens", "3", "--temperature", "0.8", "--top-k", "5", "--seed", "3", "--no-stream")
    assert code == 0 and stdout.strip()


def test_user_errors_exit_2_and_write_nothing(cli, tiny_checkpoint, shapes_scene, tmp_path):
    folder, _ = shapes_scene
    draw = tmp_path / "never.png"
    cases = [
        ((tmp_path / "missing.png", "hi"), "image not found"),
        ((tmp_path, "hi"), "directory"),
        ((folder / "scene0.png", "  "), "prompt is empty"),
    ]
    (tmp_path / "a.txt").write_text("x")
    cases.append(((tmp_path / "a.txt", "hi"), "unsupported file type"))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    cases.append(((tmp_path / "bad.png", "hi"), "bad.png"))
    for (image, prompt), message in cases:
        code, _, err = cli("predict", image, prompt, "--model", tiny_checkpoint, "--draw", draw)
        assert code == 2, (image, err)
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
        assert not draw.exists()
    code, _, err = cli("predict", folder / "scene0.png", "hi", "--model", tmp_path)
    assert code == 2 and "not a molmo checkpoint" in err


def test_batch_mode_resumes(cli, tiny_checkpoint, shapes_scene, tmp_path):
    folder, _ = shapes_scene
    out = tmp_path / "out.jsonl"
    args = ("predict", "--input", folder, "How many circles are there?", "--output", out, "--model",
            tiny_checkpoint, "--max-new-tokens", "3", "--json")
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert json.loads(stdout)["done"] == 3
    code, stdout, _ = cli(*args)
    assert json.loads(stdout) == {"total": 3, "skipped": 3, "done": 0, "failed": 0, "output": str(out)}
    assert len(out.read_text().splitlines()) == 3
