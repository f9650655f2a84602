import pytest

from molmo.errors import UserError
from molmo.eval.metrics.registry import METRICS
from molmo.eval.tasks import ALIASES, TASKS, get_task, list_tasks, task_table

ISSUE_TASKS = {"vqa2", "textvqa", "okvqa", "docvqa", "infovqa", "st_vqa", "chartqa", "ai2d", "a_okvqa_mc",
               "science_qa", "realworldqa", "mmmu", "countbench", "pixmo_count", "pixmo_points", "caption", "shapes"}
HIGH_RES = {"vqa2", "textvqa", "okvqa", "chartqa", "docvqa", "infovqa", "science_qa", "ai2d", "a_okvqa_mc", "mmmu",
            "realworldqa", "mathvista"}


def test_registry_has_every_task_with_molmo_settings():
    assert ISSUE_TASKS <= set(list_tasks())
    for name, task in TASKS.items():
        assert task.max_crops == (36 if name in HIGH_RES else None), name
        expected_tokens = 192 if name in {"countbench", "pixmo_count", "pixmo_points", "shapes"} else task.max_new_tokens
        assert task.max_new_tokens == expected_tokens
        described = task.variants(task.metrics)
        assert all(m in METRICS or m in task.notes for m in task.metrics), name
        assert all(described[m] != m for m in task.metrics), name
    assert TASKS["vqa2"].max_new_tokens == 12 and TASKS["vqa2"].style == "vqa2"


def test_family_aliases_and_suggestions():
    assert get_task("vqa").name == "vqa2" and get_task("VQAv2").name == "vqa2"
    assert get_task("doc-qa").name == "docvqa" and get_task("a_okvqa").name == "a_okvqa_mc"
    assert all(target in TASKS for target in ALIASES.values())
    with pytest.raises(UserError, match=r"unknown task 'vqa3' \(did you mean"):
        get_task("vqa3")


def test_task_table_lists_settings():
    rows = {r["task"]: r for r in task_table()}
    assert rows["chartqa"]["metrics"] == "relaxed_accuracy, exact_match" and rows["chartqa"]["max_crops"] == 36
    assert rows["countbench"]["max_crops"] == "model default" and rows["shapes"]["style"] == "(per sample)"
