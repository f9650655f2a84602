from __future__ import annotations

from PIL import Image

from molmo.data.inspect import inspect_shards, sample_points


def test_rows_and_contact_sheet(shapes_dir, tmp_path):
    rows = inspect_shards(str(shapes_dir), n=35, show=tmp_path / "sheet.png")
    assert len(rows) == 35 and rows[0].key == "shapes-s7-eval-0000000"
    assert rows[30].shard == "shapes-eval-000001.tar"
    assert all(
        r.task and r.question and r.answer and len(r.image_sizes) == 1 and r.error is None for r in rows
    )
    with Image.open(tmp_path / "sheet.png") as im:
        assert im.size[0] == 4 * 224 and im.size[1] >= 9 * 224
    assert rows[0].to_json()["key"] == rows[0].key


def test_sample_points_prefers_refs_then_parses_answer():
    obj = {
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": '<point x="50.0" y="25.0" alt="a">a</point>'},
        ]
    }
    assert sample_points(obj, 200, 100) == [(100.0, 25.0)]
    assert sample_points({**obj, "refs": {"points": [[1, 2]]}}, 200, 100) == [(1.0, 2.0)]
