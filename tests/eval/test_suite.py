from pathlib import Path

import pytest

from molmo.errors import UserError
from molmo.eval.suite import default_model, plan_eval, split_data

RECIPE = """
kind = "eval"
name = "mini"
model = "{model}"
batch_size = 3
limit = 7
[[tasks]]
task = "vqa"
data = ["recipe/vqa.json"]
max_crops = 9
[[tasks]]
task = "docvqa"
data = ["recipe/doc.json"]
limit = 2
"""


def _recipe(tmp_path, model="ckpt"):
    (tmp_path / "ckpt").mkdir(exist_ok=True)
    for name in ("recipe/vqa.json", "recipe/doc.json", "cli/doc.json"):  # data paths are relative to the cwd
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    path = tmp_path / "suite.toml"
    path.write_text(RECIPE.format(model=tmp_path / model))
    return path


def test_recipe_defaults_and_cli_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = plan_eval(str(_recipe(tmp_path)))
    assert [r.task.name for r in plan.runs] == ["vqa2", "docvqa"] and plan.name == "mini"
    assert plan.runs[0].settings.max_crops == 9 and plan.runs[1].settings.max_crops == 36
    assert [r.limit for r in plan.runs] == [7, 2] and plan.batch_size == 3 and plan.runs[0].data == ["recipe/vqa.json"]
    assert plan.model == str((tmp_path / "ckpt").resolve())
    plan = plan_eval(str(_recipe(tmp_path)), tasks=["docqa"], data=["cli/doc.json"], limit=1, batch_size=5,
                     output=str(tmp_path / "o"), device="cpu")
    assert [r.task.name for r in plan.runs] == ["docvqa"] and plan.runs[0].data == ["cli/doc.json"]
    assert (plan.runs[0].limit, plan.batch_size, plan.output, plan.device) == (1, 5, tmp_path / "o", "cpu")
    with pytest.raises(UserError, match="no task chartqa in this recipe"):
        plan_eval(str(_recipe(tmp_path)), tasks=["chartqa"])
    with pytest.raises(UserError, match="nope.json: no such file or directory .task docvqa reads"):
        plan_eval(str(_recipe(tmp_path)), data=["docvqa=nope.json"])  # checked before any model loads


def test_data_assignment():
    assert split_data(["a.json"], ["vqa2"]) == {"vqa2": ["a.json"]}
    assert split_data(["vqa=a.json", "docvqa=b.json"], ["vqa2", "docvqa"]) == {"vqa2": ["a.json"], "docvqa": ["b.json"]}
    with pytest.raises(UserError, match="write --data TASK=PATH"):
        split_data(["a.json"], ["vqa2", "docvqa"])
    with pytest.raises(UserError, match="not among the tasks"):
        split_data(["chartqa=x"], ["vqa2"])


def test_errors_and_defaults(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="nothing to evaluate"):
        plan_eval()
    with pytest.raises(UserError, match="did you mean"):
        plan_eval(tasks=["vqa3"], model=str(tmp_path))
    with pytest.raises(UserError, match="no such checkpoint"):
        plan_eval(tasks=["vqa2"], model=str(tmp_path / "nope"))
    with pytest.raises(UserError, match="--predictions .*: no such file"):
        plan_eval(tasks=["vqa2"], predictions=str(tmp_path / "p.jsonl"))
    (tmp_path / "p.jsonl").write_text("")
    plan = plan_eval(predictions=str(tmp_path / "p.jsonl"))
    assert plan.runs == [] and plan.output == tmp_path and plan.model is None
    monkeypatch.setenv("MOLMO_HOME", str(tmp_path / "home"))
    assert plan_eval(tasks=["shapes"], model=str(tmp_path)).output == tmp_path / "home" / "eval" / "shapes"
    train = tmp_path / "train.toml"
    train.write_text("[model]\npreset = 'tiny'\n")
    with pytest.raises(UserError, match='kind = "eval"'):
        plan_eval(str(train))


def test_default_model_is_the_demo_model(tmp_path):
    try:
        path = default_model()
    except UserError as e:  # a source tree without the trained demo checkpoint
        assert "--model" in str(e)
    else:
        assert (Path(path) / "config.json").is_file()
        plan = plan_eval(tasks=["shapes"], output=str(tmp_path))
        assert plan.model == str(Path(path).resolve()) and plan.uses_demo
