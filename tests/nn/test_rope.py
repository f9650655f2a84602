import math

import torch

from molmo.nn.rope import RotaryEmbedding, apply_rotary, rotate_half


def test_rotate_half_splits_halves_not_interleaved():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert rotate_half(x).tolist() == [-3.0, -4.0, 1.0, 2.0]


def test_rope_angles_and_rotation():
    rope = RotaryEmbedding(head_dim=4, theta=100.0)
    pos = torch.tensor([[0, 3]])
    cos, sin = rope(pos)
    assert cos.shape == (1, 1, 2, 4) and cos.dtype == torch.float32
    # inv_freq = [1, 100^-0.5 = 0.1]
    torch.testing.assert_close(cos[0, 0, 1], torch.tensor([math.cos(3), math.cos(0.3)] * 2))
    x = torch.tensor([1.0, 0.0, 0.0, 0.0]).view(1, 1, 1, 4).expand(1, 1, 2, 4)
    y = apply_rotary(x, cos, sin)
    torch.testing.assert_close(y[0, 0, 0], x[0, 0, 0])  # position 0: identity
    # first pair (x0, x2) rotated by angle 3
    torch.testing.assert_close(y[0, 0, 1], torch.tensor([math.cos(3), 0.0, math.sin(3), 0.0]))


def test_rope_preserves_norm_and_relative_positions():
    torch.manual_seed(0)
    rope = RotaryEmbedding(head_dim=8, theta=10000.0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def score(pq, pk):
        cq, sq = rope(torch.tensor([[pq]]))
        ck, sk = rope(torch.tensor([[pk]]))
        return (apply_rotary(q, cq, sq) * apply_rotary(k, ck, sk)).sum()

    torch.testing.assert_close(score(5, 2), score(13, 10))
    c, s = rope(torch.tensor([[7]]))
    torch.testing.assert_close(apply_rotary(q, c, s).norm(), q.norm())


def test_rope_output_dtype_follows_input():
    rope = RotaryEmbedding(head_dim=8)
    cos, sin = rope(torch.arange(3)[None])
    x = torch.randn(1, 2, 3, 8, dtype=torch.bfloat16)
    assert apply_rotary(x, cos, sin).dtype == torch.bfloat16
