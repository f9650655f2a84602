"""Preprocessing configuration: crops, resize/normalisation modes, prompt format, tokenizer ids.

Everything that turns (images + messages) into Batch tensors is driven by :class:`PreprocessConfig`
(molmo-facts §3, §6). Defaults reproduce the released Molmo 0924 models except the legacy
image-mask shift, which converters of released checkpoints switch on (``legacy_image_mask``).

Variants are data, not branches: the resize mode is a discriminated union on ``kind``
(``aspect_pad`` = Molmo's aspect-preserving resize + centre pad; ``stretch`` = plain resize to the
target size, no pad) and the per-encoder choices live in :data:`RESIZE_PRESETS` /
:data:`NORMALIZE_PRESETS`, keyed like ``VisionConfig.resize_mode``::

    PreprocessConfig()                                   # Molmo-7B-D, 12 crops
    PreprocessConfig(max_crops=36)                       # high-res eval
    preprocess_for_vision(vision_preset("siglip-so400m-14-384"), overlap_margins=(4, 5))

This module must import without torch.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from molmo.config.base import StrictModel
from molmo.config.vision import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, SIGLIP_MEAN, SIGLIP_STD

Interpolation = Literal["bilinear", "bicubic"]

#: Styles whose prefix is usually dropped in fine-tuning (``demo_or_style``, molmo-facts §6.2).
DEMO_STYLES = ("point_count", "pointing", "user_qa", "long_caption")
#: Eval-only styles mapped onto trained styles before formatting.
EVAL_STYLE_MAP = {"eval_short_answer": "vqa2", "eval_multiple_choice": "a_okvqa_mc"}


class AspectPadResize(StrictModel):
    """Molmo's resize: keep the aspect ratio, fit inside the target, centre-pad with 0 (real-pixel mask kept)."""

    kind: Literal["aspect_pad"] = Field("aspect_pad", description="Resize mode discriminator.")
    interpolation: Interpolation = Field("bilinear", description="Interpolation used by torch F.interpolate.")
    antialias: bool = Field(True, description="Antialias when downscaling (Molmo: True).")


class StretchResize(StrictModel):
    """Plain resize to the target size (aspect not kept, no padding): SigLIP, DINOv2, MetaCLIP."""

    kind: Literal["stretch"] = Field("stretch", description="Resize mode discriminator.")
    interpolation: Interpolation = Field("bilinear", description="Interpolation used by torch F.interpolate.")
    antialias: bool = Field(False, description="Antialias when downscaling.")


ResizeConfig = Annotated[AspectPadResize | StretchResize, Field(discriminator="kind")]


class NormalizeConfig(StrictModel):
    """Per-channel normalisation applied to [0, 1] pixels: (x - mean) / std."""

    mean: tuple[float, float, float] = Field(CLIP_MEAN, description="Per-channel mean (RGB).")
    std: tuple[float, float, float] = Field(CLIP_STD, description="Per-channel standard deviation (RGB).")

    @model_validator(mode="after")
    def _positive_std(self) -> NormalizeConfig:
        if min(self.std) <= 0:
            raise ValueError(f"normalisation std must be positive, got {self.std}")
        return self


#: ``VisionConfig.resize_mode`` -> resize variant (molmo-facts §3.2).
RESIZE_PRESETS: dict[str, dict[str, Any]] = {
    "molmo": {"kind": "aspect_pad", "interpolation": "bilinear", "antialias": True},
    "siglip": {"kind": "stretch", "interpolation": "bilinear", "antialias": False},
    "dino": {"kind": "stretch", "interpolation": "bicubic", "antialias": True},
    "metaclip": {"kind": "stretch", "interpolation": "bicubic", "antialias": True},
}
#: ``VisionConfig.resize_mode`` -> normalisation (OpenAI CLIP, [-1, 1], ImageNet).
NORMALIZE_PRESETS: dict[str, dict[str, Any]] = {
    "molmo": {"mean": CLIP_MEAN, "std": CLIP_STD},
    "siglip": {"mean": SIGLIP_MEAN, "std": SIGLIP_STD},
    "dino": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD},
    "metaclip": {"mean": CLIP_MEAN, "std": CLIP_STD},
}


