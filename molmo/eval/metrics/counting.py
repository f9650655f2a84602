"""Counting metrics (CountBenchQA, PixMo-Count; formats-and-metrics.md §11.4).

The metrics take already-parsed integers (``None`` = no integer could be read). Molmo's
eval-side parser is defined precisely enough by the reference to live here as
:func:`parse_count` (allenai/molmo ``olmo/eval/evaluators.py`` ``PointCountEval``). Molmo reports
``correct`` (:func:`count_accuracy`), ``close`` (:func:`count_close`), ``valid``
(:func:`count_valid`) and per-count accuracy ``correct_<k>`` (:func:`per_count_accuracy`).

Other frameworks: lmms-eval ``countbenchqa`` requires the stripped prediction to equal
``str(number)`` exactly (:func:`count_accuracy_lmms_countbench`); lmms-eval ``pixmo_count``
compares the first integer found in the prediction with the first in the answer string (not
implemented: the reference does not pin down its integer pattern).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from molmo.errors import UserError

# Molmo's WORD_TO_NUM: number words zero..twenty.
WORD_TO_NUM: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
# ``re.match(".*a total of ([0-9]+).*", text)``: "." does not cross newlines, so only a phrase on
# the first line is found; the greedy prefix picks the last such phrase on that line.
_TOTAL_OF = re.compile(r".*a total of ([0-9]+)")
# Molmo's "none" rule is written "\bnone\b" in a non-raw string, i.e. backspace characters (\x08)
# around "none"; kept as written, so it only fires on text that really contains them.
_NONE_WITH_BACKSPACES = re.compile(".*\x08none\x08")


def parse_count(prediction: str) -> int | None:
    """Molmo ``PointCountEval`` parsing of a count answer; ``None`` when no integer is found.

    ``text = prediction.strip().lower().rstrip(".").strip()``; then, in order:
    1. the last whitespace token if Python ``int()`` accepts it (so ``+3``, ``-2`` and ``1_000``
       parse too);
    2. the last token if it is a number word ``zero`` … ``twenty``;
    3. ``a total of N`` (first line only, last occurrence on it), N in ASCII digits;
    4. Molmo's ``none`` → 0 rule, which as written needs backspace characters around ``none`` and
       so never fires on real output (``There are none.`` gives ``None``, not 0).
    """
    text = prediction.strip().lower().rstrip(".").strip()
    parts = text.split()
    if parts:
        try:
            return int(parts[-1])
        except ValueError:
            pass
        if parts[-1] in WORD_TO_NUM:
            return WORD_TO_NUM[parts[-1]]
    match = _TOTAL_OF.match(text)
    if match:
        return int(match.group(1))
    if _NONE_WITH_BACKSPACES.match(text):
        return 0
    return None


def count_accuracy(prediction: int | None, target: int) -> float:
    """1.0 iff the parsed count equals the target count (``None`` → 0.0); Molmo ``correct``."""
    return float(prediction is not None and prediction == target)


def count_close(prediction: int | None, target: int) -> float:
    """1.0 iff |prediction − target| ≤ 1 (``None`` → 0.0); Molmo ``close``."""
    return float(prediction is not None and abs(prediction - target) <= 1)


def count_valid(prediction: int | None) -> float:
    """1.0 iff an integer was parsed; Molmo ``valid``."""
    return float(prediction is not None)


def count_accuracy_lmms_countbench(prediction: str, number: int) -> float:
    """lmms-eval ``countbenchqa``: 1.0 iff ``prediction.strip() == str(number)`` (digits only; no
    number words, no surrounding text)."""
    return float(prediction.strip() == str(number))


def per_count_accuracy(predictions: Sequence[int | None], targets: Sequence[int]) -> dict[int, float]:
    """Molmo ``correct_<k>``: for each ground-truth count k present in ``targets``, the mean
    :func:`count_accuracy` over the examples whose target is k. Keys are sorted ascending."""
    if len(predictions) != len(targets):
        raise UserError(f"per_count_accuracy: {len(predictions)} predictions but {len(targets)} targets")
    by_count: dict[int, list[float]] = defaultdict(list)
    for prediction, target in zip(predictions, targets):
        by_count[int(target)].append(count_accuracy(prediction, target))
    return {k: sum(v) / len(v) for k, v in sorted(by_count.items())}
