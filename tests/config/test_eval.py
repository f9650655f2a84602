import pytest

from molmo.config.catalog import resolve_recipe
from molmo.config.eval import EvalSuiteRecipe
from molmo.config.loader import load_recipe_file
from molmo.config.recipe import load_any_recipe
from molmo.errors import UserError

ELEVEN = ["ai2d", "chartqa", "docvqa", "infovqa", "textvqa", "vqa2", "realworldqa", "mmmu", "mathvista",
          "countbench", "pixmo_count"]


def test_shipped_suite_validates_and_lists_the_eleven_benchmarks():
    suite = load_any_recipe(resolve_recipe("eval-suite"))
    assert isinstance(suite, EvalSuiteRecipe) and suite.kind == "eval"
    assert [t.task for t in suite.tasks] == ELEVEN
    assert all(t.data and t.data[0].startswith(f"data/{t.task.split('_')[0]}") for t in suite.tasks)


def test_shipped_suite_tasks_resolve_in_the_registry():
    from molmo.eval.tasks import get_task
    from molmo.eval.tasks.base import PUBLISHED_MODELS

    suite = load_any_recipe(resolve_recipe("eval-suite"))
    tasks = [get_task(t.task) for t in suite.tasks]
    assert [t.name for t in tasks] == ELEVEN
    assert all(cfg.data == [t.default_data] for cfg, t in zip(suite.tasks, tasks))
    averages = {"MolmoE-1B": 68.6, "Molmo-7B-O": 74.6, "Molmo-7B-D": 77.3, "Molmo-72B": 81.2}  # molmo-facts §9.3
    for model in PUBLISHED_MODELS:
        # the per-benchmark numbers are themselves rounded: their mean matches the average to 0.1
        assert abs(sum(t.published[model] for t in tasks) / 11 - averages[model]) <= 0.1


def test_schema_errors_are_readable(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('kind = "eval"\n[[tasks]]\ntask = "vqa2"\nmax_crop = 4\n')
    with pytest.raises(UserError, match=r"unknown key 'tasks\[0\].max_crop' \(did you mean 'max_crops'\?\)"):
        load_recipe_file(EvalSuiteRecipe, path)
    path.write_text('kind = "eval"\n[[tasks]]\ntask = "vqa2"\n[[tasks]]\ntask = "VQA2"\n')
    with pytest.raises(UserError, match="tasks listed more than once: vqa2"):
        load_recipe_file(EvalSuiteRecipe, path)
    path.write_text('kind = "eval"\ntasks = []\n')
    with pytest.raises(UserError, match="tasks"):
        load_recipe_file(EvalSuiteRecipe, path)
    path.write_text('kind = "eval"\ndevice = "tpu"\n[[tasks]]\ntask = "shapes"\n')
    with pytest.raises(UserError, match="device"):
        load_recipe_file(EvalSuiteRecipe, path)


def test_overrides_apply():
    suite = load_any_recipe(resolve_recipe("eval-suite"), ["batch_size=2", "limit=10"])
    assert suite.batch_size == 2 and suite.limit == 10 and suite.tasks[0].max_crops is None
