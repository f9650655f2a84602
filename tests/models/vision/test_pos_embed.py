"""Positional-embedding grid resizing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from molmo.errors import MolmoError
from molmo.models.vision.pos_embed import grid_side, resize_pos_embed


def test_same_grid_returns_table_unchanged():
    table = torch.randn(17, 8)
    assert resize_pos_embed(table, 1, (4, 4)) is table


def test_resize_keeps_cls_rows_and_interpolates_the_grid():
    torch.manual_seed(0)
    table = torch.randn(1 + 16, 8)
    out = resize_pos_embed(table, 1, (2, 3))
    assert out.shape == (1 + 6, 8)
    assert torch.equal(out[0], table[0])
    grid = table[1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, size=(2, 3), mode="bicubic", align_corners=False, antialias=True)
    torch.testing.assert_close(out[1:], ref.permute(0, 2, 3, 1).reshape(6, 8))
    no_aa = resize_pos_embed(table, 1, (2, 3), antialias=False)
    assert not torch.allclose(no_aa, out)


def test_resize_without_cls_and_in_bf16():
    table = torch.randn(9, 4, dtype=torch.bfloat16)
    out = resize_pos_embed(table, 0, (5, 5))
    assert out.shape == (25, 4) and out.dtype == torch.bfloat16


def test_non_square_table_is_an_error():
    assert grid_side(729) == 27
    with pytest.raises(MolmoError, match="not a square"):
        resize_pos_embed(torch.randn(1 + 10, 4), 1, (3, 3))
