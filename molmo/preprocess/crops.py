"""Pixels of one image: crops -> normalised patch matrices and per-patch padding masks.

For ``overlap-and-resize-c2`` (molmo-facts §3.2, §3.5):

1. the global crop = the whole image resized (+ padded) to the base size; it comes first;
2. the canvas = the image resized onto (rows*window + margin) x (cols*window + margin) pixels;
   tile (r, c) = canvas[r*window : r*window + crop, c*window : c*window + crop], row-major;
3. every crop -> (n_patches, patch_dim) = (576, 588), patches row-major, each (dy, dx, c);
4. ``image_masks`` = fraction of real (non-pad) pixels per patch, global crop first — or, with
   ``legacy_image_mask``, the tile masks followed by one row of -1 (the 0924 off-by-one).

Crop modes are looked up in :data:`CROPPERS` by ``config.crop_mode``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError
from molmo.preprocess.layout import ImageLayout, image_layout, tile_window_px
from molmo.preprocess.tiling import normalize, patch_mask_fraction, patchify, resize_image


@dataclass(frozen=True)
class ImageCrops:
    """Model inputs of one image.

    Attributes:
        layout: the token layout (tiling, token blocks, relative ``input_idx``).
        crops: float32 (n_crops, n_patches, patch_dim), normalised pixels.
        masks: float32 (n_crops, n_patches), fraction of real pixels (-1 rows under the legacy shift).
    """

    layout: ImageLayout
    crops: np.ndarray
    masks: np.ndarray


def _resized_patches(
    image: np.ndarray, size: tuple[int, int], config: PreprocessConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Resize to ``size``, normalise; return the normalised canvas (H, W, 3) and its bool mask (H, W)."""
    pixels, mask = resize_image(image, size, config.resize)
    return normalize(pixels, config.normalize), mask


def resize_crops(
    image: np.ndarray, layout: ImageLayout, config: PreprocessConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One crop: the image resized to the base size."""
    pixels, mask = _resized_patches(image, config.base_image_size, config)
    patch = config.patch_size
    return patchify(pixels, patch)[None], patch_mask_fraction(mask, patch)[None]


def overlap_crops(
    image: np.ndarray, layout: ImageLayout, config: PreprocessConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Global crop + the layout's tiles of the resized canvas."""
    patch = config.patch_size
    crop_h, crop_w = config.base_image_size
    (win_h, win_w), (margin_h, margin_w) = tile_window_px(config)
    rows, cols = layout.tiling
    canvas, canvas_mask = _resized_patches(image, (rows * win_h + margin_h, cols * win_w + margin_w), config)
    global_pixels, global_mask = _resized_patches(image, config.base_image_size, config)

    crops = [patchify(global_pixels, patch)]
    masks = []
    for r in range(rows):
        for c in range(cols):
            ys, xs = slice(r * win_h, r * win_h + crop_h), slice(c * win_w, c * win_w + crop_w)
            crops.append(patchify(canvas[ys, xs], patch))
            masks.append(patch_mask_fraction(canvas_mask[ys, xs], patch))
    if config.legacy_image_mask:
        masks.append(np.full_like(masks[0], -1.0))
    else:
        masks.insert(0, patch_mask_fraction(global_mask, patch))
    return np.stack(crops).astype(np.float32, copy=False), np.stack(masks).astype(np.float32, copy=False)


#: ``PreprocessConfig.crop_mode`` -> function(image, layout, config) -> (crops, masks).
CROPPERS: dict[str, Callable[[np.ndarray, ImageLayout, PreprocessConfig], tuple[np.ndarray, np.ndarray]]] = {
    "overlap-and-resize-c2": overlap_crops,
    "resize": resize_crops,
}


def image_crops(image: np.ndarray, config: PreprocessConfig) -> ImageCrops:
    """Layout, crops and masks of one uint8 (H, W, 3) RGB image."""
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise UserError(f"expected an RGB image array (H, W, 3), got shape {image.shape}")
    layout = image_layout(image.shape[0], image.shape[1], config)
    crops, masks = CROPPERS[config.crop_mode](image, layout, config)
    return ImageCrops(layout, crops, masks)
