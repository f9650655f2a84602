"""ANLS variants: the §7.2 conformance table and threshold edges."""

from __future__ import annotations

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.anls import anls, anls_molmo, anls_stvqa, anls_vlmevalkit

# §7.2 (GT, prediction, RRC, VLMEvalKit, Molmo); None = Molmo divides by zero.
CONFORMANCE = [
    ("ab", "a", 0.5, 0.5, 0.0),
    ("  Hello World ", "hello world", 1.0, 1.0, 0.7857),
    ("abc   ", "abd", 0.8333, 0.6667, 0.0),
    ("1/8/93", "1/8/93.", 0.8571, 0.8571, 0.8571),
    ("Fifty", "50", 0.0, 0.0, 0.0),
    ("", "", 1.0, 1.0, None),
]


@pytest.mark.parametrize(("gt", "pred", "rrc", "vlmevalkit", "molmo"), CONFORMANCE)
def test_conformance_vectors(gt, pred, rrc, vlmevalkit, molmo):
    assert anls(pred, [gt]) == pytest.approx(rrc, abs=1e-4)
    assert anls_vlmevalkit(pred, [gt]) == pytest.approx(vlmevalkit, abs=1e-4)
    if molmo is None:
        with pytest.raises(UserError, match="divides by zero"):
            anls_molmo(pred, [gt])
    else:
        assert anls_molmo(pred, [gt]) == pytest.approx(molmo, abs=1e-4)


def test_threshold_exactly_half_is_kept_by_rrc_and_dropped_by_molmo():
    assert anls("ab", ["abcd"]) == 0.5
    assert anls_vlmevalkit("ab", ["abcd"]) == 0.5
    assert anls_stvqa("ab", ["abcd"]) == 0.5
    assert anls_molmo("ab", ["abcd"]) == 0.0
    assert anls("a", ["abc"]) == 0.0  # NL = 2/3


def test_max_over_references():
    refs = ["completely different", "invoice", "INVOICE 12"]
    assert anls("Invoice", refs) == 1.0
    assert anls_molmo("invoice 1", refs) == pytest.approx(0.9)
    assert anls_vlmevalkit("nothing alike at all", ["xyz"]) == 0.0


def test_rrc_length_uses_raw_strings_and_distance_uses_normalised_ones():
    # normalised "a b" vs "a b": distance 0 regardless of the raw whitespace
    assert anls("a    b", ["a b"]) == 1.0
    # distance 1 ("a b" vs "a c") over raw length 6
    assert anls("a    c", ["a b"]) == pytest.approx(1 - 1 / 6)


def test_stvqa_variant_lowercases_and_strips():
    assert anls_stvqa("  Total ", ["total"]) == 1.0
    assert anls_stvqa("totl", ["total"]) == pytest.approx(0.8)
    with pytest.raises(UserError):
        anls_stvqa("  ", [""])


@pytest.mark.parametrize("fn", [anls, anls_vlmevalkit, anls_molmo, anls_stvqa])
def test_reference_list_must_be_a_non_empty_list(fn):
    with pytest.raises(UserError):
        fn("x", [])
    with pytest.raises(UserError):
        fn("x", "x")
