"""Counting: Molmo parse_count (§11.4) and the count metrics."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.counting import (
    count_accuracy,
    count_accuracy_lmms_countbench,
    count_close,
    count_valid,
    parse_count,
    per_count_accuracy,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), ("There are 3.", 3), ("Three", 3), ("twenty.", 20), ("zero", 0), ("+3", 3), ("-2", -2),
     ('Counting the <points x1="1.0" y1="2.0" alt="dog">dog</points> shows a total of 5.', 5),
     ("a total of 7 dogs", 7), ("a total of 2 cats and a total of 9 dogs", 9),
     ("a total of 7 dogs\nand more", 7), ("many dogs\na total of 7 dogs", None),
     ("twenty-one", None), ("There are none.", None), ("", None), ("I see dogs", None)],
)
def test_parse_count(text, expected):
    assert parse_count(text) == expected


def test_the_none_rule_only_fires_with_backspace_characters_as_in_the_source():
    assert parse_count("there are \x08none\x08 here") == 0


def test_count_metrics():
    assert count_accuracy(3, 3) == 1.0 and count_accuracy(4, 3) == 0.0 and count_accuracy(None, 0) == 0.0
    assert count_close(4, 3) == 1.0 and count_close(2, 3) == 1.0 and count_close(5, 3) == 0.0
    assert count_close(None, 3) == 0.0
    assert count_valid(0) == 1.0 and count_valid(None) == 0.0


def test_lmms_countbench_needs_the_exact_digit_string():
    assert count_accuracy_lmms_countbench(" 3 ", 3) == 1.0
    assert count_accuracy_lmms_countbench("three", 3) == 0.0
    assert count_accuracy_lmms_countbench("3.", 3) == 0.0


def test_per_count_accuracy():
    assert per_count_accuracy([3, None, 2, 2], [3, 3, 2, 1]) == {1: 0.0, 2: 1.0, 3: 0.5}
    with pytest.raises(UserError):
        per_count_accuracy([1], [1, 2])
