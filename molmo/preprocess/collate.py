"""Collate example dicts into a padded :class:`~molmo.preprocess.batch.Batch`.

Padding (molmo-facts §3.6, §8.4): token ids -1, labels -100, loss weight 0; crops all -1,
``image_input_idx`` -1, ``image_masks`` -1. Sequences pad to the batch maximum or to a fixed
``pad_to_length``; crops to the batch maximum or ``pad_crops_to`` (``max_crops + 1`` reproduces
training's ``pad="to_max"``). ``position_ids = cumsum(attention_mask) - 1`` clamped at 0, unless the
example brings its own (multi-annotation packing). Left padding shifts ``image_input_idx``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from molmo.errors import UserError
from molmo.preprocess.batch import Batch
from molmo.preprocess.sequence import IGNORE_INDEX

PAD_ID = -1


def _target_size(sizes: list[int], fixed: int | None, what: str) -> int:
    longest = max(sizes, default=0)
    if fixed is None:
        return longest
    if longest > fixed:
        raise UserError(f"an example has {longest} {what}, more than the fixed padding of {fixed}")
    return fixed


def collate(
    examples: Sequence[dict[str, Any]],
    *,
    pad_to_length: int | None = None,
    pad_crops_to: int | None = None,
    padding_side: str = "right",
    crop_shape: tuple[int, int, int] | None = None,
) -> Batch:
    """Stack examples into a Batch.

    Args:
        examples: dicts from :class:`~molmo.preprocess.preprocessor.Preprocessor`.
        pad_to_length: fixed T (error if an example is longer); None = longest example.
        pad_crops_to: fixed number of crops N; None = most crops in the batch (None fields if 0).
        padding_side: "right" (training, HF-style generation) or "left".
        crop_shape: (patches per crop, patch_dim, tokens per crop); needed only to build all-padding
            image fields when no example has an image but ``pad_crops_to`` is set.
    """
    if not examples:
        raise UserError("cannot collate an empty list of examples")
    if padding_side not in ("right", "left"):
        raise UserError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    b = len(examples)
    lengths = [len(ex["input_ids"]) for ex in examples]
    t = _target_size(lengths, pad_to_length, "tokens")
    input_ids = np.full((b, t), PAD_ID, dtype=np.int64)
    labels = np.full((b, t), IGNORE_INDEX, dtype=np.int64)
    loss_mask = np.zeros((b, t), dtype=np.float32)
    attention = np.zeros((b, t), dtype=bool)
    positions = np.zeros((b, t), dtype=np.int64)
    packed = any("subsegment_ids" in ex for ex in examples)
    subsegments = np.full((b, t), -1, dtype=np.int64) if packed else None
    shifts = []
    for i, (ex, n) in enumerate(zip(examples, lengths)):
        start = t - n if padding_side == "left" else 0
        shifts.append(start)
        span = slice(start, start + n)
        input_ids[i, span] = ex["input_ids"]
        labels[i, span] = ex["labels"]
        loss_mask[i, span] = ex["loss_mask"]
        attention[i, span] = True
        if "position_ids" in ex:
            positions[i, span] = ex["position_ids"]
        else:
            positions[i] = np.maximum(np.cumsum(attention[i]) - 1, 0)
        if subsegments is not None:
            subsegments[i, span] = ex.get("subsegment_ids", 0)

    images = image_input_idx = image_masks = None
    crop_counts = [len(ex["images"]) if "images" in ex else 0 for ex in examples]
    n = _target_size(crop_counts, pad_crops_to, "crops")
    if n > 0:
        shape = crop_shape
        for ex in examples:
            if "images" in ex:
                shape = (ex["images"].shape[1], ex["images"].shape[2], ex["image_input_idx"].shape[1])
                break
        if shape is None:
            raise UserError("collate needs crop_shape to pad crops for a batch without images")
        patches, patch_dim, per_crop = shape
        images = np.full((b, n, patches, patch_dim), -1.0, dtype=np.float32)
        image_masks = np.full((b, n, patches), -1.0, dtype=np.float32)
        image_input_idx = np.full((b, n, per_crop), -1, dtype=np.int64)
        for i, (ex, count) in enumerate(zip(examples, crop_counts)):
            if count == 0:
                continue
            images[i, :count] = ex["images"]
            image_masks[i, :count] = ex["image_masks"]
            idx = np.asarray(ex["image_input_idx"], dtype=np.int64)
            image_input_idx[i, :count] = np.where(idx >= 0, idx + shifts[i], idx)

    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(array)

    return Batch(
        input_ids=tensor(input_ids),
        position_ids=tensor(positions),
        attention_mask=tensor(attention),
        labels=tensor(labels),
        loss_mask=tensor(loss_mask),
        images=tensor(images),
        image_input_idx=tensor(image_input_idx),
        image_masks=tensor(image_masks),
        subsegment_ids=tensor(subsegments),
        metadata=[dict(ex.get("metadata", {})) for ex in examples],
    )
