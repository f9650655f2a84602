import torch

from molmo.nn.masks import (
    IMAGE_SUBSEGMENT_ID,
    build_attention_mask,
    causal_mask,
    position_ids_from_mask,
    subsegment_position_ids,
)


def test_causal_mask_with_past():
    m = causal_mask(2, 5)  # queries at absolute positions 3 and 4
    assert m.tolist() == [[True, True, True, True, False], [True] * 5]


def test_no_mask_needed_for_plain_causal():
    assert build_attention_mask(None, 6, 6) is None
    assert build_attention_mask(None, 1, 9) is None
    assert build_attention_mask(None, 2, 5).shape == (1, 1, 2, 5)


def test_padding_mask_left_and_right():
    valid = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    m = build_attention_mask(valid, 4, 4)[:, 0]
    assert m.shape == (2, 4, 4)
    # row 0 (left padded): query 3 sees keys 2, 3 only
    assert m[0, 3].tolist() == [False, False, True, True]
    # padded query 0 sees only itself (no empty rows -> no NaN)
    assert m[0, 0].tolist() == [True, False, False, False]
    # row 1 (right padded): the pad query 3 sees valid keys before it and itself
    assert m[1, 2].tolist() == [True, True, True, False]
    assert not m[1, :3, 3].any()  # no valid query sees the pad key


def test_padding_with_kv_cache_past():
    valid = torch.tensor([[0, 1, 1, 1, 1]], dtype=torch.bool)  # 3 cached keys + 2 new
    m = build_attention_mask(valid, 2, 5)[0, 0]
    assert m.tolist() == [[False, True, True, True, False], [False, True, True, True, True]]


def test_subsegment_rule():
    I = IMAGE_SUBSEGMENT_ID
    seg = torch.tensor([[I, I, 0, 0, 1, 1]])
    m = build_attention_mask(None, 6, 6, subsegment_ids=seg)[0, 0]
    # conversation 0 sees the image and itself
    assert m[3].tolist() == [True, True, True, True, False, False]
    # conversation 1 sees the image and itself, never conversation 0
    assert m[5].tolist() == [True, True, False, False, True, True]
    # image tokens attend causally among themselves only
    assert m[1].tolist() == [True, True, False, False, False, False]
    expected = torch.tensor([[(j <= i) and (seg[0, i] <= seg[0, j]) for j in range(6)] for i in range(6)])
    assert torch.equal(m, expected)


def test_position_ids_from_mask_any_padding():
    valid = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 1, 1, 0]], dtype=torch.bool)
    pos = position_ids_from_mask(valid)
    assert pos[0].tolist() == [0, 0, 0, 1, 2]
    assert pos[1].tolist() == [0, 1, 1, 1, 1]
    assert pos[2].tolist() == [0, 0, 1, 2, 2]


def test_subsegment_positions_restart_after_image():
    I = IMAGE_SUBSEGMENT_ID
    seg = torch.tensor([[I, I, I, 0, 0, 1, 1, 1]])
    assert subsegment_position_ids(None, seg)[0].tolist() == [0, 1, 2, 3, 4, 3, 4, 5]
    valid = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    assert subsegment_position_ids(valid, seg)[0].tolist()[:7] == [0, 1, 2, 3, 4, 3, 4]
