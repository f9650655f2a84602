import torch
import torch.nn.functional as F

from molmo.nn.mlp import SwiGLU, packed_swiglu


def test_packed_swiglu_is_silu_of_second_half_times_first():
    up, gate = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(packed_swiglu(torch.cat([up, gate], -1)), F.silu(gate) * up)


def test_swiglu_module():
    torch.manual_seed(0)
    m = SwiGLU(6, 10, 4)
    x = torch.randn(2, 6)
    expected = m.w2(F.silu(m.w1(x)) * m.w3(x))
    torch.testing.assert_close(m(x), expected)
    assert m(x).shape == (2, 4)
    assert sorted(n for n, _ in m.named_parameters()) == ["w1.weight", "w2.weight", "w3.weight"]
