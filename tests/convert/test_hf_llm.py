"""HF Qwen2 / Llama / OLMo-2 -> DecoderLM: key maps, streaming, config maps, logits parity."""

import random

import pytest
import torch
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    Olmo2Config,
    Olmo2ForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from molmo.config.llm import llm_preset
from molmo.convert.hf_llm import (
    HFToNative,
    NativeToHF,
    hf_config_dict,
    hf_family,
    hf_to_native_state_dict,
    llm_config_from_hf,
    llm_key_rules,
    native_to_hf_state_dict,
)
from molmo.errors import UserError
from molmo.models.llm import DecoderLM

HF_CLASSES = {
    "qwen2": (Qwen2Config, Qwen2ForCausalLM),
    "llama": (LlamaConfig, LlamaForCausalLM),
    "olmo2": (Olmo2Config, Olmo2ForCausalLM),
}
CASES = [  # (preset, overrides, family)
    ("tiny-qwen2", {}, "qwen2"),
    ("tiny-llama", {}, "llama"),  # tied head, GQA with a single kv head
    ("tiny-llama", {"head_dim": 32, "weight_tying": False}, "llama"),  # q_dim != d_model
    ("tiny-olmo2", {}, "olmo2"),  # norm-after + full-width QK-norm
]


def build_hf(cfg, family):
    """A random HF model for ``cfg`` with weights large enough to make logits discriminative."""
    torch.manual_seed(0)
    config_cls, model_cls = HF_CLASSES[family]
    kwargs = {k: v for k, v in hf_config_dict(cfg, family).items() if k != "model_type"}
    hf = model_cls(config_cls(**kwargs, pad_token_id=0, bos_token_id=None, eos_token_id=None)).eval()
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith("norm.weight"):
                p.normal_(1.0, 0.2)
            else:
                p.normal_(0.0, 0.15 if "embed" in name or "lm_head" in name else 0.08)
    return hf


def load_native(cfg, hf):
    native = DecoderLM(cfg).eval()
    sd = hf_to_native_state_dict(hf.state_dict(), cfg)
    missing, unexpected = native.load_state_dict(sd, strict=False)
    assert missing == ["wte.new_embedding"] and unexpected == []
    return native


@pytest.mark.parametrize("preset,overrides,family", CASES)
def test_logits_parity_with_transformers(preset, overrides, family):
    cfg = llm_preset(preset, **overrides)
    assert hf_family(cfg) == family
    hf = build_hf(cfg, family)
    ours = load_native(cfg, hf)
    torch.manual_seed(1)
    ids = torch.randint(0, cfg.embedding_size, (3, 11))  # base-vocab ids only (HF has no new rows)
    mask = torch.ones(3, 11, dtype=torch.long)
    mask[1, :4] = 0  # left padding
    mask[2, :7] = 0
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).logits
        out = ours(ids, attention_mask=mask.bool()).logits
    assert out.shape == ref.shape == (3, 11, cfg.embedding_size)
    valid = mask.bool()
    assert ref.abs().max() > 1.0  # the comparison is not between near-zero logits
    assert (out[valid] - ref[valid]).abs().max() <= 1e-4


@pytest.mark.parametrize("preset,overrides,family", CASES)
def test_native_to_hf_roundtrip(preset, overrides, family):
    cfg = llm_preset(preset, **overrides)
    hf = build_hf(cfg, family)
    hf_sd = hf.state_dict()
    back = native_to_hf_state_dict(load_native(cfg, hf).state_dict(), cfg)
    expected = {k for k in hf_sd if not (cfg.weight_tying and k == "lm_head.weight")}
    assert set(back) == expected  # new_embedding dropped, everything else present
    for k in expected:
        assert torch.equal(back[k], hf_sd[k]), k


def test_streaming_push_yields_when_complete_and_buffers_little():
    cfg = llm_preset("tiny-qwen2")
    hf_sd = build_hf(cfg, "qwen2").state_dict()
    items = list(hf_sd.items())
    random.Random(0).shuffle(items)
    conv = HFToNative(cfg, native_prefix="transformer.")
    produced = {}
    for key, tensor in items:
        for nk, nt in conv.push(key, tensor):
            produced[nk] = nt
        assert len(conv._pending) <= 2 * cfg.n_layers + 1  # only partial fused tensors are buffered
    conv.finish()
    assert conv.missing() == []
    assert "transformer.blocks.1.att_proj.bias" in produced
    q, k, v = (hf_sd[f"model.layers.1.self_attn.{n}_proj.weight"] for n in "qkv")
    assert torch.equal(produced["transformer.blocks.1.att_proj.weight"], torch.cat([q, k, v]))
    up, gate = hf_sd["model.layers.0.mlp.up_proj.weight"], hf_sd["model.layers.0.mlp.gate_proj.weight"]
    assert torch.equal(produced["transformer.blocks.0.ff_proj.weight"], torch.cat([up, gate]))


def test_norm_after_maps_post_norms():
    rules = {r.native: r.hf for r in llm_key_rules(llm_preset("tiny-olmo2"))}
    assert rules["blocks.0.attn_norm.weight"] == ("model.layers.0.post_attention_layernorm.weight",)
    assert rules["blocks.0.ff_norm.weight"] == ("model.layers.0.post_feedforward_layernorm.weight",)
    rules = {r.native: r.hf for r in llm_key_rules(llm_preset("tiny-qwen2"))}
    assert rules["blocks.0.attn_norm.weight"] == ("model.layers.0.input_layernorm.weight",)
    assert rules["blocks.0.ff_norm.weight"] == ("model.layers.0.post_attention_layernorm.weight",)


def test_errors_name_the_tensor():
    cfg = llm_preset("tiny-qwen2")
    conv = HFToNative(cfg)
    with pytest.raises(UserError, match="model.layers.9.foo"):
        conv.push("model.layers.9.foo", torch.zeros(1))
    with pytest.raises(UserError, match="wte.embedding"):
        conv.push("model.embed_tokens.weight", torch.zeros(3, 64))
    assert conv.push("model.layers.0.self_attn.rotary_emb.inv_freq", torch.zeros(8)) == []
    with pytest.raises(UserError, match="missing tensors"):
        conv.finish()
    with pytest.raises(UserError, match="no HF counterpart"):
        NativeToHF(cfg).convert("vision_backbone.x", torch.zeros(1))
    assert NativeToHF(cfg).convert("wte.new_embedding", torch.zeros(16, 64)) == []


def test_config_roundtrip_through_transformers():
    for preset, overrides, family in CASES:
        cfg = llm_preset(preset, **overrides)
        config_cls, _ = HF_CLASSES[family]
        kwargs = {k: v for k, v in hf_config_dict(cfg).items() if k != "model_type"}
        hf_dict = config_cls(**kwargs).to_dict()
        back = llm_config_from_hf(
            hf_dict, vocab_size=cfg.vocab_size, additional_vocab_size=cfg.additional_vocab_size
        )
        assert back == cfg, preset


def test_config_map_rejects_what_we_cannot_hold():
    with pytest.raises(UserError, match="qkv_bias"):
        hf_config_dict(llm_preset("tiny-llama"), "qwen2")
    with pytest.raises(UserError, match="model_type"):
        llm_config_from_hf({"model_type": "gpt2"})
    hf = {k: v for k, v in hf_config_dict(llm_preset("tiny-llama")).items()}
    hf["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0}
    with pytest.raises(UserError, match="llama3"):
        llm_config_from_hf(hf)
