"""The ``Batch``: the one tensor bundle train, eval and predict feed to ``Molmo.forward``.

Shapes (B = batch, T = tokens, N = crops, P = patches per crop, D = patch_dim, K = tokens per crop):

=================  =========  =======  ===============================================================
field              shape      dtype    meaning
=================  =========  =======  ===============================================================
input_ids          (B, T)     int64    token ids; padding = -1
position_ids       (B, T)     int64    RoPE positions (cumsum(mask) - 1, clamped >= 0; packed: per turn)
attention_mask     (B, T)     bool     True for real tokens
labels             (B, T)     int64    target token of each position (already shifted); -100 = ignore
loss_mask          (B, T)     float32  per-token loss weight (0 = no loss)
images             (B, N, P, D) float32 normalised patches; padded crops are all -1
image_input_idx    (B, N, K)  int64    token position each pooled feature is added to; < 0 = unused
image_masks        (B, N, P)  float32  fraction of real pixels per patch; padded crops -1
subsegment_ids     (B, T)     int64    multi-annotation packing: conversation id, image tokens 10000
frame_times        (B, F)     float32  video frame times in seconds (video models)
=================  =========  =======  ===============================================================

Image fields are None for a batch without any image; ``metadata`` carries per-example plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import torch

TENSOR_FIELDS = (
    "input_ids", "position_ids", "attention_mask", "labels", "loss_mask",
    "images", "image_input_idx", "image_masks", "subsegment_ids", "frame_times",
)  # fmt: skip
MODEL_INPUTS = (
    "input_ids", "position_ids", "attention_mask", "images", "image_input_idx", "image_masks",
    "subsegment_ids", "labels", "loss_mask",
)  # fmt: skip


@dataclass
class Batch:
    """A padded batch of preprocessed examples (see the module docstring for shapes)."""

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    loss_mask: torch.Tensor
    images: torch.Tensor | None = None
    image_input_idx: torch.Tensor | None = None
    image_masks: torch.Tensor | None = None
    subsegment_ids: torch.Tensor | None = None
    frame_times: torch.Tensor | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)

    @property
    def batch_size(self) -> int:
        """B."""
        return int(self.input_ids.shape[0])

    @property
    def seq_len(self) -> int:
        """T."""
        return int(self.input_ids.shape[1])

    @property
    def n_loss_tokens(self) -> int:
        """Positions with a positive loss weight."""
        return int((self.loss_mask > 0).sum())

    def tensors(self) -> dict[str, torch.Tensor]:
        """The non-None tensor fields by name."""
        return {name: getattr(self, name) for name in TENSOR_FIELDS if getattr(self, name) is not None}

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """A copy with every tensor moved to ``device``."""
        moved = {k: v.to(device, non_blocking=non_blocking) for k, v in self.tensors().items()}
        return replace(self, **moved)

    def pin_memory(self) -> Batch:
        """Pinned-memory copy (called by ``DataLoader(pin_memory=True)``)."""
        return replace(self, **{k: v.pin_memory() for k, v in self.tensors().items()})

    def model_inputs(self, with_targets: bool = True) -> dict[str, torch.Tensor]:
        """Keyword arguments for ``Molmo.forward`` (None fields left out; targets optional)."""
        names = MODEL_INPUTS if with_targets else MODEL_INPUTS[:-2]
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def validate(self) -> None:
        """Raise ValueError if shapes or dtypes break the contract (cheap; used in tests and debugging)."""
        b, t = self.input_ids.shape
        expect = {
            "input_ids": ((b, t), torch.int64), "position_ids": ((b, t), torch.int64),
            "attention_mask": ((b, t), torch.bool), "labels": ((b, t), torch.int64),
            "loss_mask": ((b, t), torch.float32), "subsegment_ids": ((b, t), torch.int64),
        }  # fmt: skip
        for name, (shape, dtype) in expect.items():
            value = getattr(self, name)
            if value is not None and (tuple(value.shape) != shape or value.dtype != dtype):
                raise ValueError(
                    f"Batch.{name}: got {tuple(value.shape)} {value.dtype}, expected {shape} {dtype}"
                )
        image_fields = [self.images, self.image_input_idx, self.image_masks]
        if any(v is None for v in image_fields) and any(v is not None for v in image_fields):
            raise ValueError("Batch: images, image_input_idx and image_masks must be all set or all None")
        if self.images is not None:
            n, p = self.images.shape[1:3]
            if self.images.shape[0] != b or self.image_masks.shape != (b, n, p):
                raise ValueError(
                    f"Batch.image_masks: got {tuple(self.image_masks.shape)}, expected {(b, n, p)}"
                )
            if self.image_input_idx.shape[:2] != (b, n) or self.image_input_idx.dtype != torch.int64:
                raise ValueError(
                    f"Batch.image_input_idx: got {tuple(self.image_input_idx.shape)}, expected {(b, n)}+(K,)"
                )
            if self.image_input_idx.numel() and int(self.image_input_idx.max()) >= t:
                raise ValueError("Batch.image_input_idx: a position points past the end of the sequence")


def batch_fields() -> list[str]:
    """Names of the Batch fields, in order."""
    return [f.name for f in fields(Batch)]
