import json
import os
import stat

import pytest

from molmo.errors import UserError
from molmo.eval.predictions import (
    PredictionWriter,
    done_keys,
    merge_prediction_files,
    prediction_key,
    rank_file,
    read_predictions,
    write_json,
    write_predictions,
)

GEN = {"max_new_tokens": 12, "temperature": 0.0, "num_beams": 1, "max_crops": 36}


def test_key_depends_on_every_part():
    key = prediction_key("m", "vqa2", "id1", "Q?", "vqa2", GEN)
    assert key == prediction_key("m", "vqa2", "id1", "Q?", "vqa2", dict(reversed(list(GEN.items()))))
    others = [prediction_key("m2", "vqa2", "id1", "Q?", "vqa2", GEN), prediction_key("m", "textvqa", "id1", "Q?", "vqa2", GEN),
              prediction_key("m", "vqa2", "id2", "Q?", "vqa2", GEN), prediction_key("m", "vqa2", "id1", "Q!", "vqa2", GEN),
              prediction_key("m", "vqa2", "id1", "Q?", None, GEN), prediction_key("m", "vqa2", "id1", "Q?", "vqa2", {**GEN, "max_crops": 12})]
    assert len({key, *others}) == 7


def test_writer_appends_flushes_and_drops_a_cut_off_line(tmp_path):
    path = tmp_path / "predictions.jsonl"
    with PredictionWriter(path) as w:
        w.write([{"key": "a", "task": "t", "id": "1", "prediction": "x"}])
        assert read_predictions(path)[0]["key"] == "a"  # visible before close
    with open(path, "a") as f:
        f.write('{"key": "b", "task": "t", "id": "2", "predi')  # crash mid-write
    assert [r["key"] for r in read_predictions(path)] == ["a"]
    with PredictionWriter(path) as w:
        w.write([{"key": "c", "task": "t", "id": "3", "prediction": "y"}])
    assert [r["key"] for r in read_predictions(path)] == ["a", "c"]
    assert done_keys([path, tmp_path / "missing.jsonl"]) == {"a", "c"}


def test_strict_reading_names_the_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"task": "t", "id": "1", "prediction": "x"}\nnot json\n')
    assert len(read_predictions(path)) == 1
    with pytest.raises(UserError, match=r"p.jsonl:2: not valid JSON"):
        read_predictions(path, strict=True)
    path.write_text('{"task": "t", "id": "1"}\n')
    with pytest.raises(UserError, match=r"p.jsonl:1: prediction lacks prediction"):
        read_predictions(path, strict=True)


def test_merge_rank_files_one_record_per_key(tmp_path):
    write_predictions(tmp_path / "predictions.jsonl", [{"key": "a", "n": 0}])
    write_predictions(rank_file(tmp_path, 0), [{"key": "a", "n": 1}, {"key": "b", "n": 1}])
    write_predictions(rank_file(tmp_path, 1), [{"key": "c", "n": 2}])
    records = merge_prediction_files(tmp_path)
    assert [(r["key"], r["n"]) for r in records] == [("a", 0), ("b", 1), ("c", 2)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.jsonl"]
    assert read_predictions(tmp_path / "predictions.jsonl") == records


def test_atomic_files_are_readable_and_leave_no_temp(tmp_path):
    path = write_json(tmp_path / "out" / "results.json", {"model": "m", "results": []})
    assert json.loads(path.read_text()) == {"model": "m", "results": []}
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]
