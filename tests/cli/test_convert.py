"""``molmo convert from-hf | to-hf | init``: exit codes, JSON output, untouched destination on errors."""

from __future__ import annotations

import json

import pytest
import torch

import molmo
from molmo.config.model import model_preset
from molmo.config.preprocess import TokenizerConfig, preprocess_for_vision
from molmo.convert.verify import VerifyReport
from molmo.errors import MolmoError
from molmo.preprocess.bpe import train_bpe
from molmo.preprocess.tokenizer import MolmoTokenizer
from molmo_cli import convert as convert_cmd
from molmo_cli import main as main_mod

VOCAB = 320
CORPUS = ["User: What colour is the circle? Assistant: The circle is red."] * 20


@pytest.fixture(autouse=True)
def registered():
    """Mount the sub-app as molmo_cli.main will (``app.add_typer(convert.app, name="convert")``)."""
    groups = main_mod.app.registered_groups
    added = not any(g.name == "convert" for g in groups)
    if added:
        main_mod.app.add_typer(convert_cmd.app, name="convert")
    yield
    if added:
        groups[:] = [g for g in groups if g.typer_instance is not convert_cmd.app]


def tokenizer_json(directory):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tokenizer.json").write_text(train_bpe(CORPUS, vocab_size=300).to_str())


@pytest.fixture
def native(tmp_path):
    """A tiny native checkpoint with tokenizer (image tokens 320..324) and preprocessing."""
    tokenizer_json(tmp_path / "tok")
    tok = MolmoTokenizer.from_file(tmp_path / "tok", TokenizerConfig(pad_to=VOCAB))
    config = model_preset("tiny", {"llm": {"vocab_size": VOCAB, "embedding_size": VOCAB},
                                   "special_tokens": tok.special_ids.model_dump()})  # fmt: skip
    model = molmo.build(config, seed=0)
    pre = preprocess_for_vision(config.vision, overlap_margins=(0, 0), legacy_image_mask=True)
    molmo.save(model, tmp_path / "native", tokenizer=tok, preprocess=pre)
    return tmp_path / "native"


def test_round_trip_with_verify(cli, native, tmp_path):
    code, out, err = cli("convert", "to-hf", native, tmp_path / "hf", "--max-shard-size", "100KB", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["tensors"] == 83 and len(data["files"]) > 1 and data["dtypes"] == ["float32"]
    hf_config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert hf_config["model_type"] == "molmo" and hf_config["architectures"] == ["MolmoForCausalLM"]
    code, out, err = cli("convert", "from-hf", tmp_path / "hf", tmp_path / "back", "--dtype", "bf16", "--verify",
                         "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["verify"]["ok"] and data["verify"]["max_abs_diff"]["logits"] == 0.0
    assert data["dtypes"] == ["bfloat16"] and data["special_tokens"]["image_patch"] == 322
    original, back = molmo.load(native), molmo.load(tmp_path / "back", dtype="fp32")
    for name, tensor in original.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], tensor.to(torch.bfloat16).float(), rtol=0, atol=0)
    code, out, err = cli("convert", "to-hf", tmp_path / "back", tmp_path / "hf2", "--verify")
    assert code == 0, err
    assert "verify" in out and "ok" in out and "parameters" in out


def test_init_with_verify(cli, tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModel, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    CLIPVisionModel(CLIPVisionConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, patch_size=14,
                                     intermediate_size=64, image_size=56)).save_pretrained(tmp_path / "vit")
    Qwen2ForCausalLM(Qwen2Config(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=2, intermediate_size=128)).save_pretrained(tmp_path / "lm")
    tokenizer_json(tmp_path / "lm")
    code, out, err = cli("convert", "init", tmp_path / "out", "--vision", tmp_path / "vit", "--llm", tmp_path / "lm",
                         "--verify", "--tolerance", "1e-4", "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["verify"]["ok"] and set(data["verify"]["max_abs_diff"]) == {"vision_features", "llm_logits"}
    assert molmo.load(tmp_path / "out").config.special_tokens.image_start == VOCAB
    code, _, err = cli("convert", "init", tmp_path / "out2", "--vision", tmp_path / "vit", "--llm", tmp_path / "lm",
                       "--preset", "tiny", "--recipe", tmp_path / "r.toml")  # fmt: skip
    assert code == 2 and "not both" in err and not (tmp_path / "out2").exists()


def test_bad_input_exits_2_and_leaves_destination(cli, native, tmp_path):
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "keep.txt").write_text("keep")
    code, _, err = cli("convert", "from-hf", native, dst, "--overwrite")  # a native dir is not HF Molmo
    assert code == 2 and "already a native" in err and err.count("\n") == 1
    code, _, err = cli("convert", "to-hf", tmp_path / "nope", dst, "--overwrite")
    assert code == 2 and "not found" in err
    code, _, err = cli("convert", "to-hf", native, dst, "--dtype", "int4", "--overwrite")
    assert code == 2 and "unknown dtype" in err
    code, _, err = cli("convert", "to-hf", native, dst, "--max-shard-size", "lots", "--overwrite")
    assert code == 2 and "--max-shard-size 'lots'" in err
    code, _, err = cli("convert", "to-hf", native, dst)
    assert code == 2 and "--overwrite" in err
    assert [p.name for p in dst.iterdir()] == ["keep.txt"]
    code, _, _ = cli("convert", "from-hf")
    assert code == 2  # missing arguments


def test_help_lists_commands(cli):
    code, out, _ = cli("convert", "--help")
    assert code == 0 and all(c in out for c in ("from-hf", "to-hf", "init"))


def test_failed_verification_exits_1(capsys):
    from molmo.convert.stream import ConversionResult

    result = ConversionResult(path="x", n_tensors=1, n_parameters=1, files=["model.safetensors"], dtypes=["float32"])
    with pytest.raises(MolmoError, match="verification failed") as info:
        convert_cmd._render("from-hf", result, VerifyReport({"logits": 0.5}, tolerance=1e-3), json_out=True)
    assert info.value.exit_code == 1
    assert json.loads(capsys.readouterr().out)["verify"]["ok"] is False
