"""Key mapping between Hugging Face vision encoders and our ViT (``VisionTransformer``).

Supported: ``CLIPVisionModel`` / ``CLIPModel`` (OpenAI CLIP, MetaCLIP), ``SiglipVisionModel`` /
``SiglipModel`` and ``Dinov2Model`` (current and legacy ``attention.attention.query`` names).
Conversion works one tensor at a time so a huge checkpoint can be streamed from safetensors::

    with safe_open(path, "pt") as f:
        keys = [k for k in f.keys() if map_hf_vision_key(k, cfg) is not None]  # skip the text tower
        for key, tensor in iter_hf_vision_to_ours(((k, f.get_tensor(k)) for k in keys), cfg, prefix):
            ...

Layout changes: the HF conv patch weight ``(D, C, p, p)`` becomes our Linear weight ``(D, p*p*C)``
in (dh, dw, c) order; DINOv2's ``(1, N, D)`` position table and ``(1, 1, D)`` CLS token are
flattened; position tables of another grid size are resized bicubically (no antialias) to the
config's grid. Blocks past ``cfg.n_built_layers`` (CLIP's 24th block for Molmo) and HF heads
(text tower, ``post_layernorm``, SigLIP's pooling head, DINOv2's final ``layernorm``) are
dropped; ``to_hf`` therefore returns a partial state dict (load it with ``strict=False``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from molmo.config.vision import VisionConfig
from molmo.errors import UserError
from molmo.models.vision.pos_embed import resize_pos_embed
from molmo.models.vision.vit import VisionTransformer

Tensor = torch.Tensor


# ----------------------------------------------------------------------------------------------
# Per-tensor layout transforms: name -> (hf_to_ours, ours_to_hf)
# ----------------------------------------------------------------------------------------------


def _patch_to_ours(t: Tensor, cfg: VisionConfig) -> Tensor:
    return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)  # (D, C, p, p) -> (D, p*p*C)


def _patch_to_hf(t: Tensor, cfg: VisionConfig) -> Tensor:
    p, c = cfg.patch_size, cfg.channels
    return t.reshape(t.shape[0], p, p, c).permute(0, 3, 1, 2).contiguous()  # (D, p*p*C) -> (D, C, p, p)


def _pos_to_ours(t: Tensor, cfg: VisionConfig) -> Tensor:
    table = t.reshape(-1, t.shape[-1])  # (1, N, D) or (N, D) -> (N, D)
    if table.shape[0] != cfg.n_positions:
        table = resize_pos_embed(table, int(cfg.cls_token), (cfg.grid, cfg.grid), antialias=False)
    return table


_Fn = Callable[[Tensor, VisionConfig], Tensor]
_TRANSFORMS: dict[str, tuple[_Fn, _Fn]] = {
    "copy": (lambda t, cfg: t, lambda t, cfg: t),
    "patch": (_patch_to_ours, _patch_to_hf),
    "pos": (_pos_to_ours, lambda t, cfg: t),  # HF (N, D) table
    "pos3d": (_pos_to_ours, lambda t, cfg: t[None]),  # HF (1, N, D) table
    "cls3d": (lambda t, cfg: t.reshape(-1), lambda t, cfg: t.reshape(1, 1, -1)),  # HF (1, 1, D)
}


# ----------------------------------------------------------------------------------------------
# Key tables (data): (HF template, our template, transform). {n} = block index, {p} = weight|bias.
# For HF -> ours every row is tried; for ours -> HF the first row naming our key wins.
# ----------------------------------------------------------------------------------------------

_CLIP_LAYER = "encoder.layers.{n}."
_BLOCK = "transformer.resblocks.{n}."
_CLIP_STYLE_BLOCK = [
    (_CLIP_LAYER + "self_attn.q_proj.{p}", _BLOCK + "attention.wq.{p}", "copy"),
    (_CLIP_LAYER + "self_attn.k_proj.{p}", _BLOCK + "attention.wk.{p}", "copy"),
    (_CLIP_LAYER + "self_attn.v_proj.{p}", _BLOCK + "attention.wv.{p}", "copy"),
    (_CLIP_LAYER + "self_attn.out_proj.{p}", _BLOCK + "attention.wo.{p}", "copy"),
    (_CLIP_LAYER + "layer_norm1.{p}", _BLOCK + "attention_norm.{p}", "copy"),
    (_CLIP_LAYER + "layer_norm2.{p}", _BLOCK + "ffn_norm.{p}", "copy"),
    (_CLIP_LAYER + "mlp.fc1.{p}", _BLOCK + "feed_forward.w1.{p}", "copy"),
    (_CLIP_LAYER + "mlp.fc2.{p}", _BLOCK + "feed_forward.w2.{p}", "copy"),
]
_DINO_LAYER = "encoder.layer.{n}."

HF_VISION_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "clip": [
        ("embeddings.class_embedding", "class_embedding", "copy"),
        ("embeddings.patch_embedding.weight", "patch_embedding.weight", "patch"),
        ("embeddings.position_embedding.weight", "positional_embedding", "pos"),
        ("pre_layrnorm.{p}", "pre_ln.{p}", "copy"),
        *_CLIP_STYLE_BLOCK,
    ],
    "siglip": [
        ("embeddings.patch_embedding.weight", "patch_embedding.weight", "patch"),
        ("embeddings.patch_embedding.bias", "patch_embedding.bias", "copy"),
        ("embeddings.position_embedding.weight", "positional_embedding", "pos"),
        *_CLIP_STYLE_BLOCK,
    ],
    "dinov2": [
        ("embeddings.cls_token", "class_embedding", "cls3d"),
        ("embeddings.patch_embeddings.projection.weight", "patch_embedding.weight", "patch"),
        ("embeddings.patch_embeddings.projection.bias", "patch_embedding.bias", "copy"),
        ("embeddings.position_embeddings", "positional_embedding", "pos3d"),
        (_DINO_LAYER + "attention.q_proj.{p}", _BLOCK + "attention.wq.{p}", "copy"),
        (_DINO_LAYER + "attention.k_proj.{p}", _BLOCK + "attention.wk.{p}", "copy"),
        (_DINO_LAYER + "attention.v_proj.{p}", _BLOCK + "attention.wv.{p}", "copy"),
        (_DINO_LAYER + "attention.o_proj.{p}", _BLOCK + "attention.wo.{p}", "copy"),
        (_DINO_LAYER + "attention.attention.query.{p}", _BLOCK + "attention.wq.{p}", "copy"),  # legacy
        (_DINO_LAYER + "attention.attention.key.{p}", _BLOCK + "attention.wk.{p}", "copy"),  # legacy
        (_DINO_LAYER + "attention.attention.value.{p}", _BLOCK + "attention.wv.{p}", "copy"),  # legacy
        (_DINO_LAYER + "attention.output.dense.{p}", _BLOCK + "attention.wo.{p}", "copy"),  # legacy
        (_DINO_LAYER + "norm1.{p}", _BLOCK + "attention_norm.{p}", "copy"),
        (_DINO_LAYER + "norm2.{p}", _BLOCK + "ffn_norm.{p}", "copy"),
        (_DINO_LAYER + "mlp.fc1.{p}", _BLOCK + "feed_forward.w1.{p}", "copy"),
        (_DINO_LAYER + "mlp.fc2.{p}", _BLOCK + "feed_forward.w2.{p}", "copy"),
        (_DINO_LAYER + "layer_scale1.lambda1", _BLOCK + "attention_scale", "copy"),
        (_DINO_LAYER + "layer_scale2.lambda1", _BLOCK + "ffn_scale", "copy"),
    ],
}

# HF keys that have no counterpart in Molmo's ViT (heads, text tower, buffers): dropped silently.
HF_VISION_IGNORED: dict[str, list[str]] = {
    "clip": [r"text_model\..*", r"(visual|text)_projection\..*", r"logit_scale", r"post_layernorm\..*",
             r".*position_ids"],
    "siglip": [r"text_model\..*", r"logit_(scale|bias)", r"post_layernorm\..*", r"head\..*", r".*position_ids"],
    "dinov2": [r"layernorm\..*", r"embeddings\.mask_token", r"classifier\..*"],
}  # fmt: skip

# Prefixes stripped from HF keys before matching (full CLIP/SigLIP models, classification wrappers).
HF_PREFIXES = ("vision_model.", "dinov2.")


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.escape(template).replace(r"\{n\}", r"(?P<n>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)")
    return re.compile(pattern + "$")


_HF_PATTERNS = {fam: [(_compile(h), o, t) for h, o, t in rows] for fam, rows in HF_VISION_KEYS.items()}
_OUR_PATTERNS = {fam: [(_compile(o), h, t) for h, o, t in rows] for fam, rows in HF_VISION_KEYS.items()}
_IGNORED = {fam: [re.compile(p + "$") for p in pats] for fam, pats in HF_VISION_IGNORED.items()}


def _fill(template: str, match: re.Match[str]) -> str:
    return template.format(**match.groupdict())


def _block_index(match: re.Match[str]) -> int | None:
    return int(match["n"]) if "n" in match.groupdict() else None


# ----------------------------------------------------------------------------------------------
# HF -> ours
# ----------------------------------------------------------------------------------------------


def map_hf_vision_key(hf_key: str, cfg: VisionConfig) -> tuple[str, str] | None:
    """``(our_key, transform name)`` for an HF key, or None when Molmo's ViT does not use it.

    Needs no tensor, so a streaming caller can skip reading unused tensors (e.g. a text tower).
    Raises UserError for a key that is neither mapped nor known to be ignorable.
    """
    key = hf_key
    for hf_prefix in HF_PREFIXES:
        if key.startswith(hf_prefix):
            key = key[len(hf_prefix) :]
            break
    for pattern, our_template, transform in _HF_PATTERNS[cfg.family]:
        match = pattern.match(key)
        if match is None:
            continue
        n = _block_index(match)
        if n is not None and n >= cfg.n_built_layers:
            return None  # e.g. CLIP's 24th block: Molmo keeps 23
        return _fill(our_template, match), transform
    if any(p.match(key) for p in _IGNORED[cfg.family]):
        return None
    raise UserError(f"unexpected key {hf_key!r} in a Hugging Face {cfg.family} vision checkpoint")


def convert_hf_vision_tensor(
    hf_key: str, tensor: Tensor, cfg: VisionConfig, prefix: str = ""
) -> tuple[str, Tensor] | None:
    """One HF tensor -> ``(prefix + our_key, tensor)``, or None for keys Molmo's ViT does not use."""
    mapped = map_hf_vision_key(hf_key, cfg)
    if mapped is None:
        return None
    our_key, transform = mapped
    return prefix + our_key, _TRANSFORMS[transform][0](tensor, cfg)


