from __future__ import annotations

import json

from molmo.data.formats import open_format


def test_docvqa_and_infovqa(tmp_path):
    doc = {
        "dataset_name": "docvqa",
        "data": [
            {
                "questionId": 49153,
                "question": "What is the date?",
                "image": "documents/abc_1.png",
                "answers": ["1/8/93", "January 8, 1993"],
                "docId": 14465,
                "question_types": ["form"],
            },
            {"questionId": 2, "question": "No image"},
            {"questionId": 3, "question": "Test?", "image": "documents/t.png"},
        ],
    }
    (tmp_path / "val_v1.0_withQT.json").write_text(json.dumps(doc))
    recs = list(open_format("docvqa", tmp_path / "val_v1.0_withQT.json"))
    assert recs[0].json["refs"]["answers"] == ["1/8/93", "January 8, 1993"]
    assert recs[0].json["messages"][1]["content"] == "1/8/93" and recs[0].json["meta"]["docId"] == 14465
    assert recs[0].images == [str(tmp_path / "documents" / "abc_1.png")] and recs[0].json["task"] == "docvqa"
    assert "lacks image" in recs[1].error
    assert len(recs[2].json["messages"]) == 1
    info = {
        "dataset_name": "infographicVQA",
        "data": [{"questionId": 9, "question": "Q", "image_local_name": "37313.jpeg", "answers": ["x"]}],
    }
    (tmp_path / "info.json").write_text(json.dumps(info))
    (r,) = list(open_format("docvqa", tmp_path / "info.json"))
    assert r.images == [str(tmp_path / "images" / "37313.jpeg")] and r.json["style"] == "info_qa"
