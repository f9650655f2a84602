"""Exact-match accuracy, in the two forms the reference frameworks use.

- :func:`exact_match` — Molmo's ``em`` metric (``VqaEval``, reported next to ChartQA relaxed
  accuracy): case-insensitive membership of the prediction in the answer list, no stripping.
- :func:`exact_match_lmms` — lmms-eval's ``exact_match`` metric as configured for AI2D
  (``ignore_case`` and ``ignore_punctuation``; formats-and-metrics.md §10.3): Python
  ``string.punctuation`` deleted from both sides, so ``B``, ``b``, ``(B)``, ``B.`` match ``B`` but
  ``B) dog`` does not.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from molmo.errors import UserError

_PUNCTUATION_TABLE = str.maketrans("", "", string.punctuation)


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """Molmo ``em``: 1.0 iff ``prediction.lower()`` equals ``reference.lower()`` for some reference
    (no stripping, no other normalisation), else 0.0."""
    if isinstance(references, str):
        raise UserError(f"exact_match: references must be a list of strings, got the string {references!r}")
    if len(references) == 0:
        raise UserError("exact_match: the list of reference answers is empty")
    pred = prediction.lower()
    return float(any(reference.lower() == pred for reference in references))


def exact_match_lmms(
    prediction: str, target: str, *, ignore_case: bool = True, ignore_punctuation: bool = True
) -> float:
    """lmms-eval ``exact_match`` for one target, with its two AI2D options:
    optionally lowercase both sides, optionally delete every character of ``string.punctuation``
    from both sides, then compare for equality (no whitespace stripping)."""
    if ignore_case:
        prediction, target = prediction.lower(), target.lower()
    if ignore_punctuation:
        prediction = prediction.translate(_PUNCTUATION_TABLE)
        target = target.translate(_PUNCTUATION_TABLE)
    return float(prediction == target)
