"""VisionBackbone: shapes, padding, checkpoint key names, exact released sizes, init, bf16."""

from __future__ import annotations

import pytest
import torch

from molmo.config.connector import ConnectorConfig
from molmo.config.vision import vision_preset
from molmo.models.vision_backbone import VisionBackbone


def tiny_backbone(
    vision: str = "tiny-clip", d_model: int = 24, mlp_hidden: int = 40, **connector
) -> VisionBackbone:
    torch.manual_seed(0)
    cfg = ConnectorConfig.model_validate(connector)
    return VisionBackbone(
        vision_preset(vision), cfg, llm_d_model=d_model, llm_mlp_hidden_size=mlp_hidden
    ).eval()


def test_forward_shapes_and_tokens_per_crop():
    bb = tiny_backbone()
    images = torch.randn(2, 3, 16, 588)
    masks = torch.ones(2, 3, 16)
    with torch.no_grad():
        out = bb(images, masks)
    assert bb.tokens_per_crop == 4 and bb.pooled_grid() == (2, 2)
    assert out.shape == (2, 3, 4, 24)
    with torch.no_grad():
        torch.testing.assert_close(bb(images, None), out)  # all-real masks add nothing


def test_crops_are_encoded_independently():
    bb = tiny_backbone()
    images = torch.randn(2, 3, 16, 588)
    with torch.no_grad():
        out = bb(images)
        single = bb(images[1:2, 2:3])
    torch.testing.assert_close(out[1:2, 2:3], single)


def test_padding_embeddings_use_image_masks():
    bb = tiny_backbone()
    with torch.no_grad():
        bb.pad_embed.normal_()
    images = torch.randn(1, 2, 16, 588)
    images[0, 1] = -1  # a batch-padding crop
    masks = torch.ones(1, 2, 16)
    masks[0, 0, :4] = 0.0
    masks[0, 1] = -1.0
    with torch.no_grad():
        features = bb.encode_image(images, masks)
        raw = bb.encode_image(images, None)
    assert torch.count_nonzero(raw[0, 1]) == 0  # padded crop: zero ViT features
    torch.testing.assert_close(features[0, 0, :4], raw[0, 0, :4] + bb.pad_embed[0])
    torch.testing.assert_close(features[0, 0, 4:], raw[0, 0, 4:])
    torch.testing.assert_close(features[0, 1], bb.pad_embed[1].expand(16, -1))


def test_odd_grid_siglip_backbone():
    bb = tiny_backbone("tiny-siglip")  # 3x3 patches -> 2x2 tokens
    with torch.no_grad():
        out = bb(torch.randn(1, 2, 9, 588), torch.ones(1, 2, 9))
    assert bb.tokens_per_crop == 4 and out.shape == (1, 2, 4, 24)


@pytest.mark.parametrize(
    ("pooling", "projector", "tokens"),
    [
        ({"kind": "attention"}, {"kind": "linear"}, 4),
        ({"kind": "attention_1d", "window": 8}, {"kind": "mlp_gelu"}, 2),
        ({"kind": "stack"}, {"kind": "swiglu"}, 4),
        ({"kind": "none"}, {"kind": "linear", "bias": True}, 16),
        ({"kind": "c_abstractor", "depth": 1}, {"kind": "swiglu", "hidden_size": 8}, 4),
    ],
)
def test_variant_combinations(pooling, projector, tokens):
    bb = tiny_backbone("tiny-dinov2", pooling=pooling, projector=projector, padding_embed="regress")
    assert bb.pad_embed.shape == (64,)
    with torch.no_grad():
        out = bb(torch.randn(2, 2, 16, 588), torch.rand(2, 2, 16))
    assert out.shape == (2, 2, tokens, 24) and bb.tokens_per_crop == tokens


def test_no_padding_embed_parameter():
    bb = tiny_backbone(padding_embed="none")
    assert bb.pad_embed is None and "pad_embed" not in bb.state_dict()
    assert bb.num_parameters()["pad_embed"] == 0


