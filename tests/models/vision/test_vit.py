"""The ViT: patch order, feature selection, skipped blocks, padding crops, pos-emb resize, bf16."""

from __future__ import annotations

import pytest
import torch

from molmo.config.vision import vision_preset
from molmo.errors import MolmoError
from molmo.models.vision import VisionTransformer, patchify, resize_pos_embed


def tiny_vit(name: str = "tiny-clip", **overrides) -> VisionTransformer:
    torch.manual_seed(0)
    return VisionTransformer(vision_preset(name, **overrides)).eval()


def test_patchify_uses_dh_dw_c_order():
    pixels = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)  # N, C, H, W
    patches = patchify(pixels, 2)
    assert patches.shape == (2, 2 * 3, 2 * 2 * 3)
    # patch (row 1, col 2) of crop 1; inside it (dh=1, dw=0, c=2) sits at index (1*2 + 0)*3 + 2
    assert patches[1, 1 * 3 + 2, (1 * 2 + 0) * 3 + 2] == pixels[1, 2, 1 * 2 + 1, 2 * 2 + 0]


@pytest.mark.parametrize("name", ["tiny-clip", "tiny-siglip", "tiny-dinov2"])
def test_forward_features_concatenates_selected_blocks_without_cls(name):
    vit = tiny_vit(name, feature_layers=[-1, 0])
    cfg = vit.config
    patches = torch.randn(2, cfg.n_patches, cfg.patch_dim)
    with torch.no_grad():
        hidden = vit(patches)
        feats = vit.forward_features(patches)
    assert len(hidden) == cfg.n_layers and hidden[0].shape == (2, cfg.n_positions, cfg.d_model)
    n_cls = int(cfg.cls_token)
    expected = torch.cat([hidden[cfg.n_layers - 1], hidden[0]], dim=-1)[:, n_cls:]
    assert feats.shape == (2, cfg.n_patches, 2 * cfg.d_model)
    torch.testing.assert_close(feats, expected)


def test_variant_parameters_follow_the_flags():
    clip, siglip, dino = tiny_vit("tiny-clip"), tiny_vit("tiny-siglip"), tiny_vit("tiny-dinov2")
    assert clip.class_embedding is not None and clip.pre_ln is not None and clip.patch_embedding.bias is None
    assert (
        siglip.class_embedding is None and siglip.pre_ln is None and siglip.patch_embedding.bias is not None
    )
    assert siglip.positional_embedding.shape == (9, 32)
    keys = set(dino.state_dict())
    assert {"transformer.resblocks.0.attention_scale", "transformer.resblocks.0.ffn_scale"} <= keys
    assert "transformer.resblocks.0.attention_scale" not in set(clip.state_dict())


def test_skip_unused_layers_builds_fewer_blocks_with_identical_features():
    full = tiny_vit("tiny-clip", feature_layers=[-2])
    skipped = VisionTransformer(vision_preset("tiny-clip", feature_layers=[-2], skip_unused_layers=True))
    assert len(full.transformer.resblocks) == 3 and len(skipped.transformer.resblocks) == 2
    missing, unexpected = skipped.load_state_dict(full.state_dict(), strict=False)
    assert missing == [] and all(k.startswith("transformer.resblocks.2.") for k in unexpected)
    patches = torch.randn(1, 16, 588)
    with torch.no_grad():
        torch.testing.assert_close(skipped.forward_features(patches), full.forward_features(patches))
    with pytest.raises(MolmoError, match="not built"):
        skipped.forward_features(patches, layers=[-1])
    with pytest.raises(MolmoError, match="out of range"):
        full.forward_features(patches, layers=[3])


def test_padding_crops_give_zero_features_and_do_not_affect_others():
    vit = tiny_vit()
    real = torch.randn(1, 16, 588)
    batch = torch.cat([real, torch.full((1, 16, 588), -1.0)])
    with torch.no_grad():
        feats = vit.forward_features(batch)
        alone = vit.forward_features(real)
    assert torch.count_nonzero(feats[1]) == 0
    assert torch.count_nonzero(feats[0]) > 0
    torch.testing.assert_close(feats[:1], alone)


def test_positional_embeddings_are_resized_for_other_grids():
    vit = tiny_vit()  # default grid 4x4
    with torch.no_grad():
        feats = vit.forward_features(torch.randn(2, 6, 588), grid_hw=(2, 3))
        assert feats.shape == (2, 6, 64)
        resized = resize_pos_embed(vit.positional_embedding, 1, (3, 3))
        emb = vit.embed(torch.zeros(1, 9, 588))  # zero patches: embedding = pos (+ CLS) through pre_ln
        expected = vit.pre_ln(resized + torch.cat([vit.class_embedding[None], torch.zeros(9, 32)]))
        torch.testing.assert_close(emb[0], expected)
    with pytest.raises(MolmoError):
        vit.forward_features(torch.randn(1, 6, 588))  # 6 patches, no grid given: not square
    with pytest.raises(MolmoError):
        vit.forward_features(torch.randn(1, 6, 588), grid_hw=(2, 2))


def test_float32_attention_matches_in_fp32():
    plain = tiny_vit()
    f32 = VisionTransformer(vision_preset("tiny-clip", float32_attention=True)).eval()
    f32.load_state_dict(plain.state_dict())
    patches = torch.randn(2, 16, 588)
    with torch.no_grad():
        torch.testing.assert_close(f32.forward_features(patches), plain.forward_features(patches))


@pytest.mark.parametrize("float32_attention", [False, True])
def test_bf16_autocast_forward_runs_close_to_fp32(float32_attention):
    vit = tiny_vit("tiny-dinov2", float32_attention=float32_attention)
    patches = torch.randn(2, 16, 588)
    with torch.no_grad():
        ref = vit.forward_features(patches)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = vit.forward_features(patches)
    assert out.shape == ref.shape and torch.isfinite(out).all()
    assert (out.float() - ref).abs().max() < 0.1 * ref.abs().max()


def test_reset_parameters_init():
    vit = tiny_vit()
    block = vit.transformer.resblocks[0]
    assert torch.count_nonzero(block.attention.wq.bias) == 0
    assert torch.equal(block.attention_norm.weight, torch.ones(32))
    assert 0.01 < block.feed_forward.w1.weight.std() < 0.03
    dino = tiny_vit("tiny-dinov2", layer_scale_init=0.1)
    assert torch.allclose(dino.transformer.resblocks[1].ffn_scale, torch.full((32,), 0.1))


def test_builds_on_meta_device():
    with torch.device("meta"):
        vit = VisionTransformer(vision_preset("clip-vit-l14-336"))
    assert sum(p.numel() for p in vit.parameters()) == 290_909_184
    assert vit.positional_embedding.is_meta
