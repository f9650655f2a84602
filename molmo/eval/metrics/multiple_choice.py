"""Multiple-choice answer extraction and accuracy (AI2D, ScienceQA-IMG, A-OKVQA MC, RealWorldQA).

- :func:`select_mc_option` — Molmo's extraction (allenai/molmo ``olmo/eval/vqa.py``,
  formats-and-metrics.md §10.1): exact option → unique option containing the prediction →
  closest option by character edit distance. Never abstains.
- :func:`mc_accuracy` — Molmo's ``mc`` metric on top of it.
- :func:`realworldqa_score` — Molmo's ``real_world_qa_score``: option letters A–D through
  :func:`select_mc_option` for multiple-choice questions, VQA-normalised exact match otherwise.
- :func:`aokvqa_mc_accuracy` — the official A-OKVQA MC rule (exact string equality with the
  correct choice).

MMMU's parsers live in ``mmmu.py``. Not implemented here (documented in §10.2–§10.3):
VLMEvalKit ``can_infer`` (its refusal list and judge-LLM fallback vary across revisions) and
lmms-eval's RealWorldQA ``extract_mcq_answer`` ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

from molmo.errors import UserError
from molmo.eval.metrics.edit_distance import levenshtein
from molmo.eval.metrics.normalize import normalize_molmo

REALWORLDQA_OPTIONS: tuple[str, ...] = ("A", "B", "C", "D")


def select_mc_option(prediction: str, options: Sequence[str]) -> int:
    """Index of the option Molmo's ``select_mc_option`` picks for ``prediction``.

    1. lowercase + strip the prediction and every option (the options must then be unique —
       Molmo asserts it; this raises :class:`~molmo.errors.UserError`);
    2. an option equal to the prediction → its index (first such);
    3. else the options that **contain** the prediction as a substring: if exactly one, its index;
    4. else the option with the smallest character Levenshtein distance to the prediction (the
       first one on ties, like ``np.argmin``).

    ``options`` are what the model was asked to output: the letters ``A``, ``B``, … for lettered
    prompts (Molmo's ``option_names``), or the option texts for AI2D "no-letter" questions.
    """
    if len(options) == 0:
        raise UserError("select_mc_option: the option list is empty")
    pred = prediction.lower().strip()
    lowered = [option.lower().strip() for option in options]
    if len(set(lowered)) != len(lowered):
        raise UserError(f"select_mc_option: options are not unique after lowercase+strip: {list(options)!r}")
    for index, option in enumerate(lowered):
        if option == pred:
            return index
    containing = [index for index, option in enumerate(lowered) if pred in option]
    if len(containing) == 1:
        return containing[0]
    distances = [levenshtein(option, pred) for option in lowered]
    return distances.index(min(distances))


def mc_accuracy(prediction: str, options: Sequence[str], answer_idx: int) -> float:
    """Molmo ``mc`` metric: 1.0 iff :func:`select_mc_option` picks ``answer_idx``, else 0.0."""
    if not 0 <= answer_idx < len(options):
        raise UserError(f"mc_accuracy: answer_idx {answer_idx} is outside the {len(options)} options")
    return float(select_mc_option(prediction, options) == answer_idx)


def realworldqa_score(prediction: str, answer: str, *, multiple_choice: bool) -> float:
    """Molmo ``real_world_qa_score`` (allenai/molmo ``olmo/eval/vqa.py``).

    - ``multiple_choice=True`` (the question lists options A–D and the answer is a letter): the
      prediction is mapped with :func:`select_mc_option` over the options ``A``, ``B``, ``C``, ``D``
      and compared with the index of ``answer`` in that list;
    - otherwise (short-answer questions): 1.0 iff
      :func:`~molmo.eval.metrics.normalize.normalize_molmo` of prediction and answer are equal.
    """
    if multiple_choice:
        if answer not in REALWORLDQA_OPTIONS:
            raise UserError(f"realworldqa_score: multiple-choice answer must be one of A-D, got {answer!r}")
        chosen = select_mc_option(prediction, REALWORLDQA_OPTIONS)
        return float(chosen == REALWORLDQA_OPTIONS.index(answer))
    return float(normalize_molmo(prediction) == normalize_molmo(answer))


def aokvqa_mc_accuracy(prediction: str, choices: Sequence[str], correct_choice_idx: int) -> float:
    """Official A-OKVQA multiple-choice accuracy (allenai/aokvqa ``evaluation/eval_predictions.py``
    @ ``42e8c44``): 1.0 iff the prediction string equals ``choices[correct_choice_idx]`` exactly
    (all questions count, including ``difficult_direct_answer`` ones). Molmo instead scores
    A-OKVQA MC with :func:`mc_accuracy`."""
    if not 0 <= correct_choice_idx < len(choices):
        raise UserError(
            f"aokvqa_mc_accuracy: correct_choice_idx {correct_choice_idx} is outside the {len(choices)} choices"
        )
    return float(prediction == choices[correct_choice_idx])
