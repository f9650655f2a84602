"""Multiple choice with lettered options: AI2D, A-OKVQA (MC), ScienceQA (formats-and-metrics.md §4.6-4.8, §10.1).

The question carries its options as ``A: …`` lines (the parquet reader and the A-OKVQA/ScienceQA
readers write them so); the model answers with a letter. Scoring is Molmo's ``select_mc_option``
over the letters (exact → unique substring → nearest by edit distance) against ``refs.answer_idx``.
Styles ``ai2_diagram:``, ``a_okvqa_mc:``, ``science_qa:``; 36 crops; 12 tokens.

AI2D from ``lmms-lab/ai2d`` parquet is the letter-option test set (3,088 questions); Molmo's own
``ai2_diagram_v2_mix_transparent`` split with drawn letter boxes is not reproduced here. ScienceQA
keeps image questions only (ScienceQA-IMG); its ``hint`` is not added to the prompt.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from molmo.eval.metrics.multiple_choice import mc_accuracy
from molmo.eval.tasks.base import EvalItem, SourceSample, Task, TaskSettings, clean


def option_letters(n: int) -> list[str]:
    """``["A", "B", …]`` for ``n`` options (the labels the model is asked to answer with)."""
    return list(string.ascii_uppercase[:n])


def mc_refs(sample: SourceSample) -> dict[str, Any]:
    """``{"options", "answer_idx"}`` from the sample (A-OKVQA parquet keeps the index in meta)."""
    refs, meta = sample.refs, sample.meta
    idx = refs.get("answer_idx")
    if idx is None and isinstance(meta.get("correct_choice_idx"), int):
        idx = meta["correct_choice_idx"]
    return {"options": list(refs.get("options") or []), "answer_idx": idx}


def mc_score(prediction: str, refs: dict[str, Any]) -> dict[str, float] | None:
    """``{"mc_accuracy": 0|1}`` or None when the sample has no options / no answer index."""
    options, idx = refs.get("options") or [], refs.get("answer_idx")
    if not options or idx is None or not 0 <= int(idx) < len(options):
        return None
    return {"mc_accuracy": mc_accuracy(clean(prediction), option_letters(len(options)), int(idx))}


@dataclass(frozen=True)
class MultipleChoiceTask(Task):
    """Lettered multiple choice; samples without an image are skipped when ``needs_image``."""

    needs_image: bool = True

    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem | None:
        if self.needs_image and not sample.images:
            return None
        return super().item(sample, index, settings)

    def item_refs(self, sample: SourceSample) -> dict[str, Any]:
        return mc_refs(sample)

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        return mc_score(prediction, refs)


_MC_DATA = "lettered options in the question, refs.options/answer_idx"

TASKS = (
    MultipleChoiceTask(
        name="ai2d", family="ai2d", description="AI2D science diagrams, multiple choice",
        metrics=("mc_accuracy",), style="ai2_diagram", max_crops=36,
        data_help=f"lmms-lab/ai2d parquet or shards ({_MC_DATA})",
        default_data="data/ai2d/test.parquet",
        published={"MolmoE-1B": 86.4, "Molmo-7B-O": 90.7, "Molmo-7B-D": 93.2, "Molmo-72B": 96.3},
    ),
    MultipleChoiceTask(
        name="a_okvqa_mc", family="a_okvqa", description="A-OKVQA multiple choice (COCO 2017 images)",
        metrics=("mc_accuracy",), style="a_okvqa_mc", max_crops=36, json_format="aokvqa",
        data_help="aokvqa_v1p0_val.json (+ val2017/), HuggingFaceM4/A-OKVQA parquet, or shards",
        default_data="data/aokvqa/aokvqa_v1p0_val.json",
    ),
    MultipleChoiceTask(
        name="science_qa", family="science_qa", description="ScienceQA image questions (ScienceQA-IMG)",
        metrics=("mc_accuracy",), style="science_qa", max_crops=36, json_format="scienceqa",
        data_help="ScienceQA problems.json (+ images/test/), lmms-lab/ScienceQA ScienceQA-IMG parquet, or shards",
        default_data="data/scienceqa/problems.json",
    ),
)
