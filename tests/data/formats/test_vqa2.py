from __future__ import annotations

import json

from molmo.data.formats import open_format


def test_vqa2_keeps_all_answers(tmp_path):
    q = {
        "data_subtype": "val2014",
        "questions": [
            {"image_id": 42, "question": "What color?", "question_id": 42000},
            {"image_id": 7, "question": "How many?", "question_id": 7001},
            {"question": "broken"},
        ],
    }
    answers = [
        {"answer": a, "answer_confidence": "yes", "answer_id": i + 1}
        for i, a in enumerate(["red"] * 7 + ["blue"] * 3)
    ]
    a = {
        "annotations": [
            {
                "question_id": 42000,
                "image_id": 42,
                "question_type": "what color",
                "answer_type": "other",
                "multiple_choice_answer": "red",
                "answers": answers,
            }
        ]
    }
    (tmp_path / "v2_OpenEnded_mscoco_val2014_questions.json").write_text(json.dumps(q))
    (tmp_path / "v2_mscoco_val2014_annotations.json").write_text(json.dumps(a))
    recs = list(open_format("vqa2", tmp_path))
    r = recs[0]
    assert r.images == [str(tmp_path / "val2014" / "COCO_val2014_000000000042.jpg")]
    assert r.json["messages"][1] == {"role": "assistant", "content": "red"}
    assert r.json["refs"]["answers"] == ["red"] * 7 + ["blue"] * 3
    assert r.json["meta"]["question_id"] == 42000 and r.json["meta"]["answer_type"] == "other"
    assert r.json["style"] == "vqa2"
    assert "no annotation" in recs[1].error and "lacks" in recs[2].error


def test_vqa2_test_split_without_annotations(tmp_path):
    q = {"data_subtype": "test2015", "questions": [{"image_id": 1, "question": "Q?", "question_id": 1000}]}
    (tmp_path / "v2_OpenEnded_mscoco_test2015_questions.json").write_text(json.dumps(q))
    (r,) = list(open_format("vqa2", tmp_path))
    assert r.error is None and len(r.json["messages"]) == 1 and "refs" not in r.json
