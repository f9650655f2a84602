"""Benchmark metrics as pure, documented functions (no torch), with the implementation variants
side by side.

One concept per module: ``normalize`` (VQA answer normalisation), ``vqa``, ``anls``, ``relaxed``
(ChartQA), ``exact_match``, ``multiple_choice``, ``mmmu``, ``counting``, ``pointing``, ``cider``
+ ``ptb_tokenize``, ``postprocess`` (Molmo prediction clean-up), ``edit_distance`` and
``registry`` (name → function + variant description, for ``results.json``).

Every per-example metric takes the prediction first and returns a float in [0, 1]; CIDEr-D is a
corpus metric in [0, 10]. The functions whose name equals their module's (``anls``, ``cider``,
``exact_match``) are not re-exported here, so that the submodules stay reachable as attributes;
import them from their module (``from molmo.eval.metrics.anls import anls``) or use the registry.
"""

from molmo.eval.metrics.anls import anls_molmo, anls_stvqa, anls_vlmevalkit
from molmo.eval.metrics.cider import CiderResult, cider_d
from molmo.eval.metrics.counting import (
    count_accuracy,
    count_accuracy_lmms_countbench,
    count_close,
    count_valid,
    parse_count,
    per_count_accuracy,
)
from molmo.eval.metrics.exact_match import exact_match_lmms
from molmo.eval.metrics.mmmu import mmmu_score, parse_multi_choice_response, parse_open_response
from molmo.eval.metrics.multiple_choice import (
    aokvqa_mc_accuracy,
    mc_accuracy,
    realworldqa_score,
    select_mc_option,
)
from molmo.eval.metrics.normalize import normalize_evalai, normalize_molmo, normalize_vqa
from molmo.eval.metrics.pointing import (
    PointScores,
    aggregate_point_scores,
    point_f1,
    point_precision,
    point_recall,
    point_scores,
)
from molmo.eval.metrics.postprocess import molmo_clean_prediction
from molmo.eval.metrics.ptb_tokenize import ptb_tokenize, ptb_tokenize_caption
from molmo.eval.metrics.registry import METRICS, MetricSpec, get_metric, list_metrics, metric_variants
from molmo.eval.metrics.relaxed import relaxed_accuracy, relaxed_correctness
from molmo.eval.metrics.vqa import (
    aokvqa_da_score,
    aokvqa_da_score_molmo,
    vqa_score,
    vqa_score_evalai,
    vqa_score_molmo,
    vqa_score_official,
)

__all__ = [
    "METRICS", "CiderResult", "MetricSpec", "PointScores",
    "aggregate_point_scores", "anls_molmo", "anls_stvqa", "anls_vlmevalkit", "aokvqa_da_score",
    "aokvqa_da_score_molmo", "aokvqa_mc_accuracy", "cider_d", "count_accuracy",
    "count_accuracy_lmms_countbench", "count_close", "count_valid", "exact_match_lmms", "get_metric",
    "list_metrics", "mc_accuracy", "metric_variants", "mmmu_score", "molmo_clean_prediction",
    "normalize_evalai", "normalize_molmo", "normalize_vqa", "parse_count", "parse_multi_choice_response",
    "parse_open_response", "per_count_accuracy", "point_f1", "point_precision", "point_recall",
    "point_scores", "ptb_tokenize", "ptb_tokenize_caption", "realworldqa_score", "relaxed_accuracy",
    "relaxed_correctness", "select_mc_option", "vqa_score", "vqa_score_evalai", "vqa_score_molmo",
    "vqa_score_official",
]
