"""VQA accuracy (VQAv2, OK-VQA, TextVQA, VizWiz-style) and A-OKVQA direct-answer accuracy.

Variants side by side (formats-and-metrics.md §6.1, §6.5–§6.7); every function scores ONE question
and returns a value in [0, 1]; a dataset score is the mean over questions.

| function | normalisation (prediction and answers) | scoring |
|---|---|---|
| :func:`vqa_score` | always: clean + punctuation + digit/article | leave-one-annotator-out |
| :func:`vqa_score_official` | only if the answers are not all identical | leave-one-annotator-out |
| :func:`vqa_score_molmo` | always (Molmo ``preprocess_answer``) | min(1, count/3) |
| :func:`vqa_score_evalai` | always, mmf ``EvalAIAnswerProcessor`` | leave-one-annotator-out |
| :func:`aokvqa_da_score` | none | min(1, count/3) |
| :func:`aokvqa_da_score_molmo` | lowercase + strip | min(1, count/3) |

Leave-one-annotator-out: for each annotator i, m_i = number of the *other* answers equal to the
prediction, acc_i = min(1, m_i/3); the question score is the mean of acc_i. With 10 answers of
which k match: k=0→0, 1→0.3, 2→0.6, 3→0.9, ≥4→1.0.
"""

from __future__ import annotations

from collections.abc import Sequence

from molmo.errors import UserError
from molmo.eval.metrics.normalize import clean_answer, normalize_evalai, normalize_molmo, normalize_vqa


def _require_answers(answers: Sequence[str], metric: str) -> None:
    if isinstance(answers, str):
        raise UserError(f"{metric}: answers must be a list of strings, got the string {answers!r}")
    if len(answers) == 0:
        raise UserError(f"{metric}: the list of reference answers is empty")


def leave_one_out_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Mean over annotators i of min(1, m_i/3), m_i = answers other than answer i that equal
    ``prediction`` exactly (no normalisation here). Summed in annotator order, then divided by the
    number of answers, as the official script does."""
    matches = sum(answer == prediction for answer in answers)
    total = 0.0
    for answer in answers:
        others = matches - (answer == prediction)
        total += min(1.0, others / 3)
    return total / len(answers)


def vqa_score(prediction: str, answers: Sequence[str]) -> float:
    """VQA accuracy with **always-on** official normalisation (today's common convention).

    Prediction and every answer: :func:`~molmo.eval.metrics.normalize.clean_answer`
    (``\\n``/``\\t`` → space, strip) then punctuation + digit/article normalisation; then
    :func:`leave_one_out_accuracy`. Matches lmms-eval ``vqav2`` since commit ``28ea9a1``
    (2025-08-11) and VLMEvalKit ``process_line(method='vqa_score')``; numerically equal to the
    official script whenever the answers differ.
    """
    _require_answers(answers, "vqa_score")
    normalized = [normalize_vqa(clean_answer(answer)) for answer in answers]
    return leave_one_out_accuracy(normalize_vqa(clean_answer(prediction)), normalized)


def vqa_score_official(prediction: str, answers: Sequence[str]) -> float:
    """The official VQA evaluator (GT-Vision-Lab/VQA ``vqaEval.py`` @ ``a013f00``), quirks included:
    what an EvalAI submission would score.

    1. ``\\n``/``\\t`` → space and strip on the prediction and every answer;
    2. **only if the answers are not all identical** (``len(set(answers)) > 1``), apply punctuation
       then digit/article normalisation to the answers *and* the prediction; otherwise compare the
       raw (cleaned) strings, so with ten ``yes`` the prediction ``Yes.`` scores 0;
    3. :func:`leave_one_out_accuracy`.

    The official report then prints ``round(100 · mean, 2)``; this returns the unrounded 0–1 value.
    """
    _require_answers(answers, "vqa_score_official")
    cleaned = [clean_answer(answer) for answer in answers]
    pred = clean_answer(prediction)
    if len(set(cleaned)) > 1:
        cleaned = [normalize_vqa(answer) for answer in cleaned]
        pred = normalize_vqa(pred)
    return leave_one_out_accuracy(pred, cleaned)


def vqa_score_molmo(prediction: str, answers: Sequence[str]) -> float:
    """Molmo ``vqa_score`` (allenai/molmo ``olmo/eval/vqa.py``): normalise prediction and answers
    with :func:`~molmo.eval.metrics.normalize.normalize_molmo` (always), count the answers equal to
    the prediction, score ``min(1, count/3)`` — no leave-one-out, so 1 match = 1/3, 2 = 2/3,
    3 or more = 1."""
    _require_answers(answers, "vqa_score_molmo")
    pred = normalize_molmo(prediction)
    count = sum(normalize_molmo(answer) == pred for answer in answers)
    return min(count / 3.0, 1.0)


def vqa_score_evalai(prediction: str, answers: Sequence[str]) -> float:
    """TextVQA/OK-VQA as scored by lmms-eval ``textvqa``/``ok_vqa`` and LLaVA's m4c
    ``TextVQAAccuracyEvaluator``: mmf ``EvalAIAnswerProcessor``
    (:func:`~molmo.eval.metrics.normalize.normalize_evalai`) on the prediction and every answer,
    always; then :func:`leave_one_out_accuracy`. (m4c additionally asserts exactly 10 answers;
    this accepts any non-empty list.)"""
    _require_answers(answers, "vqa_score_evalai")
    normalized = [normalize_evalai(answer) for answer in answers]
    return leave_one_out_accuracy(normalize_evalai(prediction), normalized)


def aokvqa_da_score(prediction: str, direct_answers: Sequence[str]) -> float:
    """Official A-OKVQA direct-answer accuracy (allenai/aokvqa ``evaluation/eval_predictions.py``
    @ ``42e8c44``): no normalisation at all, ``min(1, count/3)`` with count = exact string matches
    among the ``direct_answers``. The official script excludes questions with
    ``difficult_direct_answer = true`` from the DA mean (the caller's job) and reports ×100."""
    _require_answers(direct_answers, "aokvqa_da_score")
    count = sum(answer == prediction for answer in direct_answers)
    return min(1.0, count / 3.0)


def aokvqa_da_score_molmo(prediction: str, direct_answers: Sequence[str]) -> float:
    """Molmo ``a_okvqa_score``: lowercase and strip the prediction and every direct answer, then
    ``min(count/3, 1)``."""
    _require_answers(direct_answers, "aokvqa_da_score_molmo")
    pred = prediction.lower().strip()
    count = sum(answer.lower().strip() == pred for answer in direct_answers)
    return min(count / 3.0, 1.0)