def iter_hf_vision_to_ours(
    items: Iterable[tuple[str, Tensor]], cfg: VisionConfig, prefix: str = ""
) -> Iterator[tuple[str, Tensor]]:
    """Stream ``(hf_key, tensor)`` pairs into ``(our_key, tensor)`` pairs (unused keys skipped)."""
    for hf_key, tensor in items:
        converted = convert_hf_vision_tensor(hf_key, tensor, cfg, prefix)
        if converted is not None:
            yield converted


def expected_vision_keys(cfg: VisionConfig) -> list[str]:
    """Parameter names of ``VisionTransformer(cfg)`` (built on the meta device, no memory)."""
    with torch.device("meta"):
        return list(VisionTransformer(cfg).state_dict())


def hf_vision_state_dict_to_ours(
    state_dict: dict[str, Tensor], cfg: VisionConfig, prefix: str = ""
) -> dict[str, Tensor]:
    """Convert a whole HF state dict and check that every ViT parameter was found."""
    ours = dict(iter_hf_vision_to_ours(state_dict.items(), cfg, prefix))
    missing = [prefix + k for k in expected_vision_keys(cfg) if prefix + k not in ours]
    if missing:
        raise UserError(
            f"Hugging Face {cfg.family} checkpoint lacks {len(missing)} ViT tensors, e.g. {missing[0]!r}"
        )
    return ours


