import subprocess
import sys

import pytest
from pydantic import ValidationError

from molmo.config.llm import LLM_PRESETS, LLMConfig, llm_preset, llm_preset_names
from molmo.errors import UserError


def test_presets_match_molmo_facts():
    q = llm_preset("qwen2-7b")
    assert (q.d_model, q.n_layers, q.n_heads, q.n_kv_heads, q.head_dim, q.mlp_hidden_size) == (
        3584, 28, 28, 4, 128, 37888,
    )  # fmt: skip
    assert q.qkv_bias and not q.qk_norm and not q.norm_after and q.norm_eps == 1e-6
    assert q.rope_theta == 1e6 and q.vocab_size == q.embedding_size == 152064
    assert q.additional_vocab_size == 128 and not q.weight_tying
    o = llm_preset("olmo-7b-1024")
    assert o.norm_after and o.qk_norm and not o.qkv_bias
    assert (o.vocab_size, o.embedding_size, o.rope_theta, o.mlp_hidden_size) == (100278, 100352, 5e5, 22016)
    big = llm_preset("qwen2-72b")
    assert (big.d_model, big.n_layers, big.n_heads, big.n_kv_heads, big.mlp_hidden_size) == (
        8192,
        80,
        64,
        8,
        59136,
    )
    assert "llama3-8b" in llm_preset_names() and "tiny-olmo2" in LLM_PRESETS


def test_overrides_and_unknown_preset():
    assert llm_preset("tiny-qwen2", residual_dropout=0.1).residual_dropout == 0.1
    with pytest.raises(UserError, match="unknown LLM preset 'nope'"):
        llm_preset("nope")


def test_validation():
    with pytest.raises(ValidationError, match="multiple of n_kv_heads"):
        llm_preset("tiny-qwen2", n_kv_heads=3)
    with pytest.raises(ValidationError):
        LLMConfig(**{**LLM_PRESETS["tiny-qwen2"], "bogus": 1})
    with pytest.raises(ValidationError, match="embedding_size"):
        llm_preset("tiny-qwen2", vocab_size=1000)


def test_config_imports_without_torch():
    code = "import sys, molmo.config.llm; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
