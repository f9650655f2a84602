"""Benchmarks mixing multiple-choice and open questions: RealWorldQA, MMMU, MathVista.

The question type picks the style per sample (molmo-facts §6.2): ``a_okvqa_mc:`` for multiple
choice (Molmo's ``eval_multiple_choice``), ``vqa2:`` for short answers (``eval_short_answer``).

- **RealWorldQA** (``xai-org/RealworldQA`` parquet, §4.11): the question embeds its options and one
  of two instructions; like Molmo's ``real_world_qa_no_instruction`` the instruction is removed and
  the style says how to answer. Scored with Molmo's ``real_world_qa_score``.
- **MMMU** (``lmms-lab/MMMU`` parquet, validation, §4.12): options become ``A: …`` lines; only
  ``image_1`` is shown (as Molmo does). Scored with the official MMMU parsing (``mmmu_score``).
- **MathVista** (``AI4Math/MathVista`` testmini parquet): the published numbers use GPT-4 answer
  extraction, which needs an OpenAI key; this task scores with a **rule-based** extraction
  (``mathvista_rule_accuracy``, see :func:`mathvista_free_form`), so its numbers are not comparable.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from molmo.eval.metrics.mmmu import mmmu_score
from molmo.eval.metrics.multiple_choice import realworldqa_score
from molmo.eval.tasks.base import EvalItem, SourceSample, Task, TaskSettings, clean
from molmo.eval.tasks.multiple_choice import mc_refs, mc_score, option_letters

MC_INSTRUCTION = "Please answer directly with only the letter of the correct option and nothing else."
SHORT_INSTRUCTION = "Please answer directly with a single word or number."
MC_STYLE, SHORT_STYLE = "a_okvqa_mc", "vqa2"
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def _first_answer(sample: SourceSample) -> str | None:
    answers = sample.refs.get("answers") or []
    return str(answers[0]) if answers else None


@dataclass(frozen=True)
class RealWorldQaTask(Task):
    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem:
        question = sample.question
        mc = MC_INSTRUCTION in question
        prompt = question.replace(MC_INSTRUCTION, "").replace(SHORT_INSTRUCTION, "").strip()
        style = settings.style or (MC_STYLE if mc else SHORT_STYLE)
        refs = {"answer": _first_answer(sample), "multiple_choice": mc}
        return EvalItem(sample.id, index, prompt, style, refs, list(sample.images))

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        if refs.get("answer") is None:
            return None
        value = realworldqa_score(clean(prediction), str(refs["answer"]), multiple_choice=bool(refs.get("multiple_choice")))
        return {"realworldqa_score": value}


@dataclass(frozen=True)
class MmmuTask(Task):
    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem:
        refs = mc_refs(sample)
        options = refs["options"]
        qtype = str(sample.meta.get("question_type") or ("multiple-choice" if options else "open"))
        if qtype == "multiple-choice" and refs["answer_idx"] is not None:
            answer: Any = option_letters(len(options))[refs["answer_idx"]]
        else:
            answer = _first_answer(sample)
            if isinstance(answer, str) and answer.startswith("["):
                try:
                    answer = [str(a) for a in ast.literal_eval(answer)]
                except (ValueError, SyntaxError):
                    pass
        style = settings.style or (MC_STYLE if qtype == "multiple-choice" else SHORT_STYLE)
        refs = {"question_type": qtype, "options": options, "answer": answer}
        return EvalItem(sample.id, index, sample.question, style, refs, list(sample.images[:1]))

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        if refs.get("answer") is None:
            return None
        value = mmmu_score(clean(prediction), refs["answer"], question_type=str(refs.get("question_type")),
                           options=[str(o) for o in refs.get("options") or []])
        return {"mmmu_score": value}


def mathvista_free_form(prediction: str, answer: str, answer_type: str, precision: int | None) -> float:
    """Rule-based MathVista free-form check: for ``integer``/``float`` answers the LAST number in the
    prediction (commas dropped) equals the answer after rounding both to ``precision`` decimals
    (integers: 0); otherwise case-insensitive equality after stripping spaces and a final period."""
    if answer_type in ("integer", "float"):
        numbers = _NUMBER.findall(prediction)
        try:
            target = float(answer)
        except ValueError:
            return 0.0
        if not numbers:
            return 0.0
        digits = 0 if answer_type == "integer" else int(precision or 0)
        return float(round(float(numbers[-1].replace(",", "")), digits) == round(target, digits))
    return float(prediction.strip().rstrip(".").lower() == answer.strip().rstrip(".").lower())


@dataclass(frozen=True)
class MathVistaTask(Task):
    def item(self, sample: SourceSample, index: int, settings: TaskSettings) -> EvalItem:
        refs: dict[str, Any] = mc_refs(sample)
        meta = sample.meta
        precision = meta.get("precision")
        refs.update(answer=_first_answer(sample), answer_type=str(meta.get("answer_type") or "text"),
                    precision=int(precision) if isinstance(precision, (int, float)) else None)
        style = settings.style or (MC_STYLE if refs["options"] else SHORT_STYLE)
        return EvalItem(sample.id, index, sample.question, style, refs, list(sample.images[:1]))

    def score(self, prediction: str, refs: dict[str, Any], image_sizes: list[list[int]]) -> dict[str, float] | None:
        if refs.get("options"):
            mc = mc_score(prediction, refs)
            return None if mc is None else {"mathvista_rule_accuracy": mc["mc_accuracy"]}
        if refs.get("answer") is None:
            return None
        value = mathvista_free_form(clean(prediction), str(refs["answer"]), str(refs.get("answer_type")), refs.get("precision"))
        return {"mathvista_rule_accuracy": value}


TASKS = (
    RealWorldQaTask(
        name="realworldqa", family="realworldqa", description="RealWorldQA (MC letters or short answers)",
        metrics=("realworldqa_score",), max_crops=36,
        data_help="xai-org/RealworldQA (or lmms-lab/RealWorldQA) parquet, or shards",
        default_data="data/realworldqa/test.parquet",
        published={"MolmoE-1B": 60.4, "Molmo-7B-O": 67.5, "Molmo-7B-D": 70.7, "Molmo-72B": 75.2},
    ),
    MmmuTask(
        name="mmmu", family="mmmu", description="MMMU validation (multiple-choice and open questions)",
        metrics=("mmmu_score",), max_crops=36,
        data_help="lmms-lab/MMMU (or MMMU/MMMU) validation parquet, or shards",
        default_data="data/mmmu/validation",
        published={"MolmoE-1B": 34.9, "Molmo-7B-O": 39.3, "Molmo-7B-D": 45.3, "Molmo-72B": 54.1},
    ),
    MathVistaTask(
        name="mathvista", family="mathvista", description="MathVista testmini (rule-based answer extraction)",
        metrics=("mathvista_rule_accuracy",), max_crops=36,
        data_help="AI4Math/MathVista testmini parquet (decoded_image, choices, answer, answer_type, precision)",
        default_data="data/mathvista/testmini.parquet",
        published={"MolmoE-1B": 34.0, "Molmo-7B-O": 44.5, "Molmo-7B-D": 51.6, "Molmo-72B": 58.6},
        notes={"mathvista_rule_accuracy": "MathVista accuracy with RULE-BASED answer extraction (MC: Molmo "
               "select_mc_option over letters; free-form: last number rounded to the answer's precision, else "
               "case-insensitive text equality); the published numbers use GPT-4 extraction and are not comparable"},
    ),
)
