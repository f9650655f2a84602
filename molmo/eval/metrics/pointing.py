"""Pointing precision / recall / F1 with ground-truth masks (PixMo-Points-Eval;
formats-and-metrics.md §11.3, molmo-facts.md §9.2).

Matches allenai/molmo ``olmo/eval/evaluators.py`` ``PointingEval`` (with ``is_point_in_region``,
``compute_precision``, ``compute_recall``, ``f1_score``). Per example, in this order:

1. no ground-truth points → P = R = F1 = 1 if no point was predicted, else 0 (checked *before*
   the format, so ``There are none.`` scores 1 on an empty label);
2. output not in a valid point format → P = R = F1 = 0;
3. otherwise: cost = Euclidean distances (pred × GT points, ``scipy.spatial.distance.cdist``),
   min-cost assignment with ``scipy.optimize.linear_sum_assignment`` (rectangular allowed:
   min(#pred, #GT) pairs). A pair (i, j) is a hit iff the predicted point, rounded to the
   nearest integer pixel with Python ``round`` (ties to even), lies inside the image and
   ``mask_j[y, x]`` is true. P = hits / #pred, R = hits / #GT masks,
   F1 = 2PR / (P + R + 1e-10), 0 when P or R is 0.

Dataset metrics are the means of the per-example values (:func:`aggregate_point_scores`).
Points are (x, y) in **pixels** of the image the masks belong to; parsing the model's text and
converting its percent coordinates to pixels happens before these functions (the parser also
decides ``valid_format``). Matching is to GT *points*, not masks, so a prediction inside mask j
can be assigned to a nearer point k and miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from molmo.errors import UserError

F1_EPSILON = 1e-10


@dataclass(frozen=True)
class PointScores:
    """Per-example pointing scores, each in [0, 1]."""

    precision: float
    recall: float
    f1: float


def point_in_mask(point: Sequence[float], mask: np.ndarray) -> bool:
    """Molmo ``is_point_in_region``: round (x, y) to the nearest integer (Python ``round``), False
    if outside the ``(H, W)`` mask, else ``mask[y, x]``."""
    height, width = mask.shape
    x, y = round(float(point[0])), round(float(point[1]))
    if x < 0 or x >= width or y < 0 or y >= height:
        return False
    return bool(mask[y, x])


def f1_from(precision: float, recall: float, epsilon: float = F1_EPSILON) -> float:
    """Molmo ``f1_score``: 0 if precision or recall is 0, else 2PR / (P + R + epsilon)."""
    if precision == 0 or recall == 0:
        return 0.0
    return 2 * (precision * recall) / (precision + recall + epsilon)


def _as_points(points: Sequence[Sequence[float]] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.size == 0:
        return array.reshape(0, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise UserError(f"pointing: {what} must be an (N, 2) array of (x, y) pixels, got shape {array.shape}")
    return array


def count_point_hits(
    pred_points: Sequence[Sequence[float]] | np.ndarray,
    gt_points: Sequence[Sequence[float]] | np.ndarray,
    masks: Sequence[np.ndarray] | np.ndarray,
) -> int:
    """Number of Hungarian-matched (prediction, GT) pairs whose rounded prediction lies in the
    matched GT mask (Molmo ``compute_match_count``); 0 if either side has no points."""
    preds = _as_points(pred_points, "predicted points")
    gts = _as_points(gt_points, "ground-truth points")
    if len(preds) == 0 or len(gts) == 0:
        return 0
    if len(masks) != len(gts):
        raise UserError(f"pointing: {len(gts)} ground-truth points but {len(masks)} masks (one per point)")
    rows, cols = linear_sum_assignment(cdist(preds, gts))
    return sum(point_in_mask(preds[i], np.asarray(masks[j])) for i, j in zip(rows, cols))


def point_scores(
    pred_points: Sequence[Sequence[float]] | np.ndarray,
    gt_points: Sequence[Sequence[float]] | np.ndarray,
    masks: Sequence[np.ndarray] | np.ndarray,
    *,
    valid_format: bool = True,
) -> PointScores:
    """Per-example precision, recall and F1 as Molmo ``PointingEval`` computes them (see the
    module docstring for the exact rules).

    ``pred_points``: (P, 2) pixels extracted from the output (may be empty); ``gt_points``:
    (N, 2) pixels; ``masks``: N boolean ``(H, W)`` arrays (or one ``(N, H, W)`` array), mask j
    belonging to GT point j; ``valid_format``: whether the whole output is a valid point answer.
    A valid-format output with no extracted points against a non-empty label scores 0 (Molmo
    would fail in ``cdist`` there; its format check makes the case unreachable).
    """
    preds = _as_points(pred_points, "predicted points")
    gts = _as_points(gt_points, "ground-truth points")
    if len(gts) == 0:
        value = float(len(preds) == 0)
        return PointScores(value, value, value)
    if not valid_format or len(preds) == 0:
        return PointScores(0.0, 0.0, 0.0)
    hits = count_point_hits(preds, gts, masks)
    precision = hits / len(preds)
    recall = hits / len(masks)
    return PointScores(precision, recall, f1_from(precision, recall))


def point_precision(pred_points, gt_points, masks, *, valid_format: bool = True) -> float:
    """Precision of :func:`point_scores` (hits / #predicted points)."""
    return point_scores(pred_points, gt_points, masks, valid_format=valid_format).precision


def point_recall(pred_points, gt_points, masks, *, valid_format: bool = True) -> float:
    """Recall of :func:`point_scores` (hits / #GT masks)."""
    return point_scores(pred_points, gt_points, masks, valid_format=valid_format).recall


def point_f1(pred_points, gt_points, masks, *, valid_format: bool = True) -> float:
    """F1 of :func:`point_scores` (2PR / (P + R + 1e-10), 0 if P or R is 0)."""
    return point_scores(pred_points, gt_points, masks, valid_format=valid_format).f1


def aggregate_point_scores(scores: Sequence[PointScores]) -> dict[str, float]:
    """Dataset metrics ``precision``, ``recall``, ``f1``: the plain means of the per-example
    values (0.0 each for an empty list, as Molmo's ``mean_metric`` reports)."""
    if len(scores) == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    n = len(scores)
    return {
        "precision": sum(s.precision for s in scores) / n,
        "recall": sum(s.recall for s in scores) / n,
        "f1": sum(s.f1 for s in scores) / n,
    }
