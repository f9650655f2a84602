"""allenai Hugging Face Molmo checkpoints (``allenai/Molmo-7B-D-0924`` layout) <-> native checkpoints.

The HF layout (molmo-facts §5): ``config.json`` (``model_type "molmo"``, the §5.2 fields),
safetensors shards + index, ``tokenizer.json`` (+ side files and the remote code ``*.py``).
Tensor keys are the native keys with a ``model.`` prefix, so weights convert one by one with no
reshaping. What the HF config cannot say is hard-coded in the released remote code: the CLIP
ViT-L/14-336 truncated to 23 blocks, the released connector, 128 ``new_embedding`` rows and
``head_dim = hidden_size / num_attention_heads``. For other models (tiny test models, new
encoders) ``to_hf`` records the difference in extra config entries that ``from_hf`` reads back:

    molmo_vision           full VisionConfig        (absent = released CLIP-23)
    molmo_connector        full ConnectorConfig     (absent = released connector)
    additional_vocab_size  int                      (absent = 128)
    head_dim               int                      (absent = hidden_size / num_attention_heads)

``from_hf`` keeps the HF side files (remote code, tokenizer config, the original config.json, …)
in ``DST/hf_files/`` so that ``to_hf`` writes a directory that interchanges with the release.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from molmo.checkpoint import (
    DEFAULT_MAX_SHARD_BYTES,
    AtomicDir,
    read_checkpoint_meta,
    read_json,
    save_weights,
    write_json,
)
from molmo.config.connector import ConnectorConfig
from molmo.config.llm import LLMConfig
from molmo.config.model import MolmoConfig
from molmo.config.preprocess import PreprocessConfig, TokenizerConfig, preprocess_for_vision
from molmo.config.vision import VisionConfig, vision_preset
from molmo.convert.stream import (
    WEIGHT_SUFFIXES,
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
    write_sorted_json,
)
from molmo.errors import UserError
from molmo.preprocess.tokenizer import MolmoTokenizer

PREFIX = "model."
HF_FILES = "hf_files"  # side files of the HF checkpoint kept inside a native checkpoint
MAX_SIDE_FILE_BYTES = 64 * 2**20
AUTO_MAP = {"AutoConfig": "config_molmo.MolmoConfig", "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"}
PROCESSOR_AUTO_MAP = {
    "AutoImageProcessor": "image_preprocessing_molmo.MolmoImageProcessor",
    "AutoProcessor": "preprocessing_molmo.MolmoProcessor",
}
RELEASED_ADDITIONAL_VOCAB = 128
# HF MolmoConfig defaults for fields a config.json omits (molmo-facts §5.2).
HF_DEFAULTS: dict[str, Any] = {
    "vocab_size": 50304, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": None, "max_position_embeddings": 2048,
    "layer_norm_eps": 1e-5, "rope_theta": 10000.0, "qkv_bias": False, "layer_norm_type": "rms",
    "attention_layer_norm": False, "norm_after": False, "weight_tying": False, "clip_qkv": None,
    "initializer_range": 0.02,
}  # fmt: skip
NORM_TYPES = {"rms": "rms", "default": "layer"}  # HF layer_norm_type -> LLMConfig.norm_type


def released_vision() -> VisionConfig:
    """The ViT every released Molmo uses: OpenAI CLIP ViT-L/14-336 truncated to 23 blocks."""
    return vision_preset("clip-vit-l14-336")


def _same_config(a: Any, b: Any) -> bool:
    """Equal field values, ignoring a ``preset`` name (it only fills defaults)."""
    return a.model_dump(exclude={"preset"}) == b.model_dump(exclude={"preset"})


# ----------------------------------------------------------------------------------------------
# Config: HF dict <-> MolmoConfig
# ----------------------------------------------------------------------------------------------


def read_hf_molmo_config(src: Path) -> dict[str, Any]:
    """``config.json`` of an allenai HF Molmo directory (UserError for anything else)."""
    if not src.is_dir():
        raise UserError(f"{src}: not a directory")
    hf = read_json(src / "config.json", "config.json")
    if (src / "molmo.json").is_file():
        raise UserError(f"{src} is already a native molmo checkpoint (to-hf converts the other way)")
    if hf.get("model_type") != "molmo":
        raise UserError(f"{src / 'config.json'}: model_type is {hf.get('model_type')!r}, expected 'molmo'")
    if any("moe" in k.lower() or "expert" in k.lower() for k in hf):
        raise UserError(f"{src / 'config.json'}: MolmoE (mixture-of-experts) checkpoints are not supported")
    return hf


def molmo_config_from_hf(hf: dict[str, Any], source: str = "config.json") -> MolmoConfig:
    """A ``MolmoConfig`` (no special tokens yet) from an HF Molmo ``config.json`` dict."""
    get = {**HF_DEFAULTS, **{k: v for k, v in hf.items() if v is not None or k == "clip_qkv"}}.__getitem__
    if get("clip_qkv") is not None:
        raise UserError(f"{source}: clip_qkv={get('clip_qkv')} is not supported (released models use null)")
    if get("layer_norm_type") not in NORM_TYPES:
        raise UserError(f"{source}: unsupported layer_norm_type {get('layer_norm_type')!r}")
    heads = get("num_attention_heads")
    try:
        llm = LLMConfig(
            d_model=get("hidden_size"), n_layers=get("num_hidden_layers"), n_heads=heads,
            n_kv_heads=get("num_key_value_heads") or heads, head_dim=hf.get("head_dim") or get("hidden_size") // heads,
            mlp_hidden_size=get("intermediate_size"), vocab_size=get("vocab_size"),
            embedding_size=hf.get("embedding_size") or get("vocab_size"),
            additional_vocab_size=hf.get("additional_vocab_size", RELEASED_ADDITIONAL_VOCAB),
            qkv_bias=bool(get("qkv_bias")), qk_norm=bool(get("attention_layer_norm")),
            norm_after=bool(get("norm_after")), norm_type=NORM_TYPES[get("layer_norm_type")],
            norm_eps=get("layer_norm_eps"), rope_theta=get("rope_theta"),
            max_sequence_length=get("max_position_embeddings"), weight_tying=bool(get("weight_tying")),
            init_std=get("initializer_range"),
        )  # fmt: skip
        vision = VisionConfig.model_validate(hf["molmo_vision"]) if "molmo_vision" in hf else released_vision()
        connector = ConnectorConfig.model_validate(hf.get("molmo_connector") or {})
    except ValueError as e:
        raise UserError(f"{source}: invalid Molmo config ({str(e).splitlines()[-1].strip()})") from None
    return MolmoConfig(vision=vision, connector=connector, llm=llm)


def hf_config_from_molmo(config: MolmoConfig, torch_dtype: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The HF ``config.json`` dict for ``config``; fields of ``base`` (e.g. the original) not derived here survive."""
    llm = config.llm
    if llm.norm_type not in NORM_TYPES.values():
        raise UserError(f"the HF Molmo format cannot hold norm_type={llm.norm_type!r}")
    derived: dict[str, Any] = {
        "architectures": ["MolmoForCausalLM"], "auto_map": dict(AUTO_MAP), "model_type": "molmo",
        "hidden_size": llm.d_model, "intermediate_size": llm.mlp_hidden_size, "num_hidden_layers": llm.n_layers,
        "num_attention_heads": llm.n_heads, "num_key_value_heads": llm.n_kv_heads, "vocab_size": llm.vocab_size,
        "embedding_size": llm.embedding_size, "max_position_embeddings": llm.max_sequence_length,
        "rope_theta": llm.rope_theta, "layer_norm_type": {v: k for k, v in NORM_TYPES.items()}[llm.norm_type],
        "layer_norm_eps": llm.norm_eps, "qkv_bias": llm.qkv_bias, "clip_qkv": None,
        "attention_layer_norm": llm.qk_norm, "norm_after": llm.norm_after, "weight_tying": llm.weight_tying,
        "tie_word_embeddings": llm.weight_tying, "use_position_ids": True, "initializer_range": llm.init_std,
    }  # fmt: skip
    base = base or {}
    # newer transformers write "dtype", older "torch_dtype": keep the original's spelling
    derived["dtype" if "dtype" in base and "torch_dtype" not in base else "torch_dtype"] = torch_dtype
    out = {k: v for k, v in base.items() if k not in ("molmo_vision", "molmo_connector", "head_dim",
                                                      "additional_vocab_size")}
    out.setdefault("use_cache", True)
    out.setdefault("transformers_version", _transformers_version())
    out.update(derived)
    if not _same_config(config.vision, released_vision()):
        out["molmo_vision"] = config.vision.model_dump(mode="json")
    if not _same_config(config.connector, ConnectorConfig()):
        out["molmo_connector"] = config.connector.model_dump(mode="json")
    if llm.additional_vocab_size != RELEASED_ADDITIONAL_VOCAB:
        out["additional_vocab_size"] = llm.additional_vocab_size
    if llm.head_dim * llm.n_heads != llm.d_model:
        out["head_dim"] = llm.head_dim
    return out


