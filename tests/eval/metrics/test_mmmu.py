"""MMMU parsing (§10.4): multiple-choice letters, the seeded fallback, open answers."""

from __future__ import annotations

import random

import pytest

from molmo.eval.metrics.mmmu import (
    MMMU_SEED,
    check_is_number,
    eval_multi_choice,
    eval_open,
    extract_numbers,
    mmmu_score,
    normalize_str,
    parse_multi_choice_response,
    parse_open_response,
)

CHOICES = ["A", "B", "C", "D"]
INDEX2ANS = {"A": "green pear", "B": "red apple", "C": "blue berry", "D": "yellow banana"}


class SentinelRandom(random.Random):
    """A generator whose choice is recognisable, to see when the random fallback is taken."""

    def choice(self, seq):
        return "fallback"


@pytest.mark.parametrize(
    ("response", "expected"),
    [("(B)", "B"), ("The answer is (C).", "C"), ("A", "A"), ("D.", "D"), ("I think B is right", "B"),
     ("A is wrong, (B) is right", "B"), ("(A) or maybe (B)", "B"), ("A or B", "B"), ("(C) not (A)", "A")],
)
def test_letter_candidates(response, expected):
    assert parse_multi_choice_response(response, CHOICES, INDEX2ANS, rng=SentinelRandom()) == expected


def test_content_match_needs_more_than_five_tokens_and_takes_the_last_occurrence():
    long_answer = "I believe the correct one is the red apple here"
    assert parse_multi_choice_response(long_answer, CHOICES, INDEX2ANS, rng=SentinelRandom()) == "B"
    both = "it is either red apple or maybe green pear I think"
    assert parse_multi_choice_response(both, CHOICES, INDEX2ANS, rng=SentinelRandom()) == "A"
    assert parse_multi_choice_response("red apple", CHOICES, INDEX2ANS, rng=SentinelRandom()) == "fallback"


def test_edge_characters_are_stripped_one_kind_after_another():
    assert parse_multi_choice_response("B.,", CHOICES, INDEX2ANS, rng=SentinelRandom()) == "B"
    # ".,B": strip(",") finds nothing, strip(".") leaves ",B" — no letter candidate remains.
    assert parse_multi_choice_response(".,B", CHOICES, INDEX2ANS, rng=SentinelRandom()) == "fallback"


def test_random_fallback_is_seeded_and_deterministic():
    expected = random.Random(MMMU_SEED).choice(CHOICES)
    assert parse_multi_choice_response("no idea", CHOICES, INDEX2ANS) == expected
    assert parse_multi_choice_response("no idea", CHOICES, INDEX2ANS) == expected  # fresh generator per call
    shared = random.Random(MMMU_SEED)
    reference = random.Random(MMMU_SEED)
    draws = [parse_multi_choice_response("?", CHOICES, INDEX2ANS, rng=shared) for _ in range(6)]
    assert draws == [reference.choice(CHOICES) for _ in range(6)]  # official order dependence


def test_number_helpers():
    assert check_is_number("1,234.5") and check_is_number("nan") and not check_is_number("12 apples")
    assert normalize_str(" 1,234.567 ") == [1234.57]
    assert normalize_str("Carbon") == ["carbon"]
    assert normalize_str("A") == [" a", "a "]
    # comma-grouped, then scientific, then plain numbers (the plain pattern's quirks included)
    assert extract_numbers("-1.5e3 and 1,234 and 7") == ["1,234", "-1.5e3", "-1", "3", "234", "7"]


def test_parse_open_response():
    assert parse_open_response("The answer is 6.") == [6.0]
    assert parse_open_response("x = 3,000") == [3000.0, 0.0]
    parsed = parse_open_response("So the result is 12.5 meters\nTherefore the final answer is 1,200 kg")
    assert set(parsed) == {"12.5 meters", "1,200 kg", 12.5, 1200.0, 200.0}
    assert parse_open_response("Carbon") == ["carbon"]


@pytest.mark.parametrize(("gold", "response"), [("6", "The answer is 6."), ("carbon", "The answer is carbon."),
                                                ("0.5", "The answer is 0.5.")])
def test_open_conformance_vectors_are_correct(gold, response):
    assert eval_open(gold, parse_open_response(response)) is True
    assert mmmu_score(response, gold, question_type="open") == 1.0


def test_eval_open_rules():
    assert eval_open(["7", "seven"], parse_open_response("It is seven")) is True
    assert eval_open("6", parse_open_response("The answer is 7.")) is False
    assert eval_open("a", parse_open_response("the answer is a")) is True  # " a" in " a"
    assert eval_open("cat", ["concatenate"]) is True  # substring containment


def test_eval_multi_choice_and_mmmu_score_multiple_choice():
    assert eval_multi_choice("B", "B") and eval_multi_choice(["A", "B"], "B") and not eval_multi_choice("A", "B")
    options = ["cat", "", "dog"]  # Molmo drops the empty option: letters A (cat), B (dog)
    assert mmmu_score("(B)", "B", question_type="multiple-choice", options=options) == 1.0
    assert mmmu_score("I am quite sure that it is the dog here", "B", question_type="multiple-choice",
                      options=options) == 1.0
    assert mmmu_score("(A)", "B", question_type="multiple-choice", options=options) == 0.0
