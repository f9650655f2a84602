"""Exact match: Molmo em and lmms-eval exact_match (AI2D)."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.exact_match import exact_match, exact_match_lmms


def test_molmo_em_is_case_insensitive_membership_without_stripping():
    assert exact_match("Paris", ["london", "PARIS"]) == 1.0
    assert exact_match("paris ", ["paris"]) == 0.0
    assert exact_match("rome", ["paris"]) == 0.0
    with pytest.raises(UserError):
        exact_match("x", [])


@pytest.mark.parametrize(("prediction", "expected"), [("B", 1.0), ("b", 1.0), ("(B)", 1.0), ("B.", 1.0),
                                                      ("B) dog", 0.0), (" B", 0.0), ("C", 0.0)])
def test_lmms_exact_match_for_ai2d(prediction, expected):
    assert exact_match_lmms(prediction, "B") == expected


def test_lmms_exact_match_options_can_be_disabled():
    assert exact_match_lmms("b", "B", ignore_case=False) == 0.0
    assert exact_match_lmms("B.", "B", ignore_punctuation=False) == 0.0