def _transformers_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transformers")
    except PackageNotFoundError:
        return "unknown"


# ----------------------------------------------------------------------------------------------
# Tokenizer and preprocessing
# ----------------------------------------------------------------------------------------------


def _token_string(value: Any) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


def load_hf_tokenizer(directory: Path, pad_to: int | None) -> MolmoTokenizer:
    """``directory/tokenizer.json`` as a MolmoTokenizer (EOS/BOS from ``tokenizer_config.json`` when present).

    A file without the image tokens is padded to ``pad_to`` first (molmo-facts §3.1); one that has
    them keeps its ids.
    """
    file = directory / "tokenizer.json"
    if not file.is_file():
        raise UserError(f"{directory}: missing tokenizer.json")
    side = directory / "tokenizer_config.json"
    tok_cfg = read_json(side, "tokenizer_config.json") if side.is_file() else {}
    eos = _token_string(tok_cfg.get("eos_token")) or "<|endoftext|>"
    bos = _token_string(tok_cfg.get("bos_token"))
    try:
        base = Tokenizer.from_file(str(file))
    except Exception as e:  # noqa: BLE001 — the Rust loader raises a plain Exception on bad JSON
        raise UserError(f"{file}: not a valid tokenizer.json ({str(e).splitlines()[0]})") from None
    if base.token_to_id("<im_patch>") is not None:
        pad_to = None  # already carries the image tokens: keep its ids
    return MolmoTokenizer(base, TokenizerConfig(eos_token=eos, bos_token=bos, pad_to=pad_to), source=str(file))


