"""ChartQA relaxed accuracy (formats-and-metrics.md §8).

Origin: pix2struct ``metrics.py`` ``relaxed_correctness``; the same logic is used by Molmo
(``olmo/eval/vqa.py``), lmms-eval (``tasks/chartqa/utils.py``, via Qwen-VL) and VLMEvalKit
(``vqa_eval.py``). The frameworks differ only around it: Molmo and VLMEvalKit take the max over
the answer list (:func:`relaxed_accuracy`), lmms-eval has a single answer; Molmo cleans the
prediction first (``postprocess.py``), VLMEvalKit strips it, lmms-eval uses it raw.
"""

from __future__ import annotations

from collections.abc import Sequence

from molmo.errors import UserError

MAX_RELATIVE_CHANGE = 0.05


def to_float(text: str) -> float | None:
    """pix2struct ``_to_float``: if ``text`` ends with ``%``, strip the trailing ``%`` characters
    (``rstrip("%")``) and divide by 100; otherwise Python ``float(text)``; ``None`` when that raises
    ``ValueError``. Python's ``float`` accepts surrounding whitespace, ``12.``, ``1e3``, ``nan`` and
    ``inf``, and rejects ``1,000``, ``$5`` and ``12 apples``."""
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def relaxed_correctness(prediction: str, target: str, max_relative_change: float = MAX_RELATIVE_CHANGE) -> bool:
    """pix2struct ``relaxed_correctness(target, prediction)`` (note the argument order here:
    prediction first, like every metric in this package).

    If the prediction parses with :func:`to_float` **and the target parses to a non-zero value**
    (the original tests the truthiness of the target float), correct iff
    |pred − target| / |target| ≤ ``max_relative_change``. Otherwise — either side non-numeric, or
    a target of 0 — correct iff ``prediction.lower() == target.lower()`` (no stripping), so target
    ``0`` vs ``0.0`` is wrong. ``nan`` and ``inf`` targets never match numerically (the relative
    change is NaN). Percent asymmetry: target ``12`` vs ``12%`` compares 12 with 0.12 (wrong);
    target ``0.12`` vs ``12%`` is right.
    """
    prediction_float = to_float(prediction)
    target_float = to_float(target)
    if prediction_float is not None and target_float:
        relative_change = abs(prediction_float - target_float) / abs(target_float)
        return relative_change <= max_relative_change
    return prediction.lower() == target.lower()


def relaxed_accuracy(
    prediction: str, references: Sequence[str], max_relative_change: float = MAX_RELATIVE_CHANGE
) -> float:
    """ChartQA relaxed accuracy for one question: 1.0 if :func:`relaxed_correctness` holds for any
    reference (Molmo/VLMEvalKit "max over answers"; ChartQA has a single label), else 0.0."""
    if isinstance(references, str):
        raise UserError(f"relaxed_accuracy: references must be a list of strings, got the string {references!r}")
    if len(references) == 0:
        raise UserError("relaxed_accuracy: the list of reference answers is empty")
    return float(any(relaxed_correctness(prediction, ref, max_relative_change) for ref in references))
