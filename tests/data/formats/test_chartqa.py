from __future__ import annotations

import json

from molmo.data.formats import open_format


def test_chartqa_split_dir(tmp_path):
    (tmp_path / "test_human.json").write_text(
        json.dumps([{"imgname": "1.png", "query": "Max?", "label": "14"}])
    )
    (tmp_path / "test_augmented.json").write_text(
        json.dumps([{"imgname": "2.png", "query": "Min?", "label": "Yes"}, {"query": "no image"}])
    )
    stream = open_format("chartqa", tmp_path)
    recs = list(stream)
    assert stream.total == 3
    assert recs[0].json["meta"] == {"imgname": "1.png", "subset": "human"} and recs[0].images == [
        str(tmp_path / "png" / "1.png")
    ]
    assert recs[0].json["refs"]["answers"] == ["14"] and recs[0].json["style"] == "chart_qa"
    assert recs[1].json["meta"]["subset"] == "augmented"
    assert "lacks" in recs[2].error
