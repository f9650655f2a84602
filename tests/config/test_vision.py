"""VisionConfig and the vision preset registry (numbers from molmo-facts §1.1)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from molmo.config.vision import VISION_PRESETS, VisionConfig, list_vision_presets, vision_preset
from molmo.errors import UserError


def test_released_clip_preset_numbers():
    cfg = vision_preset("clip-vit-l14-336")
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.head_dim, cfg.mlp_dim) == (23, 1024, 16, 64, 4096)
    assert (cfg.grid, cfg.n_patches, cfg.n_positions, cfg.patch_dim) == (24, 576, 577, 588)
    assert cfg.activation == "quick_gelu" and cfg.cls_token and cfg.pre_ln and not cfg.patch_bias
    assert cfg.block_indices == [21, 14] and cfg.feature_dim == 2048
    assert cfg.n_built_layers == 23
    assert cfg.model_copy(update={"skip_unused_layers": True}).n_built_layers == 22


@pytest.mark.parametrize(
    ("name", "grid", "positions", "layers", "act"),
    [
        ("siglip-so400m-14-384", 27, 729, 27, "gelu_tanh"),
        ("dinov2-large-336", 24, 577, 24, "gelu"),
        ("metaclip-l14-336", 24, 577, 24, "quick_gelu"),
    ],
)
def test_other_presets(name, grid, positions, layers, act):
    cfg = vision_preset(name)
    assert (cfg.grid, cfg.n_positions, cfg.n_layers, cfg.activation) == (grid, positions, layers, act)


def test_siglip_and_dinov2_flags():
    siglip, dino = vision_preset("siglip-so400m-14-384"), vision_preset("dinov2-large-336")
    assert (siglip.cls_token, siglip.pre_ln, siglip.patch_bias, siglip.d_model, siglip.image_size) == (
        False,
        False,
        True,
        1152,
        378,
    )
    assert (dino.cls_token, dino.pre_ln, dino.patch_bias, dino.layer_scale) == (True, False, True, True)


def test_every_preset_validates_and_round_trips():
    assert list_vision_presets() == sorted(VISION_PRESETS)
    assert {"tiny-clip", "tiny-siglip", "tiny-dinov2"} <= set(VISION_PRESETS)
    for name in list_vision_presets():
        cfg = vision_preset(name)
        assert VisionConfig.model_validate(cfg.model_dump()) == cfg


def test_preset_with_overrides_and_assignment():
    cfg = VisionConfig(preset="clip-vit-l14-336", skip_unused_layers=True, feature_layers=[-1])
    assert cfg.skip_unused_layers and cfg.feature_layers == [-1] and cfg.n_layers == 23
    cfg.n_layers = 24  # validate_assignment must not re-apply the preset over explicit values
    assert cfg.n_layers == 24 and cfg.block_indices == [23]


def test_unknown_preset_and_bad_values():
    with pytest.raises(UserError, match="unknown vision preset"):
        vision_preset("nope")
    with pytest.raises(ValidationError, match="unknown vision preset"):
        VisionConfig(preset="nope")
    with pytest.raises(ValidationError, match="out of range"):
        vision_preset("tiny-clip", feature_layers=[-4])
    with pytest.raises(ValidationError, match="multiple of patch_size"):
        vision_preset("tiny-clip", image_size=50)
    with pytest.raises(ValidationError):
        VisionConfig(unknown_field=1)
