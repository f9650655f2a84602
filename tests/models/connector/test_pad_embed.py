"""Padding embeddings: which vector is added where (molmo-facts §2.1)."""

from __future__ import annotations

import torch

from molmo.models.connector.pad_embed import PADDING_EMBEDS

MASKS = torch.tensor([[[0.0, 0.5, 1.0, -1.0]]])  # (B=1, n_crops=1, n_patches=4)


def test_pad_and_partial_pad():
    pad = PADDING_EMBEDS["pad_and_partial_pad"]
    assert pad.param_shape(6) == (2, 6)
    features = torch.randn(1, 1, 4, 6)
    vectors = torch.randn(2, 6)
    out = pad.apply(features, MASKS, vectors)
    torch.testing.assert_close(out[0, 0, 0], features[0, 0, 0] + vectors[0])  # all padding
    torch.testing.assert_close(out[0, 0, 1], features[0, 0, 1] + vectors[1])  # partial
    torch.testing.assert_close(out[0, 0, 2], features[0, 0, 2])  # real
    torch.testing.assert_close(out[0, 0, 3], features[0, 0, 3] + vectors[1])  # -1 counts as partial


def test_single_vector_variants():
    features, vector = torch.randn(1, 1, 4, 3), torch.randn(3)
    pad = PADDING_EMBEDS["pad_embed"]
    assert pad.param_shape(3) == (3,)
    expected = features + (1 - MASKS)[..., None] * vector
    torch.testing.assert_close(pad.apply(features, MASKS, vector), expected)
    regress = PADDING_EMBEDS["regress"]
    expected = features + MASKS.clamp(min=0)[..., None] * vector
    torch.testing.assert_close(regress.apply(features, MASKS, vector), expected)


def test_none_adds_nothing_and_has_no_parameter():
    pad = PADDING_EMBEDS["none"]
    features = torch.randn(1, 1, 4, 3)
    assert pad.param_shape(3) == ()
    assert pad.apply(features, MASKS, None) is features


def test_bf16_features_keep_their_dtype():
    features = torch.randn(1, 1, 4, 6, dtype=torch.bfloat16)
    out = PADDING_EMBEDS["pad_and_partial_pad"].apply(features, MASKS, torch.randn(2, 6))
    assert out.dtype == torch.bfloat16
