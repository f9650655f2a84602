from __future__ import annotations

import numpy as np
import pytest

from molmo.data.masks import decode_rle, encode_rle, rle_contains


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roundtrip(seed):
    mask = np.random.default_rng(seed).random((7, 9)) > 0.6
    mask[0, 0] = seed == 1  # cover masks starting with 1 and with 0
    rle = encode_rle(mask)
    assert rle["size"] == [7, 9] and sum(rle["counts"]) == 63
    assert np.array_equal(decode_rle(rle), mask)
    for y, x in [(0, 0), (3, 4), (6, 8)]:
        assert rle_contains(rle, x, y) == bool(mask[y, x])
    assert not rle_contains(rle, 9, 0) and not rle_contains(rle, -1, 2)


def test_bad_rle():
    with pytest.raises(ValueError, match="sum to"):
        decode_rle({"size": [2, 2], "counts": [1, 1]})
