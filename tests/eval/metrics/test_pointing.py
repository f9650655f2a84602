"""Pointing precision/recall/F1 with masks (§11.3)."""

from __future__ import annotations

import numpy as np
import pytest

from molmo.errors import UserError
from molmo.eval.metrics.pointing import (
    PointScores,
    aggregate_point_scores,
    count_point_hits,
    f1_from,
    point_f1,
    point_in_mask,
    point_precision,
    point_recall,
    point_scores,
)


def square_mask(x0: int, y0: int, x1: int, y1: int, size: int = 10) -> np.ndarray:
    """(H, W) mask true on columns x0..x1 and rows y0..y1 (inclusive)."""
    mask = np.zeros((size, size), dtype=bool)
    mask[y0 : y1 + 1, x0 : x1 + 1] = True
    return mask


GT_POINTS = [(2.0, 2.0), (7.0, 7.0)]
GT_MASKS = [square_mask(1, 1, 3, 3), square_mask(6, 6, 8, 8)]


def test_no_gt_points_scores_one_iff_nothing_was_predicted():
    assert point_scores([], [], []) == PointScores(1.0, 1.0, 1.0)
    # checked before the format: "There are none." is not a valid point format but still scores 1
    assert point_scores([], [], [], valid_format=False) == PointScores(1.0, 1.0, 1.0)
    assert point_scores([(1.0, 1.0)], [], []) == PointScores(0.0, 0.0, 0.0)


def test_invalid_format_scores_zero_even_with_perfect_points():
    assert point_scores(GT_POINTS, GT_POINTS, GT_MASKS, valid_format=False) == PointScores(0.0, 0.0, 0.0)


def test_perfect_prediction():
    scores = point_scores([(7.2, 6.9), (2.4, 1.6)], GT_POINTS, GT_MASKS)
    assert scores.precision == 1.0 and scores.recall == 1.0
    assert scores.f1 == pytest.approx(1.0, abs=1e-9)
    assert scores.f1 == 2 / (2 + 1e-10)


def test_partial_prediction():
    preds = [(2.0, 2.0), (9.4, 0.0), (0.0, 9.0)]  # one hit; one extra point unmatched
    scores = point_scores(preds, GT_POINTS, GT_MASKS)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(2 * (1 / 6) / (1 / 3 + 1 / 2 + 1e-10))
    assert point_precision(preds, GT_POINTS, GT_MASKS) == scores.precision
    assert point_recall(preds, GT_POINTS, GT_MASKS) == scores.recall
    assert point_f1(preds, GT_POINTS, GT_MASKS) == scores.f1


def test_valid_format_without_points_against_a_label_scores_zero():
    assert point_scores([], GT_POINTS, GT_MASKS) == PointScores(0.0, 0.0, 0.0)


def test_matching_is_to_points_so_a_point_inside_another_mask_can_miss():
    # The prediction lies in mask 1 but is nearer to GT point 0, so it is assigned to point 0 and misses.
    gt_points = [(1.0, 1.0), (9.0, 9.0)]
    masks = [square_mask(1, 1, 1, 1), square_mask(4, 4, 9, 9)]
    assert count_point_hits([(4.0, 4.0)], gt_points, masks) == 0
    assert point_scores([(4.0, 4.0)], gt_points, masks).precision == 0.0


def test_rounding_is_python_round_half_to_even_and_bounds_are_checked():
    mask = square_mask(2, 2, 2, 2)
    assert point_in_mask((2.5, 2.5), mask)  # rounds to (2, 2)
    assert not point_in_mask((3.5, 3.5), mask)  # rounds to (4, 4)
    edge = square_mask(0, 0, 9, 9)
    assert point_in_mask((-0.4, 9.4), edge)
    assert not point_in_mask((9.6, 0.0), edge)  # x rounds to 10: outside a width-10 mask
    assert not point_in_mask((-0.6, 0.0), edge)


def test_masks_as_one_array_and_count_mismatch():
    stacked = np.stack(GT_MASKS)
    assert point_scores(GT_POINTS, GT_POINTS, stacked).recall == 1.0
    with pytest.raises(UserError):
        point_scores(GT_POINTS, GT_POINTS, GT_MASKS[:1])
    with pytest.raises(UserError):
        point_scores([(1.0, 2.0, 3.0)], GT_POINTS, GT_MASKS)


def test_f1_and_aggregation():
    assert f1_from(0.0, 1.0) == 0.0
    assert f1_from(0.5, 0.5) == pytest.approx(0.5)
    agg = aggregate_point_scores([PointScores(1.0, 0.5, 0.6), PointScores(0.0, 0.5, 0.0)])
    assert agg == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.3})
    assert aggregate_point_scores([]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
