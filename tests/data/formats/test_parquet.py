from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from molmo.data.formats import open_format
from molmo.errors import UserError

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def _write(path, columns: dict, types: dict | None = None):
    types = types or {}
    table = pa.table({k: pa.array(v, type=types.get(k)) for k, v in columns.items()})
    pq.write_table(table, path)


def test_vqa_style_columns(tmp_path, png):
    answers = [
        [
            {"answer": "red", "answer_confidence": "yes", "answer_id": 1},
            {"answer": "maroon", "answer_confidence": "no", "answer_id": 2},
        ],
        [],
    ]
    _write(
        tmp_path / "validation-00000-of-00001.parquet",
        {
            "question_id": [5, 6],
            "question": ["Color?", ""],
            "multiple_choice_answer": ["red", "x"],
            "answers": answers,
            "image": [{"bytes": png, "path": None}, {"bytes": None, "path": "rel.png"}],
            "answer_type": ["other", "other"],
        },
        {"image": IMAGE},
    )
    stream = open_format("parquet", tmp_path, {"style": "vqa2"})
    recs = list(stream)
    assert stream.total == 2
    r = recs[0]
    assert r.images == [png] and r.key == "000000000-5" and r.json["style"] == "vqa2"
    assert r.json["messages"][1]["content"] == "red" and r.json["refs"]["answers"] == ["red", "maroon"]
    assert r.json["meta"] == {"answer_type": "other"}
    assert "no question" in recs[1].error


def test_multiple_choice_and_mapping(tmp_path, png):
    _write(
        tmp_path / "mc.parquet",
        {
            "prompt": ["Which?"],
            "choices": ["['cat', 'dog']"],
            "gold": ["1"],
            "picture": [{"bytes": png, "path": "p.png"}],
            "extra": [3],
        },
        {"picture": IMAGE},
    )
    (r,) = list(
        open_format(
            "parquet", tmp_path / "mc.parquet", {"prompt": "question", "gold": "answer", "extra": "refs.x"}
        )
    )
    assert r.json["messages"][0]["content"] == "Which?\nA: cat\nB: dog"
    assert r.json["messages"][1]["content"] == "B"
    assert r.json["refs"] == {"options": ["cat", "dog"], "answer_idx": 1, "x": 3, "answers": ["B"]}
    with pytest.raises(UserError, match="no column 'nope'"):
        open_format("parquet", tmp_path / "mc.parquet", {"nope": "question"})
    with pytest.raises(UserError, match="unknown field"):
        open_format("parquet", tmp_path / "mc.parquet", {"prompt": "questions"})


def test_messages_column(tmp_path, png):
    msgs = [[{"role": "user", "content": "<image>Hi"}, {"role": "assistant", "content": "Hello"}]]
    _write(
        tmp_path / "m.parquet",
        {"messages": msgs, "images": [{"bytes": png, "path": None}]},
        {"images": IMAGE},
    )
    (r,) = list(open_format("parquet", tmp_path / "m.parquet"))
    assert r.error is None and r.images == [png]
    assert r.json["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
