"""ANLS family: DocVQA, InfographicVQA, ST-VQA (formats-and-metrics.md §4.3, §4.4, §7).

Styles ``doc_qa:`` / ``info_qa:`` (molmo-facts §6.2) and ``st_qa:`` (ST-VQA's style name is
unverified); DocVQA and InfoVQA on 36 crops. Metrics: ``anls`` (official RRC computation) and
``anls_molmo`` (Molmo/pix2struct). Published DocVQA/InfoVQA numbers are from the RRC test server;
local runs use the labelled val split.
"""

from __future__ import annotations

from molmo.eval.tasks.base import AnswersTask

ANLS_METRICS = ("anls", "anls_molmo")

TASKS = (
    AnswersTask(
        name="docvqa", family="docvqa", description="DocVQA single-page document VQA",
        metrics=ANLS_METRICS, style="doc_qa", max_crops=36, json_format="docvqa",
        data_help="val_v1.0_withQT.json (+ documents/), lmms-lab/DocVQA DocVQA parquet, or shards",
        default_data="data/docvqa/val_v1.0_withQT.json",
        published={"MolmoE-1B": 77.7, "Molmo-7B-O": 90.8, "Molmo-7B-D": 92.2, "Molmo-72B": 93.5},
    ),
    AnswersTask(
        name="infovqa", family="infovqa", description="InfographicVQA",
        metrics=ANLS_METRICS, style="info_qa", max_crops=36, json_format="docvqa",
        data_help="infographicsVQA_val_v1.0_withQT.json (+ images/), lmms-lab/DocVQA InfographicVQA "
                  "parquet, or shards",
        default_data="data/infovqa/infographicsVQA_val_v1.0_withQT.json",
        published={"MolmoE-1B": 53.9, "Molmo-7B-O": 70.0, "Molmo-7B-D": 72.6, "Molmo-72B": 81.9},
    ),
    AnswersTask(
        name="st_vqa", family="st_vqa", description="ST-VQA scene-text VQA",
        metrics=ANLS_METRICS, style="st_qa", json_format="stvqa",
        data_help="ST-VQA JSON ({data: [{question, answers, file_path}]}), parquet, or shards",
        default_data="data/st_vqa/train_task_3.json",
    ),
)
