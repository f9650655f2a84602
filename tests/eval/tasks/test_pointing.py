import numpy as np
import pytest

from molmo.data.masks import encode_rle
from molmo.eval.tasks.pointing import as_rle, as_xy, pointing_scores, resolve_point_units


def test_pixmo_points_parquet_masks_become_rle_and_score(read_items, score_of):
    task, (boxes, none) = read_items("pixmo_points")
    assert boxes.prompt == "Point to boxes" and boxes.style == "pointing"
    assert boxes.refs["points"] == [[10.0, 10.0], [30.0, 20.0]] and boxes.refs["masks"][0]["size"] == [40, 48]
    # percent of 48x40: (10, 10) px = (20.8, 25.0) %, (30, 20) px = (62.5, 50.0) %
    good = '<points x1="20.8" y1="25.0" x2="62.5" y2="50.0" alt="boxes">boxes</points>'
    assert score_of(task, boxes, good) == {"point_precision": 1.0, "point_recall": 1.0, "point_f1": pytest.approx(1.0)}
    half = '<points x1="20.8" y1="25.0" x2="95.0" y2="95.0" alt="boxes">boxes</points>'
    assert score_of(task, boxes, half)["point_precision"] == 0.5
    assert score_of(task, none, "There are none.") == {"point_precision": 1.0, "point_recall": 1.0, "point_f1": 1.0}
    assert score_of(task, none, '<point x="5.0" y="5.0" alt="u">u</point>')["point_f1"] == 0.0


def test_point_units_and_helpers():
    mask = np.zeros((40, 48), bool)
    mask[18:23, 22:27] = True  # around pixel (24, 20) = (50 %, 50 %)
    rle = encode_rle(mask)
    assert as_rle(mask.tolist()) == rle and as_rle(rle) is rle
    assert as_xy([{"x": 1, "y": 2}, [3, 4]]) == [[1.0, 2.0], [3.0, 4.0]]
    assert resolve_point_units([[50.0, 50.0]], [rle]) == [[24.0, 20.0]]  # percent reading wins
    assert resolve_point_units([[24.0, 20.0]], [rle]) == [[24.0, 20.0]]  # pixel reading wins
    refs = {"points": [[24.0, 20.0]], "masks": [rle]}
    assert pointing_scores('<point x="50.0" y="50.0" alt="a">a</point>', refs, [])["point_f1"] > 0.99  # size from mask
    assert pointing_scores("x", {"points": None}, []) is None