def check_ids_fit(tokenizer: MolmoTokenizer, llm: LLMConfig, source: str) -> None:
    """UserError if a special id falls outside ``embedding ++ new_embedding``."""
    rows = llm.embedding_size + llm.additional_vocab_size
    worst = max(tokenizer.special_ids.model_dump().items(), key=lambda kv: kv[1])
    if worst[1] >= rows:
        raise UserError(f"{source}: special token {worst[0]} has id {worst[1]}, but the model has only {rows} "
                        f"embedding rows ({llm.embedding_size} + {llm.additional_vocab_size} new)")


def default_margins(grid: int, pool: int = 2) -> tuple[int, int]:
    """Overlap margins for a crop of ``grid`` patches: Molmo's (4, 4) when it fits, else the nearest valid."""
    left = 4 if grid > 8 + pool else 0
    for right in range(left, grid):
        if (grid - left - right) > 0 and (grid - left - right) % pool == 0:
            return left, right
    return 0, 0


def preprocess_from_hf(src: Path, vision: VisionConfig) -> PreprocessConfig:
    """Released preprocessing (12 crops, margins 4/4, legacy mask, CLIP normalisation), updated from
    ``preprocessor_config.json`` when the directory has one."""
    values: dict[str, Any] = {"legacy_image_mask": True, "overlap_margins": default_margins(vision.grid)}
    path = src / "preprocessor_config.json"
    if path.is_file():
        pre = read_json(path, "preprocessor_config.json")
        pairs = [("max_crops", "max_crops"), ("overlap_margins", "overlap_margins"), ("image_patch_size", "patch_size"),
                 ("base_image_input_size", "base_image_size")]  # fmt: skip
        values.update({ours: tuple(pre[k]) if isinstance(pre[k], list) else pre[k] for k, ours in pairs if k in pre})
        if "image_mean" in pre and "image_std" in pre:
            values["normalize"] = {"mean": tuple(pre["image_mean"]), "std": tuple(pre["image_std"])}
    try:
        return preprocess_for_vision(vision, **values)
    except ValueError as e:
        raise UserError(f"{path if path.is_file() else src}: invalid preprocessing settings ({str(e).splitlines()[-1].strip()})") from None


