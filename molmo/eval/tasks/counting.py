"""Counting: CountBenchQA and PixMo-Count (formats-and-metrics.md §4.9, §4.10, §11.4).

Style ``point_count`` (a demo style, so no prefix at inference), 192 new tokens (the model may point
before it counts), the model's default crops (Molmo's "low-res" set, molmo-facts §9.1). The count
is read with Molmo's ``PointCountEval`` parser; metrics ``count_accuracy`` (exact), ``count_close``
(within ±1) and ``count_valid`` (an integer was found).

The target count comes from ``refs.count`` (shards), the ``number`` column (CountBenchQA parquet)
or the ``count`` column (PixMo-Count parquet). PixMo-Count rows have no question: the parquet
mapping reads ``label`` as the question text and the task asks ``How many {label} are there?``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from molmo.eval.metrics.counting import count_accuracy, count_close, count_valid, parse_count
from molmo.eval.tasks.base import EvalItem, SourceSample, Task, TaskSettings

COUNT_METRICS = ("count_accuracy", "count_close", "count_valid")
COUNT_PROMPT = "How many {label} are there?"


def target_count(sample: SourceSample) -> int | None:
    """The ground-truth count of a sample, from refs or the benchmark's own column."""
    for value in (sample.refs.get("count"), sample.meta.get("number"), sample.meta.get("count")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return None


@dataclass(frozen=True)
class CountTask(Task):
    """Count questions; ``label_as_question``: parquet rows hold a label, not a question."""

    label_as_question: bool = False

    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem:
        prompt = sample.question
        label = sample.refs.get("label") or sample.meta.get("label")
        if self.label_as_question and sample.format == "parquet":
            label, prompt = prompt, COUNT_PROMPT.format(label=prompt)
        refs = {"count": target_count(sample), "label": label}
        return EvalItem(sample.id, index, prompt, settings.style or sample.json.get("style"), refs, list(sample.images))

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        if refs.get("count") is None:
            return None
        target, parsed = int(refs["count"]), parse_count(prediction)
        return {"count_accuracy": count_accuracy(parsed, target), "count_close": count_close(parsed, target),
                "count_valid": count_valid(parsed)}


TASKS = (
    CountTask(
        name="countbench", family="countbench", description="CountBenchQA (counts 2-10, LAION images)",
        metrics=COUNT_METRICS, style="point_count", max_new_tokens=192,
        data_help="vikhyatk/CountBenchQA parquet (image, question, number), or shards with refs.count",
        default_data="data/countbench/test.parquet",
        published={"MolmoE-1B": 87.2, "Molmo-7B-O": 89.0, "Molmo-7B-D": 88.5, "Molmo-72B": 91.2},
    ),
    CountTask(
        name="pixmo_count", family="pixmo_count", description="PixMo-Count test (human-verified counts 2-10)",
        metrics=COUNT_METRICS, style="point_count", max_new_tokens=192, label_as_question=True,
        parquet_map=(("label", "question"), ("count", "refs.count"), ("points", "-")),
        data_help="allenai/pixmo-count test parquet WITH an embedded image column (label, count), "
                  "or shards / JSONL with refs.count",
        default_data="data/pixmo_count/test.parquet",
        published={"MolmoE-1B": 79.6, "Molmo-7B-O": 83.3, "Molmo-7B-D": 84.8, "Molmo-72B": 85.2},
    ),
)
