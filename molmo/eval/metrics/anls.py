"""ANLS — Average Normalized Levenshtein Similarity (DocVQA, InfographicVQA, ST-VQA).

Each function scores ONE question against its list of reference answers and returns a value in
[0, 1]; the dataset ANLS is the mean over questions. Variants (formats-and-metrics.md §7.2):

| function | normalisation before the distance | length divisor | kept when |
|---|---|---|---|
| :func:`anls` (official RRC) | lower + strip + collapse whitespace | max of the **raw** lengths | 1 − NL ≥ τ |
| :func:`anls_vlmevalkit` | same as RRC | max of the **normalised** lengths | 1 − NL ≥ τ |
| :func:`anls_molmo` (pix2struct) | lowercase only | max of the raw lengths | NL < τ (strict) |
| :func:`anls_stvqa` (m4c) | lower + strip | max of the stripped lengths | 1 − NL ≥ τ |

lmms-eval's ``anls`` is the RRC computation (it cites the same script). At NL = 0.5 exactly the
RRC/VLMEvalKit/m4c rules keep 0.5 while Molmo's strict rule gives 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from molmo.errors import UserError
from molmo.eval.metrics.edit_distance import levenshtein

ANLS_THRESHOLD = 0.5


def _require_references(references: Sequence[str], metric: str) -> None:
    if isinstance(references, str):
        raise UserError(f"{metric}: references must be a list of strings, got the string {references!r}")
    if len(references) == 0:
        raise UserError(f"{metric}: the list of reference answers is empty")


def _rrc_normalize(text: str) -> str:
    return " ".join(text.strip().lower().split())


def anls(prediction: str, references: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """Official ANLS for one question, as in the RRC DocVQA/InfographicVQA script (the copy in
    QwenLM/Qwen-VL ``eval_mm/infographicsvqa_eval.py``; lmms-eval ``anls`` is the same).

    For each reference g: NL(g) = Levenshtein(norm(g), norm(pred)) / max(len(g.upper()),
    len(pred.upper())) where norm = strip + lowercase + collapse whitespace, and the length uses the
    **raw** strings (NL = 0 when both are empty). Score = 1 − min_g NL(g), set to 0 when it is
    below ``threshold`` (so exactly 0.5 is kept).
    """
    _require_references(references, "anls")
    pred_norm = _rrc_normalize(prediction)
    best_nl = 1.0
    for reference in references:
        length = max(len(reference.upper()), len(prediction.upper()))
        nl = 0.0 if length == 0 else levenshtein(_rrc_normalize(reference), pred_norm) / length
        best_nl = min(best_nl, nl)
    score = 1.0 - best_nl
    return 0.0 if score < threshold else score


def anls_vlmevalkit(prediction: str, references: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """VLMEvalKit ``anls_compute`` + ``hit_calculate`` (``vlmeval/dataset/utils/vqa_eval.py``):
    the RRC normalisation, but the divisor is the max of the **normalised** lengths
    (``abc   `` vs ``abd`` → 0.6667 instead of RRC's 0.8333). Score = 1 − min NL, 0 below
    ``threshold``; both strings empty → NL = 0 → 1.0."""
    _require_references(references, "anls_vlmevalkit")
    pred_norm = _rrc_normalize(prediction)
    best_nl = 1.0
    for reference in references:
        ref_norm = _rrc_normalize(reference)
        length = max(len(ref_norm), len(pred_norm))
        nl = 0.0 if length == 0 else levenshtein(ref_norm, pred_norm) / length
        best_nl = min(best_nl, nl)
    score = 1.0 - best_nl
    return 0.0 if score < threshold else score


def anls_molmo(prediction: str, references: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """Molmo ``anls_metric`` (from pix2struct ``metrics.py``), maxed over references as Molmo's
    ``VqaEval`` does.

    NL = Levenshtein(ref.lower(), pred.lower()) / max(len(ref), len(pred)); score = 1 − NL if
    NL **<** ``threshold`` else 0. No stripping or whitespace collapsing here (Molmo's evaluator
    collapses the prediction's whitespace beforehand, see ``postprocess.py``; references are used
    as they are), so ``  Hello World `` vs ``hello world`` scores 0.7857.

    The divisor uses the un-lowercased lengths as in the Molmo source (the reference document says
    "lowercased lengths"; the two differ only for characters whose lowercase has another length,
    e.g. ``İ``). The original divides by zero when a reference and the prediction are both empty;
    this raises :class:`~molmo.errors.UserError` in that case instead of returning a number.
    """
    _require_references(references, "anls_molmo")
    best = 0.0
    for reference in references:
        length = max(len(reference), len(prediction))
        if length == 0:
            raise UserError("anls_molmo: prediction and a reference are both empty "
                            "(Molmo's implementation divides by zero here)")
        nl = levenshtein(reference.lower(), prediction.lower()) / length
        best = max(best, 1.0 - nl if nl < threshold else 0.0)
    return best


def anls_stvqa(prediction: str, references: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """m4c ``STVQAANLSEvaluator`` (LLaVA/VILA ``m4c_evaluator.py``): lowercase + strip both
    strings, s = 1 − Levenshtein / max(stripped lengths), kept if s ≥ ``threshold``, max over
    references. Like the original (which divides by zero) it refuses a prediction and a reference
    that are both empty after stripping, raising :class:`~molmo.errors.UserError`."""
    _require_references(references, "anls_stvqa")
    pred = prediction.lower().strip()
    best = 0.0
    for reference in references:
        ref = reference.lower().strip()
        length = max(len(ref), len(pred))
        if length == 0:
            raise UserError("anls_stvqa: prediction and a reference are both empty after stripping "
                            "(the m4c implementation divides by zero here)")
        similarity = 1.0 - levenshtein(ref, pred) / length
        best = max(best, similarity if similarity >= threshold else 0.0)
    return best
