"""Metric registry: names, variants, lookups."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.registry import METRICS, get_metric, list_metrics, metric_variants


def test_every_metric_is_documented_and_callable():
    assert len(METRICS) >= 25
    for name, spec in METRICS.items():
        assert spec.name == name
        assert callable(spec.fn) and spec.fn.__doc__ and len(spec.description) > 20
        assert spec.level in ("example", "corpus")
        low, high = spec.value_range
        assert low == 0.0 and high in (1.0, 10.0)


def test_variants_side_by_side():
    for name in ("vqa_score", "vqa_score_official", "vqa_score_molmo", "anls", "anls_molmo", "anls_vlmevalkit",
                 "relaxed_accuracy", "mc_accuracy", "mmmu_score", "count_accuracy", "count_close",
                 "point_precision", "point_recall", "point_f1", "cider"):
        assert name in list_metrics()
    assert get_metric("cider").level == "corpus" and get_metric("cider").value_range == (0.0, 10.0)
    assert get_metric("vqa_score_official").fn("Yes.", ["yes"] * 10) == 0.0
    assert get_metric("vqa_score").fn("Yes.", ["yes"] * 10) == 1.0


def test_metric_variants_for_results_json():
    variants = metric_variants(["vqa_score", "anls"])
    assert set(variants) == {"vqa_score", "anls"}
    assert "leave-one" in variants["vqa_score"] and "RRC" in variants["anls"]


def test_unknown_metric_is_a_user_error_naming_the_known_ones():
    with pytest.raises(UserError, match="vqa_score"):
        get_metric("vqa")
    with pytest.raises(UserError):
        metric_variants(["nope"])
