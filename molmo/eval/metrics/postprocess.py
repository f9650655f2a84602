"""Molmo's prediction clean-up, applied by its ``VqaEval`` before every text metric (VQA score,
ANLS, relaxed accuracy, EM, multiple choice, MMMU, RealWorldQA) — molmo-facts.md §9.2,
formats-and-metrics.md §8.2. Counting and pointing evaluators do not use it.
"""

from __future__ import annotations

from collections import Counter

ANSWER_MARKER = "Answer:"


def molmo_clean_prediction(prediction: str) -> str:
    """Molmo ``VqaEval`` prediction post-processing (allenai/molmo ``olmo/eval/evaluators.py``).

    The decoded text is stripped, then exactly one of:

    1. it contains ``Answer:`` → the text between the first ``Answer:`` and the next one (or the
       end), stripped — *without* collapsing inner whitespace (the source collapses only in the
       two other branches; the reference's one-line summary does not make that distinction);
    2. it contains a newline → each line is whitespace-collapsed and the most frequent line wins,
       the earliest on ties (blank lines count as the empty line);
    3. otherwise → whitespace collapsed (runs of whitespace become one space).
    """
    pred = prediction.strip()
    if ANSWER_MARKER in pred:
        return pred.split(ANSWER_MARKER)[1].strip()
    if "\n" in pred:
        lines = [" ".join(line.split()) for line in pred.split("\n")]
        counts = Counter(lines)
        best = max(counts.values())
        return next(line for line in lines if counts[line] == best)
    return " ".join(pred.split())
