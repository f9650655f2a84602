"""Levenshtein distance."""

from __future__ import annotations

import pytest

from molmo.eval.metrics.edit_distance import levenshtein


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("", "", 0), ("abc", "", 3), ("", "ab", 2), ("kitten", "sitting", 3), ("flaw", "lawn", 2),
     ("abc", "abc", 0), ("ab", "ba", 2), ("Abc", "abc", 1), ("  hello world ", "hello world", 3)],
)
def test_levenshtein(a, b, expected):
    assert levenshtein(a, b) == expected
    assert levenshtein(b, a) == expected