class PromptConfig(StrictModel):
    """How messages become text: role format, leading spaces, style prefixes (molmo-facts §6)."""

    message_format: Literal["role", "none"] = Field(
        "role",
        description="'role': ' User: {q} Assistant:' / ' {answer}'; 'none': raw message text (stage-1 captions).",
    )
    always_start_with_space: bool = Field(True, description="Prefix the first message with a space too.")
    style_mode: Literal["none", "style", "demo_or_style", "style_and_length"] = Field(
        "demo_or_style",
        description="Style prefix policy: none, always '{style}:', drop demo styles, or '{style} {length}:'.",
    )
    demo_styles: list[str] = Field(
        default_factory=lambda: list(DEMO_STYLES),
        description="Styles whose prefix demo_or_style usually drops.",
    )
    demo_style_keep_prob: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Training probability of keeping a demo-style prefix (never kept at inference).",
    )
    eval_style_map: dict[str, str] = Field(
        default_factory=lambda: dict(EVAL_STYLE_MAP), description="Eval-only style -> trained style."
    )
    default_inference_length: int = Field(
        65, ge=0, description="Length hint n of the '{style} {n}:' prefix at inference (style_and_length)."
    )
    length_noise_std: float = Field(
        25.0, ge=0, description="Std of the noise added to answer length in training."
    )
    length_drop_prob: float = Field(
        0.1, ge=0, le=1, description="Training probability of the length-free '{style} :' prefix."
    )
    multi_image_prefix: bool = Field(
        True, description="Precede each image by 'Image k' when a sample has several."
    )