def hf_preprocessor_config(pre: PreprocessConfig) -> dict[str, Any]:
    """``preprocessor_config.json`` of the released Molmo processor for ``pre``."""
    rows, cols = pre.pooled_grid
    return {
        "auto_map": dict(PROCESSOR_AUTO_MAP), "image_processor_type": "MolmoImageProcessor",
        "processor_class": "MolmoProcessor", "do_normalize": True, "image_mean": list(pre.normalize.mean),
        "image_std": list(pre.normalize.std), "image_padding_mask": True, "image_patch_size": pre.patch_size,
        "base_image_input_size": list(pre.base_image_size), "max_crops": pre.max_crops,
        "overlap_margins": list(pre.overlap_margins), "image_token_length_h": rows, "image_token_length_w": cols,
    }  # fmt: skip


def _side_files(src: Path) -> list[Path]:
    """Small non-weight files worth keeping with a converted checkpoint (remote code, tokenizer side files)."""
    skip = {"model.safetensors.index.json", "tokenizer.json"}
    return sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith(".") and p.name not in skip
                  and not p.name.endswith(WEIGHT_SUFFIXES) and p.stat().st_size <= MAX_SIDE_FILE_BYTES)


# ----------------------------------------------------------------------------------------------
# Conversions
# ----------------------------------------------------------------------------------------------


def read_hf_molmo(src: Path) -> tuple[MolmoConfig, MolmoTokenizer, dict[str, Any]]:
    """(config with special tokens, tokenizer, raw HF config) of an HF Molmo directory."""
    hf = read_hf_molmo_config(src)
    config = molmo_config_from_hf(hf, str(src / "config.json"))
    tokenizer = load_hf_tokenizer(src, pad_to=config.llm.vocab_size)
    check_ids_fit(tokenizer, config.llm, str(src / "tokenizer.json"))
    return config.model_copy(update={"special_tokens": tokenizer.special_ids}), tokenizer, hf


def hf_native_tensors(src: Path, config: MolmoConfig, dtype: torch.dtype | None = None
                      ) -> Iterator[tuple[str, torch.Tensor]]:
    """Validate every HF tensor name/shape of ``src`` (headers only), then stream ``(native key, tensor)``."""
    expected = expected_shapes(config)
    refs = scan_safetensors(src)
    for ref in refs:
        if not ref.key.startswith(PREFIX):
            raise UserError(f"{ref.file}: tensor {ref.key!r} lacks the HF Molmo prefix {PREFIX!r}")
        check_shape(ref.key[len(PREFIX):], ref.shape, expected, str(ref.file))
    missing = sorted(set(expected) - {r.key[len(PREFIX):] for r in refs})
    if missing:
        raise UserError(f"{src}: checkpoint lacks {len(missing)} tensor(s), e.g. {PREFIX + missing[0]!r}")
    return ((ref.key[len(PREFIX):], cast(t, dtype)) for ref, t in stream_safetensors(refs))


