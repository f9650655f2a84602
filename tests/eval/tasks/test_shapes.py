import io

import pytest
from PIL import Image

from molmo.eval.tasks.shapes import SKILLS, vqa_exact


def _perfect_records(items):
    return [{"prediction": it.refs["answers"][0], "refs": it.refs, "task": "shapes",
             "image_sizes": [list(Image.open(io.BytesIO(it.images[0])).size)]} for it in items]


def test_generated_samples_score_one_with_perfect_predictions(read_items):
    task, items = read_items("shapes", limit=60)
    records = _perfect_records(items)
    rows = task.rows(records, task.score_records(records))
    assert [r.task for r in rows] == [f"shapes/{s}" for s in SKILLS]
    for row in rows:
        assert row.n > 0 and set(row.metrics) == set(SKILLS[row.task.split("/")[1]])
        assert all(v == pytest.approx(1.0) for v in row.metrics.values()), row


def test_wrong_predictions_score_zero(read_items):
    task, items = read_items("shapes", limit=20)
    records = [dict(r, prediction="purple elephant 999") for r in _perfect_records(items)]
    rows = task.rows(records, task.score_records(records))
    assert all(v < 0.5 for r in rows for v in r.metrics.values())
    assert vqa_exact("The Red.", ["red"]) == 1.0
