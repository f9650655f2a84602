"""Eval fixtures: a tiny random checkpoint and small benchmark files in each one's native format."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

# Tiny models on a shared 2-core machine: one intra-op thread avoids OpenMP spin-wait stalls.
torch.set_num_threads(1)


CORPUS = [
    "the red circle is left of the blue square", "how many circles are there", "point to the green triangle",
    "What color is the square?", "Describe this image.", "a cat on a mat", "two dogs play in the park",
] * 4


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny random Molmo with a tiny BPE tokenizer, saved as a native checkpoint."""
    import molmo
    from molmo.config.model import model_preset, preset_preprocess_overrides
    from molmo.config.preprocess import TokenizerConfig, preprocess_for_vision
    from molmo.preprocess import MolmoTokenizer, train_bpe

    tokenizer = MolmoTokenizer(train_bpe(CORPUS, 300), TokenizerConfig(pad_to=320))
    config = model_preset("tiny", {"llm": {"vocab_size": 320, "embedding_size": 320}})
    model = molmo.build(config, seed=0)
    model.tokenizer = tokenizer
    model.preprocess_config = preprocess_for_vision(config.vision, **preset_preprocess_overrides("tiny"))
    return molmo.save(model, tmp_path_factory.mktemp("ckpt") / "tiny")


