"""VQA accuracy variants (§6.1, §6.4 per-question vectors, §6.5 differences, §6.7 A-OKVQA)."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.vqa import (
    aokvqa_da_score,
    aokvqa_da_score_molmo,
    leave_one_out_accuracy,
    vqa_score,
    vqa_score_evalai,
    vqa_score_molmo,
    vqa_score_official,
)

# §6.4 per-question vectors for the official master.
OFFICIAL_VECTORS = [
    (["yes"] * 10, "Yes.", 0.0),
    (["yes"] * 10, "yes", 1.0),
    (["yes"] * 9 + ["no"], "Yes.", 1.0),
    (["2"] * 10, "two", 0.0),
    (["2"] * 9 + ["3"], "two", 1.0),
    (["red"] * 3 + ["blue"] * 4 + ["green"] * 3, "red", 0.9),
]


@pytest.mark.parametrize(("answers", "prediction", "expected"), OFFICIAL_VECTORS)
def test_official_conformance_vectors(answers, prediction, expected):
    assert vqa_score_official(prediction, answers) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("k", "expected"), [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (7, 1.0), (10, 1.0)])
def test_leave_one_out_closed_form(k, expected):
    answers = ["cat"] * k + ["dog"] * (10 - k)
    assert leave_one_out_accuracy("cat", answers) == pytest.approx(expected, abs=1e-12)
    assert vqa_score("cat", answers) == pytest.approx(expected, abs=1e-12)


def test_official_and_common_convention_differ_only_when_answers_are_identical():
    assert vqa_score_official("Yes.", ["yes"] * 10) == 0.0
    assert vqa_score("Yes.", ["yes"] * 10) == 1.0
    assert vqa_score_official("two", ["2"] * 10) == 0.0
    assert vqa_score("two", ["2"] * 10) == 1.0
    answers = ["yes"] * 9 + ["no"]
    assert vqa_score("Yes.", answers) == vqa_score_official("Yes.", answers) == 1.0


def test_official_cleans_newlines_and_tabs_even_without_normalisation():
    assert vqa_score_official(" yes\n", ["yes"] * 10) == 1.0
    assert vqa_score_official("yes", ["\tyes "] * 10) == 1.0


def test_molmo_uses_count_over_three_without_leave_one_out():
    answers = ["yes"] * 2 + ["no"] * 8
    assert vqa_score_molmo("yes", answers) == pytest.approx(2 / 3)
    assert vqa_score_official("yes", answers) == pytest.approx(0.6)
    assert vqa_score_molmo("yes", ["yes"] + ["no"] * 9) == pytest.approx(1 / 3)
    assert vqa_score_molmo("no", ["yes"] + ["no"] * 9) == 1.0
    assert vqa_score_molmo("Yes.", ["yes"] * 10) == 1.0  # always normalised
    assert vqa_score_molmo("Two dogs", ["2 dogs", "two dogs!", "the 2 dogs"]) == 1.0


def test_evalai_variant_differs_on_number_ranges():
    answers = ["1,000-2,000"] * 5 + ["many"] * 5
    assert vqa_score("1000 2000", answers) == 0.0
    assert vqa_score_evalai("1000 2000", answers) == 1.0


def test_digits_with_periods_and_commas_in_numbers():
    answers = ["3.5"] * 4 + ["1,000"] * 4 + ["10"] * 2
    assert vqa_score("3.5.", answers) == 1.0  # trailing period removed, decimal kept
    assert vqa_score("1000", answers) == 1.0  # "1,000" normalises to "1000"
    assert vqa_score("ten", answers) == pytest.approx(0.6)


def test_articles_and_contractions_in_scoring():
    answers = ["a dog"] * 3 + ["don't know"] * 3 + ["x"] * 4
    assert vqa_score("the dog", answers) == pytest.approx(0.9)
    assert vqa_score("dont know", answers) == pytest.approx(0.9)


def test_aokvqa_direct_answer_official_has_no_normalisation():
    answers = ["Dog", "dog", "dog", "dog ", "cat", "cat", "cat", "cat"]
    assert aokvqa_da_score("dog", answers) == pytest.approx(2 / 3)  # "Dog" and "dog " do not count
    assert aokvqa_da_score("Dog", answers) == pytest.approx(1 / 3)
    assert aokvqa_da_score("cat", answers) == 1.0
    assert aokvqa_da_score("the dog", answers) == 0.0


def test_aokvqa_direct_answer_molmo_lowercases_and_strips():
    answers = ["Dog", "dog ", "cat", "cat", "cat"]
    assert aokvqa_da_score_molmo(" DOG", answers) == pytest.approx(2 / 3)
    assert aokvqa_da_score_molmo("cat", answers) == 1.0


@pytest.mark.parametrize("fn", [vqa_score, vqa_score_official, vqa_score_molmo, vqa_score_evalai, aokvqa_da_score])
def test_empty_or_string_answers_are_rejected(fn):
    with pytest.raises(UserError):
        fn("yes", [])
    with pytest.raises(UserError):
        fn("yes", "yes")
