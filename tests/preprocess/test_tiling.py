"""Tiling choice, resize onto a canvas, normalisation and patch order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from molmo.config.preprocess import AspectPadResize, NormalizeConfig, StretchResize
from molmo.preprocess.tiling import (
    aspect_pad_resize,
    candidate_tilings,
    normalize,
    patch_mask_fraction,
    patchify,
    resize_image,
    select_tiling,
    stretch_resize,
)

MARGIN, WINDOW = 112, 224


@pytest.mark.parametrize(
    ("height", "width", "max_crops", "expected"),
    [
        (336, 336, 12, (1, 1)),
        (480, 640, 12, (2, 3)),
        (768, 1024, 12, (3, 4)),
        (640, 480, 12, (3, 2)),
        (3000, 336, 12, (12, 1)),
        (336, 3000, 12, (1, 12)),
        (10000, 10000, 12, (3, 3)),  # every tiling downscales: least downscaling wins (ties -> fewer rows)
        (10000, 10000, 4, (2, 2)),
        (1, 1, 12, (1, 1)),
        (2000, 1, 12, (1, 1)),
        (1, 2000, 12, (1, 1)),
        (112, 112, 12, (1, 1)),  # zero size after the margin: no division error
        (900, 900, 36, (4, 4)),
    ],
)
def test_select_tiling_table(height, width, max_crops, expected):
    assert select_tiling(height - MARGIN, width - MARGIN, WINDOW, max_crops) == expected


def test_ties_go_to_the_smaller_tiling():
    # (2, 1) and (2, 2), (3, 1)... all reach scale >= 1; (2, 1) needs exactly 1.0 and comes first.
    assert select_tiling(448, 224, 224, 12) == (2, 1)
    assert select_tiling(224, 224, 224, 12) == (1, 1)


def test_candidates_sorted_by_area_then_rows():
    cands = [tuple(c) for c in candidate_tilings(4)]
    assert cands == [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (1, 4), (2, 2), (4, 1)]


def test_aspect_pad_centres_and_masks():
    image = np.full((50, 100, 3), 255, dtype=np.uint8)
    pixels, mask = aspect_pad_resize(image, (336, 336), AspectPadResize())
    assert pixels.shape == (336, 336, 3) and pixels.dtype == np.float32 and mask.shape == (336, 336)
    # 100 -> 336 wide, 50 * 3.36 = 168 high, centred vertically: rows 84..251
    assert mask.sum() == 336 * 168 and mask[84:252].all() and not mask[:84].any() and not mask[252:].any()
    assert np.allclose(pixels[mask], 1.0) and np.all(pixels[~mask] == 0.0)


def test_aspect_pad_matches_torch_bilinear_antialias():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    pixels, mask = aspect_pad_resize(image, (48, 48), AspectPadResize())
    ref = F.interpolate(
        torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0, size=(36, 48), mode="bilinear",
        align_corners=False, antialias=True,
    ).clamp(0, 1)[0].permute(1, 2, 0).numpy()  # fmt: skip
    assert np.array_equal(pixels[6:42], ref) and mask[6:42].all() and not mask[:6].any()


def test_extreme_aspect_keeps_one_pixel():
    _, mask = aspect_pad_resize(np.zeros((2000, 1, 3), np.uint8), (336, 336), AspectPadResize())
    assert mask.sum() == 336  # one column of real pixels
    _, mask = aspect_pad_resize(np.zeros((1, 2000, 3), np.uint8), (336, 336), AspectPadResize())
    assert mask.sum() == 336


def test_same_size_resize_is_identity():
    image = np.random.default_rng(1).integers(0, 256, (28, 42, 3), dtype=np.uint8)
    for resize in (
        AspectPadResize(),
        StretchResize(),
        StretchResize(interpolation="bicubic", antialias=True),
    ):
        pixels, mask = resize_image(image, (28, 42), resize)
        assert np.allclose(pixels, image / 255.0, atol=1e-6) and mask.all()


def test_stretch_has_no_padding():
    pixels, mask = stretch_resize(np.full((10, 300, 3), 128, np.uint8), (42, 42), StretchResize())
    assert pixels.shape == (42, 42, 3) and mask.all() and np.allclose(pixels, 128 / 255, atol=1e-6)


def test_bicubic_output_is_clipped():
    image = np.zeros((40, 40, 3), np.uint8)
    image[::2] = 255  # high contrast makes bicubic overshoot
    pixels, _ = stretch_resize(image, (17, 17), StretchResize(interpolation="bicubic", antialias=True))
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0


def test_normalize():
    cfg = NormalizeConfig(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out = normalize(np.array([[[0.0, 0.5, 1.0]]], np.float32), cfg)
    assert np.allclose(out, [[[-1.0, 0.0, 1.0]]]) and out.dtype == np.float32


def test_patchify_order_row_col_channel():
    h, w, p = 28, 42, 14
    ys, xs, cs = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    array = (ys * 10000 + xs * 10 + cs).astype(np.float64)
    patches = patchify(array, p)
    assert patches.shape == (6, 588)
    for k in range(6):
        pr, pc = divmod(k, 3)  # patches row-major over the 2x3 grid
        for dy, dx, c in [(0, 0, 0), (0, 1, 2), (3, 5, 1), (13, 13, 2)]:
            assert patches[k, (dy * p + dx) * 3 + c] == (pr * p + dy) * 10000 + (pc * p + dx) * 10 + c


def test_patch_mask_fraction():
    mask = np.zeros((28, 28), bool)
    mask[:7, :14] = True  # half of patch 0
    mask[14:, 14:] = True  # all of patch 3
    assert np.allclose(patch_mask_fraction(mask, 14), [0.5, 0.0, 0.0, 1.0])