def image_bytes(seed: int, size: tuple[int, int] = (48, 40), fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def save_image(path: Path, seed: int, size: tuple[int, int] = (48, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(seed, size, "JPEG" if path.suffix == ".jpg" else "PNG"))


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def write_parquet(path: Path, rows: list[dict], image_cols=("image",)) -> Path:
    """HF-style parquet: image columns are struct<bytes, path>."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        if name in image_cols:
            typ = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
            columns[name] = pa.array([None if v is None else {"bytes": v, "path": None} for v in values], type=typ)
        else:
            columns[name] = pa.array(values)
    pq.write_table(pa.table(columns), path)
    return path


def _vqa(root: Path, prefix: str, ann_name: str) -> Path:
    qs = [{"image_id": i + 1, "question": f"What is in image {i}?", "question_id": (i + 1) * 10} for i in range(2)]
    anns = [{"question_id": (i + 1) * 10, "image_id": i + 1, "multiple_choice_answer": "cat", "question_type": "what",
             "answer_type": "other", "answers": [{"answer": "cat", "answer_id": k + 1} for k in range(10)]} for i in range(2)]
    for i in range(2):
        save_image(root / "val2014" / f"COCO_val2014_{i + 1:012d}.jpg", i)
    write_json(root / ann_name, {"annotations": anns})
    return write_json(root / f"{prefix}_questions.json", {"data_subtype": "val2014", "questions": qs})


def _docvqa(root: Path, name: str, infographic: bool) -> Path:
    data = []
    for i in range(2):
        entry = {"questionId": 100 + i, "question": f"What is the total {i}?", "answers": ["$12.50", "12.50"]}
        if infographic:
            entry["image_local_name"] = f"{i}.jpeg"
            save_image(root / "images" / f"{i}.jpeg", 10 + i)
        else:
            entry["image"] = f"documents/d{i}.png"
            save_image(root / "documents" / f"d{i}.png", 10 + i)
        data.append(entry)
    return write_json(root / name, {"dataset_name": "InfographicVQA" if infographic else "DocVQA", "data": data})


def _points_masks(w: int, h: int) -> tuple[list[dict], list]:
    masks = []
    points = [{"x": 10.0, "y": 10.0}, {"x": 30.0, "y": 20.0}]
    for p in points:
        m = np.zeros((h, w), dtype=bool)
        m[int(p["y"]) - 3:int(p["y"]) + 4, int(p["x"]) - 3:int(p["x"]) + 4] = True
        masks.append(m.tolist())
    return points, masks


@pytest.fixture(scope="session")
def bench(tmp_path_factory) -> dict[str, Path]:
    """task name -> a data path in that benchmark's own format (two or three samples each)."""
    root = tmp_path_factory.mktemp("bench")
    out: dict[str, Path] = {}
    out["vqa2"] = _vqa(root / "vqa2", "v2_OpenEnded_mscoco_val2014", "v2_mscoco_val2014_annotations.json")
    out["okvqa"] = _vqa(root / "okvqa", "OpenEnded_mscoco_val2014", "mscoco_val2014_annotations.json")
    for i in range(2):
        save_image(root / "textvqa" / "train_images" / f"ab{i}.jpg", 20 + i)
    out["textvqa"] = write_json(root / "textvqa" / "TextVQA_0.5.1_val.json", {"data": [
        {"question_id": i, "question": "What brand?", "image_id": f"ab{i}", "answers": ["nike"] * 10} for i in range(2)]})
    out["docvqa"] = _docvqa(root / "docvqa", "val_v1.0_withQT.json", False)
    out["infovqa"] = _docvqa(root / "infovqa", "infographicsVQA_val_v1.0_withQT.json", True)
    for i in range(2):
        save_image(root / "stvqa" / "coco-text" / f"s{i}.jpg", 30 + i)
    out["st_vqa"] = write_json(root / "stvqa" / "train_task_3.json", {"data": [
        {"question_id": i, "question": "What does the sign say?", "answers": ["stop"], "file_path": f"coco-text/s{i}.jpg"}
        for i in range(2)]})
    chart = root / "chartqa" / "test"
    for i in range(2):
        save_image(chart / "png" / f"c{i}.png", 40 + i)
    write_json(chart / "test_human.json", [{"imgname": "c0.png", "query": "What is the peak?", "label": "40"}])
    write_json(chart / "test_augmented.json", [{"imgname": "c1.png", "query": "Which is larger?", "label": "Yes"}])
    out["chartqa"] = chart
    out["ai2d"] = write_parquet(root / "ai2d" / "test.parquet", [
        {"question": f"Which stage is {i}?", "options": ["egg", "larva", "adult"], "answer": "1", "image": image_bytes(50 + i)}
        for i in range(2)])
    for i in range(2):
        save_image(root / "aokvqa" / "val2017" / f"{i + 7:012d}.jpg", 60 + i)
    out["a_okvqa_mc"] = write_json(root / "aokvqa" / "aokvqa_v1p0_val.json", [
        {"question_id": f"q{i}", "image_id": i + 7, "question": "What is the man holding?",
         "choices": ["bat", "ball", "cup", "hat"], "correct_choice_idx": 2, "direct_answers": ["cup"] * 10}
        for i in range(2)])
    problems = {}
    for i in range(3):
        pid = str(i + 1)
        problems[pid] = {"question": "Which is a mammal?", "choices": ["frog", "whale"], "answer": 1, "hint": "",
                         "image": "image.png" if i < 2 else None, "split": "test"}
        if i < 2:
            save_image(root / "scienceqa" / "images" / "test" / pid / "image.png", 70 + i)
    out["science_qa"] = write_json(root / "scienceqa" / "problems.json", problems)
    mc_q = "What is on the left?\nA. car\nB. tree\nPlease answer directly with only the letter of the correct option and nothing else."
    short_q = "How many lanes are there?\nPlease answer directly with a single word or number."
    out["realworldqa"] = write_parquet(root / "rwqa" / "test.parquet", [
        {"image": image_bytes(80), "question": mc_q, "answer": "B"},
        {"image": image_bytes(81), "question": short_q, "answer": "3"}])
    out["mmmu"] = write_parquet(root / "mmmu" / "validation.parquet", [
        {"id": "validation_Art_1", "question": "Which painting <image 1> is older?", "options": "['first', 'second']",
         "image_1": image_bytes(90), "image_2": None, "answer": "B", "question_type": "multiple-choice"},
        {"id": "validation_Math_2", "question": "What is 2+3?", "options": "[]", "image_1": image_bytes(91),
         "image_2": None, "answer": "5", "question_type": "open"}], image_cols=("image_1", "image_2"))
    out["mathvista"] = write_parquet(root / "mathvista" / "testmini.parquet", [
        {"pid": "1", "question": "Which shape is red?", "image": "images/1.jpg", "decoded_image": image_bytes(92),
         "choices": ["circle", "square"], "answer": "square", "question_type": "multi_choice", "answer_type": "text",
         "precision": None},
        {"pid": "2", "question": "What is the area?", "image": "images/2.jpg", "decoded_image": image_bytes(93),
         "choices": None, "answer": "1.5", "question_type": "free_form", "answer_type": "float", "precision": 1.0}],
        image_cols=("decoded_image",))
    out["countbench"] = write_parquet(root / "countbench" / "test.parquet", [
        {"image": image_bytes(100 + i), "text": "two cats", "question": "How many cats are in the image?", "number": 2 + i}
        for i in range(2)])
    out["pixmo_count"] = write_parquet(root / "pixmo_count" / "test.parquet", [
        {"image": image_bytes(110 + i), "label": "dogs", "count": 3 + i} for i in range(2)])
    points, masks = _points_masks(48, 40)
    out["pixmo_points"] = write_parquet(root / "pixmo_points" / "test.parquet", [
        {"image": image_bytes(120), "label": "boxes", "points": points, "masks": masks},
        {"image": image_bytes(121), "label": "unicorns", "points": [], "masks": [np.zeros((40, 48), bool).tolist()]}])
    for i in range(2):
        save_image(root / "coco" / "val2014" / f"COCO_val2014_{i + 3:012d}.jpg", 130 + i)
    out["caption"] = write_json(root / "coco" / "captions_val2014.json", {
        "images": [{"id": i + 3, "file_name": f"COCO_val2014_{i + 3:012d}.jpg"} for i in range(2)],
        "annotations": [{"image_id": 3, "caption": "a cat on a mat"}, {"image_id": 3, "caption": "a cat sitting"},
                        {"image_id": 4, "caption": "a red bus on the road"}, {"image_id": 4, "caption": "a bus"}]})
    return out


@pytest.fixture(scope="session")
def read_items(bench):
    """``read_items("vqa2")`` -> the task and its EvalItems from the native fixture (no model)."""
    from molmo.eval.runner import items_of
    from molmo.eval.suite import TaskRun
    from molmo.eval.tasks import get_task

    def read(name: str, path: Path | None = None, limit: int | None = None, **overrides):
        task = get_task(name)
        errors: list[str] = []
        data = [] if name == "shapes" and path is None else [str(path or bench[name])]
        items = list(items_of(TaskRun(task, task.settings(**overrides), data, limit), errors))
        assert not errors, errors
        return task, items

    return read


@pytest.fixture(scope="session")
def score_of():
    """``score_of(task, item, prediction)``: score like the metric stage (refs through JSON)."""

    def score(task, item, prediction: str, sizes=((48, 40),)):
        refs = json.loads(json.dumps(item.refs))
        return task.score_records([{"prediction": prediction, "refs": refs, "image_sizes": [list(s) for s in sizes]}])[0]

    return score
