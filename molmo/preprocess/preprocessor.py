"""``Preprocessor``: (images + messages) -> example arrays -> ``Batch``; one path for train/eval/predict.

    pre = Preprocessor(PreprocessConfig(), tokenizer, seed=0)
    example = pre([image], [{"role": "user", "content": "What is this?"}], for_inference=True)
    batch = pre.collate([example])
    stats = pre.count_tokens([(640, 480)], messages)          # no pixels computed

An example is a dict of numpy arrays: ``input_ids``, ``labels``, ``loss_mask`` (T,); with images
``images`` (n_crops, P, D), ``image_input_idx`` (n_crops, K), ``image_masks`` (n_crops, P); packed
examples add ``position_ids`` and ``subsegment_ids``; ``metadata`` holds the image sizes (w, h).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError
from molmo.preprocess.batch import Batch
from molmo.preprocess.collate import collate
from molmo.preprocess.crops import image_crops
from molmo.preprocess.image_io import image_to_array
from molmo.preprocess.layout import ImageLayout, image_layout
from molmo.preprocess.prompts import format_messages
from molmo.preprocess.sequence import build_packed_sequence, build_sequence, finalize
from molmo.preprocess.tokenizer import MolmoTokenizer

ImageLike = Image.Image | np.ndarray
Messages = Sequence[dict[str, Any]]


@dataclass(frozen=True)
class TokenCount:
    """Token statistics of one sample (computed without pixels)."""

    total: int  # length of input_ids
    image_tokens: int
    text_tokens: int
    loss_tokens: int
    crops: int


def _rng(rng: np.random.Generator | int | None, default: np.random.Generator) -> np.random.Generator:
    if rng is None:
        return default
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Preprocessor:
    """Turns samples into model inputs with one :class:`PreprocessConfig` and one tokenizer.

    ``seed`` seeds the RNG used for style dropping / length noise / shuffling when a call passes no
    ``rng`` (data loaders should pass a per-sample seed for reproducibility across workers).
    """

    def __init__(self, config: PreprocessConfig, tokenizer: MolmoTokenizer, seed: int | None = None):
        self.config = config
        self.tokenizer = tokenizer
        self._rng = np.random.default_rng(seed)

    # ---- images ----
    def _images(self, images: Sequence[ImageLike]) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
        arrays = [image_to_array(image) for image in images]
        return arrays, [{"width": int(a.shape[1]), "height": int(a.shape[0])} for a in arrays]

    def _pixels(self, arrays: Sequence[np.ndarray]) -> tuple[list[ImageLayout], dict[str, np.ndarray]]:
        """Layouts + concatenated crops / masks of every image (global crop of each image first)."""
        processed = [image_crops(array, self.config) for array in arrays]
        layouts = [p.layout for p in processed]
        if not processed:
            return layouts, {}
        return layouts, {
            "images": np.concatenate([p.crops for p in processed]),
            "image_masks": np.concatenate([p.masks for p in processed]),
        }

    # ---- examples ----
    def __call__(
        self,
        images: Sequence[ImageLike],
        messages: Messages,
        style: str | None = None,
        for_inference: bool = False,
        rng: np.random.Generator | int | None = None,
    ) -> dict[str, Any]:
        """One conversation about ``images`` -> example arrays.

        For inference the prompt ends after " Assistant:" (a trailing answer is dropped) and no
        token is a target; otherwise assistant turns + EOS are targets and the example is cut to
        ``config.sequence_length``.
        """
        arrays, sizes = self._images(images)
        turns = format_messages(
            messages, style, self.config.prompt, for_inference=for_inference, rng=_rng(rng, self._rng)
        )
        layouts, pixels = self._pixels(arrays)
        seq = build_sequence(turns, layouts, self.tokenizer, self.config.prompt.multi_image_prefix)
        example = finalize(seq, layouts, for_inference=for_inference, max_length=self.config.sequence_length)
        example.update(pixels)
        example["metadata"] = {"image_sizes": [(s["width"], s["height"]) for s in sizes]}
        return example

    def multi_annotation(
        self,
        images: Sequence[ImageLike],
        conversations: Sequence[Messages],
        styles: Sequence[str | None] | str | None = None,
        rng: np.random.Generator | int | None = None,
        shuffle: bool = False,
    ) -> dict[str, Any]:
        """Several conversations about the same images packed into one training example."""
        rng = _rng(rng, self._rng)
        if styles is None or isinstance(styles, str):
            styles = [styles] * len(conversations)
        if len(styles) != len(conversations):
            raise UserError(f"{len(styles)} styles given for {len(conversations)} conversations")
        pairs = list(zip(conversations, styles))
        if shuffle:
            pairs = [pairs[i] for i in rng.permutation(len(pairs))]
        arrays, sizes = self._images(images)
        formatted = [format_messages(m, s, self.config.prompt, rng=rng) for m, s in pairs]
        layouts, pixels = self._pixels(arrays)
        seq = build_packed_sequence(formatted, layouts, self.tokenizer, self.config.prompt.multi_image_prefix)
        example = finalize(seq, layouts, for_inference=False, max_length=self.config.sequence_length)
        example.update(pixels)
        example["metadata"] = {"image_sizes": [(s["width"], s["height"]) for s in sizes]}
        return example

    def count_tokens(
        self,
        image_sizes: Sequence[tuple[int, int]],
        messages: Messages,
        style: str | None = None,
        for_inference: bool = False,
    ) -> TokenCount:
        """Token counts of a sample from its image sizes (width, height) only — no pixel work.

        Style randomness uses a fixed seed, so counts are deterministic (prefix length may differ
        by a token or two from a randomly styled training example). No truncation is applied.
        """
        turns = format_messages(
            messages, style, self.config.prompt, for_inference=for_inference, rng=np.random.default_rng(0)
        )
        layouts = [image_layout(h, w, self.config) for w, h in image_sizes]
        seq = build_sequence(turns, layouts, self.tokenizer, self.config.prompt.multi_image_prefix)
        example = finalize(seq, layouts, for_inference=for_inference)
        total = len(example["input_ids"])
        image_tokens = sum(layout.n_tokens for layout in layouts)
        return TokenCount(
            total=total,
            image_tokens=image_tokens,
            text_tokens=total - image_tokens,
            loss_tokens=int((example["loss_mask"] > 0).sum()),
            crops=sum(layout.n_crops for layout in layouts),
        )

    # ---- batches ----
    @property
    def crop_shape(self) -> tuple[int, int, int]:
        """(patches per crop, patch_dim, tokens per crop) — the trailing dims of the image fields."""
        return self.config.patches_per_crop, self.config.patch_dim, self.config.tokens_per_crop

    def collate(
        self,
        examples: Sequence[dict[str, Any]],
        pad_to_length: int | None = None,
        pad_crops_to: int | None = None,
        padding_side: str = "right",
    ) -> Batch:
        """Pad examples into a :class:`Batch` (see :func:`molmo.preprocess.collate.collate`)."""
        return collate(
            examples,
            pad_to_length=pad_to_length,
            pad_crops_to=pad_crops_to,
            padding_side=padding_side,
            crop_shape=self.crop_shape,
        )

    def decode(self, ids: Sequence[int]) -> str:
        """Text of generated ids (special tokens and padding skipped)."""
        return self.tokenizer.decode(ids)
