"""HF CLIP / SigLIP / DINOv2 vision towers -> our ViT: hidden-state parity and key mapping."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    CLIPVisionConfig,
    CLIPVisionModel,
    Dinov2Config,
    Dinov2Model,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from molmo.config.vision import vision_preset
from molmo.convert.hf_vision import (
    convert_hf_vision_tensor,
    convert_vision_tensor_to_hf,
    hf_vision_config,
    hf_vision_state_dict_to_ours,
    iter_hf_vision_to_ours,
    iter_vision_to_hf,
    map_hf_vision_key,
    vision_config_from_hf,
)
from molmo.errors import UserError
from molmo.models.vision import VisionTransformer, patchify

TINY = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 4, "patch_size": 14}
HF = {
    "clip": (CLIPVisionModel, lambda: CLIPVisionConfig(intermediate_size=64, image_size=56, **TINY)),
    "siglip": (SiglipVisionModel, lambda: SiglipVisionConfig(intermediate_size=64, image_size=42, **TINY)),
    "dinov2": (Dinov2Model, lambda: Dinov2Config(mlp_ratio=2, image_size=56, **TINY)),
}


def hf_model(family: str):
    cls, make_config = HF[family]
    torch.manual_seed(0)
    model = cls(make_config()).eval()
    with torch.no_grad():  # move every tensor off its default init (LayerScale 1, norms 1/0, ...)
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("family", ["clip", "siglip", "dinov2"])
def test_hidden_state_parity(family):
    hf = hf_model(family)
    cfg = vision_config_from_hf(hf.config.to_dict(), family, feature_layers=[-2, 0])
    ours = VisionTransformer(cfg).eval()
    ours.load_state_dict(hf_vision_state_dict_to_ours(hf.state_dict(), cfg))
    size = hf.config.image_size
    pixels = torch.randn(2, 3, size, size)
    patches = patchify(pixels, 14)
    with torch.no_grad():
        hidden = hf(pixel_values=pixels, output_hidden_states=True).hidden_states
        blocks = ours(patches)
        features = ours.forward_features(patches)
    assert len(hidden) == cfg.n_layers + 1
    for i, block in enumerate(blocks):  # our block i output == HF hidden_states[i + 1]
        assert (block - hidden[i + 1]).abs().max() <= 1e-4, f"block {i}"
    n_cls = int(cfg.cls_token)
    expected = torch.cat([hidden[cfg.n_layers - 1], hidden[1]], dim=-1)[:, n_cls:]
    assert (features - expected).abs().max() <= 1e-4


def test_clip_truncated_to_23_style_and_full_model_prefix():
    hf = hf_model("clip")
    cfg = vision_config_from_hf(hf.config.to_dict(), "clip", n_layers=3, feature_layers=[-2])
    full_model_sd = {"vision_model." + k: v for k, v in hf.state_dict().items()}
    full_model_sd["text_model.embeddings.token_embedding.weight"] = torch.zeros(5, 4)
    full_model_sd["logit_scale"] = torch.zeros(())
    ours = hf_vision_state_dict_to_ours(full_model_sd, cfg, prefix="vision_backbone.image_vit.")
    assert "vision_backbone.image_vit.transformer.resblocks.2.ffn_norm.weight" in ours
    assert not any(".resblocks.3." in k for k in ours)  # HF's last block dropped
    assert ours["vision_backbone.image_vit.patch_embedding.weight"].shape == (32, 588)
    vit = VisionTransformer(cfg).eval()
    vit.load_state_dict({k.removeprefix("vision_backbone.image_vit."): v for k, v in ours.items()})
    pixels = torch.randn(1, 3, 56, 56)
    with torch.no_grad():
        hidden = hf(pixel_values=pixels, output_hidden_states=True).hidden_states
        torch.testing.assert_close(
            vit.forward_features(patchify(pixels, 14)), hidden[2][:, 1:], atol=1e-4, rtol=0
        )


def test_patch_weight_layout():
    cfg = vision_preset("tiny-clip")
    conv = torch.randn(32, 3, 14, 14)
    key, linear = convert_hf_vision_tensor("embeddings.patch_embedding.weight", conv, cfg)
    assert key == "patch_embedding.weight" and linear.shape == (32, 588)
    pixels = torch.randn(1, 3, 14, 14)
    conv_out = torch.nn.functional.conv2d(pixels, conv).flatten()
    torch.testing.assert_close(linear @ patchify(pixels, 14)[0, 0], conv_out, atol=1e-4, rtol=1e-4)
    _, back = convert_vision_tensor_to_hf(key, linear, cfg)
    assert torch.equal(back, conv)


@pytest.mark.parametrize("family", ["clip", "siglip", "dinov2"])
def test_round_trip_to_hf(family):
    hf = hf_model(family)
    cfg = vision_config_from_hf(hf.config.to_dict(), family)
    ours = hf_vision_state_dict_to_ours(hf.state_dict(), cfg, prefix="image_vit.")
    back = dict(iter_vision_to_hf(ours.items(), cfg, prefix="image_vit."))
    reference = hf.state_dict()
    for key, tensor in back.items():
        assert torch.equal(tensor, reference[key]), key
    dropped = set(reference) - set(back)
    assert all(
        k.startswith(("post_layernorm", "head.", "layernorm", "embeddings.mask_token")) for k in dropped
    )
    kwargs = {k: v for k, v in hf_vision_config(cfg).items() if k != "model_type"}
    rebuilt = type(hf)(type(hf.config)(**kwargs))
    assert rebuilt.load_state_dict(back, strict=False).unexpected_keys == []


def test_dinov2_legacy_names_and_pos_resize():
    hf = hf_model("dinov2")
    cfg = vision_config_from_hf(hf.config.to_dict(), "dinov2", image_size=42)  # 4x4 table -> 3x3 grid
    legacy = {}
    for key, tensor in hf.state_dict().items():
        key = key.replace("attention.q_proj", "attention.attention.query").replace(
            "attention.o_proj", "attention.output.dense"
        )
        legacy[key] = tensor
    ours = hf_vision_state_dict_to_ours(legacy, cfg)
    assert ours["positional_embedding"].shape == (1 + 9, 32)
    assert torch.equal(ours["positional_embedding"][0], hf.embeddings.position_embeddings[0, 0])
    assert torch.equal(
        ours["transformer.resblocks.1.attention.wq.weight"], hf.encoder.layer[1].attention.q_proj.weight
    )
    assert torch.equal(
        ours["transformer.resblocks.0.attention_scale"], hf.encoder.layer[0].layer_scale1.lambda1
    )
    VisionTransformer(cfg).load_state_dict(ours)


def test_streaming_and_errors():
    cfg = vision_preset("tiny-siglip")
    items = iter(
        [("vision_model.head.probe", torch.zeros(1)), ("embeddings.patch_embedding.bias", torch.ones(32))]
    )
    assert [k for k, _ in iter_hf_vision_to_ours(items, cfg)] == ["patch_embedding.bias"]
    with pytest.raises(UserError, match="unexpected key"):
        convert_hf_vision_tensor("encoder.layers.0.surprise.weight", torch.zeros(1), cfg)
    with pytest.raises(UserError, match="lacks"):
        hf_vision_state_dict_to_ours({"embeddings.patch_embedding.bias": torch.ones(32)}, cfg)
    with pytest.raises(UserError, match="prefix"):
        convert_vision_tensor_to_hf("other.weight", torch.zeros(1), cfg, prefix="image_vit.")
    with pytest.raises(UserError, match="no Hugging Face"):
        convert_vision_tensor_to_hf("pre_ln.weight", torch.zeros(1), cfg)
    with pytest.raises(UserError, match="family"):
        vision_config_from_hf({}, "vit")


def test_config_translation_matches_presets():
    clip = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                            num_attention_heads=16, image_size=336, patch_size=14, hidden_act="quick_gelu")  # fmt: skip
    cfg = vision_config_from_hf(clip.to_dict(), "clip", n_layers=23, feature_layers=[-2, -9])
    preset = vision_preset("clip-vit-l14-336")
    fields = [
        "d_model",
        "n_heads",
        "head_dim",
        "mlp_dim",
        "n_layers",
        "activation",
        "norm_eps",
        "n_positions",
    ]
    assert [getattr(cfg, f) for f in fields] == [getattr(preset, f) for f in fields]
    hf_kwargs = hf_vision_config(vision_preset("siglip-so400m-14-384"))
    assert hf_kwargs["model_type"] == "siglip_vision_model" and hf_kwargs["hidden_act"] == "gelu_pytorch_tanh"
    assert hf_kwargs["image_size"] == 378 and hf_kwargs["intermediate_size"] == 4304


def test_map_key_without_tensor():
    cfg = vision_preset("tiny-clip")  # 3 blocks
    assert map_hf_vision_key("vision_model.encoder.layers.2.mlp.fc1.bias", cfg) == (
        "transformer.resblocks.2.feed_forward.w1.bias",
        "copy",
    )
    assert map_hf_vision_key("vision_model.encoder.layers.3.mlp.fc1.bias", cfg) is None
    assert map_hf_vision_key("text_model.encoder.layers.0.mlp.fc1.bias", cfg) is None
    assert map_hf_vision_key("embeddings.patch_embedding.weight", cfg) == ("patch_embedding.weight", "patch")
