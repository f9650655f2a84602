import torch
import torch.nn.functional as F

from molmo.config.llm import llm_preset
from molmo.models.llm.block import NormAfterBlock, PreNormBlock, build_block
from molmo.nn.rope import RotaryEmbedding, apply_rotary


def _rope(cfg, T):
    return RotaryEmbedding(cfg.head_dim, cfg.rope_theta)(torch.arange(T)[None])


def _manual_attention(block, cfg, x, rope, normed_qk):
    """Written out by hand: fused qkv split, optional full-width QK-norm, RoPE, GQA, causal softmax."""
    q, k, v = block.att_proj(x).split([cfg.q_dim, cfg.kv_dim, cfg.kv_dim], -1)
    if normed_qk:
        q, k = block.q_norm(q), block.k_norm(k)
    B, T, _ = x.shape
    q = q.view(B, T, cfg.n_heads, cfg.head_dim).transpose(1, 2)
    k = k.view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
    v = v.view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
    q, k = apply_rotary(q, *rope), apply_rotary(k, *rope)
    rep = cfg.n_heads // cfg.n_kv_heads
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
    s = (q @ k.transpose(-1, -2)) / cfg.head_dim**0.5
    s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    y = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, -1)
    return block.attn_out(y)


def _mlp(block, x):
    up, gate = block.ff_proj(x).chunk(2, -1)
    return block.ff_out(F.silu(gate) * up)


def test_pre_norm_block_wiring():
    torch.manual_seed(0)
    cfg = llm_preset("tiny-qwen2")
    block = build_block(cfg, 0)
    assert isinstance(block, PreNormBlock)
    x, rope = torch.randn(2, 5, cfg.d_model), _rope(cfg, 5)
    h = x + _manual_attention(block, cfg, block.attn_norm(x), rope, normed_qk=False)
    expected = h + _mlp(block, block.ff_norm(h))
    torch.testing.assert_close(block(x, rope, None), expected, atol=1e-5, rtol=1e-5)


def test_norm_after_block_wiring_with_qk_norm():
    torch.manual_seed(0)
    cfg = llm_preset("tiny-olmo2")
    block = build_block(cfg, 0)
    assert isinstance(block, NormAfterBlock)
    with torch.no_grad():
        for norm in (block.q_norm, block.k_norm, block.attn_norm, block.ff_norm):
            norm.weight.normal_(1.0, 0.2)
    x, rope = torch.randn(2, 5, cfg.d_model), _rope(cfg, 5)
    h = x + block.attn_norm(_manual_attention(block, cfg, x, rope, normed_qk=True))
    expected = h + block.ff_norm(_mlp(block, h))
    torch.testing.assert_close(block(x, rope, None), expected, atol=1e-5, rtol=1e-5)


def test_parameter_names_mirror_checkpoint():
    names = {n for n, _ in build_block(llm_preset("tiny-olmo2"), 0).named_parameters()}
    assert names == {
        "attn_norm.weight", "att_proj.weight", "q_norm.weight", "k_norm.weight", "attn_out.weight",
        "ff_norm.weight", "ff_proj.weight", "ff_out.weight",
    }  # fmt: skip
    names = {n for n, _ in build_block(llm_preset("tiny-qwen2"), 0).named_parameters()}
    assert "att_proj.bias" in names and "q_norm.weight" not in names


def test_residual_dropout_only_in_training():
    cfg = llm_preset("tiny-qwen2", residual_dropout=0.5)
    block = build_block(cfg, 0)
    x, rope = torch.randn(1, 4, cfg.d_model), _rope(cfg, 4)
    block.eval()
    torch.testing.assert_close(block(x, rope, None), block(x, rope, None))
    block.train()
    assert not torch.allclose(block(x, rope, None), block(x, rope, None))
