"""Synthetic checkpoints for the converter tests.

``write_hf_molmo`` writes a tiny checkpoint in the allenai HF Molmo layout by hand (real key names,
the §5.2 config schema, sharded safetensors + index, tokenizer files, remote-code stand-in) with
random weights; only the vision part differs from the release (a tiny CLIP recorded under
``molmo_vision``, and 16 new-embedding rows under ``additional_vocab_size``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import molmo
from molmo.config.model import model_preset
from molmo.config.vision import vision_preset
from molmo.preprocess.bpe import train_bpe

VOCAB = 320  # == embedding_size, like Molmo-7B-D (tokenizer padded to it, image tokens 320..324)
CORPUS = ["User: What colour is the circle? Assistant: The circle is red.",
          "a small blue square on a green background next to a yellow circle"] * 10  # fmt: skip


def tiny_config(**llm):
    return model_preset("tiny", {"llm": {"vocab_size": VOCAB, "embedding_size": VOCAB, **llm}})


def hf_config_dict(config) -> dict:
    """config.json as the release writes it (molmo-facts §5.2), plus the tiny-vision entries."""
    llm = config.llm
    extra = {"head_dim": llm.head_dim} if llm.head_dim * llm.n_heads != llm.d_model else {}
    return extra | {
        "architectures": ["MolmoForCausalLM"],
        "auto_map": {"AutoConfig": "config_molmo.MolmoConfig", "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"},
        "model_type": "molmo", "hidden_size": llm.d_model, "intermediate_size": llm.mlp_hidden_size,
        "num_hidden_layers": llm.n_layers, "num_attention_heads": llm.n_heads, "num_key_value_heads": llm.n_kv_heads,
        "vocab_size": llm.vocab_size, "embedding_size": llm.embedding_size, "max_position_embeddings": 4096,
        "rope_theta": llm.rope_theta, "layer_norm_type": "rms", "layer_norm_eps": llm.norm_eps,
        "qkv_bias": llm.qkv_bias, "clip_qkv": None, "attention_layer_norm": llm.qk_norm, "norm_after": llm.norm_after,
        "weight_tying": False, "tie_word_embeddings": False, "use_position_ids": True, "initializer_range": 0.02,
        "use_cache": True, "torch_dtype": "float32", "transformers_version": "4.43.3",
        "molmo_vision": vision_preset("tiny-clip").model_dump(mode="json"), "additional_vocab_size": 16,
    }  # fmt: skip


def write_tokenizer(directory: Path, with_image_tokens: bool = False) -> None:
    from molmo.config.preprocess import TokenizerConfig
    from molmo.preprocess.tokenizer import MolmoTokenizer

    tok = train_bpe(CORPUS, vocab_size=300)
    if with_image_tokens:
        MolmoTokenizer(tok, TokenizerConfig(pad_to=VOCAB)).save(directory)
    else:
        (directory / "tokenizer.json").write_text(tok.to_str())
    (directory / "tokenizer_config.json").write_text(json.dumps({"bos_token": None, "eos_token": "<|endoftext|>"}))


def random_state(config, seed: int = 0) -> dict[str, torch.Tensor]:
    model = molmo.build(config, seed=seed)
    with torch.no_grad():  # move everything off its init (zeros, ones) so mix-ups show
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return {k: v.contiguous() for k, v in model.state_dict().items()}


def write_hf_molmo(directory: Path, config=None, seed: int = 0, n_shards: int = 3, **tok) -> Path:
    config = config or tiny_config()
    directory.mkdir(parents=True)
    state = {"model." + k: v for k, v in random_state(config, seed).items()}
    keys = list(state)
    weight_map = {}
    for i in range(n_shards):
        name = f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {k: state[k] for k in keys[i::n_shards]}
        save_file(part, str(directory / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(part, name))
    total = sum(v.numel() * v.element_size() for v in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    (directory / "config.json").write_text(json.dumps(hf_config_dict(config), indent=2, sort_keys=True))
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "max_crops": 6, "overlap_margins": [0, 0], "base_image_input_size": [56, 56], "image_patch_size": 14,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    }))  # fmt: skip
    (directory / "modeling_molmo.py").write_text("# remote code stand-in\n")
    (directory / "generation_config.json").write_text("{}\n")
    write_tokenizer(directory, **tok)
    return directory


@pytest.fixture(scope="session")
def hf_molmo_dir(tmp_path_factory) -> Path:
    """A read-only tiny HF Molmo checkpoint (3 shards + index)."""
    return write_hf_molmo(tmp_path_factory.mktemp("hf") / "tiny-molmo")


class HFFactory:
    """The helpers above, handed to tests as a fixture (tests cannot import conftest modules)."""

    VOCAB = VOCAB
    tiny_config = staticmethod(tiny_config)
    hf_config_dict = staticmethod(hf_config_dict)
    random_state = staticmethod(random_state)
    write_tokenizer = staticmethod(write_tokenizer)
    write_hf_molmo = staticmethod(write_hf_molmo)


@pytest.fixture(scope="session")
def hf_factory() -> type[HFFactory]:
    return HFFactory