# ----------------------------------------------------------------------------------------------
# ours -> HF
# ----------------------------------------------------------------------------------------------


def convert_vision_tensor_to_hf(
    our_key: str, tensor: Tensor, cfg: VisionConfig, prefix: str = "", hf_prefix: str = ""
) -> tuple[str, Tensor]:
    """One of our ViT tensors (key starting with ``prefix``) -> ``(hf_prefix + hf_key, tensor)``."""
    if not our_key.startswith(prefix):
        raise UserError(f"key {our_key!r} does not start with the ViT prefix {prefix!r}")
    key = our_key[len(prefix) :]
    for pattern, hf_template, transform in _OUR_PATTERNS[cfg.family]:
        match = pattern.match(key)
        if match is not None:
            return hf_prefix + _fill(hf_template, match), _TRANSFORMS[transform][1](tensor, cfg)
    raise UserError(f"ViT key {our_key!r} has no Hugging Face {cfg.family} counterpart")


def iter_vision_to_hf(
    items: Iterable[tuple[str, Tensor]], cfg: VisionConfig, prefix: str = "", hf_prefix: str = ""
) -> Iterator[tuple[str, Tensor]]:
    """Stream our ``(key, tensor)`` pairs into HF ``(key, tensor)`` pairs."""
    for key, tensor in items:
        yield convert_vision_tensor_to_hf(key, tensor, cfg, prefix, hf_prefix)


