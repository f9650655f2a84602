from __future__ import annotations

from molmo.data.formats import open_format


def test_folder_with_captions(tmp_path, png):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.png").write_bytes(png)
    (tmp_path / "a.txt").write_text("A red square.\n")
    (tmp_path / "sub" / "b.jpg").write_bytes(png)
    (tmp_path / "sub" / "b.txt").write_text("   ")
    (tmp_path / "c.png").write_bytes(png)
    recs = list(open_format("folder", tmp_path))
    assert [r.key for r in recs] == ["000000000-a", "000000001-c", "000000002-sub/b"]
    assert recs[0].json["messages"][1]["content"] == "A red square." and recs[0].json["task"] == "caption"
    assert "no readable caption" in recs[1].error and "empty caption" in recs[2].error
