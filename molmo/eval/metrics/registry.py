"""Metric registry: name → function, with the variant it implements.

``results.json`` records, next to each number, which variant produced it
(``"metric_variants": {name: description}``, see :func:`metric_variants`), because published
numbers differ by implementation (e.g. VQA with or without the official "normalise only when the
answers differ" rule, ANLS with raw or normalised length divisors).

``level`` tells the caller how to aggregate: ``"example"`` metrics score one example and the
dataset value is the mean of the per-example values; ``"corpus"`` metrics take the whole eval
set at once (CIDEr-D's document frequencies depend on it) and return a
:class:`~molmo.eval.metrics.cider.CiderResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from molmo.errors import UserError
from molmo.eval.metrics.anls import anls, anls_molmo, anls_stvqa, anls_vlmevalkit
from molmo.eval.metrics.cider import cider, cider_d
from molmo.eval.metrics.counting import (
    count_accuracy,
    count_accuracy_lmms_countbench,
    count_close,
    count_valid,
)
from molmo.eval.metrics.exact_match import exact_match, exact_match_lmms
from molmo.eval.metrics.mmmu import mmmu_score
from molmo.eval.metrics.multiple_choice import aokvqa_mc_accuracy, mc_accuracy, realworldqa_score
from molmo.eval.metrics.pointing import point_f1, point_precision, point_recall
from molmo.eval.metrics.relaxed import relaxed_accuracy
from molmo.eval.metrics.vqa import (
    aokvqa_da_score,
    aokvqa_da_score_molmo,
    vqa_score,
    vqa_score_evalai,
    vqa_score_molmo,
    vqa_score_official,
)


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric."""

    name: str
    fn: Callable[..., Any]
    level: Literal["example", "corpus"]
    description: str
    value_range: tuple[float, float] = (0.0, 1.0)


def _spec(name: str, fn: Callable[..., Any], description: str, level: Literal["example", "corpus"] = "example",
          value_range: tuple[float, float] = (0.0, 1.0)) -> MetricSpec:
    return MetricSpec(name=name, fn=fn, level=level, description=description, value_range=value_range)


_SPECS: tuple[MetricSpec, ...] = (
    _spec("vqa_score", vqa_score,
          "VQA accuracy, leave-one-annotator-out mean of min(1, m/3); official punctuation+digit/article "
          "normalisation always applied to prediction and answers (lmms-eval vqav2 since 28ea9a1, VLMEvalKit)"),
    _spec("vqa_score_official", vqa_score_official,
          "VQA accuracy exactly as GT-Vision-Lab vqaEval.py @ a013f00 / EvalAI: normalisation only when the "
          "answers are not all identical; leave-one-annotator-out"),
    _spec("vqa_score_molmo", vqa_score_molmo,
          "Molmo vqa_score: always-normalised, min(1, count/3) over the answer list (no leave-one-out)"),
    _spec("vqa_score_evalai", vqa_score_evalai,
          "TextVQA/OK-VQA as lmms-eval textvqa/ok_vqa and the m4c evaluator: mmf EvalAIAnswerProcessor "
          "always, leave-one-annotator-out"),
    _spec("aokvqa_da_score", aokvqa_da_score,
          "A-OKVQA direct answer, official eval_predictions.py @ 42e8c44: min(1, exact matches/3), no normalisation"),
    _spec("aokvqa_da_score_molmo", aokvqa_da_score_molmo,
          "Molmo a_okvqa_score: min(count/3, 1) after lowercase+strip"),
    _spec("anls", anls,
          "ANLS, official RRC script (= lmms-eval): lower+strip+collapse, divisor = max raw length, keep if >= 0.5"),
    _spec("anls_vlmevalkit", anls_vlmevalkit,
          "ANLS, VLMEvalKit: RRC normalisation, divisor = max normalised length, keep if >= 0.5"),
    _spec("anls_molmo", anls_molmo,
          "ANLS, Molmo/pix2struct anls_metric: lowercase only, keep if NL < 0.5 (strict), max over references"),
    _spec("anls_stvqa", anls_stvqa,
          "ANLS, m4c STVQAANLSEvaluator: lower+strip, divisor = max stripped length, keep if >= 0.5"),
    _spec("relaxed_accuracy", relaxed_accuracy,
          "ChartQA relaxed accuracy (pix2struct relaxed_correctness): 5% relative tolerance when both parse "
          "as floats and target != 0 ('%' divides by 100), else case-insensitive equality; max over answers"),
    _spec("exact_match", exact_match,
          "Molmo em: case-insensitive membership of the prediction in the answers, no stripping"),
    _spec("exact_match_lmms", exact_match_lmms,
          "lmms-eval exact_match with ignore_case and ignore_punctuation (AI2D)"),
    _spec("mc_accuracy", mc_accuracy,
          "Molmo select_mc_option: exact option -> unique option containing the prediction -> min edit distance"),
    _spec("aokvqa_mc_accuracy", aokvqa_mc_accuracy,
          "A-OKVQA MC, official: exact string equality with choices[correct_choice_idx]"),
    _spec("realworldqa_score", realworldqa_score,
          "Molmo real_world_qa_score: select_mc_option over A-D for MC questions, else Molmo-normalised exact match"),
    _spec("mmmu_score", mmmu_score,
          "MMMU eval_utils.py @ 44b45b5 (as reused by Molmo): parse_multi_choice_response (seeded random "
          "fallback, seed 42) / parse_open_response + eval_open"),
    _spec("count_accuracy", count_accuracy, "exact count (Molmo PointCountEval 'correct')"),
    _spec("count_close", count_close, "count within +-1 (Molmo PointCountEval 'close')"),
    _spec("count_valid", count_valid, "an integer could be parsed (Molmo PointCountEval 'valid')"),
    _spec("count_accuracy_lmms_countbench", count_accuracy_lmms_countbench,
          "lmms-eval countbenchqa: stripped prediction == str(number)"),
    _spec("point_precision", point_precision,
          "Molmo PointingEval precision: Hungarian match on Euclidean distance, hit if rounded point in GT mask"),
    _spec("point_recall", point_recall, "Molmo PointingEval recall: hits / #GT masks"),
    _spec("point_f1", point_f1, "Molmo PointingEval F1: 2PR/(P+R+1e-10), 0 if P or R is 0"),
    _spec("cider", cider,
          "CIDEr-D, coco-caption pipeline: pure-Python PTB tokenisation + punctuation filter, n=1..4, sigma=6, "
          "clipping, x10, df from the eval set's references; raw value (papers report x100)",
          level="corpus", value_range=(0.0, 10.0)),
    _spec("cider_d", cider_d,
          "CIDEr-D on already-tokenised captions (coco-caption cider_scorer.py), raw value",
          level="corpus", value_range=(0.0, 10.0)),
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}


def list_metrics() -> list[str]:
    """Registered metric names, sorted."""
    return sorted(METRICS)


def get_metric(name: str) -> MetricSpec:
    """The :class:`MetricSpec` registered under ``name``; :class:`~molmo.errors.UserError` naming
    the known metrics if there is none."""
    try:
        return METRICS[name]
    except KeyError:
        raise UserError(f"unknown metric {name!r}; known metrics: {', '.join(list_metrics())}") from None


def metric_variants(names: Iterable[str]) -> dict[str, str]:
    """``{name: description}`` for the given metric names, for ``results.json``'s
    ``metric_variants``."""
    return {name: get_metric(name).description for name in names}
