"""Pointing: PixMo-Points-Eval precision / recall / F1 with ground-truth masks (formats-and-metrics.md
§4.10, §11; molmo-facts §7, §9.2).

Style ``pointing`` (no prefix at inference), 192 new tokens, the model's default crops. The output
is parsed with ``molmo.preprocess.points.parse_points`` (Molmo ``<point>``/``<points>`` tags,
tuples, ``p=XXX,YYY``; coordinates in percent) and converted to pixels of the original image;
``valid`` stands in for Molmo's ``is_valid_format``. Each predicted point is Hungarian-matched to a
GT point and counts when its rounded pixel lies in that point's mask.

References: ``refs.points`` (pixel ``[x, y]``), ``refs.masks`` (RLE ``{size, counts}`` or 2-D
boolean arrays, one per point; stored as RLE in predictions.jsonl) and ``refs.label``. For
``allenai/pixmo-points-eval`` parquet rows (with an embedded image column) the ``points`` unit is
ambiguous (facts §4.10: the card says pixels, Molmo's loader percent): each sample uses whichever
reading puts more points inside their masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from molmo.data.masks import decode_rle, encode_rle, rle_contains
from molmo.eval.metrics.pointing import point_scores
from molmo.eval.tasks.base import EvalItem, SourceSample, Task, TaskSettings
from molmo.preprocess.points import parse_points

POINT_METRICS = ("point_f1", "point_precision", "point_recall")  # F1 first: the headline number
POINT_PROMPT = "Point to {label}"


def as_rle(mask: Any) -> dict[str, Any]:
    """A mask as our RLE dict (already RLE, or a 2-D boolean array / nested list)."""
    if isinstance(mask, dict) and "counts" in mask:
        return mask
    return encode_rle(np.asarray(mask, dtype=bool))


def as_xy(points: Any) -> list[list[float]]:
    """``[[x, y], …]`` from ``[[x, y]]`` or ``[{"x": …, "y": …}]``."""
    out = []
    for p in points or []:
        out.append([float(p["x"]), float(p["y"])] if isinstance(p, dict) else [float(p[0]), float(p[1])])
    return out


def resolve_point_units(points: list[list[float]], masks: list[dict[str, Any]]) -> list[list[float]]:
    """Pixels as given, or percent -> pixels of the mask size, whichever hits more masks."""
    if not points or len(masks) != len(points):
        return points
    h, w = masks[0]["size"]
    scaled = [[x * w / 100.0, y * h / 100.0] for x, y in points]
    hits = sum(rle_contains(m, x, y) for m, (x, y) in zip(masks, points))
    hits_scaled = sum(rle_contains(m, x, y) for m, (x, y) in zip(masks, scaled))
    return scaled if hits_scaled > hits else points


def pointing_scores(prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
    """Per-sample ``point_precision``/``point_recall``/``point_f1``; None without GT points or size."""
    if refs.get("points") is None:
        return None
    masks = list(refs.get("masks") or [])
    if image_sizes:
        size = (float(image_sizes[0][0]), float(image_sizes[0][1]))
    elif masks:
        size = (float(masks[0]["size"][1]), float(masks[0]["size"][0]))
    else:
        return None
    parsed = parse_points(prediction, size)
    preds = [(p.x_px, p.y_px) for p in parsed.points]
    scores = point_scores(preds, as_xy(refs["points"]), [decode_rle(m) for m in masks], valid_format=parsed.valid)
    return {"point_precision": scores.precision, "point_recall": scores.recall, "point_f1": scores.f1}


@dataclass(frozen=True)
class PointingTask(Task):
    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem:
        refs, prompt = sample.refs, sample.question
        label = refs.get("label") or sample.meta.get("label")
        masks = [as_rle(m) for m in refs.get("masks") or []]
        points = as_xy(refs.get("points"))
        if sample.format == "parquet":
            label, prompt = prompt, POINT_PROMPT.format(label=prompt)
            points = resolve_point_units(points, masks)
        out = {"points": points if refs.get("points") is not None else None, "masks": masks, "label": label}
        return EvalItem(sample.id, index, prompt, settings.style or sample.json.get("style"), out, list(sample.images))

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        return pointing_scores(prediction, refs, image_sizes)


TASKS = (
    PointingTask(
        name="pixmo_points", family="pixmo_points", description="PixMo-Points-Eval pointing with GT masks",
        metrics=POINT_METRICS, style="pointing", max_new_tokens=192,
        parquet_map=(("label", "question"), ("points", "refs.points"), ("masks", "refs.masks")),
        data_help="allenai/pixmo-points-eval parquet WITH an embedded image column (label, points, masks), "
                  "or shards / JSONL with refs.points + refs.masks",
        default_data="data/pixmo_points/test.parquet",
    ),
)
