from __future__ import annotations

import json

import pytest

from molmo.data.formats import open_format
from molmo.errors import UserError


def test_llava_records(tmp_path):
    data = [
        {
            "id": "000000123456",
            "image": "coco/a.jpg",
            "conversations": [
                {"from": "human", "value": "<image>\nWhat is it?"},
                {"from": "gpt", "value": "A cat."},
            ],
        },
        {
            "id": "t1",
            "conversations": [{"from": "human", "value": "Write a haiku."}, {"from": "gpt", "value": "..."}],
        },
        {
            "id": "m",
            "image": ["a.jpg", "b.jpg"],
            "conversations": [
                {"from": "human", "value": "<image> vs <image>?"},
                {"from": "gpt", "value": "same"},
            ],
        },
        {"id": "e", "image": "a.jpg", "conversations": []},
        {"id": "r", "conversations": [{"from": "system", "value": "x"}]},
        {
            "id": "n",
            "conversations": [{"from": "human", "value": "<image> hi"}, {"from": "gpt", "value": "x"}],
        },
    ]
    (tmp_path / "mix.json").write_text(json.dumps(data))
    stream = open_format("llava", tmp_path / "mix.json", {"image_root": "/imgs"})
    recs = list(stream)
    assert stream.total == 6
    r0 = recs[0]
    assert r0.key == "000000000-000000123456" and r0.images == ["/imgs/coco/a.jpg"] and r0.error is None
    assert r0.json["messages"] == [
        {"role": "user", "content": "What is it?"},
        {"role": "assistant", "content": "A cat."},
    ]
    assert recs[1].images == [] and recs[1].json["meta"]["id"] == "t1"
    assert recs[2].json["messages"][0]["content"] == "<|image|> vs <|image|>?" and len(recs[2].images) == 2
    assert "empty conversation" in recs[3].error
    assert "bad conversation turn" in recs[4].error
    assert "marker but no image" in recs[5].error


def test_llava_not_a_list(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(UserError, match="JSON array"):
        open_format("llava", tmp_path / "x.json")
    with pytest.raises(UserError, match="unknown pack format"):
        open_format("nope", tmp_path)
