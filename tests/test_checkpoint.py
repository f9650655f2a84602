"""Native checkpoints: bit-exact round trip, dtypes, shards, atomic writes, readable errors, meta loads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from molmo.checkpoint import (
    INDEX,
    WEIGHTS,
    AtomicDir,
    iter_weights,
    load_native,
    load_state_into,
    read_checkpoint_meta,
    save_native,
)  # fmt: skip
from molmo.config.model import model_preset
from molmo.config.preprocess import TokenizerConfig, preprocess_for_vision
from molmo.errors import UserError
from molmo.models.molmo import Molmo
from molmo.preprocess.bpe import train_bpe
from molmo.preprocess.tokenizer import MolmoTokenizer

CORPUS = ["a red circle next to a blue square", "how many triangles are there? three triangles"] * 20


@pytest.fixture(scope="module")
def tokenizer() -> MolmoTokenizer:
    """Byte-level BPE padded to the tiny LLM's 256 embeddings: image tokens 256..260."""
    bpe = train_bpe(CORPUS, vocab_size=280)
    return MolmoTokenizer(Tokenizer.from_str(bpe.to_str()), TokenizerConfig(pad_to=300))


@pytest.fixture(scope="module")
def model() -> Molmo:
    torch.manual_seed(0)
    m = Molmo(model_preset("tiny"))
    with torch.no_grad():
        m.vision_backbone.pad_embed.normal_()  # zeros at init: make every tensor distinctive
    return m.eval()


def same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


def test_round_trip_is_bit_exact(tmp_path, model, tokenizer):
    cfg = model.config.model_copy(update={"llm": model.config.llm.model_copy(
        update={"embedding_size": 300, "additional_vocab_size": 16})})  # fmt: skip
    torch.manual_seed(1)
    src = Molmo(cfg).eval()
    pre = preprocess_for_vision(cfg.vision, overlap_margins=(0, 0))
    out = save_native(src, tmp_path / "ckpt", tokenizer=tokenizer, preprocess=pre, provenance={"by": "test"})
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "model.safetensors",
        "molmo.json",
        "tokenizer.json",
    ]
    loaded, tok, pre2 = load_native(out)
    same_state(src, loaded)
    assert loaded.config == cfg.model_copy(update={"special_tokens": tokenizer.special_ids})
    assert loaded.config.special_tokens.image_patch == 302 and not loaded.training
    assert pre2 == pre
    assert tok.special_ids == tokenizer.special_ids and tok.encode(CORPUS[0]) == tokenizer.encode(CORPUS[0])
    meta = json.loads((out / "molmo.json").read_text())
    assert meta["format"] == "molmo-native" and meta["provenance"]["by"] == "test"
    assert meta["parameters"] == src.num_parameters()["total"]
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert torch.equal(loaded(ids).logits, src(ids).logits)
    # a tokenizer whose ids disagree with the model's is refused at save time
    clash = MolmoTokenizer(Tokenizer.from_str(train_bpe(CORPUS, 280).to_str()), TokenizerConfig(pad_to=290))
    with pytest.raises(UserError, match="special token ids do not match"):
        save_native(loaded, tmp_path / "clash", tokenizer=clash)


