"""Batched greedy generation for eval items: load the model, preprocess, generate, decode.

One :class:`EvalModel` per run holds the model, its tokenizer and one ``Preprocessor`` per crop
budget (a task's ``max_crops`` overrides the checkpoint's preprocessing setting; everything else —
resize, normalisation, prompt format — stays the checkpoint's). Prompts of a batch are left-padded
and generated together; images are encoded once in the prefill.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from molmo.config.generation import GenerationConfig
from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError
from molmo.eval.tasks.base import EvalItem, TaskSettings
from molmo.preprocess.image_io import load_image
from molmo.preprocess.preprocessor import Preprocessor


def resolve_device(preference: str = "auto", local_rank: int | None = None) -> torch.device:
    """``auto`` -> cuda (this rank's GPU under torchrun) when available, else cpu."""
    if preference not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda, not {preference!r}")
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available")
    rank = int(os.environ.get("LOCAL_RANK", "0")) if local_rank is None else local_rank
    return torch.device("cuda", rank % torch.cuda.device_count())


@dataclass
class Generated:
    """The answer to one item: decoded text and the original image sizes (w, h)."""

    text: str
    image_sizes: list[list[int]]


class EvalModel:
    """A loaded model ready for eval generation. ``forward_batches`` counts generate calls."""

    def __init__(self, model: Any, device: torch.device, name: str):
        tokenizer = getattr(model, "tokenizer", None)
        preprocess = getattr(model, "preprocess_config", None)
        if tokenizer is None or preprocess is None:
            raise UserError(f"{name}: the checkpoint has no tokenizer.json / preprocessing settings to evaluate with")
        self.model = model.to(device).eval()
        self.device, self.name = device, name
        self.tokenizer = tokenizer
        self.preprocess: PreprocessConfig = preprocess
        self._preprocessors: dict[int | None, Preprocessor] = {}
        self.forward_batches = 0

    @classmethod
    def load(cls, path: str, device: torch.device) -> EvalModel:
        import molmo

        return cls(molmo.load(path, device=device), device, str(path))

    def preprocessor(self, max_crops: int | None) -> Preprocessor:
        if max_crops not in self._preprocessors:
            config = self.preprocess if max_crops is None else self.preprocess.model_copy(update={"max_crops": max_crops})
            self._preprocessors[max_crops] = Preprocessor(config, self.tokenizer, seed=0)
        return self._preprocessors[max_crops]

    def load_images(self, item: EvalItem) -> list[Any]:
        """The item's images as RGB PIL images (``UserError`` naming the file when one is unreadable)."""
        return [load_image(src, max_pixels=self.preprocess.max_image_pixels, name=f"{item.id} image {i}")
                for i, src in enumerate(item.images)]

    def generate(self, items: Sequence[EvalItem], images: Sequence[list[Any]], settings: TaskSettings) -> list[Generated]:
        """Greedy answers to ``items`` (with their decoded ``images``), in order."""
        pre = self.preprocessor(settings.max_crops)
        examples = [
            pre(imgs, [{"role": "user", "content": item.prompt}], style=item.style, for_inference=True)
            for item, imgs in zip(items, images)
        ]
        batch = pre.collate(examples, padding_side="left").to(self.device)
        eos = self.tokenizer.eos_id
        config = GenerationConfig(max_new_tokens=settings.max_new_tokens, temperature=0.0, stop_token_ids=[eos])
        prefill = {"images": batch.images, "image_input_idx": batch.image_input_idx, "image_masks": batch.image_masks}
        self.forward_batches += 1
        with torch.inference_mode():
            if hasattr(self.model, "generate"):
                result = self.model.generate(batch.input_ids, attention_mask=batch.attention_mask, config=config,
                                             decode=self.tokenizer.decode, **prefill)
            else:  # a model without the convenience method: the plain generation loop
                from molmo.generate import generate

                result = generate(self.model, batch.input_ids, config, attention_mask=batch.attention_mask,
                                  decode=self.tokenizer.decode, **prefill)
        texts = result.texts or [self.tokenizer.decode(t) for t in result.token_ids]
        sizes = [[list(s) for s in ex["metadata"]["image_sizes"]] for ex in examples]
        return [Generated(text, size) for text, size in zip(texts, sizes)]