def test_released_sizes_and_checkpoint_keys_on_meta():
    with torch.device("meta"):
        bb = VisionBackbone(vision_preset("clip-vit-l14-336"), ConnectorConfig(), 3584, 37888)
    counts = bb.num_parameters()
    assert counts["image_vit"] == 290_909_184
    assert counts["image_pooling_2d"] == 7_344_128
    assert counts["image_projector"] == 106_692_608
    assert counts["pad_embed"] == 4_096
    assert counts["total"] == 290_909_184 + 7_344_128 + 106_692_608 + 4_096
    shapes = {k: tuple(v.shape) for k, v in bb.state_dict().items()}
    block = "image_vit.transformer.resblocks.22."
    expected = {
        "image_vit.class_embedding": (1024,),
        "image_vit.positional_embedding": (577, 1024),
        "image_vit.patch_embedding.weight": (1024, 588),
        "image_vit.pre_ln.weight": (1024,),
        block + "attention.wq.weight": (1024, 1024),
        block + "attention.wo.bias": (1024,),
        block + "attention_norm.bias": (1024,),
        block + "feed_forward.w1.weight": (4096, 1024),
        block + "feed_forward.w2.weight": (1024, 4096),
        block + "ffn_norm.weight": (1024,),
        "image_pooling_2d.wq.weight": (1024, 2048),
        "image_pooling_2d.wk.bias": (1024,),
        "image_pooling_2d.wo.weight": (1024, 1024),
        "image_projector.w1.weight": (18944, 1024),
        "image_projector.w3.weight": (18944, 1024),
        "image_projector.w2.weight": (3584, 18944),
        "pad_embed": (2, 2048),
    }
    assert {k: shapes.get(k) for k in expected} == expected
    assert "image_vit.transformer.resblocks.23.ffn_norm.weight" not in shapes
    assert len(shapes) == 5 + 23 * 16 + 8 + 3 + 1


def test_connector_initialisation():
    bb = VisionBackbone(vision_preset("tiny-clip"), ConnectorConfig(), 256, 512)
    assert torch.count_nonzero(bb.pad_embed) == 0
    pool = bb.image_pooling_2d
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in (pool.wq, pool.wk, pool.wv, pool.wo))
    assert 0.015 < pool.wq.weight.std() < 0.025
    assert 0.018 < bb.image_projector.w2.weight.std() < 0.022
    with torch.no_grad():
        bb.pad_embed.fill_(1.0)
    bb.reset_connector_parameters()
    assert torch.count_nonzero(bb.pad_embed) == 0


def test_bf16_autocast_forward_and_backward():
    bb = tiny_backbone().train()
    images, masks = torch.randn(2, 2, 16, 588), torch.rand(2, 2, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = bb(images, masks)
    assert out.shape == (2, 2, 4, 24) and torch.isfinite(out.float()).all()
    out.float().sum().backward()
    assert bb.image_projector.w2.weight.grad is not None
    assert bb.image_vit.transformer.resblocks[1].attention.wq.weight.grad is not None


def test_bf16_weights_accept_fp32_images():
    bb = tiny_backbone().to(torch.bfloat16)
    with torch.no_grad():
        out = bb(torch.randn(1, 1, 16, 588), torch.ones(1, 1, 16, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16 and out.shape == (1, 1, 4, 24)


def test_fan_in_connector_init_keeps_feature_scale():
    import torch
    from torch import nn

    from molmo.config.connector import ConnectorConfig
    from molmo.config.vision import vision_preset
    from molmo.models.vision_backbone import VisionBackbone

    torch.manual_seed(0)
    vis = vision_preset("tiny-clip")
    released = VisionBackbone(vis, ConnectorConfig(), 64, 256)
    scaled = VisionBackbone(vis, ConnectorConfig(init="fan_in"), 64, 256)
    for module in scaled.image_projector.modules():
        if isinstance(module, nn.Linear):
            assert abs(float(module.weight.detach().std()) * module.in_features**0.5 - 1.0) < 0.1
    images = torch.randn(1, 2, vis.n_patches, vis.patch_dim)
    with torch.no_grad():
        small, kept = released(images).std(), scaled(images).std()
    assert kept > 100 * small  # the released 0.02 init shrinks features by orders of magnitude at tiny widths


def test_output_norm_bounds_feature_scale_and_is_optional():
    import torch

    from molmo.config.connector import ConnectorConfig
    from molmo.config.vision import vision_preset
    from molmo.models.vision_backbone import VisionBackbone

    vis = vision_preset("tiny-clip")
    plain = VisionBackbone(vis, ConnectorConfig(), 64, 256)
    assert "image_feature_norm.weight" not in plain.state_dict()  # released key layout unchanged
    normed = VisionBackbone(vis, ConnectorConfig(output_norm=True), 64, 256)
    with torch.no_grad():
        normed.image_projector.w2.weight.mul_(1e8)  # what an exploding projector looks like
        out = normed(torch.randn(1, 2, vis.n_patches, vis.patch_dim))
    rms = out.pow(2).mean(-1).sqrt()
    assert torch.allclose(rms, torch.ones_like(rms), atol=1e-3)
    assert normed.num_parameters()["image_projector"] == plain.num_parameters()["image_projector"] + 64
