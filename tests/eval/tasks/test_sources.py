import pytest

from molmo.data.synth import synth_shapes
from molmo.errors import UserError
from molmo.eval.tasks import get_task
from molmo.eval.tasks.sources import detect_format, iter_source


def test_formats_are_recognised_by_shape(bench, tmp_path):
    assert detect_format(str(bench["vqa2"]), get_task("vqa2")) == "vqa2"
    assert detect_format(str(bench["chartqa"]), get_task("chartqa")) == "chartqa"
    assert detect_format(str(bench["ai2d"]), get_task("ai2d")) == "parquet"
    assert detect_format(str(bench["ai2d"].parent), get_task("ai2d")) == "parquet"
    assert detect_format(str(bench["textvqa"]), get_task("textvqa")) == "textvqa"
    assert detect_format("shards/eval-{000..003}.tar", get_task("vqa2")) == "shards"
    (tmp_path / "x.jsonl").write_text("")
    assert detect_format(str(tmp_path / "x.jsonl"), get_task("vqa2")) == "jsonl"
    with pytest.raises(UserError, match="no such file"):
        detect_format(str(tmp_path / "missing.json"), get_task("vqa2"))
    with pytest.raises(UserError, match="not a format task ai2d reads"):
        detect_format(str(bench["vqa2"]), get_task("ai2d"))


def test_shards_and_several_paths(tmp_path):
    synth_shapes(tmp_path / "a", 3, split="eval")
    synth_shapes(tmp_path / "b", 2, split="eval", seed=1)
    samples = list(iter_source(get_task("shapes"), [str(tmp_path / "a"), str(tmp_path / "b")]))
    assert [s.id.split("/")[0] for s in samples] == ["0", "0", "0", "1", "1"]
    assert samples[0].format == "shards" and samples[0].refs["answers"] and samples[0].images[0].size[0] > 0


def test_bad_records_are_skipped_with_a_reason(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "q"}], "image": "a.png", "refs": {"answers": ["x"]}}\nnot json\n')
    errors: list[str] = []
    samples = list(iter_source(get_task("vqa2"), [str(path)], errors))
    assert len(samples) == 1 and len(errors) == 1 and "bad JSON" in errors[0]


def test_missing_data_and_generated_data():
    with pytest.raises(UserError, match="task docvqa needs --data"):
        list(iter_source(get_task("docvqa"), []))
    assert len(list(iter_source(get_task("shapes"), [], synthetic=4))) == 4
