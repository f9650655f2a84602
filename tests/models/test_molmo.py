"""Molmo: image-feature splice contract, padded crops, loss, ZeRO-3 rule, bf16, sizes, generation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from molmo.config.generation import GenerationConfig
from molmo.config.model import model_preset
from molmo.config.preprocess import SpecialTokenIds
from molmo.errors import MolmoError
from molmo.generate import beam_search
from molmo.models.molmo import IGNORE_INDEX, Molmo
from molmo.nn.kv_cache import KVCache

SPECIAL = {"bos": 0, "eos": 0, "pad": 0, "image_start": 256, "image_end": 257, "image_patch": 258,
           "image_col": 259, "image_prompt": 260}  # fmt: skip
START, END, PATCH, COL = 256, 257, 258, 259
K, P, D = 4, 16, 588  # tiny presets: 4 tokens per crop (4x4 patches, 2x2 pooling), 588 values per patch


def peaky(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights large enough that greedy choices are not near-ties."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_((0.15 if "wte" in name else 0.08) * torch.randn(p.shape, generator=gen))
    return model


def tiny_molmo(preset: str = "tiny", special: bool = True) -> Molmo:
    torch.manual_seed(0)
    return peaky(Molmo(model_preset(preset, {"special_tokens": SPECIAL} if special else None))).eval()


@pytest.fixture(scope="module")
def model() -> Molmo:
    return tiny_molmo()


def example(before: list[int], n_crops: int, after: list[int], seed: int = 0):
    """Token ids with ``n_crops`` crops of image tokens, random crops, and where their features go."""
    toks, rel = [], []
    for _ in range(n_crops):
        toks.append(START)
        for _row in range(2):
            rel += [len(toks), len(toks) + 1]
            toks += [PATCH, PATCH, COL]
        toks.append(END)
    gen = torch.Generator().manual_seed(seed)
    idx = (torch.tensor(rel) + len(before)).view(n_crops, K)
    masks = torch.ones(n_crops, P)
    masks[0, -3:] = 0.5  # a partially padded patch row
    return before + toks + after, torch.randn(n_crops, P, D, generator=gen), idx, masks


def collate(examples, n_crops: int | None = None) -> dict[str, torch.Tensor]:
    """Right-pad like the Batch: ids -1, crops all -1, image_input_idx -1, image_masks -1."""
    B, T = len(examples), max(len(e[0]) for e in examples)
    N = n_crops or max(e[1].shape[0] for e in examples)
    out = {
        "input_ids": torch.full((B, T), -1), "images": torch.full((B, N, P, D), -1.0),
        "image_input_idx": torch.full((B, N, K), -1), "image_masks": torch.full((B, N, P), -1.0),
    }  # fmt: skip
    for b, (ids, images, idx, masks) in enumerate(examples):
        n = images.shape[0]
        out["input_ids"][b, : len(ids)] = torch.tensor(ids)
        out["images"][b, :n], out["image_input_idx"][b, :n], out["image_masks"][b, :n] = images, idx, masks
    return out


def batch(*specs, n_crops=None):
    return collate([example(*s) for s in specs], n_crops)


# ---------------------------------------------------------------- splice contract
def broken(kind: str) -> dict[str, torch.Tensor]:
    b = batch(([5, 6], 1, [7, 8]))
    idx = b["image_input_idx"]
    if kind == "count":
        idx[0, 0, 3] = -1
    elif kind == "shape":
        b["image_input_idx"] = idx[:, :, :3]
    elif kind == "past_end":
        idx[0, 0, 3] = b["input_ids"].shape[1]
    elif kind == "repeat":
        idx[0, 0, 3] = idx[0, 0, 2]
    elif kind == "not_patch":
        idx[0, 0, 3] = 9  # counts agree, but position 9 holds <im_end>
    return b


@pytest.mark.parametrize(
    "kind, message",
    [
        ("count", r"\[3\] valid image_input_idx entries vs \[4\] <im_patch> tokens"),
        ("shape", r"image_input_idx has shape \(1, 1, 3\) but the connector produced \(1, 1, 4\)"),
        ("past_end", r"points past the end of the sequence \(length 12\)"),
        ("repeat", r"image_input_idx of row 0 repeats position 6"),
        ("not_patch", r"row 0 points at position 9, which holds token 257, not <im_patch> \(258\)"),
    ],
)
def test_splice_contract_errors(model, kind, message):
    with pytest.raises(MolmoError, match=message):
        model(**broken(kind))


def test_splice_checks_without_special_ids_and_missing_index():
    model = tiny_molmo(special=False)
    for kind, message in [("repeat", "repeats position"), ("past_end", "past the end")]:
        with pytest.raises(MolmoError, match=message):
            model(**broken(kind))
    b = batch(([5, 6], 1, [7, 8]))
    with pytest.raises(MolmoError, match="images given without image_input_idx"):
        model(b["input_ids"], images=b["images"], image_masks=b["image_masks"])


# ---------------------------------------------------------------- image features
@torch.no_grad()
def test_padded_crops_contribute_nothing(model):
    one = batch(([5, 6], 1, [7, 8]))
    padded = batch(([5, 6], 1, [7, 8]), n_crops=3)  # two all -1 crops with index -1
    torch.testing.assert_close(model(**padded).logits, model(**one).logits, rtol=1e-5, atol=1e-5)
    # a row with fewer crops in a mixed batch == that row alone
    mixed = batch(([5, 6], 2, [7, 8], 1), ([9], 1, [3, 4, 1, 2, 3], 2))
    alone = batch(([9], 1, [3, 4, 1, 2, 3], 2))
    T = alone["input_ids"].shape[1]
    torch.testing.assert_close(model(**mixed).logits[1, :T], model(**alone).logits[0], rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_features_are_added_at_patch_tokens(model):
    b = batch(([5, 6], 2, [7, 8]))
    features = model.image_features(b["images"], b["image_masks"])  # (1, 2, 4, d)
    x = model.transformer.embed(b["input_ids"])
    for n in range(2):
        x[0, b["image_input_idx"][0, n]] += features[0, n]
    expected = model.transformer(inputs_embeds=x, attention_mask=b["input_ids"] >= 0).logits
    torch.testing.assert_close(model(**b).logits, expected)
    # both the <im_patch> embedding and the image matter (added, not replaced)
    other = dict(b, images=b["images"] + 0.5)
    assert not torch.allclose(model(**other).logits, expected, atol=1e-4)
    changed = tiny_molmo()
    changed.transformer.wte.new_embedding[PATCH - 256] += 1.0
    assert not torch.allclose(changed(**b).logits, expected, atol=1e-4)
    # text before the image does not see it (causal)
    torch.testing.assert_close(model(**other).logits[0, :3], expected[0, :3])


# ---------------------------------------------------------------- loss
def labelled(model):
    b = batch(([5, 6], 1, [7, 8, 9, 10]), ([11], 1, [12, 13, 14, 15, 16], 1))
    ids = b["input_ids"]
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, :-1] = torch.where((ids[:, 1:] >= 0) & (ids[:, 1:] < 256), ids[:, 1:], IGNORE_INDEX)
    loss_mask = (labels != IGNORE_INDEX).float()
    loss_mask[0, -3] = 0.5
    labels[1, 0], loss_mask[1, 0] = 3, 0.0  # a label with zero weight is ignored
    return b, labels, loss_mask


def test_loss_is_weighted_mean_ce_plus_z_loss(model):
    b, labels, loss_mask = labelled(model)
    out = model(**b, labels=labels, loss_mask=loss_mask, z_loss_weight=1e-2)
    logits = out.logits.detach()
    used = (loss_mask > 0) & (labels != IGNORE_INDEX)
    w = loss_mask[used]
    ce = F.cross_entropy(logits[used], labels[used], reduction="none")
    lse2 = torch.logsumexp(logits[used], dim=-1) ** 2
    torch.testing.assert_close(out.n_loss_tokens, w.sum())
    torch.testing.assert_close(out.ce_loss, (w * ce).sum() / w.sum())
    torch.testing.assert_close(out.z_loss, 1e-2 * (w * lse2).sum() / w.sum())
    torch.testing.assert_close(out.loss, out.ce_loss + out.z_loss)
    # without a loss mask: plain mean over labelled tokens; a global divisor is honoured
    plain = model(**b, labels=labels)
    all_labelled = labels != IGNORE_INDEX
    torch.testing.assert_close(plain.ce_loss, F.cross_entropy(logits[all_labelled], labels[all_labelled]))
    assert float(plain.z_loss) == 0.0
    divided = model(**b, labels=labels, loss_mask=loss_mask, loss_divisor=7.0)
    torch.testing.assert_close(divided.ce_loss, (w * ce).sum() / 7.0)


def test_weighted_label_outside_vocab_is_an_error(model):
    b, labels, loss_mask = labelled(model)
    labels[0, 0] = PATCH  # 258 >= embedding_size 256: cannot be predicted
    with pytest.raises(MolmoError, match="label 258 has a loss weight"):
        model(**b, labels=labels, loss_mask=loss_mask)


def test_gradients_reach_vit_connector_and_llm():
    model = tiny_molmo().train()
    b, labels, loss_mask = labelled(model)
    model(**b, labels=labels, loss_mask=loss_mask, z_loss_weight=1e-3).loss.backward()
    vb = model.vision_backbone
    for part in (vb.image_vit, vb.image_pooling_2d, vb.image_projector, model.transformer.blocks):
        assert all(p.grad is not None for p in part.parameters())
        assert sum(float(p.grad.abs().sum()) for p in part.parameters()) > 0
    assert float(vb.pad_embed.grad.abs().sum()) > 0  # the partially padded patches use it
    assert float(model.transformer.wte.new_embedding.grad[PATCH - 256].abs().sum()) > 0


def test_training_without_images_still_runs_the_vit():
    """ZeRO-3: every rank must run every parameter each step, so text-only batches get zero grads."""
    model = tiny_molmo().train()
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    calls = []
    hook = model.vision_backbone.register_forward_hook(lambda *a: calls.append(1))
    out = model(ids, labels=ids.roll(-1, 1))
    out.loss.backward()
    assert len(calls) == 1
    for name, p in model.vision_backbone.named_parameters():
        assert p.grad is not None, name
        assert torch.count_nonzero(p.grad) == 0, name
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, out.logits.detach())
    assert len(calls) == 1  # eval mode: no dummy pass
    hook.remove()


def test_bf16_autocast_forward_on_cpu(model):
    b, labels, loss_mask = labelled(model)
    with torch.no_grad():
        ref = model(**b, labels=labels, loss_mask=loss_mask)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(**b, labels=labels, loss_mask=loss_mask, z_loss_weight=1e-4)
    assert out.logits.dtype == torch.bfloat16 and out.loss.dtype == torch.float32
    assert torch.isfinite(out.logits).all()
    assert abs(float(out.ce_loss) - float(ref.ce_loss)) < 0.05 * float(ref.ce_loss)


# ---------------------------------------------------------------- sizes (meta device)
def count(preset: str) -> dict[str, int]:
    with torch.device("meta"):
        return Molmo(model_preset(preset)).num_parameters()


def test_parameter_counts_of_released_models():
    d = count("molmo-7b-d")
    assert d["total"] == 8_021_025_280  # == total_parameters of the HF safetensors index
    assert (d["llm"], d["vit"], d["pooling"], d["projector"], d["pad_embed"]) == (
        7_616_075_264,
        290_909_184,
        7_344_128,
        106_692_608,
        4_096,
    )
    o = count("molmo-7b-o")
    assert o["llm"] == 7_299_141_632
    assert o["projector"] == 2 * 1024 * 11008 + 11008 * 4096  # SwiGLU hidden = 22016 / 2
    big = count("molmo-72b")
    d_model, layers, vocab, hidden = 8192, 80, 152064, 29568
    block = (
        (d_model * 10240 + 10240) + d_model * d_model + d_model * 2 * hidden + hidden * d_model + 2 * d_model
    )
    llm_72b = layers * block + vocab * d_model + 128 * d_model + d_model + vocab * d_model
    assert big["llm"] == llm_72b
    assert big["projector"] == 2 * 1024 * hidden + hidden * d_model
    assert big["total"] == llm_72b + big["projector"] + d["vit"] + d["pooling"] + d["pad_embed"]
    print(f"molmo-7b-d {d['total']:,}  molmo-7b-o {o['total']:,}  molmo-72b {big['total']:,}")


# ---------------------------------------------------------------- generation
@torch.no_grad()
def test_kv_cache_decoding_equals_full_recomputation(model):
    b = batch(([5, 6], 2, [7, 8]))
    T, n_new = b["input_ids"].shape[1], 6
    res = model.generate(**b, config=GenerationConfig(max_new_tokens=n_new, stop_token_ids=[]))
    new = res.token_ids[0]
    assert len(new) == n_new and res.finish_reasons == ["length"]
    full_ids = torch.cat([b["input_ids"], torch.tensor([new])], dim=1)
    full = model(**dict(b, input_ids=full_ids)).logits[0]  # (T + n_new, V), images re-encoded here
    assert full[T - 1 : T - 1 + n_new].argmax(-1).tolist() == new
    # step by step through a KV cache: same logits as the full forward
    cache = KVCache(T + n_new)
    out = model(**b, kv_cache=cache, attention_mask=b["input_ids"] >= 0)
    torch.testing.assert_close(out.logits[0], full[:T], rtol=1e-5, atol=1e-5)
    for i, tok in enumerate(new[:-1]):
        out = model(torch.tensor([[tok]]), position_ids=torch.tensor([[T + i]]),
                    attention_mask=torch.ones(1, T + i + 1, dtype=torch.bool), kv_cache=cache)  # fmt: skip
        torch.testing.assert_close(out.logits[0, -1], full[T + i], rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_batched_prompts_match_each_prompt_alone(model):
    specs = [([5, 6], 2, [7, 8], 1), ([9], 1, [3, 4, 1, 2, 3, 4, 5], 2), ([1, 2, 3], 1, [4], 3)]
    cfg = GenerationConfig(max_new_tokens=6, stop_token_ids=[])
    together = model.generate(**batch(*specs), config=cfg).token_ids
    alone = [model.generate(**batch(s), config=cfg).token_ids[0] for s in specs]
    assert together == alone
    assert len({tuple(t) for t in alone}) > 1  # the prompts really differ


def test_images_are_encoded_exactly_once_and_mode_is_restored():
    model = tiny_molmo().train()
    calls = []
    hook = model.vision_backbone.register_forward_hook(lambda *a: calls.append(1))
    b = batch(([5, 6], 2, [7, 8]))
    res = model.generate(**b, config=GenerationConfig(max_new_tokens=5, stop_token_ids=[]))
    assert len(res.token_ids[0]) == 5 and len(calls) == 1
    assert model.training  # generate ran in eval mode and switched back
    model.generate(**b, config=GenerationConfig(max_new_tokens=4, num_beams=3))
    assert len(calls) == 2
    hook.remove()


@torch.no_grad()
def test_beam_search_with_one_beam_is_greedy(model):
    b = batch(([5, 6], 1, [7, 8], 1), ([9], 1, [3, 4, 1], 2))
    cfg = GenerationConfig(max_new_tokens=7, stop_token_ids=[])
    greedy = model.generate(**b, config=cfg).token_ids
    prefill = {k: b[k] for k in ("images", "image_input_idx", "image_masks")}
    beams = beam_search(model, b["input_ids"], cfg.model_copy(update={"num_beams": 1}), **prefill).token_ids
    assert beams == greedy


@torch.no_grad()
def test_seeded_sampling_is_reproducible(model):
    b = batch(([5, 6], 1, [7, 8]))

    def sample(seed):
        cfg = GenerationConfig(max_new_tokens=10, temperature=1.5, top_k=50, seed=seed, stop_token_ids=[])
        return model.generate(**b, config=cfg).token_ids[0]

    assert sample(3) == sample(3)
    assert len({tuple(sample(s)) for s in range(4)}) > 1


@torch.no_grad()
def test_generation_stops_at_the_model_eos_by_default():
    model = tiny_molmo()
    b = batch(([5, 6], 1, [7, 8]))
    free = model.generate(**b, config=GenerationConfig(max_new_tokens=5, stop_token_ids=[])).token_ids[0]
    # declare the 2nd greedy token the EOS: generation now stops there
    eos = free[1]
    assert eos != free[0]
    model.config = model.config.model_copy(
        update={"special_tokens": SpecialTokenIds(**{**SPECIAL, "eos": eos})}
    )
    res = model.generate(**b, config=GenerationConfig(max_new_tokens=5))
    assert res.token_ids == [free[:2]] and res.finish_reasons == ["eos"]
    res = model.generate(**b, config=GenerationConfig(max_new_tokens=5, stop_token_ids=[]))
    assert res.token_ids == [free] and res.finish_reasons == ["length"]
    decoded = model.generate(
        **b, config=GenerationConfig(max_new_tokens=2), decode=lambda ids: f"<{len(ids)}>"
    )
    assert decoded.texts == ["<1>"]  # the stop id is removed before decoding
