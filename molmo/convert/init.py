"""A fresh Molmo assembled from a Hugging Face vision encoder and a Hugging Face LLM (stage-1 start).

    vision_dir  CLIP / MetaCLIP / SigLIP / DINOv2 saved with ``save_pretrained`` (config.json +
                safetensors; a full CLIPModel/SiglipModel works, its text tower is skipped)
    llm_dir     Qwen2 / Llama / OLMo-2 causal LM (config.json + safetensors) and its tokenizer.json

What comes from where (molmo-facts §1.1, §3.1, §4.3):
- ViT weights from ``vision_dir`` (``molmo.convert.hf_vision``); blocks past the config's depth are
  dropped (Molmo's CLIP keeps 23 of 24 when the preset says so).
- LLM weights from ``llm_dir`` (``molmo.convert.hf_llm``): fused ``att_proj`` / ``ff_proj``.
- Connector fresh: pooling / projector weights N(0, 0.02), biases 0, ``pad_embed`` zeros;
  ``wte.new_embedding`` N(0, init_std).
- Tokenizer: the LLM's, padded with ``|<EXTRA_TOKENS_i>|`` so the image tokens get the preset's ids
  (default: ``embedding_size`` + 0..4, i.e. rows 0..4 of ``new_embedding``).

The config comes from the HF configs, or from ``preset`` / a recipe's ``[model]`` section, in which
case the HF checkpoints must match its architecture (checked field by field).
Weights stream tensor by tensor into ``DST`` (written atomically).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from molmo.checkpoint import DEFAULT_MAX_SHARD_BYTES, AtomicDir, read_json, save_weights, write_json
from molmo.config.llm import LLMConfig
from molmo.config.model import MolmoConfig
from molmo.config.preprocess import PreprocessConfig, preprocess_for_vision
from molmo.config.vision import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    SIGLIP_MEAN,
    SIGLIP_STD,
    VisionConfig,
)
from molmo.convert.hf_llm import IGNORED_HF_SUFFIXES, HFToNative, llm_config_from_hf, llm_key_rules
from molmo.convert.hf_molmo import check_ids_fit, default_margins, load_hf_tokenizer
from molmo.convert.hf_vision import convert_hf_vision_tensor, map_hf_vision_key, vision_config_from_hf
from molmo.convert.stream import (
    ConversionResult,
    TensorCounter,
    cast,
    check_destination,
    check_shape,
    expected_shapes,
    parse_convert_dtype,
    scan_safetensors,
    stream_safetensors,
    write_molmo_json,
)
from molmo.errors import UserError

VIT_PREFIX = "vision_backbone.image_vit."
LLM_PREFIX = "transformer."
# HF model_type -> (our vision family, whether the vision config is nested under "vision_config")
VISION_MODEL_TYPES = {
    "clip": ("clip", True), "clip_vision_model": ("clip", False),
    "siglip": ("siglip", True), "siglip_vision_model": ("siglip", False), "dinov2": ("dinov2", False),
}  # fmt: skip
# Family -> (resize_mode, mean, std) when neither a preset nor preprocessor_config.json says otherwise.
FAMILY_PREPROCESS = {
    "clip": ("molmo", CLIP_MEAN, CLIP_STD), "siglip": ("siglip", SIGLIP_MEAN, SIGLIP_STD),
    "dinov2": ("dino", IMAGENET_MEAN, IMAGENET_STD),
}  # fmt: skip
# Feature layers Molmo uses (molmo-facts §1.1): [-2, -9] for CLIP, [-3, -9] for the others.
FAMILY_FEATURE_LAYERS = {"clip": [-2, -9], "siglip": [-3, -9], "dinov2": [-3, -9]}
VISION_ARCH_FIELDS = ("family", "patch_size", "channels", "d_model", "n_heads", "head_dim", "mlp_dim", "activation",
                      "norm_eps", "cls_token", "pre_ln", "patch_bias", "layer_scale")  # fmt: skip
LLM_ARCH_FIELDS = ("d_model", "n_layers", "n_heads", "n_kv_heads", "head_dim", "mlp_hidden_size", "embedding_size",
                   "qkv_bias", "qk_norm", "norm_after", "norm_type", "norm_eps", "rope_theta", "weight_tying")  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Configs
# ----------------------------------------------------------------------------------------------


def _hf_config(directory: Path, what: str) -> dict[str, Any]:
    """config.json with transformers' defaults filled in (hub files may omit default-valued fields)."""
    raw = read_json(directory / "config.json", f"{what} config.json")
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(directory), local_files_only=True).to_dict()
    except (ValueError, KeyError, OSError) as e:
        raise UserError(f"{directory / 'config.json'}: unsupported {what} config "
                        f"(model_type {raw.get('model_type')!r}: {str(e).splitlines()[0]})") from None


def read_hf_vision_config(vision_dir: Path) -> tuple[str, dict[str, Any]]:
    """(family, HF vision config dict) of a vision checkpoint directory."""
    hf = _hf_config(vision_dir, "vision")
    model_type = hf.get("model_type")
    if model_type not in VISION_MODEL_TYPES:
        raise UserError(f"{vision_dir / 'config.json'}: model_type {model_type!r} is not a supported vision "
                        f"encoder ({', '.join(VISION_MODEL_TYPES)})")
    family, nested = VISION_MODEL_TYPES[model_type]
    return family, (hf["vision_config"] if nested else hf)


