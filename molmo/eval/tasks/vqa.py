"""VQA-score family: VQAv2, TextVQA, OK-VQA (formats-and-metrics.md §3, §4.1, §4.2, §6).

Molmo asks these with the ``vqa2:`` / ``text_vqa:`` / ``okvqa:`` style prefixes on 36 crops and
12 new tokens (molmo-facts §9.1). Two metrics are reported: ``vqa_score`` (leave-one-annotator-out
with always-on official normalisation — what the evaluation servers compute whenever answers
differ) and ``vqa_score_molmo`` (Molmo's simplified min(#matches/3, 1)). The published VQAv2
number is test-dev from the EvalAI server; local runs use a labelled split (val).

OK-VQA from its VQA-format files reads the annotations' ``answer`` field (the stemmed v1.1 answers);
Molmo scores against ``raw_answer``.
"""

from __future__ import annotations

from molmo.eval.tasks.base import AnswersTask

VQA_METRICS = ("vqa_score", "vqa_score_molmo")

TASKS = (
    AnswersTask(
        name="vqa2", family="vqa", description="VQAv2 open-ended VQA (COCO images, 10 answers each)",
        metrics=VQA_METRICS, style="vqa2", max_crops=36, json_format="vqa2",
        data_help="VQAv2 questions JSON (annotations JSON beside it, COCO images under <subtype>/), "
                  "lmms-lab/VQAv2 parquet, or shards",
        default_data="data/vqa2/v2_OpenEnded_mscoco_val2014_questions.json",
        published={"MolmoE-1B": 83.9, "Molmo-7B-O": 85.3, "Molmo-7B-D": 85.6, "Molmo-72B": 86.5},
    ),
    AnswersTask(
        name="textvqa", family="textvqa", description="TextVQA (reading text in natural images)",
        metrics=VQA_METRICS, style="text_vqa", max_crops=36, json_format="textvqa",
        data_help="TextVQA_0.5.1_val.json (+ train_images/), lmms-lab/textvqa parquet, or shards",
        default_data="data/textvqa/TextVQA_0.5.1_val.json",
        published={"MolmoE-1B": 78.8, "Molmo-7B-O": 80.4, "Molmo-7B-D": 81.7, "Molmo-72B": 83.1},
    ),
    AnswersTask(
        name="okvqa", family="okvqa", description="OK-VQA (outside-knowledge VQA, COCO images)",
        metrics=VQA_METRICS, style="okvqa", max_crops=36, json_format="vqa2",
        data_help="OK-VQA questions JSON (mscoco_val2014_annotations.json beside it, COCO images), "
                  "lmms-lab/OK-VQA parquet, or shards",
        default_data="data/okvqa/OpenEnded_mscoco_val2014_questions.json",
    ),
)
