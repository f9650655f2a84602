"""Image-token layout: which tokens an image becomes and where each pooled feature is added.

Computed from the image *size* only (no pixels), so token counting for data statistics and the
real preprocessing share one code path. Layout of one image (molmo-facts §3.4)::

    <im_start> ( <im_patch> x Cg  <im_col> ) x Rg <im_end>      global crop (12x12 -> 158 tokens)
    <im_start> ( <im_patch> x C   <im_col> ) x R  <im_end>      stitched high-res tiles (c2 mode)

``input_idx`` (n_crops, tokens_per_crop) maps every pooled feature of every crop (global crop
first, then tiles row-major) to the position of its ``<im_patch>`` token, relative to the first
token of the image block; -100 marks features of the overlap margins that are dropped
(molmo-facts §3.3). The sequence builder shifts these by the image block's position.

Crop modes are looked up in :data:`LAYOUTS` by ``config.crop_mode``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from molmo.config.preprocess import PreprocessConfig, SpecialTokenIds
from molmo.preprocess.tiling import select_tiling

DROPPED = -100  # image_input_idx value of a pooled feature that has no token


@dataclass(frozen=True)
class ImageLayout:
    """Token layout of one image of a given size.

    Attributes:
        tiling: (rows, cols) of high-res tiles, or None when the mode has no tiles.
        blocks: (R, C) pooled-token grid of each token block, global crop first.
        input_idx: int64 (n_crops, tokens_per_crop), positions relative to the block start; -100 dropped.
        use_col_tokens: whether each token row ends with ``<im_col>``.
    """

    tiling: tuple[int, int] | None
    blocks: tuple[tuple[int, int], ...]
    input_idx: np.ndarray
    use_col_tokens: bool

    @property
    def n_crops(self) -> int:
        """Crops (global + tiles) this image contributes to ``images``."""
        return int(self.input_idx.shape[0])

    @property
    def n_tokens(self) -> int:
        """Length of the image token block."""
        return sum(2 + rows * (cols + int(self.use_col_tokens)) for rows, cols in self.blocks)

    @property
    def n_patch_tokens(self) -> int:
        """Number of ``<im_patch>`` tokens (= kept pooled features)."""
        return sum(rows * cols for rows, cols in self.blocks)

    def token_ids(self, ids: SpecialTokenIds) -> np.ndarray:
        """The image token block as int64 ids."""
        parts = []
        for rows, cols in self.blocks:
            row = [ids.image_patch] * cols + ([ids.image_col] if self.use_col_tokens else [])
            parts.append(np.array([ids.image_start] + row * rows + [ids.image_end], dtype=np.int64))
        return np.concatenate(parts)


def _block_positions(offset: int, rows: int, cols: int, use_col: bool) -> np.ndarray:
    """Positions of the ``<im_patch>`` tokens of a (rows, cols) block starting at ``offset``: (rows, cols)."""
    stride = cols + int(use_col)
    return offset + 1 + np.arange(rows)[:, None] * stride + np.arange(cols)[None, :]


def axis_windows(n_tiles: int, patches: int, left: int, right: int, pool: int) -> list[tuple[int, int]]:
    """(first kept pooled index, kept pooled count) of each tile along one axis.

    Inner tile edges drop ``left`` / ``right`` margin patches; the image border keeps them.
    """
    windows = []
    for i in range(n_tiles):
        kept = patches - left - right + (left if i == 0 else 0) + (right if i == n_tiles - 1 else 0)
        start = 0 if i == 0 else left // pool
        windows.append((start, -(-kept // pool)))
    return windows


def _global_block(config: PreprocessConfig) -> tuple[tuple[int, int], np.ndarray]:
    """The global crop's (R, C) grid and its (1, tokens_per_crop) positions."""
    rows, cols = config.pooled_grid
    positions = _block_positions(0, rows, cols, config.use_col_tokens).reshape(1, -1)
    return (rows, cols), positions.astype(np.int64)


def resize_layout(height: int, width: int, config: PreprocessConfig) -> ImageLayout:
    """One resized crop (``crop_mode="resize"``): 158 tokens for CLIP-336."""
    block, positions = _global_block(config)
    return ImageLayout(None, (block,), positions, config.use_col_tokens)


def tile_window_px(config: PreprocessConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """((window_h, window_w), (margin_h, margin_w)) in pixels: tile stride and total overlap margin."""
    left, right = config.overlap_margins
    (gh, gw), patch = config.crop_patches, config.patch_size
    margin = (left + right) * patch
    return ((gh - left - right) * patch, (gw - left - right) * patch), (margin, margin)


def overlap_layout(height: int, width: int, config: PreprocessConfig) -> ImageLayout:
    """Global crop + overlapping tiles stitched into one grid (``overlap-and-resize-c2``)."""
    (win_h, win_w), (margin_h, margin_w) = tile_window_px(config)
    tiling = select_tiling(height - margin_h, width - margin_w, (win_h, win_w), config.max_crops)
    left, right = config.overlap_margins
    (gh, gw), (ph, pw) = config.crop_patches, config.pooling
    row_windows = axis_windows(tiling[0], gh, left, right, ph)
    col_windows = axis_windows(tiling[1], gw, left, right, pw)
    n_rows = sum(n for _, n in row_windows)
    n_cols = sum(n for _, n in col_windows)

    global_grid, global_positions = _global_block(config)
    offset = 2 + global_grid[0] * (global_grid[1] + int(config.use_col_tokens))
    stitched = _block_positions(offset, n_rows, n_cols, config.use_col_tokens)  # (R, C)

    pooled_h, pooled_w = config.pooled_grid
    crops = []
    row0 = 0
    for y0, ny in row_windows:
        col0 = 0
        for x0, nx in col_windows:
            crop = np.full((pooled_h, pooled_w), DROPPED, dtype=np.int64)
            crop[y0 : y0 + ny, x0 : x0 + nx] = stitched[row0 : row0 + ny, col0 : col0 + nx]
            crops.append(crop.reshape(-1))
            col0 += nx
        row0 += ny
    input_idx = np.concatenate([global_positions, np.stack(crops)], axis=0)
    return ImageLayout(tiling, (global_grid, (n_rows, n_cols)), input_idx, config.use_col_tokens)


#: ``PreprocessConfig.crop_mode`` -> function(height, width, config) -> ImageLayout.
LAYOUTS: dict[str, Callable[[int, int, PreprocessConfig], ImageLayout]] = {
    "overlap-and-resize-c2": overlap_layout,
    "resize": resize_layout,
}


def image_layout(height: int, width: int, config: PreprocessConfig) -> ImageLayout:
    """The token layout of an image of ``height`` x ``width`` pixels."""
    return LAYOUTS[config.crop_mode](int(height), int(width), config)