def derive_vision_config(vision_dir: Path, family: str, hf: dict[str, Any]) -> VisionConfig:
    """Our ViT config for an HF encoder used as is (all blocks, Molmo's feature layers, crop size a
    multiple of the patch size, normalisation from ``preprocessor_config.json`` when present)."""
    patch, n_layers = hf["patch_size"], hf["num_hidden_layers"]
    layers = [layer for layer in FAMILY_FEATURE_LAYERS[family] if -n_layers <= layer] or [-1]
    resize_mode, mean, std = FAMILY_PREPROCESS[family]
    pre_path = vision_dir / "preprocessor_config.json"
    if pre_path.is_file():
        pre = read_json(pre_path, "preprocessor_config.json")
        mean, std = tuple(pre.get("image_mean", mean)), tuple(pre.get("image_std", std))
    return vision_config_from_hf(hf, family, image_size=(hf["image_size"] // patch) * patch, feature_layers=layers,
                                 resize_mode=resize_mode, image_mean=mean, image_std=std)


def _check_fields(ours: Any, theirs: Any, fields: tuple[str, ...], source: Path, what: str) -> None:
    for name in fields:
        if getattr(ours, name) != getattr(theirs, name):
            raise UserError(f"{source / 'config.json'}: {what} has {name}={getattr(theirs, name)!r}, "
                            f"the model config needs {getattr(ours, name)!r}")


def resolve_model(preset: str | None, recipe: str | Path | None) -> tuple[MolmoConfig, PreprocessConfig] | None:
    """(config, preprocessing) of a preset or of a recipe's ``[model]`` section; None for neither."""
    from molmo.config.loader import load_composed
    from molmo.config.recipe import ModelSection

    if preset is not None and recipe is not None:
        raise UserError("give --preset or --recipe, not both")
    if preset is None and recipe is None:
        return None
    try:
        if preset is not None:
            return ModelSection(preset=preset).resolve()
        data = load_composed(recipe).get("model")
        if not isinstance(data, dict) or data.get("preset") is None:
            raise UserError(f"{recipe}: init needs a recipe whose [model] section names a preset")
        return ModelSection.model_validate(data).resolve()
    except ValueError as e:
        if isinstance(e, UserError):
            raise
        raise UserError(f"{preset or recipe}: invalid model settings ({str(e).splitlines()[-1].strip()})") from None


def init_config(vision_dir: Path, llm_dir: Path, preset: str | None = None, recipe: str | Path | None = None
                ) -> tuple[MolmoConfig, PreprocessConfig, str]:
    """(model config without special tokens, preprocessing, vision family) for an init."""
    family, hf_vision = read_hf_vision_config(vision_dir)
    hf_llm = _hf_config(llm_dir, "LLM")
    try:
        vision = derive_vision_config(vision_dir, family, hf_vision)
        llm = llm_config_from_hf(hf_llm)
    except (KeyError, ValueError) as e:
        if isinstance(e, UserError):
            raise
        raise UserError(f"cannot derive a model config from {vision_dir} / {llm_dir} ({e})") from None
    resolved = resolve_model(preset, recipe)
    if resolved is None:
        preprocess = preprocess_for_vision(vision, overlap_margins=default_margins(vision.grid))
        return MolmoConfig(vision=vision, llm=llm), preprocess, family
    config, preprocess = resolved
    _check_fields(config.vision, vision, VISION_ARCH_FIELDS, vision_dir, "the vision checkpoint")
    if config.vision.n_built_layers > vision.n_layers:
        raise UserError(f"{vision_dir}: has {vision.n_layers} blocks, the model config needs {config.vision.n_built_layers}")
    _check_fields(config.llm, llm, LLM_ARCH_FIELDS, llm_dir, "the LLM checkpoint")
    return config, preprocess, family


# ----------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------


def _vision_tensors(vision_dir: Path, vision: VisionConfig, expected: dict[str, tuple[int, ...]]
                    ) -> Iterator[tuple[str, torch.Tensor]]:
    refs = [r for r in scan_safetensors(vision_dir) if map_hf_vision_key(r.key, vision) is not None]
    found = {VIT_PREFIX + map_hf_vision_key(r.key, vision)[0] for r in refs}
    missing = sorted(k for k in expected if k.startswith(VIT_PREFIX) and k not in found)
    if missing:
        raise UserError(f"{vision_dir}: vision checkpoint lacks {len(missing)} ViT tensor(s), e.g. {missing[0]!r}")

    def stream() -> Iterator[tuple[str, torch.Tensor]]:
        for ref, tensor in stream_safetensors(refs):
            name, converted = convert_hf_vision_tensor(ref.key, tensor, vision, VIT_PREFIX)
            check_shape(name, tuple(converted.shape), expected, f"{ref.file} ({ref.key})")
            yield name, converted

    return stream()


def _llm_tensors(llm_dir: Path, llm: LLMConfig) -> Iterator[tuple[str, torch.Tensor]]:
    refs = scan_safetensors(llm_dir)
    needed = {k for rule in llm_key_rules(llm, LLM_PREFIX) for k in rule.hf}
    present = {r.key for r in refs}
    missing = sorted(needed - present)
    if missing:
        raise UserError(f"{llm_dir}: LLM checkpoint lacks {len(missing)} tensor(s), e.g. {missing[0]!r}")
    tied_head = {"lm_head.weight"} if llm.weight_tying else set()
    unknown = sorted(k for k in present - needed - tied_head if not k.endswith(IGNORED_HF_SUFFIXES))
    if unknown:
        raise UserError(f"{llm_dir}: unexpected tensor {unknown[0]!r} for a {llm.n_layers}-layer LLM config")

    def stream() -> Iterator[tuple[str, torch.Tensor]]:
        converter = HFToNative(llm, LLM_PREFIX)
        for ref, tensor in stream_safetensors(refs):
            yield from converter.push(ref.key, tensor)
        converter.finish()

    return stream()


def _fresh_tensors(config: MolmoConfig, seed: int) -> Iterator[tuple[str, torch.Tensor]]:
    """Connector (molmo-facts §4.3) and ``wte.new_embedding`` with fresh weights; nothing else materialised."""
    from molmo.models.molmo import Molmo

    with torch.device("meta"):
        model = Molmo(config)
    backbone = model.vision_backbone
    for name, child in backbone.named_children():
        if name != "image_vit":
            child.to_empty(device="cpu")
            for tensor in (*child.parameters(), *child.buffers()):
                tensor.detach().zero_()  # deterministic even where a reset leaves a tensor alone
    if backbone.pad_embed is not None:
        backbone.pad_embed = torch.nn.Parameter(torch.zeros(backbone.pad_embed.shape))
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        backbone.reset_connector_parameters()
        new_embedding = torch.empty(config.llm.additional_vocab_size, config.llm.d_model)
        torch.nn.init.normal_(new_embedding, std=config.llm.init_std)
    finally:
        torch.random.set_rng_state(generator_state)
    for name, tensor in backbone.state_dict().items():
        if not name.startswith("image_vit."):
            yield "vision_backbone." + name, tensor
    yield LLM_PREFIX + "wte.new_embedding", new_embedding


def init_from_hf(vision_dir: str | Path, llm_dir: str | Path, dst: str | Path, *, preset: str | None = None,
                 recipe: str | Path | None = None, dtype: str | None = "fp32", seed: int = 0,
                 max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, overwrite: bool = False,
                 on_tensor: Callable[[str], None] | None = None) -> ConversionResult:
    """Write a fresh native Molmo checkpoint assembled from HF vision + LLM checkpoints."""
    vision_dir, llm_dir, dst = Path(vision_dir), Path(llm_dir), Path(dst)
    for directory, what in ((vision_dir, "vision"), (llm_dir, "LLM")):
        if not directory.is_dir():
            raise UserError(f"{directory}: {what} checkpoint directory not found")
    target_dtype = parse_convert_dtype(dtype)
    config, preprocess, family = init_config(vision_dir, llm_dir, preset, recipe)
    special = config.special_tokens
    tokenizer = load_hf_tokenizer(llm_dir, pad_to=special.image_start if special else config.llm.embedding_size)
    if special is not None:
        tokenizer.check_special_ids(special)
    check_ids_fit(tokenizer, config.llm, str(llm_dir / "tokenizer.json"))
    config = config.model_copy(update={"special_tokens": tokenizer.special_ids})
    check_destination(dst, [vision_dir, llm_dir], overwrite)
    expected = expected_shapes(config)
    vision_stream = _vision_tensors(vision_dir, config.vision, expected)
    llm_stream = _llm_tensors(llm_dir, config.llm)

    def tensors() -> Iterator[tuple[str, torch.Tensor]]:
        seen: set[str] = set()
        for stream in (vision_stream, _fresh_tensors(config, seed), llm_stream):
            for name, tensor in stream:
                check_shape(name, tuple(tensor.shape), expected, str(dst))
                seen.add(name)
                yield name, cast(tensor, target_dtype)
        if set(expected) - seen:
            raise UserError(f"init produced no tensor for {min(set(expected) - seen)!r}")

    counter = TensorCounter(on_tensor)
    with AtomicDir(dst) as tmp:
        files = save_weights(counter(tensors()), tmp, max_shard_bytes)
        write_json(tmp / "config.json", config.model_dump(mode="json"))
        tokenizer.save(tmp)
        provenance = {"converted_from": "hf-init", "vision": str(vision_dir), "vision_family": family,
                      "llm": str(llm_dir), "preset": preset, "recipe": str(recipe) if recipe else None, "seed": seed}
        write_molmo_json(tmp, preprocess, provenance, counter.n_parameters)
    return ConversionResult(dst, counter.n_tensors, counter.n_parameters, files, sorted(counter.dtype_bytes),
                            {"special_tokens": tokenizer.special_ids.model_dump()})
