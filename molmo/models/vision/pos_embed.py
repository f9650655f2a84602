"""Resizing learned ViT positional embeddings to another patch grid.

A positional table is ``(n_cls + side * side, D)``: optional CLS rows first, then the patch grid in
row-major order. Resizing treats the grid part as a ``D``-channel image and interpolates it
bicubically; the CLS rows are kept as they are. Interpolation runs in float32 (bicubic in half
precision visibly shifts the values) and the result is cast back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from molmo.errors import MolmoError


def grid_side(n_grid_positions: int) -> int:
    """Side of the square grid holding ``n_grid_positions`` positions (raises if not square)."""
    side = math.isqrt(n_grid_positions)
    if side * side != n_grid_positions:
        raise MolmoError(f"positional embedding has {n_grid_positions} grid rows, which is not a square grid")
    return side


def resize_pos_embed(
    table: torch.Tensor, n_cls: int, grid_hw: tuple[int, int], antialias: bool = True
) -> torch.Tensor:
    """Bicubically resize the grid part of ``table`` (n_cls + s*s, D) to (n_cls + h*w, D).

    ``antialias=True`` matches Molmo's runtime resize (molmo-facts §1.2 step 4); checkpoint
    converters historically used ``antialias=False``. Returns ``table`` itself when no resize is
    needed.
    """
    h, w = grid_hw
    cls_rows, grid_rows = table[:n_cls], table[n_cls:]
    side = grid_side(grid_rows.shape[0])
    if (side, side) == (h, w):
        return table
    dim = table.shape[-1]
    image = grid_rows.float().reshape(1, side, side, dim).permute(0, 3, 1, 2)  # (1, D, s, s)
    image = F.interpolate(image, size=(h, w), mode="bicubic", align_corners=False, antialias=antialias)
    grid_rows = image.permute(0, 2, 3, 1).reshape(h * w, dim).to(table.dtype)
    return torch.cat([cls_rows, grid_rows], dim=0)
