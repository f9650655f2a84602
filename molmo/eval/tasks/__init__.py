"""The eval task registry: name (or family alias) -> :class:`~molmo.eval.tasks.base.Task`.

One module per task family; each exports ``TASKS``:

==================  ===========================================================================
module              tasks
==================  ===========================================================================
``vqa``             vqa2, textvqa, okvqa (VQA score)
``documents``       docvqa, infovqa, st_vqa (ANLS)
``chart``           chartqa (relaxed accuracy + exact match)
``multiple_choice`` ai2d, a_okvqa_mc, science_qa (lettered multiple choice)
``mc_or_open``      realworldqa, mmmu, mathvista (MC or open answers per question)
``counting``        countbench, pixmo_count (count accuracy, ±1 close)
``pointing``        pixmo_points (precision / recall / F1 with masks)
``caption``         caption (CIDEr-D)
``shapes``          shapes (the demo world: one row per skill)
==================  ===========================================================================

``get_task("vqa")`` resolves family aliases (``vqa`` -> ``vqa2``, ``doc_qa`` -> ``docvqa``, …);
unknown names raise ``UserError`` with a suggestion.
"""

from __future__ import annotations

from typing import Any

from molmo.config.loader import suggest
from molmo.errors import UserError
from molmo.eval.tasks import (
    caption,
    chart,
    counting,
    documents,
    mc_or_open,
    multiple_choice,
    pointing,
    shapes,
    vqa,
)
from molmo.eval.tasks.base import EvalItem, ResultRow, SourceSample, Task, TaskSettings

TASKS: dict[str, Task] = {
    t.name: t
    for module in (vqa, documents, chart, multiple_choice, mc_or_open, counting, pointing, caption, shapes)
    for t in module.TASKS
}

#: Alternative names: each task's family, Molmo's dataset/style names and common spellings.
ALIASES: dict[str, str] = {
    **{t.family: t.name for t in TASKS.values() if t.family != t.name},
    "vqav2": "vqa2", "text_vqa": "textvqa", "ok_vqa": "okvqa", "doc_qa": "docvqa", "docqa": "docvqa",
    "info_qa": "infovqa", "infographicvqa": "infovqa", "infographics_vqa": "infovqa", "stvqa": "st_vqa",
    "st_qa": "st_vqa", "chart_qa": "chartqa", "ai2_diagram": "ai2d", "aokvqa": "a_okvqa_mc",
    "aokvqa_mc": "a_okvqa_mc", "scienceqa": "science_qa", "science_qa_img": "science_qa",
    "real_world_qa": "realworldqa", "rwqa": "realworldqa", "math_vista": "mathvista",
    "countbenchqa": "countbench", "countbench_qa": "countbench", "pixmocount": "pixmo_count",
    "pixmo_points_eval": "pixmo_points", "pointing": "pixmo_points", "captioning": "caption", "coco": "caption",
    "tiny_shapes": "shapes",
}


def list_tasks() -> list[str]:
    """Registered task names, in registry order."""
    return list(TASKS)


def get_task(name: str) -> Task:
    """The task called ``name`` (or aliased so); ``UserError`` with a suggestion otherwise."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in TASKS:
        return TASKS[key]
    known = list(TASKS) + list(ALIASES)
    raise UserError(f"unknown task {name!r}{suggest(key, known)}; tasks: {', '.join(TASKS)}")


def task_table() -> list[dict[str, Any]]:
    """One row per task for docs and ``--help``: name, metrics, style, max tokens, crops, data."""
    return [
        {"task": t.name, "metrics": ", ".join(t.metrics), "style": t.style or "(per sample)",
         "max_new_tokens": t.max_new_tokens, "max_crops": t.max_crops or "model default", "data": t.data_help}
        for t in TASKS.values()
    ]


__all__ = ["ALIASES", "TASKS", "EvalItem", "ResultRow", "SourceSample", "Task", "TaskSettings", "get_task",
           "list_tasks", "task_table"]
