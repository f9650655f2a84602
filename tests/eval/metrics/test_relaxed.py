"""ChartQA relaxed accuracy: the §8.1 vectors plus percent/tolerance/zero edges."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.relaxed import relaxed_accuracy, relaxed_correctness, to_float

# §8.1 vectors, written (target, prediction) as in the reference.
VECTORS = [
    ("0", "0", True),
    ("0", "0.0", False),
    ("0", "0.01", False),
    ("12", "12%", False),
    ("0.12", "12%", True),
    ("12", "12.5", True),
    ("12", "12.7", False),
    ("Yes", "yes", True),
    ("12", "12.", True),
    ("1000", "1,000", False),
    ("12", " 12 ", True),
    ("-5", "-5.2", True),
    ("62", "62.0", True),
    ("nan", "nan", False),
    ("inf", "inf", False),
]


@pytest.mark.parametrize(("target", "prediction", "expected"), VECTORS)
def test_conformance_vectors(target, prediction, expected):
    assert relaxed_correctness(prediction, target) is expected
    assert relaxed_accuracy(prediction, [target]) == float(expected)


def test_to_float():
    assert to_float("12%") == pytest.approx(0.12)
    assert to_float("12%%") == pytest.approx(0.12)  # rstrip removes every trailing %
    assert to_float(" 3 ") == 3.0
    assert to_float("1e3") == 1000.0
    assert to_float("$5") is None
    assert to_float("12 apples") is None
    assert to_float(" 12% ") is None  # does not end with "%", and float() rejects it


def test_tolerance_edges_are_inclusive_at_five_percent():
    assert relaxed_correctness("105", "100") is True
    assert relaxed_correctness("95", "100") is True
    assert relaxed_correctness("105.1", "100") is False
    assert relaxed_correctness("94.9", "100") is False
    assert relaxed_correctness("110", "100", max_relative_change=0.1) is True


def test_percent_target_and_prediction():
    assert relaxed_correctness("0.5", "50%") is True
    assert relaxed_correctness("50%", "50%") is True
    assert relaxed_correctness("50", "50%") is False
    assert relaxed_correctness("51%", "50%") is True


def test_target_zero_falls_back_to_case_insensitive_string_equality():
    assert relaxed_correctness("0", "0") is True
    assert relaxed_correctness("0%", "0%") is True
    assert relaxed_correctness("0.0", "0") is False
    assert relaxed_correctness("0.000001", "0") is False


def test_non_numeric_needs_exact_unstripped_match():
    assert relaxed_correctness("Blue", "blue") is True
    assert relaxed_correctness("blue ", "blue") is False


def test_max_over_references_and_input_checks():
    assert relaxed_accuracy("10", ["7", "10.4"]) == 1.0
    assert relaxed_accuracy("10", ["7", "8"]) == 0.0
    with pytest.raises(UserError):
        relaxed_accuracy("1", [])
    with pytest.raises(UserError):
        relaxed_accuracy("1", "1")