# ----------------------------------------------------------------------------------------------
# Config translation
# ----------------------------------------------------------------------------------------------

_HF_ACTIVATIONS = {
    "quick_gelu": "quick_gelu", "gelu": "gelu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh",
}  # fmt: skip
_OUR_TO_HF_ACT = {"quick_gelu": "quick_gelu", "gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh"}
_FAMILY_FLAGS: dict[str, dict[str, Any]] = {
    "clip": {"cls_token": True, "pre_ln": True, "patch_bias": False, "layer_scale": False},
    "siglip": {"cls_token": False, "pre_ln": False, "patch_bias": True, "layer_scale": False},
    "dinov2": {"cls_token": True, "pre_ln": False, "patch_bias": True, "layer_scale": True},
}


def vision_config_from_hf(hf_config: dict[str, Any], family: str, **overrides: Any) -> VisionConfig:
    """A VisionConfig from an HF vision config dict (``config.json``'s ``vision_config`` for full models).

    ``overrides`` win, e.g. ``n_layers=23`` for Molmo's CLIP or ``image_size=336`` for DINOv2.
    """
    if family not in _FAMILY_FLAGS:
        raise UserError(f"unknown vision family {family!r}; known: {', '.join(_FAMILY_FLAGS)}")
    d, heads = hf_config["hidden_size"], hf_config["num_attention_heads"]
    act = hf_config.get("hidden_act", "gelu")
    if act not in _HF_ACTIVATIONS:
        raise UserError(f"unsupported vision activation {act!r} in the Hugging Face config")
    mlp = hf_config.get("intermediate_size") or int(d * hf_config.get("mlp_ratio", 4))
    fields: dict[str, Any] = dict(
        family=family, image_size=hf_config["image_size"], patch_size=hf_config["patch_size"],
        channels=hf_config.get("num_channels", 3), d_model=d, n_heads=heads, head_dim=d // heads,
        mlp_dim=mlp, n_layers=hf_config["num_hidden_layers"], activation=_HF_ACTIVATIONS[act],
        norm_eps=hf_config.get("layer_norm_eps", 1e-5), **_FAMILY_FLAGS[family],
    )  # fmt: skip
    fields["feature_layers"] = [-1]
    return VisionConfig(**{**fields, **overrides})


def hf_vision_config(cfg: VisionConfig) -> dict[str, Any]:
    """HF vision config kwargs (plus ``model_type``) describing our ViT; pos tables must match its grid."""
    common = {
        "hidden_size": cfg.d_model, "num_hidden_layers": cfg.n_built_layers, "num_attention_heads": cfg.n_heads,
        "image_size": cfg.image_size, "patch_size": cfg.patch_size, "num_channels": cfg.channels,
        "hidden_act": _OUR_TO_HF_ACT[cfg.activation], "layer_norm_eps": cfg.norm_eps,
    }  # fmt: skip
    if cfg.n_heads * cfg.head_dim != cfg.d_model:
        raise UserError(
            f"HF {cfg.family} models need n_heads * head_dim == d_model, got {cfg.n_heads}x{cfg.head_dim}"
        )
    return {**common, **_HF_FAMILY_CONFIG[cfg.family](cfg)}


def _mlp_ratio(cfg: VisionConfig) -> int:
    if cfg.mlp_dim % cfg.d_model:
        raise UserError(f"HF DINOv2 needs mlp_dim a multiple of d_model, got {cfg.mlp_dim} and {cfg.d_model}")
    return cfg.mlp_dim // cfg.d_model


_HF_FAMILY_CONFIG: dict[str, Callable[[VisionConfig], dict[str, Any]]] = {
    "clip": lambda cfg: {"model_type": "clip_vision_model", "intermediate_size": cfg.mlp_dim},
    "siglip": lambda cfg: {"model_type": "siglip_vision_model", "intermediate_size": cfg.mlp_dim},
    "dinov2": lambda cfg: {
        "model_type": "dinov2",
        "mlp_ratio": _mlp_ratio(cfg),
        "layerscale_value": cfg.layer_scale_init,
    },
}
