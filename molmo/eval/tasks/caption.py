"""Captioning scored with CIDEr-D (formats-and-metrics.md §9).

CIDEr-D is a corpus metric in **[0, 10]** (papers print it ×100): document frequencies come from
all references of the eval set, so per-sample scores only exist relative to the whole run and are
recomputed together in :meth:`CaptionTask.score_records`. ``results.json`` keeps the raw value and
says so in ``metric_variants``.

Data: COCO captions JSON (``captions_val2014.json`` or Karpathy's ``dataset_coco.json`` test split),
an image folder with ``name.txt`` captions (one reference per line), parquet with an ``answers``
list column, JSONL or shards with ``refs.answers``. The prompt is the sample's (``Describe this
image.`` for the readers) with the sample's style (``long_caption``); 128 new tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from molmo.eval.metrics.cider import cider
from molmo.eval.tasks.base import SourceSample, Task

CIDER_NOTE = "raw value in [0, 10] (papers report x100)"


@dataclass(frozen=True)
class CaptionTask(Task):
    def item_refs(self, sample: SourceSample) -> dict[str, Any]:
        answers = [str(a) for a in sample.refs.get("answers") or []]
        if sample.format == "folder":  # one reference caption per line of name.txt
            answers = [line.strip() for a in answers for line in a.splitlines() if line.strip()]
        return {"answers": answers}

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        """None: CIDEr-D has no single-caption value (its idf needs the corpus); see :meth:`score_records`."""
        return None

    def score_records(self, records: Sequence[dict[str, Any]]) -> list[dict[str, float] | None]:
        keep = [i for i, r in enumerate(records) if (r.get("refs") or {}).get("answers")]
        out: list[dict[str, float] | None] = [None] * len(records)
        if not keep:
            return out
        result = cider([str(records[i].get("prediction", "")).strip() for i in keep],
                       [[str(a) for a in records[i]["refs"]["answers"]] for i in keep])
        for i, value in zip(keep, result.per_image):
            out[i] = {"cider": value}
        return out


TASKS = (
    CaptionTask(
        name="caption", family="caption", description="Image captioning, CIDEr-D",
        metrics=("cider",), max_new_tokens=128, json_format="coco_captions",
        data_help="COCO captions JSON (captions_val2014.json or dataset_coco.json) + images, an image folder "
                  "with .txt captions, parquet/JSONL/shards with refs.answers",
        default_data="data/coco/annotations/captions_val2014.json",
        notes={"cider": CIDER_NOTE},
    ),
)
