"""``init``: a fresh Molmo from tiny transformers vision + LLM checkpoints saved with save_pretrained."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import (
    CLIPConfig,
    CLIPModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    Dinov2Config,
    Dinov2Model,
    LlamaConfig,
    LlamaForCausalLM,
    Olmo2Config,
    Olmo2ForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    SiglipVisionConfig,
    SiglipVisionModel,
)

import molmo
from molmo.convert.init import default_margins, init_config, init_from_hf
from molmo.convert.verify import verify_init
from molmo.errors import UserError

VOCAB = 320  # tests/convert/conftest.py VOCAB
VIS = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 4, "patch_size": 14}
LLM = {"vocab_size": VOCAB, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
       "intermediate_size": 128, "pad_token_id": 0, "bos_token_id": None, "eos_token_id": None}  # fmt: skip


def _perturb(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(0.1 * torch.randn_like(p)) if "norm" in name or "layer_scale" in name else p.normal_(0, 0.08)
    return model


def save(model, directory: Path, write_tokenizer=None) -> Path:
    _perturb(model).save_pretrained(str(directory))
    if write_tokenizer is not None:
        write_tokenizer(directory)
    return directory


def clip_full(directory):  # a full CLIPModel: the text tower must be skipped
    text = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64}
    cfg = CLIPConfig(vision_config={**VIS, "intermediate_size": 64, "image_size": 56}, text_config=text,
                     projection_dim=16)  # fmt: skip
    return save(CLIPModel(cfg), directory)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, hf_factory):
    assert hf_factory.VOCAB == VOCAB
    tok = hf_factory.write_tokenizer
    root = tmp_path_factory.mktemp("hf-init")
    torch.manual_seed(0)
    return {
        "clip": save(CLIPVisionModel(CLIPVisionConfig(**VIS, intermediate_size=64, image_size=56)), root / "clip"),
        "clip_full": clip_full(root / "clip_full"),
        "siglip": save(SiglipVisionModel(SiglipVisionConfig(**VIS, intermediate_size=64, image_size=42)), root / "siglip"),
        "dinov2": save(Dinov2Model(Dinov2Config(**VIS, mlp_ratio=2, image_size=56)), root / "dinov2"),
        "qwen2": save(Qwen2ForCausalLM(Qwen2Config(**LLM, num_key_value_heads=2)), root / "qwen2", write_tokenizer=tok),
        "olmo2": save(Olmo2ForCausalLM(Olmo2Config(**LLM)), root / "olmo2", write_tokenizer=tok),
        "llama": save(LlamaForCausalLM(LlamaConfig(**LLM, num_key_value_heads=1, tie_word_embeddings=True)),
                      root / "llama", write_tokenizer=tok),
    }  # fmt: skip


@pytest.mark.parametrize("vision,llm", [("clip", "qwen2"), ("siglip", "olmo2"), ("dinov2", "llama")])
def test_init_matches_transformers(dirs, tmp_path, vision, llm):
    result = init_from_hf(dirs[vision], dirs[llm], tmp_path / "out", max_shard_bytes=60_000)
    assert len(result.files) > 1 and (tmp_path / "out" / "model.safetensors.index.json").is_file()
    report = verify_init(dirs[vision], dirs[llm], tmp_path / "out", tolerance=1e-4)
    assert report.ok, report.diffs
    assert set(report.diffs) == {"vision_features", "llm_logits"}
    model = molmo.load(tmp_path / "out")
    special = model.config.special_tokens
    assert (special.image_start, special.image_prompt) == (VOCAB, VOCAB + 4)  # rows 0..4 of new_embedding
    assert model.tokenizer.special_ids == special
    assert model.config.llm.norm_after == (llm == "olmo2") and model.config.llm.weight_tying == (llm == "llama")
    assert model.config.vision.family == vision and model.config.vision.n_layers == 4
    # connector and new rows are fresh (molmo-facts §4.3)
    vb = model.vision_backbone
    assert torch.count_nonzero(vb.pad_embed) == 0
    assert torch.count_nonzero(vb.image_pooling_2d.wq.bias) == 0
    assert 0.01 < vb.image_projector.w1.weight.std() < 0.03
    assert 0.01 < model.transformer.wte.new_embedding.std() < 0.03
    ids = torch.tensor([[special.bos, 5, 6, special.image_patch, 7]])  # new-embedding rows are usable
    assert torch.isfinite(model(ids).logits).all()


def test_recipe_truncates_clip_and_skips_text_tower(dirs, tmp_path):
    recipe = tmp_path / "model.toml"
    recipe.write_text(f'[model]\npreset = "tiny"\n[model.llm]\nvocab_size = {VOCAB}\nembedding_size = {VOCAB}\n'
                      'norm_eps = 1e-6\nrope_theta = 10000.0\n')  # fmt: skip
    init_from_hf(dirs["clip_full"], dirs["qwen2"], tmp_path / "out", recipe=recipe, dtype="bf16", seed=3)
    model = molmo.load(tmp_path / "out")
    assert model.config.vision.n_layers == 3  # tiny preset: the HF checkpoint's 4th block is dropped
    with safe_open(str(tmp_path / "out" / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert {f.get_tensor(k).dtype for k in keys} == {torch.bfloat16}
    assert not any("resblocks.3." in k for k in keys) and not any("text" in k for k in keys)
    report = verify_init(dirs["clip_full"], dirs["qwen2"], tmp_path / "out", tolerance=1e-4)
    assert report.ok, report.diffs
    meta = json.loads((tmp_path / "out" / "molmo.json").read_text())
    assert meta["provenance"]["seed"] == 3 and meta["preprocess"]["overlap_margins"] == [0, 0]


def test_config_without_preset(dirs):
    config, preprocess, family = init_config(dirs["siglip"], dirs["qwen2"])
    assert family == "siglip" and config.vision.image_size == 42 and config.vision.feature_layers == [-3]
    assert preprocess.overlap_margins == default_margins(3) == (0, 1)
    assert default_margins(24) == (4, 4) and default_margins(27) == (4, 5)  # CLIP-336, SigLIP-378
    assert preprocess.normalize.mean == (0.5, 0.5, 0.5) and preprocess.resize.kind == "stretch"
    assert config.llm.embedding_size == VOCAB and config.llm.qkv_bias and config.llm.n_kv_heads == 2


def test_errors_leave_destination_untouched(dirs, tmp_path, hf_factory):
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "keep.txt").write_text("old")
    with pytest.raises(UserError, match="not empty"):
        init_from_hf(dirs["clip"], dirs["qwen2"], dst)
    with pytest.raises(UserError, match="hidden_size|d_model"):  # the preset's LLM is 64-wide with 256 rows
        init_from_hf(dirs["clip"], dirs["llama"], dst, preset="molmo-7b-d", overwrite=True)
    with pytest.raises(UserError, match="not a supported vision encoder"):
        init_from_hf(dirs["qwen2"], dirs["qwen2"], dst, overwrite=True)
    broken = tmp_path / "broken-llm"
    shutil.copytree(dirs["qwen2"], broken)
    os.remove(broken / "tokenizer.json")
    with pytest.raises(UserError, match="missing tokenizer.json"):
        init_from_hf(dirs["clip"], broken, dst, overwrite=True)
    hf_factory.write_tokenizer(broken)
    from safetensors.torch import load_file, save_file

    state = load_file(str(broken / "model.safetensors"))
    state["model.layers.1.mlp.down_proj.weight"] = torch.zeros(64, 100)
    save_file(state, str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(UserError, match="down_proj"):
        init_from_hf(dirs["clip"], broken, dst, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken-llm", "dst"]  # no temp dirs left
    assert [p.name for p in dst.iterdir()] == ["keep.txt"] and (dst / "keep.txt").read_text() == "old"
