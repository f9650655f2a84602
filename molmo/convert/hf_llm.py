"""Key maps between Hugging Face decoder checkpoints (Qwen2, Llama, OLMo-2) and ``DecoderLM``.

Every native tensor comes from one or more HF tensors concatenated along dim 0:

    native (DecoderLM)              HF (Qwen2ForCausalLM / LlamaForCausalLM / Olmo2ForCausalLM)
    wte.embedding                   model.embed_tokens.weight
    blocks.N.att_proj.{weight,bias} model.layers.N.self_attn.{q_proj | k_proj | v_proj}.{weight,bias}
    blocks.N.attn_out.weight        model.layers.N.self_attn.o_proj.weight
    blocks.N.ff_proj.weight         model.layers.N.mlp.{up_proj | gate_proj}.weight   ([up | gate])
    blocks.N.ff_out.weight          model.layers.N.mlp.down_proj.weight
    blocks.N.attn_norm.weight       .input_layernorm (pre-norm) | .post_attention_layernorm (norm-after)
    blocks.N.ff_norm.weight         .post_attention_layernorm (pre-norm) | .post_feedforward_layernorm
    blocks.N.{q,k}_norm.weight      model.layers.N.self_attn.{q,k}_norm.weight (QK-norm only)
    ln_f.weight                     model.norm.weight
    ff_out.weight                   lm_head.weight (absent when tied)

``wte.new_embedding`` has no HF counterpart: HF -> native leaves it to the caller (initialise it),
native -> HF drops it. HF ``vocab_size`` == native ``embedding_size``.

Streaming: ``HFToNative.push(key, tensor)`` takes one HF tensor at a time and returns the native
tensors completed by it (only the parts of a half-assembled fused tensor are buffered);
``NativeToHF.convert(key, tensor)`` splits one native tensor into its HF tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from molmo.config.llm import LLMConfig
from molmo.errors import UserError
from molmo.models.llm.model import DecoderLM

HFFamily = Literal["qwen2", "llama", "olmo2"]
NATIVE_ONLY = ("wte.new_embedding",)
IGNORED_HF_SUFFIXES = ("rotary_emb.inv_freq",)  # non-persistent buffers some old checkpoints carry


@dataclass(frozen=True)
class KeyRule:
    """native tensor = cat(hf tensors, dim=0); ``sizes`` are the parts' dim-0 sizes (same order)."""

    native: str
    hf: tuple[str, ...]
    sizes: tuple[int, ...]


def llm_key_rules(cfg: LLMConfig, native_prefix: str = "") -> list[KeyRule]:
    """All key rules for ``cfg``; native keys get ``native_prefix`` (e.g. "transformer.")."""
    d, q, kv, f = cfg.d_model, cfg.q_dim, cfg.kv_dim, cfg.ffn_hidden_size
    p = native_prefix
    rules = [KeyRule(f"{p}wte.embedding", ("model.embed_tokens.weight",), (cfg.embedding_size,))]
    if cfg.norm_after:  # OLMo-2: the norms sit after each sub-layer
        attn_norm, ff_norm = "post_attention_layernorm", "post_feedforward_layernorm"
    else:
        attn_norm, ff_norm = "input_layernorm", "post_attention_layernorm"
    for i in range(cfg.n_layers):
        b, h = f"{p}blocks.{i}.", f"model.layers.{i}."
        qkv = tuple(f"{h}self_attn.{n}_proj" for n in "qkv")
        rules += [
            KeyRule(f"{b}attn_norm.weight", (f"{h}{attn_norm}.weight",), (d,)),
            KeyRule(f"{b}att_proj.weight", tuple(f"{x}.weight" for x in qkv), (q, kv, kv)),
            KeyRule(f"{b}attn_out.weight", (f"{h}self_attn.o_proj.weight",), (d,)),
            KeyRule(f"{b}ff_norm.weight", (f"{h}{ff_norm}.weight",), (d,)),
            KeyRule(f"{b}ff_proj.weight", (f"{h}mlp.up_proj.weight", f"{h}mlp.gate_proj.weight"), (f, f)),
            KeyRule(f"{b}ff_out.weight", (f"{h}mlp.down_proj.weight",), (d,)),
        ]
        if cfg.qkv_bias:
            rules.append(KeyRule(f"{b}att_proj.bias", tuple(f"{x}.bias" for x in qkv), (q, kv, kv)))
        if cfg.qk_norm:
            rules.append(KeyRule(f"{b}q_norm.weight", (f"{h}self_attn.q_norm.weight",), (q,)))
            rules.append(KeyRule(f"{b}k_norm.weight", (f"{h}self_attn.k_norm.weight",), (kv,)))
    rules.append(KeyRule(f"{p}ln_f.weight", ("model.norm.weight",), (d,)))
    if not cfg.weight_tying:
        rules.append(KeyRule(f"{p}ff_out.weight", ("lm_head.weight",), (cfg.embedding_size,)))
    return rules


