"""Molmo select_mc_option and the MC metrics built on it (§10.1), RealWorldQA, A-OKVQA MC."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.multiple_choice import (
    aokvqa_mc_accuracy,
    mc_accuracy,
    realworldqa_score,
    select_mc_option,
)

LETTERS = ["A", "B", "C", "D"]


def test_exact_option_after_lowercase_and_strip():
    assert select_mc_option("B", LETTERS) == 1
    assert select_mc_option("  d \n", LETTERS) == 3
    assert select_mc_option("Red Apple", ["green pear", "red apple"]) == 1


def test_unique_option_containing_the_prediction():
    assert select_mc_option("dog", ["a big dog", "a cat", "a bird"]) == 0


def test_several_containing_options_fall_back_to_edit_distance():
    # "cat" is in two options, so the closest option by edit distance wins — here "dog" (3 edits).
    assert select_mc_option("cat", ["cat food", "cat toy", "dog"]) == 2


def test_edit_distance_fallback_prefers_the_first_option_on_ties():
    assert select_mc_option("x", ["a", "b"]) == 0
    # A sentence never equals/contains a letter option: every letter in it is 14 edits away.
    assert select_mc_option("The answer is B", LETTERS) == 0
    assert select_mc_option("B.", LETTERS) == 1


def test_options_must_be_unique_after_normalisation():
    with pytest.raises(UserError):
        select_mc_option("a", ["A", "a "])
    with pytest.raises(UserError):
        select_mc_option("a", [])


def test_mc_accuracy():
    assert mc_accuracy("C", LETTERS, 2) == 1.0
    assert mc_accuracy("C", LETTERS, 1) == 0.0
    with pytest.raises(UserError):
        mc_accuracy("C", LETTERS, 4)


def test_realworldqa_multiple_choice_and_short_answer():
    assert realworldqa_score("b.", "B", multiple_choice=True) == 1.0
    assert realworldqa_score("C", "B", multiple_choice=True) == 0.0
    assert realworldqa_score("Two.", "2", multiple_choice=False) == 1.0
    assert realworldqa_score("the left one", "Left one", multiple_choice=False) == 1.0
    assert realworldqa_score("B", "left", multiple_choice=False) == 0.0
    with pytest.raises(UserError):
        realworldqa_score("B", "E", multiple_choice=True)


def test_aokvqa_mc_official_is_exact_string_equality():
    choices = ["dog", "cat", "bird", "fish"]
    assert aokvqa_mc_accuracy("cat", choices, 1) == 1.0
    assert aokvqa_mc_accuracy("Cat", choices, 1) == 0.0
    assert aokvqa_mc_accuracy("B", choices, 1) == 0.0
    with pytest.raises(UserError):
        aokvqa_mc_accuracy("cat", choices, 7)
