import torch

from molmo.nn.attention import attend, merge_heads, repeat_kv, split_heads


def reference_attention(q, k, v, mask):
    """Naive softmax attention with explicit GQA expansion; mask (B,1,Tq,Tk) bool."""
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1) @ v


def test_split_merge_roundtrip():
    x = torch.randn(2, 5, 12)
    h = split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    torch.testing.assert_close(merge_heads(h), x)


def test_repeat_kv_groups_consecutive_heads():
    k = torch.arange(2.0).view(1, 2, 1, 1)
    assert repeat_kv(k, 3).flatten().tolist() == [0, 0, 0, 1, 1, 1]


def test_gqa_causal_attention_matches_reference():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 4, 6, 8), torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()[None, None]
    torch.testing.assert_close(attend(q, k, v, None), reference_attention(q, k, v, causal))
    torch.testing.assert_close(attend(q, k, v, causal), reference_attention(q, k, v, causal))


def test_single_query_without_mask_sees_all_keys():
    torch.manual_seed(0)
    q, k, v = torch.randn(1, 2, 1, 4), torch.randn(1, 1, 5, 4), torch.randn(1, 1, 5, 4)
    full = torch.ones(1, 1, 1, 5, dtype=torch.bool)
    torch.testing.assert_close(attend(q, k, v, None), reference_attention(q, k, v, full))