def from_hf(src: str | Path, dst: str | Path, *, dtype: str | None = None, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
            overwrite: bool = False, on_tensor: Callable[[str], None] | None = None) -> ConversionResult:
    """Convert an allenai HF Molmo directory into a native checkpoint, tensor by tensor."""
    src, dst = Path(src), Path(dst)
    target_dtype = parse_convert_dtype(dtype)
    config, tokenizer, _ = read_hf_molmo(src)
    preprocess = preprocess_from_hf(src, config.vision)
    check_destination(dst, [src], overwrite)
    tensors = hf_native_tensors(src, config, target_dtype)
    counter = TensorCounter(on_tensor)
    with AtomicDir(dst) as tmp:
        files = save_weights(counter(tensors), tmp, max_shard_bytes)
        write_json(tmp / "config.json", config.model_dump(mode="json"))
        tokenizer.save(tmp)
        (tmp / HF_FILES).mkdir()
        for side in _side_files(src):
            shutil.copyfile(side, tmp / HF_FILES / side.name)
        provenance = {"converted_from": "hf-molmo", "source": str(src), "dtype": dtype or "keep"}
        write_molmo_json(tmp, preprocess, provenance, counter.n_parameters)
    return ConversionResult(dst, counter.n_tensors, counter.n_parameters, files, sorted(counter.dtype_bytes),
                            {"special_tokens": tokenizer.special_ids.model_dump()})


def to_hf(src: str | Path, dst: str | Path, *, dtype: str | None = None, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
          overwrite: bool = False, code_from: str | Path | None = None,
          on_tensor: Callable[[str], None] | None = None) -> ConversionResult:
    """Convert a native checkpoint into the allenai HF Molmo layout, tensor by tensor.

    ``code_from``: a directory whose ``*.py`` files (the released remote code) are copied along, so
    ``trust_remote_code`` loading works; side files kept by ``from_hf`` are copied back too.
    """
    from molmo.checkpoint import iter_weights

    src, dst = Path(src), Path(dst)
    target_dtype = parse_convert_dtype(dtype)
    config, meta = read_checkpoint_meta(src)
    if not (src / "tokenizer.json").is_file():
        raise UserError(f"{src}: missing tokenizer.json (the HF layout needs one)")
    code_files = _code_files(Path(code_from)) if code_from is not None else []
    check_destination(dst, [src], overwrite)
    expected = expected_shapes(config)

    def tensors() -> Iterator[tuple[str, torch.Tensor]]:
        seen = set()
        for name, tensor in iter_weights(src):
            check_shape(name, tuple(tensor.shape), expected, str(src))
            seen.add(name)
            yield PREFIX + name, cast(tensor, target_dtype)
        if set(expected) - seen:
            raise UserError(f"{src}: checkpoint lacks tensor {min(set(expected) - seen)!r}")

    counter = TensorCounter(on_tensor)
    side_dir = src / HF_FILES
    with AtomicDir(dst) as tmp:
        files = save_weights(counter(tensors()), tmp, max_shard_bytes)
        kept = {p.name: p for p in side_dir.iterdir() if p.is_file()} if side_dir.is_dir() else {}
        kept.update({p.name: p for p in code_files})
        for name, path in kept.items():
            if name != "config.json":
                shutil.copyfile(path, tmp / name)
        base = read_json(kept["config.json"], "config.json") if "config.json" in kept else None
        write_sorted_json(tmp / "config.json", hf_config_from_molmo(config, counter.main_dtype, base))
        shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
        if "preprocessor_config.json" not in kept and meta.get("preprocess"):
            pre = PreprocessConfig.model_validate(meta["preprocess"])
            write_sorted_json(tmp / "preprocessor_config.json", hf_preprocessor_config(pre))
    return ConversionResult(dst, counter.n_tensors, counter.n_parameters, files, sorted(counter.dtype_bytes))


def _code_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.py")) if directory.is_dir() else []
    if not files:
        raise UserError(f"{directory}: no remote-code *.py files to copy (expected e.g. modeling_molmo.py)")
    return files
