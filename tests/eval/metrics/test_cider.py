"""CIDEr-D (§9.3): conformance vectors, hand-computed tiny corpora, the raw-caption pipeline."""

from __future__ import annotations

import math

import pytest

from molmo.errors import UserError
from molmo.eval.metrics.cider import cider, cider_d, document_frequency, ngram_counts

REFS = [
    ["a man riding a horse on a beach", "a person rides a horse along the shore", "a horse and rider on the sand"],
    ["two dogs playing in the grass", "a pair of dogs run across a lawn", "dogs playing on green grass"],
    ["a plate of food with broccoli", "a meal with rice and broccoli on a plate",
     "broccoli and rice served on a white plate"],
]
CANDIDATES = ["a man riding a horse on the beach", "two dogs playing on the grass", "a cat sitting on a couch"]


def test_conformance_vector():
    result = cider_d(CANDIDATES, REFS)
    assert result.per_image == pytest.approx([3.34271673, 2.83811205, 0.03975168], abs=1e-8)
    assert result.score == pytest.approx(2.0735268191562275, rel=1e-12)


def test_conformance_vector_first_reference_as_candidate():
    result = cider_d([refs[0] for refs in REFS], REFS)
    assert result.per_image == pytest.approx([4.00693503, 4.214528, 4.27716924], abs=1e-8)
    assert result.score == pytest.approx(4.166210756285089, rel=1e-12)


def test_one_image_corpus_scores_zero():
    assert cider_d(CANDIDATES[:1], REFS[:1]).score == 0.0


def test_identical_captions_with_corpus_unique_ngrams():
    # Every n-gram occurs in one image only: weight ln 2 each, all four cosine similarities are 1,
    # no length difference -> 10 * mean([1, 1, 1, 1]) = 10.
    assert cider_d(["a b c d", "e f g h"], [["a b c d"], ["e f g h"]]).per_image == [10.0, 10.0]
    # Two-word captions have no 3- or 4-grams: 10 * mean([1, 1, 0, 0]) = 5.
    assert cider_d(["a b", "c d"], [["a b"], ["c d"]]).per_image == pytest.approx([5.0, 5.0])


def test_hand_computed_length_penalty_and_partial_overlap():
    result = cider_d(["a b c", "e f g h"], [["a b c d"], ["e f g h"]])
    # n=1: 3/(sqrt3*2); n=2: 2/(sqrt2*sqrt3); n=3: 1/(1*sqrt2); n=4: 0; bigram lengths 2 vs 3.
    sims = [3 / (math.sqrt(3) * 2), 2 / (math.sqrt(2) * math.sqrt(3)), 1 / math.sqrt(2), 0.0]
    expected = 10 * math.exp(-1 / 72) * sum(sims) / 4
    assert result.per_image[0] == pytest.approx(expected, rel=1e-12)
    assert result.per_image[1] == 10.0
    assert result.score == pytest.approx((expected + 10.0) / 2, rel=1e-12)


def test_ngram_in_every_image_carries_no_weight():
    # df("x") = N = 2 -> weight 0: a candidate made only of "x" scores 0 even though it matches.
    assert cider_d(["x", "x z"], [["x y"], ["x z"]]).per_image[0] == 0.0


def test_several_references_are_averaged():
    one = cider_d(["a b c d", "e f g h"], [["a b c d"], ["e f g h"]]).per_image[0]
    two = cider_d(["a b c d", "e f g h"], [["a b c d", "q r s t"], ["e f g h"]]).per_image[0]
    assert two == pytest.approx(one / 2)


def test_ngram_counts_and_document_frequency():
    counts = ngram_counts("a b a")
    assert counts[("a",)] == 2 and counts[("a", "b")] == 1 and counts[("a", "b", "a")] == 1
    assert list(counts)[:2] == [("a",), ("b",)]
    df = document_frequency([[ngram_counts("a b"), ngram_counts("a c")], [ngram_counts("a")]])
    assert df[("a",)] == 2 and df[("b",)] == 1 and df[("a", "c")] == 1


def test_raw_caption_pipeline_tokenises_lowercases_and_drops_punctuation():
    raw_refs = [[ref.capitalize() + "." for ref in refs] for refs in REFS]
    raw_candidates = ["A man riding a horse on the beach!", "Two dogs, playing on the grass.", "A cat sitting on a couch"]
    assert cider(raw_candidates, raw_refs).score == pytest.approx(2.0735268191562275, rel=1e-12)


def test_input_checks():
    with pytest.raises(UserError):
        cider_d(["a"], [])
    with pytest.raises(UserError):
        cider_d([], [])
    with pytest.raises(UserError):
        cider_d(["a"], [[]])
    with pytest.raises(UserError):
        cider_d("a b", [["a b"]])
    with pytest.raises(UserError):
        cider(["a"], ["a b"])