def native_shapes(cfg: LLMConfig, native_prefix: str = "") -> dict[str, tuple[int, ...]]:
    """Expected shape of every native tensor, from a meta-device model."""
    with torch.device("meta"):
        model = DecoderLM(cfg)
    return {native_prefix + k: tuple(v.shape) for k, v in model.state_dict().items()}


class HFToNative:
    """Streams an HF decoder state dict into native tensors, one HF tensor at a time."""

    def __init__(self, cfg: LLMConfig, native_prefix: str = ""):
        self.cfg = cfg
        self.native_prefix = native_prefix
        self._rule_of = {k: r for r in llm_key_rules(cfg, native_prefix) for k in r.hf}
        self._shapes = native_shapes(cfg, native_prefix)
        self._pending: dict[str, dict[str, torch.Tensor]] = {}
        self._done: set[str] = set()

    def push(self, hf_key: str, tensor: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Accept one HF tensor; return the native (key, tensor) pairs it completes (0 or 1)."""
        if hf_key.endswith(IGNORED_HF_SUFFIXES):
            return []
        if hf_key == "lm_head.weight" and self.cfg.weight_tying:
            return []  # tied copy of embed_tokens
        rule = self._rule_of.get(hf_key)
        if rule is None:
            raise UserError(f"unexpected tensor {hf_key!r} in the HF checkpoint (not in the key map)")
        parts = self._pending.setdefault(rule.native, {})
        if hf_key in parts or rule.native in self._done:
            raise UserError(f"tensor {hf_key!r} appears twice in the HF checkpoint")
        parts[hf_key] = tensor
        if len(parts) < len(rule.hf):
            return []
        del self._pending[rule.native]
        out = torch.cat([parts[k] for k in rule.hf], dim=0) if len(rule.hf) > 1 else parts[hf_key]
        expected = self._shapes[rule.native]
        if tuple(out.shape) != expected:
            raise UserError(
                f"HF tensor(s) {', '.join(rule.hf)} give shape {tuple(out.shape)} for {rule.native!r}; "
                f"the config expects {expected}"
            )
        self._done.add(rule.native)
        return [(rule.native, out)]

    def missing(self) -> list[str]:
        """Native keys not produced yet (``wte.new_embedding`` is never produced: initialise it)."""
        native_only = {self.native_prefix + k for k in NATIVE_ONLY}
        return sorted(k for k in self._shapes if k not in self._done and k not in native_only)

    def finish(self) -> None:
        """Raise ``UserError`` if any native tensor is still missing."""
        missing = self.missing()
        if missing:
            more = f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""
            raise UserError(f"HF checkpoint is missing tensors for {', '.join(missing[:3])}{more}")


class NativeToHF:
    """Splits native tensors into HF decoder tensors, one native tensor at a time."""

    def __init__(self, cfg: LLMConfig, native_prefix: str = ""):
        self.native_prefix = native_prefix
        self._rule_of = {r.native: r for r in llm_key_rules(cfg, native_prefix)}

    def convert(self, native_key: str, tensor: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """One native tensor -> its HF (key, tensor) pairs; ``wte.new_embedding`` -> []."""
        if native_key in {self.native_prefix + k for k in NATIVE_ONLY}:
            return []
        rule = self._rule_of.get(native_key)
        if rule is None:
            raise UserError(f"native tensor {native_key!r} has no HF counterpart in the key map")
        if tensor.shape[0] != sum(rule.sizes):
            raise UserError(
                f"native tensor {native_key!r} has {tensor.shape[0]} rows, expected {sum(rule.sizes)}"
            )
        return list(zip(rule.hf, tensor.split(list(rule.sizes), dim=0)))


def hf_to_native_state_dict(
    state_dict: dict[str, torch.Tensor], cfg: LLMConfig, native_prefix: str = ""
) -> dict[str, torch.Tensor]:
    """Whole-dict convenience over ``HFToNative`` (raises if anything is missing)."""
    conv = HFToNative(cfg, native_prefix)
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        out.update(conv.push(key, tensor))
    conv.finish()
    return out


def native_to_hf_state_dict(
    state_dict: dict[str, torch.Tensor], cfg: LLMConfig, native_prefix: str = ""
) -> dict[str, torch.Tensor]:
    """Whole-dict convenience over ``NativeToHF`` (HF tensors are contiguous copies)."""
    conv = NativeToHF(cfg, native_prefix)
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        out.update((k, t.contiguous()) for k, t in conv.convert(key, tensor))
    return out


# ------------------------------------------------------------------------------------------ configs
def hf_family(cfg: LLMConfig) -> HFFamily:
    """The HF architecture that can hold ``cfg`` exactly."""
    if cfg.norm_after or cfg.qk_norm:
        return "olmo2"
    return "qwen2" if cfg.qkv_bias else "llama"


def hf_config_dict(cfg: LLMConfig, family: HFFamily | None = None) -> dict[str, Any]:
    """Keyword arguments for the transformers config class of ``family`` (default: ``hf_family``)."""
    family = family or hf_family(cfg)
    needs = {
        "qwen2": {"qkv_bias": True, "qk_norm": False, "norm_after": False},
        "llama": {"qk_norm": False, "norm_after": False},
        "olmo2": {"qk_norm": True, "norm_after": True},
    }[family]
    for field, value in needs.items():
        if getattr(cfg, field) != value:
            raise UserError(
                f"an HF {family} model needs {field}={value}, the config has {getattr(cfg, field)}"
            )
    if cfg.norm_type != "rms":
        raise UserError(f"HF {family} models use RMSNorm; the config has norm_type={cfg.norm_type!r}")
    out: dict[str, Any] = {
        "model_type": family,
        "vocab_size": cfg.embedding_size,
        "hidden_size": cfg.d_model,
        "intermediate_size": cfg.ffn_hidden_size,
        "num_hidden_layers": cfg.n_layers,
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.n_kv_heads,
        "head_dim": cfg.head_dim,
        "max_position_embeddings": cfg.max_sequence_length,
        "rms_norm_eps": cfg.norm_eps,
        "rope_theta": cfg.rope_theta,
        "tie_word_embeddings": cfg.weight_tying,
        "hidden_act": "silu",
    }
    if family != "qwen2":
        out["attention_bias"] = cfg.qkv_bias
    return out


def llm_config_from_hf(hf: dict[str, Any], **overrides: Any) -> LLMConfig:
    """An ``LLMConfig`` from an HF ``config.json`` dict (qwen2 / llama / olmo2).

    ``embedding_size`` = HF ``vocab_size``; pass ``vocab_size=`` (the tokenizer's) as an override
    when it is smaller. Other overrides (``additional_vocab_size``, dropouts) are passed through.
    """
    family = hf.get("model_type")
    if family not in ("qwen2", "llama", "olmo2"):
        raise UserError(f"unsupported HF model_type {family!r}; expected qwen2, llama or olmo2")
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", rope.get("type", "default"))
    if rope_type != "default":
        raise UserError(f"HF config uses RoPE scaling {rope_type!r}, which DecoderLM does not implement")
    if hf.get("mlp_bias"):
        raise UserError("HF config has mlp_bias=true, which DecoderLM does not implement")
    theta = hf.get("rope_theta", rope.get("rope_theta", 10000.0))
    heads = hf["num_attention_heads"]
    olmo2 = family == "olmo2"
    fields: dict[str, Any] = {
        "d_model": hf["hidden_size"],
        "n_layers": hf["num_hidden_layers"],
        "n_heads": heads,
        "n_kv_heads": hf.get("num_key_value_heads") or heads,
        "head_dim": hf.get("head_dim") or hf["hidden_size"] // heads,
        "mlp_hidden_size": 2 * hf["intermediate_size"],
        "vocab_size": hf["vocab_size"],
        "embedding_size": hf["vocab_size"],
        "qkv_bias": True if family == "qwen2" else bool(hf.get("attention_bias", False)),
        "qk_norm": olmo2,
        "norm_after": olmo2,
        "norm_type": "rms",
        "norm_eps": hf.get("rms_norm_eps", 1e-6),
        "rope_theta": theta,
        "max_sequence_length": hf.get("max_position_embeddings", 4096),
        "weight_tying": bool(hf.get("tie_word_embeddings", False)),
    }
    return LLMConfig(**{**fields, **overrides})
