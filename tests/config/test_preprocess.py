"""PreprocessConfig / TokenizerConfig / SpecialTokenIds: defaults, derived sizes, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from molmo.config.preprocess import (
    AspectPadResize,
    PreprocessConfig,
    SpecialTokenIds,
    StretchResize,
    TokenizerConfig,
    preprocess_for_vision,
)
from molmo.config.vision import CLIP_MEAN, IMAGENET_STD, vision_preset


def test_defaults_match_released_molmo():
    cfg = PreprocessConfig()
    assert cfg.crop_mode == "overlap-and-resize-c2"
    assert (cfg.max_crops, cfg.overlap_margins, cfg.base_image_size, cfg.patch_size) == (
        12,
        (4, 4),
        (336, 336),
        14,
    )
    assert cfg.crop_patches == (24, 24) and cfg.pooled_grid == (12, 12)
    assert (cfg.tokens_per_crop, cfg.patches_per_crop, cfg.patch_dim) == (144, 576, 588)
    assert cfg.max_total_crops == 13
    assert isinstance(cfg.resize, AspectPadResize) and cfg.resize.antialias
    assert cfg.normalize.mean == CLIP_MEAN
    assert cfg.prompt.message_format == "role" and cfg.prompt.style_mode == "demo_or_style"
    assert cfg.prompt.eval_style_map["eval_short_answer"] == "vqa2"
    assert cfg.prompt.eval_style_map["eval_multiple_choice"] == "a_okvqa_mc"


def test_resize_union_from_dict_and_round_trip():
    cfg = PreprocessConfig(resize={"kind": "stretch", "interpolation": "bicubic", "antialias": True})
    assert isinstance(cfg.resize, StretchResize) and cfg.resize.interpolation == "bicubic"
    again = PreprocessConfig.model_validate(cfg.model_dump())
    assert again == cfg
    with pytest.raises(ValidationError):
        PreprocessConfig(resize={"kind": "crop"})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"overlap_margins": (4, 5)},  # window 15 is odd for 24 patches
        {"overlap_margins": (3, 3)},  # odd left margin
        {"overlap_margins": (12, 12)},  # no window left
        {"base_image_size": (330, 336)},  # not a multiple of the patch
        {"max_crops": 0},
        {"unknown_key": 1},
        {"normalize": {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.0, 0.5)}},
    ],
)
def test_invalid_configs_rejected(kwargs):
    with pytest.raises(ValidationError):
        PreprocessConfig(**kwargs)


def test_resize_mode_ignores_margins():
    cfg = PreprocessConfig(crop_mode="resize", overlap_margins=(3, 3))
    assert cfg.max_total_crops == 1


def test_for_vision_presets():
    siglip = preprocess_for_vision(vision_preset("siglip-so400m-14-384"), overlap_margins=(4, 5))
    assert siglip.base_image_size == (378, 378) and siglip.crop_patches == (27, 27)
    assert siglip.pooled_grid == (14, 14) and siglip.tokens_per_crop == 196
    assert siglip.resize.kind == "stretch" and not siglip.resize.antialias
    assert siglip.normalize.mean == (0.5, 0.5, 0.5)
    with pytest.raises(ValidationError):  # 27 - 8 = 19: odd window
        preprocess_for_vision(vision_preset("siglip-so400m-14-384"))
    dino = preprocess_for_vision(vision_preset("dinov2-large-336"))
    assert (
        dino.resize.interpolation == "bicubic"
        and dino.resize.antialias
        and dino.normalize.std == IMAGENET_STD
    )
    meta = preprocess_for_vision(vision_preset("metaclip-l14-336"))
    assert meta.resize.kind == "stretch" and meta.normalize.mean == CLIP_MEAN
    tiny = preprocess_for_vision(vision_preset("tiny-clip"), overlap_margins=(0, 0), max_crops=4)
    assert tiny.crop_patches == (4, 4) and tiny.tokens_per_crop == 4


def test_tokenizer_config_and_special_ids():
    assert TokenizerConfig().bos_token is None and TokenizerConfig().eos_token == "<|endoftext|>"
    with pytest.raises(ValidationError):
        TokenizerConfig(pad_to=0)
    ids = SpecialTokenIds(
        bos=0, eos=0, pad=0, image_start=5, image_end=6, image_patch=7, image_col=8, image_prompt=9
    )
    assert SpecialTokenIds.model_validate_json(ids.model_dump_json()) == ids
    with pytest.raises(ValidationError):
        SpecialTokenIds(
            bos=-1, eos=0, pad=0, image_start=5, image_end=6, image_patch=7, image_col=8, image_prompt=9
        )
