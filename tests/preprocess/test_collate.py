"""Collate: padding values and shapes, positions, left padding, fixed sizes, packing fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molmo.errors import UserError
from molmo.preprocess.collate import collate


def _example(n_tokens, n_crops=0, patches=4, dim=6, per_crop=3, packed=False, seed=0):
    rng = np.random.default_rng(seed)
    ex = {
        "input_ids": rng.integers(5, 50, n_tokens).astype(np.int64),
        "labels": np.full(n_tokens, -100, np.int64),
        "loss_mask": np.zeros(n_tokens, np.float32),
        "metadata": {"image_sizes": [(10, 20)] * min(n_crops, 1)},
    }
    ex["labels"][-2:] = 7
    ex["loss_mask"][-2:] = 1.0
    if n_crops:
        ex["images"] = rng.normal(size=(n_crops, patches, dim)).astype(np.float32)
        ex["image_masks"] = np.ones((n_crops, patches), np.float32)
        idx = (np.arange(n_crops * per_crop, dtype=np.int64) % (n_tokens - 1)).reshape(n_crops, per_crop) + 1
        idx[0, 0] = -100
        ex["image_input_idx"] = idx
    if packed:
        ex["position_ids"] = np.array([0, 1, 2, 2, 3, 2, 3][:n_tokens], np.int64)
        ex["subsegment_ids"] = np.array([10000, 10000, 0, 0, 0, 1, 1][:n_tokens], np.int64)
    return ex


def test_right_padding_values_and_shapes():
    a, b = _example(9, n_crops=3), _example(5, n_crops=1, seed=1)
    batch = collate([a, b])
    batch.validate()
    assert batch.input_ids.shape == (2, 9) and batch.images.shape == (2, 3, 4, 6)
    assert batch.input_ids[1, 5:].tolist() == [-1] * 4 and batch.labels[1, 5:].tolist() == [-100] * 4
    assert batch.loss_mask[1, 5:].sum() == 0 and batch.attention_mask[1].tolist() == [True] * 5 + [False] * 4
    assert torch.equal(batch.input_ids[0], torch.from_numpy(a["input_ids"]))
    assert torch.all(batch.images[1, 1:] == -1) and torch.all(batch.image_masks[1, 1:] == -1)
    assert torch.all(batch.image_input_idx[1, 1:] == -1)
    assert batch.image_input_idx[0, 0, 0] == -100  # dropped features stay dropped
    assert batch.position_ids[1].tolist() == [0, 1, 2, 3, 4, 4, 4, 4, 4]
    assert batch.position_ids[0].tolist() == list(range(9))
    assert batch.subsegment_ids is None and batch.metadata[0] == {"image_sizes": [(10, 20)]}
    assert batch.input_ids.dtype == torch.int64 and batch.loss_mask.dtype == torch.float32


def test_left_padding_shifts_image_positions():
    a, b = _example(9, n_crops=1), _example(5, n_crops=1, seed=1)
    batch = collate([a, b], padding_side="left")
    assert batch.input_ids[1, :4].tolist() == [-1] * 4 and batch.attention_mask[1, 4:].all()
    assert batch.position_ids[1].tolist() == [0, 0, 0, 0, 0, 1, 2, 3, 4]
    assert batch.image_input_idx[1, 0].tolist() == [-100, 2 + 4, 3 + 4]
    assert batch.image_input_idx[0, 0].tolist() == [-100, 2, 3]


def test_fixed_lengths_and_crops():
    batch = collate([_example(5, n_crops=1)], pad_to_length=12, pad_crops_to=13)
    assert batch.input_ids.shape == (1, 12) and batch.images.shape == (1, 13, 4, 6)
    with pytest.raises(UserError, match="more than the fixed padding"):
        collate([_example(15)], pad_to_length=12)
    with pytest.raises(UserError, match="crops"):
        collate([_example(5, n_crops=3)], pad_crops_to=2)


def test_text_only_batches():
    batch = collate([_example(4), _example(6)])
    assert batch.images is None and batch.image_input_idx is None and batch.image_masks is None
    batch.validate()
    padded = collate([_example(4)], pad_crops_to=1, crop_shape=(576, 588, 144))
    assert padded.images.shape == (1, 1, 576, 588) and torch.all(padded.images == -1)
    assert torch.all(padded.image_input_idx == -1)
    with pytest.raises(UserError, match="crop_shape"):
        collate([_example(4)], pad_crops_to=1)
    mixed = collate([_example(4), _example(6, n_crops=2)])
    assert mixed.images.shape[:2] == (2, 2) and torch.all(mixed.images[0] == -1)


def test_packed_examples_keep_their_positions():
    batch = collate([_example(7, packed=True), _example(4)])
    assert batch.position_ids[0].tolist() == [0, 1, 2, 2, 3, 2, 3]
    assert batch.subsegment_ids[0].tolist() == [10000, 10000, 0, 0, 0, 1, 1]
    assert batch.subsegment_ids[1].tolist() == [0, 0, 0, 0, -1, -1, -1]  # unpacked: one segment; pads -1
    assert batch.position_ids[1].tolist() == [0, 1, 2, 3, 3, 3, 3]


def test_bad_calls():
    with pytest.raises(UserError):
        collate([])
    with pytest.raises(UserError):
        collate([_example(3)], padding_side="middle")
