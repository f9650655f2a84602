"""Pixel-level steps: tiling choice, resize onto a canvas, normalisation and patchify.

Faithful to the released preprocessing (molmo-facts §3.2): the tiling is chosen on float32 scales
with ties going to the smaller tiling, the resize runs ``torch.nn.functional.interpolate`` in
float32 on [0, 1] pixels (then clipped), padding is 0 *before* normalisation (so it becomes
-mean/std), and patches are flattened in (row-in-patch, col-in-patch, channel) order.

Resize variants are looked up in :data:`RESIZERS` by ``config.resize.kind``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from molmo.config.preprocess import NormalizeConfig, ResizeConfig


@lru_cache(maxsize=64)
def candidate_tilings(max_crops: int) -> np.ndarray:
    """All (rows, cols) with rows*cols <= max_crops, sorted by (rows*cols, rows); int32 (K, 2)."""
    tilings = [(i, j) for i in range(1, max_crops + 1) for j in range(1, max_crops + 1) if i * j <= max_crops]
    tilings.sort(key=lambda t: (t[0] * t[1], t[0]))
    return np.array(tilings, dtype=np.int32)


def select_tiling(
    height: float, width: float, window: int | tuple[int, int], max_crops: int
) -> tuple[int, int]:
    """The (rows, cols) tiling of ``window``-pixel tiles (one side or (h, w)) that needs the least resizing.

    ``height``/``width`` are the image size minus the total overlap margin (they can be <= 0 for
    tiny images; the arithmetic then follows the released code without dividing by zero). Among
    tilings that need no downscaling pick the least upscaling; if every tiling downscales pick the
    least downscaling. Ties go to the earlier (smaller) tiling.
    """
    candidates = candidate_tilings(max_crops)
    windows = np.array(window if isinstance(window, tuple) else (window, window), dtype=np.int32)
    size = np.array([height, width], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_side = (candidates * windows).astype(np.float32) / size  # (K, 2)
    scale = per_side.min(axis=1)
    if np.all(scale < 1):
        index = int(np.argmax(scale))
    else:
        index = int(np.argmin(np.where(scale < 1, np.float32(1e10), scale)))
    rows, cols = candidates[index]
    return int(rows), int(cols)


def _interpolate(pixels: np.ndarray, size: tuple[int, int], mode: str, antialias: bool) -> np.ndarray:
    """Resize float32 (H, W, 3) pixels in [0, 1] to ``size`` with torch, clipped to [0, 1]."""
    if pixels.shape[:2] == tuple(size):
        return pixels
    x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None]  # (1, 3, H, W)
    y = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=antialias)
    return y[0].clamp_(0.0, 1.0).permute(1, 2, 0).numpy()


def _to_unit(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 in [0, 1] (float input is taken as already in [0, 1])."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255.0)
    return image.astype(np.float32, copy=False)


def aspect_pad_resize(
    image: np.ndarray, size: tuple[int, int], resize: ResizeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``image`` inside ``size`` keeping its aspect ratio, then centre-pad with 0.

    Returns (pixels float32 (H, W, 3) in [0, 1], real-pixel mask bool (H, W)). The scaled size is
    ``int(side * scale)`` in float32 as released, but never below 1 pixel (extreme aspect ratios).
    """
    target_h, target_w = size
    height, width = image.shape[:2]
    scale = min(np.float32(target_h) / np.float32(height), np.float32(target_w) / np.float32(width))
    new_h = min(target_h, max(1, int(np.float32(height) * scale)))
    new_w = min(target_w, max(1, int(np.float32(width) * scale)))
    resized = _interpolate(_to_unit(image), (new_h, new_w), resize.interpolation, resize.antialias)
    top, left = (target_h - new_h) // 2, (target_w - new_w) // 2
    canvas = np.zeros((target_h, target_w, 3), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = resized
    mask = np.zeros((target_h, target_w), dtype=bool)
    mask[top : top + new_h, left : left + new_w] = True
    return canvas, mask


def stretch_resize(
    image: np.ndarray, size: tuple[int, int], resize: ResizeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Resize ``image`` to exactly ``size`` (aspect not kept); every pixel is real."""
    resized = _interpolate(_to_unit(image), tuple(size), resize.interpolation, resize.antialias)
    return resized, np.ones(resized.shape[:2], dtype=bool)


#: ``ResizeConfig.kind`` -> function(image uint8 (H, W, 3), (h, w), config) -> (pixels, mask).
RESIZERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "aspect_pad": aspect_pad_resize,
    "stretch": stretch_resize,
}


def resize_image(
    image: np.ndarray, size: tuple[int, int], resize: ResizeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Resize with the configured variant; returns ([0, 1] float32 (h, w, 3), bool mask (h, w))."""
    return RESIZERS[resize.kind](image, size, resize)


def normalize(pixels: np.ndarray, config: NormalizeConfig) -> np.ndarray:
    """(pixels - mean) / std per channel, float32; pixels are (..., 3) in [0, 1]."""
    mean = np.asarray(config.mean, dtype=np.float32)
    std = np.asarray(config.std, dtype=np.float32)
    return (pixels - mean) / std


def patchify(array: np.ndarray, patch: int) -> np.ndarray:
    """Split (H, W[, C]) into row-major patches: (H/p * W/p, p*p*C), each in (dy, dx, c) order."""
    height, width = array.shape[:2]
    channels = array.shape[2] if array.ndim == 3 else 1
    rows, cols = height // patch, width // patch
    x = array.reshape(rows, patch, cols, patch, channels).transpose(0, 2, 1, 3, 4)
    return x.reshape(rows * cols, patch * patch * channels)


def patch_mask_fraction(mask: np.ndarray, patch: int) -> np.ndarray:
    """Fraction of real pixels in each patch of a bool (H, W) mask: float32 (n_patches,)."""
    return patchify(mask.astype(np.float32), patch).mean(axis=-1)
