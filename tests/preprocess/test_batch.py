"""The Batch dataclass: device moves, model inputs, validation."""

from __future__ import annotations

import pytest
import torch

from molmo.preprocess.batch import Batch, batch_fields


def _batch(**over):
    b, t = 2, 5
    fields = {
        "input_ids": torch.zeros(b, t, dtype=torch.int64),
        "position_ids": torch.arange(t).repeat(b, 1),
        "attention_mask": torch.ones(b, t, dtype=torch.bool),
        "labels": torch.full((b, t), -100),
        "loss_mask": torch.zeros(b, t),
        "images": torch.full((b, 2, 4, 6), -1.0),
        "image_input_idx": torch.full((b, 2, 3), -1),
        "image_masks": torch.full((b, 2, 4), -1.0),
    }
    fields.update(over)
    return Batch(**fields)


def test_contract_fields_in_order():
    assert batch_fields()[:10] == [
        "input_ids", "position_ids", "attention_mask", "labels", "loss_mask",
        "images", "image_input_idx", "image_masks", "subsegment_ids", "frame_times",
    ]  # fmt: skip


def test_to_and_model_inputs():
    batch = _batch()
    moved = batch.to("cpu")
    assert moved is not batch and moved.input_ids.device.type == "cpu"
    kwargs = batch.model_inputs()
    assert set(kwargs) == {
        "input_ids", "position_ids", "attention_mask", "images", "image_input_idx", "image_masks", "labels", "loss_mask",
    }  # fmt: skip
    assert "labels" not in batch.model_inputs(with_targets=False)
    assert (batch.batch_size, batch.seq_len, batch.n_loss_tokens) == (2, 5, 0)
    assert "subsegment_ids" not in batch.tensors()


def test_to_dtype_device_preserves_metadata():
    batch = _batch()
    batch.metadata = [{"a": 1}, {"a": 2}]
    assert batch.to(torch.device("cpu")).metadata == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    "bad",
    [
        {"labels": torch.zeros(2, 4, dtype=torch.int64)},
        {"attention_mask": torch.ones(2, 5, dtype=torch.int64)},
        {"loss_mask": torch.zeros(2, 5, dtype=torch.float64)},
        {"image_masks": None},
        {"image_masks": torch.zeros(2, 3, 4)},
        {"image_input_idx": torch.full((2, 2, 3), 9)},  # points past T = 5
    ],
)
def test_validate_catches_contract_breaks(bad):
    _batch().validate()
    with pytest.raises(ValueError):
        _batch(**bad).validate()
