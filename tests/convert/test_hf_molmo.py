"""allenai HF Molmo layout <-> native: config mapping, streaming conversion, round trip, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import molmo
from molmo.config.model import model_preset
from molmo.convert.hf_molmo import from_hf, hf_config_from_molmo, molmo_config_from_hf, to_hf
from molmo.convert.stream import expected_shapes, scan_safetensors
from molmo.errors import UserError
from molmo.preprocess.tokenizer import MolmoTokenizer

# Molmo-7B-D-0924 config.json (molmo-facts §5.2).
RELEASED_7B_D = {
    "architectures": ["MolmoForCausalLM"], "model_type": "molmo", "hidden_size": 3584, "intermediate_size": 37888,
    "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
    "embedding_size": 152064, "max_position_embeddings": 4096, "rope_theta": 1000000.0, "layer_norm_type": "rms",
    "layer_norm_eps": 1e-06, "qkv_bias": True, "clip_qkv": None, "attention_layer_norm": False, "norm_after": False,
    "weight_tying": False, "tie_word_embeddings": False, "use_position_ids": True, "initializer_range": 0.02,
    "use_cache": True, "torch_dtype": "float32", "transformers_version": "4.43.3",
    "auto_map": {"AutoConfig": "config_molmo.MolmoConfig", "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"},
}  # fmt: skip
RELEASED_7B_O = {**RELEASED_7B_D, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 100278, "embedding_size": 100352,
                 "rope_theta": 500000.0, "qkv_bias": False, "attention_layer_norm": True, "norm_after": True}  # fmt: skip


def tensors_of(directory: Path, strip: str = "") -> dict[str, torch.Tensor]:
    out = {}
    for ref in scan_safetensors(directory):
        with safe_open(str(ref.file), "pt") as f:
            out[ref.key.removeprefix(strip)] = f.get_tensor(ref.key)
    return out


def test_released_configs_map_to_presets():
    cfg = molmo_config_from_hf(RELEASED_7B_D)
    preset = model_preset("molmo-7b-d")
    assert cfg.model_dump(exclude={"special_tokens"}) == preset.model_dump(exclude={"special_tokens"})
    assert cfg.vision.n_layers == 23 and cfg.llm.head_dim == 128 and cfg.llm.additional_vocab_size == 128
    assert sum(torch.Size(s).numel() for s in expected_shapes(cfg).values()) == 8_021_025_280  # §5.4
    olmo = molmo_config_from_hf(RELEASED_7B_O)
    assert olmo.llm == model_preset("molmo-7b-o").llm
    # native -> HF writes exactly the release's fields (nothing extra for a released layout)
    back = hf_config_from_molmo(preset, "float32", base=None)
    assert set(back) == set(RELEASED_7B_D)
    assert {k: back[k] for k in RELEASED_7B_D if k != "transformers_version"} == {
        k: v for k, v in RELEASED_7B_D.items() if k != "transformers_version"
    }


def test_missing_fields_use_hf_defaults_and_bad_configs_fail():
    cfg = molmo_config_from_hf({"model_type": "molmo", "hidden_size": 64, "num_attention_heads": 4,
                                "intermediate_size": 256, "molmo_vision": {"preset": "tiny-clip"}})  # fmt: skip
    assert (cfg.llm.n_layers, cfg.llm.n_kv_heads, cfg.llm.vocab_size, cfg.llm.rope_theta) == (32, 4, 50304, 10000.0)
    assert cfg.vision.d_model == 32
    with pytest.raises(UserError, match="clip_qkv"):
        molmo_config_from_hf({**RELEASED_7B_D, "clip_qkv": 8.0})
    with pytest.raises(UserError, match="invalid Molmo config"):
        molmo_config_from_hf({**RELEASED_7B_D, "num_key_value_heads": 5})


def test_round_trip_is_bit_exact(hf_molmo_dir, tmp_path):
    result = from_hf(hf_molmo_dir, tmp_path / "native")
    assert result.n_tensors == 83 and result.files == ["model.safetensors"]
    model = molmo.load(tmp_path / "native")
    assert model.config.vision.n_layers == 3 and model.config.llm.additional_vocab_size == 16
    assert model.preprocess_config.legacy_image_mask and model.preprocess_config.max_crops == 6
    assert model.tokenizer.special_ids.image_start == 320  # padded to vocab_size like the release
    to_hf(tmp_path / "native", tmp_path / "hf", max_shard_bytes=100_000)
    out = tmp_path / "hf"
    original, back = tensors_of(hf_molmo_dir), tensors_of(out)
    assert original.keys() == back.keys()
    assert all(torch.equal(original[k], back[k]) and original[k].dtype == back[k].dtype for k in original)
    assert json.loads((out / "config.json").read_text()) == json.loads((hf_molmo_dir / "config.json").read_text())
    for name in ("preprocessor_config.json", "modeling_molmo.py", "generation_config.json", "tokenizer_config.json"):
        assert (out / name).read_bytes() == (hf_molmo_dir / name).read_bytes(), name
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1 and set(index["weight_map"]) == set(back)
    assert MolmoTokenizer.from_file(out).special_ids == model.tokenizer.special_ids
    with safe_open(str(out / min(index["weight_map"].values())), "pt") as f:
        assert f.metadata() == {"format": "pt"}  # what transformers' from_pretrained requires


def test_sharded_bf16_conversion_loads_back(hf_molmo_dir, tmp_path):
    result = from_hf(hf_molmo_dir, tmp_path / "native", dtype="bf16", max_shard_bytes=50_000)
    assert len(result.files) > 2 and result.dtypes == ["bfloat16"]
    source = tensors_of(hf_molmo_dir, strip="model.")
    model = molmo.load(tmp_path / "native")
    for name, tensor in model.state_dict().items():
        assert tensor.dtype == torch.bfloat16 and torch.equal(tensor, source[name].to(torch.bfloat16)), name
    to_hf(tmp_path / "native", tmp_path / "hf-fp32", dtype="fp32")
    config = json.loads((tmp_path / "hf-fp32" / "config.json").read_text())
    assert config["torch_dtype"] == "float32"
    to_hf(tmp_path / "native", tmp_path / "hf-bf16")
    assert json.loads((tmp_path / "hf-bf16" / "config.json").read_text())["torch_dtype"] == "bfloat16"


def test_to_hf_from_a_trained_checkpoint(hf_factory, tmp_path):
    """A native checkpoint with no kept HF files: config extensions, generated processor config, remote code."""
    config = hf_factory.tiny_config(head_dim=32, norm_after=True, qk_norm=True, qkv_bias=False)
    src = hf_factory.write_hf_molmo(tmp_path / "hf0", config=config, seed=1)
    from_hf(src, tmp_path / "native")
    shutil.rmtree(tmp_path / "native" / "hf_files")
    code = tmp_path / "code"
    code.mkdir()
    (code / "modeling_molmo.py").write_text("# code\n")
    to_hf(tmp_path / "native", tmp_path / "hf", code_from=code)
    hf = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert hf["head_dim"] == 32 and hf["norm_after"] and hf["attention_layer_norm"] and not hf["qkv_bias"]
    assert hf["molmo_vision"]["d_model"] == 32 and "molmo_connector" not in hf
    pre = json.loads((tmp_path / "hf" / "preprocessor_config.json").read_text())
    assert pre["max_crops"] == 6 and pre["image_token_length_w"] == 2 and pre["base_image_input_size"] == [56, 56]
    assert (tmp_path / "hf" / "modeling_molmo.py").read_text() == "# code\n"
    from_hf(tmp_path / "hf", tmp_path / "native2")
    assert molmo.load(tmp_path / "native2").config == molmo.load(tmp_path / "native").config
    assert tensors_of(tmp_path / "native2").keys() == tensors_of(tmp_path / "native").keys()
    with pytest.raises(UserError, match="no remote-code"):
        to_hf(tmp_path / "native", tmp_path / "hf3", code_from=tmp_path / "native")


def test_tokenizer_with_image_tokens_keeps_its_ids(hf_factory, tmp_path):
    src = hf_factory.write_hf_molmo(tmp_path / "hf", with_image_tokens=True)
    result = from_hf(src, tmp_path / "native")
    assert result.details["special_tokens"]["image_patch"] == 322


def test_olmo_style_ids_pad_to_vocab_size(hf_factory, tmp_path):
    """7B-O caveat (molmo-facts §3.1): padded to vocab_size < embedding_size, image ids in the spare rows."""
    src = hf_factory.write_hf_molmo(tmp_path / "hf", config=hf_factory.tiny_config(vocab_size=310))
    from_hf(src, tmp_path / "native")
    model = molmo.load(tmp_path / "native")
    assert model.config.special_tokens.image_start == 310 < model.config.llm.embedding_size == 320
    assert model.tokenizer.token_to_id("<im_patch>") == 312


def _break(src: Path, tmp_path: Path, how: str) -> Path:
    bad = tmp_path / f"bad-{how}"
    shutil.copytree(src, bad)
    shard = bad / "model-00002-of-00003.safetensors"
    if how == "missing_shard":
        shard.unlink()
    elif how == "model_type":
        cfg = json.loads((bad / "config.json").read_text())
        (bad / "config.json").write_text(json.dumps({**cfg, "model_type": "llava"}))
    elif how in ("shape", "extra", "missing_key", "prefix"):
        state = load_file(str(shard))
        key = next(k for k in state if k.endswith("ff_proj.weight"))
        if how == "shape":
            state[key] = torch.zeros(3, 3)
        elif how == "extra":
            state["model.transformer.blocks.9.ff_proj.weight"] = torch.zeros(3)
        elif how == "prefix":
            state[key.removeprefix("model.")] = state.pop(key)
        else:
            del state[key]
        save_file(state, str(shard), metadata={"format": "pt"})
    elif how == "tokenizer":
        (bad / "tokenizer.json").unlink()
    elif how == "config":
        (bad / "config.json").write_text("{not json")
    return bad


@pytest.mark.parametrize("how,message", [
    ("missing_shard", "missing weight shard model-00002-of-00003"),
    ("model_type", "model_type is 'llava', expected 'molmo'"),
    ("shape", "ff_proj.weight' has shape \\(3, 3\\)"),
    ("extra", "unexpected tensor 'transformer.blocks.9.ff_proj.weight'"),
    ("missing_key", "lacks 1 tensor"),
    ("prefix", "lacks the HF Molmo prefix"),
    ("tokenizer", "missing tokenizer.json"),
    ("config", "invalid JSON"),
])  # fmt: skip
def test_bad_input_leaves_destination_untouched(hf_molmo_dir, tmp_path, how, message):
    bad = _break(hf_molmo_dir, tmp_path, how)
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "old.txt").write_text("keep")
    with pytest.raises(UserError, match=message):
        from_hf(bad, dst, overwrite=True)
    assert [p.name for p in dst.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([bad.name, "dst"])  # no temp dirs left


def test_destination_guards(hf_molmo_dir, tmp_path):
    with pytest.raises(UserError, match="overlaps the source"):
        from_hf(hf_molmo_dir, hf_molmo_dir)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UserError, match="not empty"):
        from_hf(hf_molmo_dir, tmp_path / "full")
    from_hf(hf_molmo_dir, tmp_path / "full", overwrite=True)
    assert not (tmp_path / "full" / "x").exists() and (tmp_path / "full" / "molmo.json").is_file()
    with pytest.raises(UserError, match="not a molmo checkpoint"):
        to_hf(hf_molmo_dir, tmp_path / "other")
    with pytest.raises(UserError, match="MolmoE"):
        bad = tmp_path / "moe"
        shutil.copytree(hf_molmo_dir, bad)
        cfg = json.loads((bad / "config.json").read_text())
        (bad / "config.json").write_text(json.dumps({**cfg, "moe_num_experts": 64}))
        from_hf(bad, tmp_path / "moe-out")
