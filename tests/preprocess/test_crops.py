"""Crops of one image: shapes, global crop first, tile contents, padding value, mask legacy shift."""

from __future__ import annotations

import numpy as np
import pytest

from molmo.config.preprocess import PreprocessConfig, preprocess_for_vision
from molmo.config.vision import CLIP_MEAN, CLIP_STD, vision_preset
from molmo.errors import UserError
from molmo.preprocess.crops import image_crops
from molmo.preprocess.layout import tile_window_px
from molmo.preprocess.tiling import aspect_pad_resize, normalize, patchify

MEAN, STD = np.array(CLIP_MEAN, np.float32), np.array(CLIP_STD, np.float32)


def _image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _unpatch(patches, grid=24, p=14):
    """(576, 588) -> (336, 336, 3) inverse of patchify."""
    return patches.reshape(grid, grid, p, p, 3).transpose(0, 2, 1, 3, 4).reshape(grid * p, grid * p, 3)


def test_shapes_640x480():
    out = image_crops(_image(480, 640), PreprocessConfig())
    assert out.crops.shape == (7, 576, 588) and out.crops.dtype == np.float32
    assert out.masks.shape == (7, 576) and out.masks.dtype == np.float32
    assert out.layout.tiling == (2, 3)


def test_patch_order_end_to_end_encodes_position():
    """336x336 image whose pixels encode their position: the global crop is an exact (dy, dx, c) patchify."""
    ys, xs = np.meshgrid(np.arange(336), np.arange(336), indexing="ij")
    image = np.stack([ys % 256, xs % 256, (ys // 256) * 16 + (xs // 256)], axis=-1).astype(np.uint8)
    out = image_crops(image, PreprocessConfig(crop_mode="resize"))
    pixels = out.crops[0] * np.tile(STD, 196) + np.tile(MEAN, 196)
    assert np.allclose(pixels, patchify(image / 255.0, 14), atol=1e-5)
    # patch (row 3, col 5), pixel (dy 2, dx 7): red = row, green = col
    k, off = 3 * 24 + 5, (2 * 14 + 7) * 3
    assert round(pixels[k, off] * 255) == 3 * 14 + 2 and round(pixels[k, off + 1] * 255) == 5 * 14 + 7
    assert np.all(out.masks == 1.0)


def test_global_crop_first_and_tiles_slice_the_canvas():
    cfg = PreprocessConfig()
    image = _image(480, 640, seed=3)
    out = image_crops(image, cfg)
    global_pixels, _ = aspect_pad_resize(image, (336, 336), cfg.resize)
    assert np.allclose(_unpatch(out.crops[0]), normalize(global_pixels, cfg.normalize), atol=1e-6)
    (win, _), (margin, _) = tile_window_px(cfg)
    rows, cols = out.layout.tiling
    canvas, _ = aspect_pad_resize(image, (rows * win + margin, cols * win + margin), cfg.resize)
    canvas = normalize(canvas, cfg.normalize)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        assert np.allclose(
            _unpatch(out.crops[1 + k]), canvas[r * win : r * win + 336, c * win : c * win + 336], atol=1e-6
        )


def test_padding_is_zero_before_normalisation():
    out = image_crops(np.full((100, 336, 3), 255, np.uint8), PreprocessConfig(crop_mode="resize"))
    first_patch = out.crops[0, 0].reshape(-1, 3)  # top-left patch is all padding
    assert out.masks[0, 0] == 0.0
    assert np.allclose(first_patch, -MEAN / STD, atol=1e-6)


def test_mask_fractions_and_legacy_shift():
    image = _image(200, 600, seed=5)
    new = image_crops(image, PreprocessConfig(legacy_image_mask=False))
    old = image_crops(image, PreprocessConfig(legacy_image_mask=True))
    assert np.array_equal(new.crops, old.crops)
    assert new.masks.shape == old.masks.shape == (new.layout.n_crops, 576)
    assert np.array_equal(old.masks[:-1], new.masks[1:])  # global crop gets tile 0's mask, ...
    assert np.all(old.masks[-1] == -1.0)  # ... and the last crop gets -1 ("partial pad")
    # global crop: 600x200 -> 336x112, centred: patch rows 8..15 real, the rest padding
    rows = new.masks[0].reshape(24, 24)
    assert np.all(rows[8:16] == 1.0) and np.all(rows[:8] == 0.0) and np.all(rows[16:] == 0.0)
    assert new.masks.min() >= 0.0 and new.masks.max() == 1.0


@pytest.mark.parametrize("shape", [(1, 1), (1, 2000), (2000, 1), (3, 5000)])
def test_tiny_and_extreme_images(shape):
    out = image_crops(np.full(shape + (3,), 200, np.uint8), PreprocessConfig())
    assert out.crops.shape[1:] == (576, 588) and np.isfinite(out.crops).all()
    assert out.crops.shape[0] == out.layout.n_crops == out.masks.shape[0]
    assert out.masks.max() > 0  # some real pixels survive


def test_siglip_stretch_no_pad_and_unit_range():
    cfg = preprocess_for_vision(vision_preset("siglip-so400m-14-384"), overlap_margins=(4, 5), max_crops=4)
    out = image_crops(_image(300, 500, seed=7), cfg)
    assert out.crops.shape[1:] == (27 * 27, 588)
    assert np.all(out.masks == 1.0)
    assert out.crops.min() >= -1.0 and out.crops.max() <= 1.0
    assert out.layout.input_idx.shape == (out.layout.n_crops, 196)


def test_dino_bicubic_imagenet():
    cfg = preprocess_for_vision(vision_preset("dinov2-large-336"), crop_mode="resize")
    out = image_crops(np.zeros((50, 80, 3), np.uint8), cfg)
    assert np.all(out.masks == 1.0)
    assert np.allclose(
        out.crops[0].reshape(-1, 3)[0], -np.array([0.485, 0.456, 0.406]) / np.array([0.229, 0.224, 0.225])
    )


def test_bad_array_rejected():
    with pytest.raises(UserError):
        image_crops(np.zeros((10, 10), np.uint8), PreprocessConfig())
