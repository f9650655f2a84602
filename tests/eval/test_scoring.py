import json

import pytest

from molmo.errors import UserError
from molmo.eval.predictions import read_predictions, write_predictions
from molmo.eval.scoring import score_prediction_file
from molmo.eval.suite import plan_eval


def _rec(task, i, prediction, refs, model="m"):
    return {"key": f"{task}{i}", "model": model, "task": task, "id": f"{task}-{i}", "index": i, "prompt": "q",
            "prediction": prediction, "refs": refs, "image_sizes": [[10, 10]]}


def test_scores_a_predictions_file_without_a_model(tmp_path):
    records = [_rec("vqa2", 1, "cat", {"answers": ["cat"] * 4}), _rec("vqa2", 0, "dog", {"answers": ["cat"] * 4}),
               _rec("chartqa", 0, "10", {"answers": ["10.2"]}), _rec("vqa2", 2, "x", {})]
    src = write_predictions(tmp_path / "in" / "mine.jsonl", records)
    outcome = score_prediction_file(plan_eval(predictions=str(src), output=str(tmp_path / "out")))
    assert outcome.to_json() == json.loads((tmp_path / "out" / "results.json").read_text())
    rows = {r.task: r for r in outcome.results}
    assert rows["vqa2"].n == 2 and rows["vqa2"].metrics["vqa_score"] == 0.5
    assert rows["chartqa"].metrics == {"relaxed_accuracy": 1.0, "exact_match": 0.0}
    scored = read_predictions(tmp_path / "out" / "predictions.jsonl")
    assert [r["id"] for r in scored] == ["vqa2-0", "vqa2-1", "vqa2-2", "chartqa-0"]
    assert scored[0]["scores"]["vqa_score"] == 0.0 and scored[2]["scores"] is None
    only = score_prediction_file(plan_eval(tasks=["chartqa"], predictions=str(src), output=str(tmp_path / "o2")))
    assert [r.task for r in only.results] == ["chartqa"]


def test_bad_files_are_user_errors(tmp_path):
    src = write_predictions(tmp_path / "p.jsonl", [_rec("vqa2", 0, "a", {"answers": ["a"]}, "m1"),
                                                   _rec("vqa2", 1, "a", {"answers": ["a"]}, "m2")])
    with pytest.raises(UserError, match="several models"):
        score_prediction_file(plan_eval(predictions=str(src)))
    with pytest.raises(UserError, match="no predictions for task docvqa"):
        score_prediction_file(plan_eval(tasks=["docvqa"], predictions=str(src)))
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(UserError, match="no predictions in this file"):
        score_prediction_file(plan_eval(predictions=str(tmp_path / "e.jsonl")))
    write_predictions(tmp_path / "u.jsonl", [_rec("nosuch", 0, "a", {})])
    with pytest.raises(UserError, match="unknown task 'nosuch'"):
        score_prediction_file(plan_eval(predictions=str(tmp_path / "u.jsonl")))
