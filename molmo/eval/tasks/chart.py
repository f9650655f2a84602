"""ChartQA: relaxed accuracy (5 % numeric tolerance) plus exact match (formats-and-metrics.md §4.5, §8).

Style ``chart_qa:``, 36 crops, 12 tokens. The test split's human and augmented halves are read
together (the ChartQA reader takes both JSON files of a split folder); the reported number is the
mean over all questions, which is the mean of the two equally sized halves.
"""

from __future__ import annotations

from molmo.eval.tasks.base import AnswersTask

TASKS = (
    AnswersTask(
        name="chartqa", family="chartqa", description="ChartQA (human + augmented questions)",
        metrics=("relaxed_accuracy", "exact_match"), style="chart_qa", max_crops=36, json_format="chartqa",
        data_help="ChartQA split folder (test_human.json, test_augmented.json, png/), lmms-lab/ChartQA "
                  "parquet, or shards",
        default_data="data/chartqa/test",
        published={"MolmoE-1B": 78.0, "Molmo-7B-O": 80.4, "Molmo-7B-D": 84.1, "Molmo-72B": 87.3},
    ),
)