def test_bf16_save_and_requested_load_dtypes(tmp_path, model):
    path = save_native(model, tmp_path / "bf16", dtype="bf16")
    with safe_open(str(path / WEIGHTS), framework="pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"BF16"}  # noqa: SIM118
    as_saved, _, _ = load_native(path)
    assert {p.dtype for p in as_saved.parameters()} == {torch.bfloat16}
    as_fp32, _, _ = load_native(path, dtype="float32")
    for (name, p), q in zip(model.state_dict().items(), as_fp32.state_dict().values()):
        assert q.dtype == torch.float32 and torch.equal(q, p.to(torch.bfloat16).float()), name
    ids = torch.tensor([[4, 5, 6]])
    with torch.no_grad():
        assert torch.isfinite(as_saved(ids).logits).all()
    assert {p.dtype for p in load_native(save_native(model, tmp_path / "fp32"), dtype="bf16")[0].parameters()} == {
        torch.bfloat16}  # fmt: skip


def test_sharded_save_writes_an_index_and_loads_back_equal(tmp_path, model):
    path = save_native(model, tmp_path / "sharded", max_shard_bytes=60_000)
    index = json.loads((path / INDEX).read_text())
    shards = sorted(path.glob("model-*.safetensors"))
    assert len(shards) > 3 and not (path / WEIGHTS).exists()
    assert sorted(set(index["weight_map"].values())) == [s.name for s in shards]
    assert set(index["weight_map"]) == set(model.state_dict())
    assert index["metadata"]["total_size"] == sum(t.numel() * 4 for t in model.state_dict().values())
    for s in shards:  # a shard exceeds the limit only when it holds one big tensor
        tensors = load_file(str(s))
        assert len(tensors) == 1 or sum(t.numel() * 4 for t in tensors.values()) <= 60_000
    same_state(model, load_native(path)[0])
    assert not [p for p in path.iterdir() if p.name.startswith(".")]  # no temp shard files left


def test_an_interrupted_save_leaves_the_old_checkpoint_untouched(tmp_path, model):
    dst = save_native(model, tmp_path / "ckpt")
    before = {p.name: p.read_bytes() for p in dst.iterdir()}
    torch.manual_seed(5)
    other = Molmo(model.config)
    with pytest.raises(TypeError):  # molmo.json is written last: the weights are already in the temp dir
        save_native(other, dst, provenance={"unserialisable": object()})
    assert {p.name: p.read_bytes() for p in dst.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temp or backup dirs
    with pytest.raises(RuntimeError, match="boom"), AtomicDir(dst) as tmp:
        (tmp / "partial").write_text("x")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"] and {p.name for p in dst.iterdir()} == set(
        before
    )
    # a successful save replaces the directory as a whole (no stale files), with umask permissions
    (dst / "stale.txt").write_text("old")
    save_native(other, dst)
    same_state(other, load_native(dst)[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"] and not (dst / "stale.txt").exists()
    umask = os.umask(0)
    os.umask(umask)
    assert dst.stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.fixture
def saved(tmp_path, model) -> Path:
    return save_native(model, tmp_path / "ckpt")


def rewrite_weights(path: Path, edit) -> None:
    tensors = load_file(str(path / WEIGHTS))
    edit(tensors)
    save_file(tensors, str(path / WEIGHTS))


def test_missing_files_are_named(saved, tmp_path):
    with pytest.raises(UserError, match=r"model not found: .*nowhere"):
        load_native(tmp_path / "nowhere")
    (saved / "molmo.json").unlink()
    with pytest.raises(UserError, match=r"not a molmo checkpoint: .*ckpt/molmo\.json is missing .*HF Molmo"):
        load_native(saved)
    (saved / "config.json").rename(saved / "moved.json")
    with pytest.raises(UserError, match=r"ckpt/config\.json is missing"):
        load_native(saved)


def test_bad_metadata_is_a_user_error(saved):
    (saved / "molmo.json").write_text('{"format": "other", "format_version": 1}')
    with pytest.raises(UserError, match=r"molmo\.json: unsupported checkpoint format other"):
        load_native(saved)
    (saved / "molmo.json").write_text("{not json")
    with pytest.raises(UserError, match=r"molmo\.json: invalid JSON"):
        load_native(saved)


def test_bad_config_is_a_user_error(saved):
    cfg = json.loads((saved / "config.json").read_text())
    cfg["llm"]["d_model"] = -1
    (saved / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UserError, match=r"config\.json: invalid model config"):
        load_native(saved)


def test_missing_shard_is_named(tmp_path, model):
    path = save_native(model, tmp_path / "sharded", max_shard_bytes=60_000)
    victim = sorted(path.glob("model-*.safetensors"))[1]
    victim.unlink()
    with pytest.raises(UserError, match=f"missing weight shard {victim.name}"):
        load_native(path)


def test_wrong_shape_is_named(saved):
    rewrite_weights(saved, lambda t: t.update({"transformer.ln_f.weight": torch.ones(3)}))
    with pytest.raises(
        UserError, match=r"tensor 'transformer.ln_f.weight' has shape \(3,\), model expects \(64,\)"
    ):
        load_native(saved)


def test_unexpected_tensor_is_named(saved):
    rewrite_weights(saved, lambda t: t.update({"transformer.extra.weight": torch.ones(2)}))
    with pytest.raises(UserError, match=r"unexpected tensor 'transformer.extra.weight'"):
        load_native(saved)


def test_missing_tensor_is_named(saved):
    rewrite_weights(saved, lambda t: t.pop("transformer.ln_f.weight"))
    with pytest.raises(UserError, match=r"lacks 1 tensor\(s\), e.g. 'transformer.ln_f.weight'"):
        load_native(saved)


def test_corrupt_safetensors_is_a_user_error(saved):
    (saved / WEIGHTS).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    with pytest.raises(UserError, match=r"model\.safetensors: unreadable safetensors file"):
        load_native(saved)


def test_meta_load_reads_headers_only(saved, model):
    meta_model, _, _ = load_native(saved, device="meta")
    assert all(p.is_meta for p in meta_model.parameters())
    assert {k: v.shape for k, v in meta_model.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()}  # fmt: skip
    assert all(t.is_meta for _, t in iter_weights(saved, meta=True))


def test_big_presets_load_on_the_meta_device(tmp_path):
    """7B-D / 72B key sets and shapes go through the loader without allocating a single weight."""
    for preset in ("molmo-7b-d", "molmo-72b"):
        cfg = model_preset(preset)
        with torch.device("meta"):
            source, target = Molmo(cfg), Molmo(cfg)
        load_state_into(
            target, source.state_dict().items(), device="meta", dtype=torch.bfloat16, source=preset
        )
        assert all(p.is_meta and p.dtype == torch.bfloat16 for p in target.parameters())
        assert sum(p.numel() for p in target.parameters()) == source.num_parameters()["total"]
    renamed = {("transformer.ff_out.bias" if k == "transformer.ff_out.weight" else k): v
               for k, v in source.state_dict().items()}  # fmt: skip
    with pytest.raises(UserError, match=r"molmo-72b: unexpected tensor 'transformer.ff_out.bias'"):
        load_state_into(target, renamed.items(), device="meta", source="molmo-72b")
    # the metadata half of a big checkpoint is read and validated exactly as for a small one
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "config.json").write_text(model_preset("molmo-7b-d").model_dump_json())
    (tmp_path / "big" / "molmo.json").write_text('{"format": "molmo-native", "format_version": 1}')
    config, _ = read_checkpoint_meta(tmp_path / "big")
    assert config == model_preset("molmo-7b-d")
    with pytest.raises(UserError, match="no model.safetensors or model.safetensors.index.json"):
        load_native(tmp_path / "big", device="meta")
