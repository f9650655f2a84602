import torch

from molmo.nn.norms import LayerNorm, RMSNorm, build_norm


def test_rms_norm_matches_formula_and_keeps_dtype():
    torch.manual_seed(0)
    norm = RMSNorm(8, eps=1e-6)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(8))
    x = torch.randn(3, 5, 8)
    expected = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * norm.weight
    torch.testing.assert_close(norm(x), expected)
    xb = x.to(torch.bfloat16)
    assert norm.to(torch.bfloat16)(xb).dtype == torch.bfloat16


def test_rms_norm_statistics_in_fp32_under_autocast():
    norm = RMSNorm(4)
    x = torch.full((2, 4), 1e3, dtype=torch.bfloat16)  # x^2 would be imprecise in bf16 arithmetic
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = norm(x)
    torch.testing.assert_close(y.float(), torch.ones(2, 4))


def test_layer_norm_matches_torch_without_bias():
    torch.manual_seed(0)
    norm = LayerNorm(6, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(6))
    x = torch.randn(4, 6) * 3 + 1
    ref = torch.nn.functional.layer_norm(x, (6,), weight=norm.weight, eps=1e-5)
    torch.testing.assert_close(norm(x), ref)
    assert [n for n, _ in norm.named_parameters()] == ["weight"]


def test_build_norm_registry():
    assert isinstance(build_norm("rms", 4, 1e-6), RMSNorm)
    assert isinstance(build_norm("layer", 4, 1e-5), LayerNorm)
