"""Image-token layout: known token counts, stitching of image_input_idx, token ids."""

from __future__ import annotations

import numpy as np
import pytest

from molmo.config.preprocess import PreprocessConfig, SpecialTokenIds
from molmo.preprocess.layout import DROPPED, axis_windows, image_layout, tile_window_px

IDS = SpecialTokenIds(
    bos=0, eos=0, pad=0, image_start=10, image_end=11, image_patch=12, image_col=13, image_prompt=14
)


@pytest.mark.parametrize(
    ("width", "height", "max_crops", "tokens", "crops"),
    [
        (336, 336, 12, 316, 2),
        (640, 480, 12, 740, 7),
        (1024, 768, 12, 1196, 13),
        (336, 4000, 12, 1460, 13),  # tiling 12x1: the maximum at 12 crops
        (336, 20000, 36, 3956, 37),  # tiling 36x1: the maximum at 36 crops
        (1, 1, 12, 316, 2),
        (1, 2000, 12, 316, 2),
        (2000, 1, 12, 316, 2),
    ],
)
def test_known_token_counts(width, height, max_crops, tokens, crops):
    layout = image_layout(height, width, PreprocessConfig(max_crops=max_crops))
    assert (layout.n_tokens, layout.n_crops) == (tokens, crops)
    assert len(layout.token_ids(IDS)) == tokens


def test_max_tokens_over_all_tilings():
    for max_crops, expected in ((12, 1460), (36, 3956)):
        cfg = PreprocessConfig(max_crops=max_crops)
        (win, _), (margin, _) = tile_window_px(cfg)
        best = max(
            image_layout(r * win + margin, c * win + margin, cfg).n_tokens
            for r in range(1, max_crops + 1)
            for c in range(1, max_crops // r + 1)
        )
        assert best == expected


def test_resize_mode_is_one_crop_of_158_tokens():
    layout = image_layout(480, 640, PreprocessConfig(crop_mode="resize"))
    assert (layout.n_tokens, layout.n_crops, layout.tiling) == (158, 1, None)
    assert np.array_equal(
        layout.input_idx[0], (1 + np.arange(12)[:, None] * 13 + np.arange(12)[None, :]).reshape(-1)
    )
    assert list(layout.input_idx[0][:13]) == list(range(1, 13)) + [14]


def _check_covering(layout, cfg):
    tokens = layout.token_ids(IDS)
    patch_positions = np.flatnonzero(tokens == IDS.image_patch)
    per_crop = cfg.tokens_per_crop
    assert layout.input_idx.shape == (layout.n_crops, per_crop)
    glob = layout.input_idx[0]
    assert np.array_equal(glob, patch_positions[:per_crop])  # global crop: its tokens in row-major order
    hi = layout.input_idx[1:]
    kept = hi[hi >= 0]
    assert np.all(hi[hi < 0] == DROPPED)
    # every high-res <im_patch> position is covered exactly once
    assert np.array_equal(np.sort(kept), patch_positions[per_crop:])


@pytest.mark.parametrize("size", [(336, 336), (480, 640), (768, 1024), (1500, 400), (200, 2500)])
def test_image_input_idx_covers_every_patch_once(size):
    cfg = PreprocessConfig()
    _check_covering(image_layout(*size, cfg), cfg)


def test_covering_for_other_geometries():
    configs = [
        PreprocessConfig(
            base_image_size=(378, 378), overlap_margins=(4, 5), max_crops=6
        ),  # SigLIP 27x27, odd grid
        PreprocessConfig(base_image_size=(56, 56), overlap_margins=(0, 0), max_crops=4),  # tiny demo crops
        PreprocessConfig(use_col_tokens=False, max_crops=8),
        PreprocessConfig(base_image_size=(84, 84), overlap_margins=(2, 0), max_crops=9),
    ]
    for cfg in configs:
        for size in [(100, 100), (300, 900), (900, 300), (1000, 1000)]:
            _check_covering(image_layout(*size, cfg), cfg)


def test_stitching_is_geometrically_consistent():
    """A kept feature of tile (i, j) at pooled (py, px) lands on the stitched grid cell of the same canvas pixel."""
    cfg = PreprocessConfig()
    layout = image_layout(768, 1024, cfg)  # tiling 3x4
    rows, cols = layout.tiling
    (win, _), _ = tile_window_px(cfg)
    grid_r, grid_c = layout.blocks[1]
    assert (grid_r, grid_c) == (8 * rows + 4, 8 * cols + 4)
    start = layout.n_tokens - (2 + grid_r * (grid_c + 1))  # first token of the high-res block
    cell = 2 * 14  # pixels per pooled cell
    for crop_index, idx in enumerate(layout.input_idx[1:]):
        i, j = divmod(crop_index, cols)
        for flat in np.flatnonzero(idx >= 0):
            py, px = divmod(flat, 12)
            r, c = divmod(int(idx[flat]) - start - 1, grid_c + 1)
            assert (r * cell, c * cell) == (i * win + py * cell, j * win + px * cell)


def test_axis_windows_drop_inner_margins():
    assert axis_windows(1, 24, 4, 4, 2) == [(0, 12)]
    assert axis_windows(3, 24, 4, 4, 2) == [(0, 10), (2, 8), (2, 10)]
    assert axis_windows(2, 27, 4, 5, 2) == [(0, 11), (2, 12)]


def test_token_ids_structure():
    layout = image_layout(480, 640, PreprocessConfig())
    tokens = layout.token_ids(IDS)
    assert tokens.dtype == np.int64
    assert list(np.flatnonzero(tokens == IDS.image_start)) == [0, 158]
    assert list(np.flatnonzero(tokens == IDS.image_end)) == [157, len(tokens) - 1]
    assert (tokens == IDS.image_col).sum() == 12 + 20
    assert (tokens == IDS.image_patch).sum() == layout.n_patch_tokens == 144 + 20 * 28
    assert tokens[1:14].tolist() == [IDS.image_patch] * 12 + [IDS.image_col]
