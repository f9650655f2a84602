"""Molmo prediction clean-up before scoring."""

from __future__ import annotations

import pytest

from molmo.eval.metrics.postprocess import molmo_clean_prediction


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Answer: B", "B"),
        ("Let me think.\nAnswer:  the  cat ", "the  cat"),  # no inner collapse in this branch
        ("x Answer: a Answer: b", "a"),  # text between the first and second marker
        ("cat\ndog\ncat", "cat"),
        ("a  b\nc\na b", "a b"),  # lines are whitespace-collapsed before counting
        ("x\ny", "x"),  # ties: the earliest line
        ("x\n\n\ny", ""),  # blank lines count as the empty line
        ("  the   cat\t ", "the cat"),
        ("", ""),
    ],
)
def test_molmo_clean_prediction(raw, expected):
    assert molmo_clean_prediction(raw) == expected
