from __future__ import annotations

import json

from molmo.data.formats import open_format


def test_jsonl_records(tmp_path):
    lines = [
        json.dumps(
            {
                "id": "a",
                "image": "x.png",
                "messages": [{"role": "user", "content": "q"}],
                "refs": {"answers": ["y"]},
            }
        ),
        "{not json",
        json.dumps({"images": ["1.png", "2.png"], "messages": [], "task": "t"}),
        "",
        json.dumps({"images": [3], "messages": []}),
    ]
    (tmp_path / "d.jsonl").write_text("\n".join(lines))
    stream = open_format("jsonl", tmp_path)
    recs = list(stream)
    assert stream.total == 4 and len(recs) == 4
    assert recs[0].key == "000000000-a" and recs[0].images == [str(tmp_path / "x.png")]
    assert recs[0].json == {"messages": [{"role": "user", "content": "q"}], "refs": {"answers": ["y"]}}
    assert "bad JSON" in recs[1].error
    assert (
        recs[2].images == [str(tmp_path / "1.png"), str(tmp_path / "2.png")] and recs[2].json["task"] == "t"
    )
    assert "list of paths" in recs[3].error
