"""Compact binary masks for eval references: row-major run-length encoding.

``{"size": [height, width], "counts": [z0, o0, z1, o1, …]}`` — alternating run lengths of 0s and 1s
over the mask flattened row by row, always starting with a (possibly empty) run of 0s. Used for
``refs.masks`` (pointing metrics test whether a predicted point falls inside a target's mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """Encode a 2-D boolean mask ``(H, W)``."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    flat = np.asarray(mask, dtype=bool).ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(r) for r in runs]}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode back to a boolean ``(H, W)`` array."""
    h, w = (int(v) for v in rle["size"])
    counts = np.asarray(rle["counts"], dtype=np.int64)
    if counts.sum() != h * w:
        raise ValueError(f"RLE counts sum to {int(counts.sum())}, expected {h * w}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(h, w)


def rle_contains(rle: dict[str, Any], x: float, y: float) -> bool:
    """Whether pixel ``(round(x), round(y))`` is inside the mask (False outside the image)."""
    h, w = (int(v) for v in rle["size"])
    xi, yi = round(x), round(y)
    if not (0 <= xi < w and 0 <= yi < h):
        return False
    target = yi * w + xi
    pos = 0
    for i, run in enumerate(rle["counts"]):
        pos += run
        if target < pos:
            return i % 2 == 1
    return False