class PreprocessConfig(StrictModel):
    """Image crops, token layout and text format shared by train, eval and predict."""

    crop_mode: Literal["overlap-and-resize-c2", "resize"] = Field(
        "overlap-and-resize-c2",
        description="Global low-res crop + overlapping high-res tiles, or one resized crop only.",
    )
    max_crops: int = Field(12, ge=1, description="Maximum high-res tiles (12 default, 36 for high-res eval).")
    overlap_margins: tuple[int, int] = Field(
        (4, 4),
        description="Patches each tile shares with its neighbours on the (left/top, right/bottom) side.",
    )
    base_image_size: tuple[int, int] = Field((336, 336), description="Crop height, width in pixels.")
    patch_size: int = Field(14, gt=0, description="ViT patch side in pixels.")
    pooling: tuple[int, int] = Field(
        (2, 2), description="Connector pooling window (rows, cols); odd grids are padded at bottom/right."
    )
    resize: ResizeConfig = Field(default_factory=AspectPadResize, description="Resize variant.")
    normalize: NormalizeConfig = Field(default_factory=NormalizeConfig, description="Pixel normalisation.")
    use_col_tokens: bool = Field(True, description="End every row of image tokens with <im_col>.")
    legacy_image_mask: bool = Field(
        False,
        description="Reproduce the 0924 off-by-one image_masks (crop masks shifted, last crop -1); on for released weights.",
    )
    sequence_length: int | None = Field(
        None,
        gt=0,
        description="Training examples longer than this are truncated on the right (None: no limit).",
    )
    max_image_pixels: int = Field(
        100_000_000, gt=0, description="Decompression-bomb guard: larger images are rejected when loaded."
    )
    prompt: PromptConfig = Field(default_factory=PromptConfig, description="Message / style formatting.")

    @model_validator(mode="after")
    def _check_geometry(self) -> PreprocessConfig:
        ch, cw = self.base_image_size
        if min(self.pooling) < 1 or min(self.base_image_size) < 1:
            raise ValueError(
                f"pooling {self.pooling} and base_image_size {self.base_image_size} must be positive"
            )
        if ch % self.patch_size or cw % self.patch_size:
            raise ValueError(
                f"base_image_size {self.base_image_size} is not a multiple of patch_size {self.patch_size}"
            )
        if self.crop_mode == "overlap-and-resize-c2":
            left, right = self.overlap_margins
            ph, pw = self.pooling
            for side, patches, pool in (
                ("rows", ch // self.patch_size, ph),
                ("cols", cw // self.patch_size, pw),
            ):
                window = patches - left - right
                if left < 0 or right < 0 or window <= 0:
                    raise ValueError(f"overlap_margins {self.overlap_margins} leave no crop window ({side})")
                if left % pool or window % pool:
                    raise ValueError(
                        f"overlap_margins {self.overlap_margins}: the left margin ({left}) and window ({window}) "
                        f"must be multiples of the pooling size {pool} so tiles stitch on pooled cells"
                    )
        return self

    # ---- derived sizes ----
    @property
    def crop_patches(self) -> tuple[int, int]:
        """Patch grid of one crop (24x24 for CLIP-336, 27x27 for SigLIP-378)."""
        return self.base_image_size[0] // self.patch_size, self.base_image_size[1] // self.patch_size

    @property
    def pooled_grid(self) -> tuple[int, int]:
        """Pooled tokens per crop side, ceil(patches / pool) (12x12, or 14x14 for 27 patches)."""
        (gh, gw), (ph, pw) = self.crop_patches, self.pooling
        return -(-gh // ph), -(-gw // pw)

    @property
    def tokens_per_crop(self) -> int:
        """Pooled features per crop: the last dim of ``image_input_idx`` (144 for CLIP-336)."""
        rows, cols = self.pooled_grid
        return rows * cols

    @property
    def patches_per_crop(self) -> int:
        """Patches per crop (576 for CLIP-336)."""
        return self.crop_patches[0] * self.crop_patches[1]

    @property
    def patch_dim(self) -> int:
        """Values per flattened RGB patch (588 for 14x14)."""
        return self.patch_size * self.patch_size * 3

    @property
    def max_total_crops(self) -> int:
        """Most crops one image produces (global + tiles)."""
        return self.max_crops + 1 if self.crop_mode == "overlap-and-resize-c2" else 1


class TokenizerConfig(StrictModel):
    """How the base LLM tokenizer is extended with Molmo's special tokens (molmo-facts §3.1)."""

    pad_to: int | None = Field(
        None,
        gt=0,
        description="Pad the vocab with |<EXTRA_TOKENS_i>| up to this size; image tokens get ids pad_to+0..4.",
    )
    eos_token: str = Field(
        "<|endoftext|>", description="End-of-sequence token string (must exist in the tokenizer)."
    )
    bos_token: str | None = Field(
        None, description="Beginning-of-sequence token; None = use EOS as BOS (Qwen/OLMo)."
    )
    pad_token: str | None = Field(None, description="Padding token for generation outputs; None = EOS.")


class SpecialTokenIds(StrictModel):
    """The special token ids a model depends on; stored in the model config and checked on load."""

    bos: int = Field(..., ge=0, description="Beginning-of-sequence id (EOS for Qwen/OLMo tokenizers).")
    eos: int = Field(..., ge=0, description="End-of-sequence id.")
    pad: int = Field(..., ge=0, description="Padding id used when decoding generated sequences.")
    image_start: int = Field(..., ge=0, description="Id of <im_start>.")
    image_end: int = Field(..., ge=0, description="Id of <im_end>.")
    image_patch: int = Field(
        ..., ge=0, description="Id of <im_patch> (image features are added at these positions)."
    )
    image_col: int = Field(..., ge=0, description="Id of <im_col> (ends every row of image tokens).")
    image_prompt: int = Field(
        ..., ge=0, description="Id of <|image|> (marks where an image goes in the text)."
    )


def preprocess_for_vision(vision: Any, **overrides: Any) -> PreprocessConfig:
    """A PreprocessConfig matching a ``VisionConfig`` (crop size, patch, resize mode, mean/std).

    ``overrides`` replace single fields, e.g. ``max_crops=36`` or ``overlap_margins=(4, 5)``
    (a 27-patch SigLIP crop needs an even window, so (4, 5) rather than the default (4, 4)).
    """
    values: dict[str, Any] = {
        "base_image_size": (vision.image_size, vision.image_size),
        "patch_size": vision.patch_size,
        "resize": RESIZE_PRESETS[vision.resize_mode],
        "normalize": {"mean": vision.image_mean, "std": vision.image_std},
    }
    values.update(overrides)
    return PreprocessConfig(**values)
