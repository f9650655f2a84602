"""Inference on images: one image + prompt, or a resumable batch over a folder / glob / JSONL file.

    predictor = Predictor.load("ckpts/molmo-7b-d", device="cuda")        # or Predictor.load() = demo model
    pred = predictor.predict("cat.jpg", "Point to the cat.")
    pred.answer, pred.points, pred.count, pred.timings

Points in answers are parsed (Molmo's percent coordinates) and also given in pixels of the input
image. ``predict_batch`` appends one JSON row per item to the output file as it goes, skips ids that
are already there, and records per-item errors instead of aborting.
"""

from __future__ import annotations

import glob as globlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw

from molmo.config.generation import GenerationConfig
from molmo.errors import UserError
from molmo.preprocess.image_io import load_image
from molmo.preprocess.points import parse_count, parse_points
from molmo.preprocess.preprocessor import Preprocessor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


@dataclass
class Prediction:
    """The answer to one prompt about one image."""

    answer: str
    points: list[dict[str, Any]]
    count: int | None
    tokens: int
    finish_reason: str
    timings: dict[str, float] = field(default_factory=dict)
    image_size: tuple[int, int] = (0, 0)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["image_size"] = list(self.image_size)
        return out


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is a user error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise UserError(f"unknown device {device!r} (auto, cpu, cuda, cuda:N)")
    return torch.device(device)


def check_image_path(path: str | os.PathLike) -> Path:
    """A readable image file path, or a one-line UserError (missing, directory, unsupported type)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"image not found: {p}")
    if p.is_dir():
        raise UserError(f"expected an image file, got a directory: {p} (use --input DIR for a folder)")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise UserError(f"unsupported file type {p.suffix or '(none)'}: {p} (images: {', '.join(IMAGE_SUFFIXES)})")
    return p


class Predictor:
    """A loaded model with its tokenizer and preprocessing, ready to answer prompts."""

    def __init__(self, model, device: torch.device, autocast_dtype: torch.dtype | None = None):
        if model.tokenizer is None or model.preprocess_config is None:
            raise UserError("the checkpoint has no tokenizer.json or preprocessing settings; cannot run inference")
        self.model = model
        self.device = device
        self.autocast_dtype = autocast_dtype
        self.preprocessor = Preprocessor(model.preprocess_config, model.tokenizer, seed=0)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device: str = "auto", dtype: str | None = None) -> Predictor:
        """Load a native checkpoint (default: the bundled demo model). ``dtype``: weights dtype
        (fp32/bf16/fp16); on CPU fp32 weights run under bf16 autocast when ``dtype="bf16-autocast"``."""
        from molmo.api import load
        from molmo.demo import default_model_path

        dev = resolve_device(device)
        autocast = None
        weights = dtype
        if dtype == "bf16-autocast":
            autocast, weights = torch.bfloat16, None
        model = load(path if path is not None else default_model_path(), device=dev, dtype=weights)
        return cls(model, dev, autocast)

    def _generate(self, examples: list[dict[str, Any]], gen: GenerationConfig, stream=None):
        batch = self.preprocessor.collate(examples).to(self.device)
        enabled = self.autocast_dtype is not None
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.bfloat16, enabled=enabled):
            return self.model.generate(
                batch.input_ids, images=batch.images, image_input_idx=batch.image_input_idx,
                image_masks=batch.image_masks, attention_mask=batch.attention_mask, config=gen, stream=stream,
            )  # fmt: skip

    def _to_prediction(self, text: str, tokens: list[int], reason: str, size: tuple[int, int],
                       timings: dict[str, float]) -> Prediction:
        parsed = parse_points(text, image_size=size)
        points = [
            {"label": p.label, "x": round(p.x_px, 1), "y": round(p.y_px, 1), "x_pct": round(p.x, 2), "y_pct": round(p.y, 2)}
            for p in parsed.points
        ]
        count = None
        if "total of" in text or text.strip().lower().startswith("there are none"):  # counting answers only
            count = parse_count(text)
        return Prediction(text.strip(), points, count, len(tokens), reason, timings, size)

    def predict(self, image: str | os.PathLike | Image.Image, prompt: str, gen: GenerationConfig | None = None,
                on_token: Callable[[str], None] | None = None) -> Prediction:
        """Answer ``prompt`` about ``image``; ``on_token(text_delta)`` streams the answer as it is generated."""
        if not prompt or not prompt.strip():
            raise UserError("the prompt is empty")
        gen = gen or GenerationConfig()
        t0 = time.perf_counter()
        pil = image if isinstance(image, Image.Image) else load_image(check_image_path(image))
        example = self.preprocessor([pil], [{"role": "user", "content": prompt}], for_inference=True)
        t1 = time.perf_counter()
        generated: list[int] = []
        first_token_at: list[float] = []
        shown = [""]

        def stream(row: int, token: int) -> None:
            if not first_token_at:
                first_token_at.append(time.perf_counter())
            generated.append(token)
            if on_token is not None:
                text = self.model.tokenizer.decode(generated)
                if text.startswith(shown[0]) and len(text) > len(shown[0]):
                    on_token(text[len(shown[0]):])
                    shown[0] = text

        result = self._generate([example], gen, stream)
        t2 = time.perf_counter()
        prefill = (first_token_at[0] if first_token_at else t2) - t1
        decode_s = t2 - (first_token_at[0] if first_token_at else t2)
        n = len(result.token_ids[0])
        timings = {
            "preprocess_ms": round((t1 - t0) * 1000, 2),
            "prefill_ms": round(prefill * 1000, 2),
            "decode_tokens_per_s": round((n - 1) / decode_s, 2) if n > 1 and decode_s > 0 else 0.0,
        }
        return self._to_prediction(result.texts[0], result.token_ids[0], result.finish_reasons[0], pil.size, timings)

    def predict_many(self, items: list[tuple[Image.Image, str]], gen: GenerationConfig) -> list[Prediction]:
        """Batched generation for several (image, prompt) pairs."""
        examples = [self.preprocessor([im], [{"role": "user", "content": p}], for_inference=True) for im, p in items]
        t0 = time.perf_counter()
        result = self._generate(examples, gen)
        ms = round((time.perf_counter() - t0) * 1000, 2)
        return [
            self._to_prediction(text, toks, reason, im.size, {"batch_ms": ms})
            for (im, _), text, toks, reason in zip(items, result.texts, result.token_ids, result.finish_reasons)
        ]


# ----------------------------------------------------------------------------------------------
# Batch mode
# ----------------------------------------------------------------------------------------------


def iter_inputs(source: str, prompt: str | None) -> Iterator[dict[str, Any]]:
    """Items ``{"id", "image", "prompt"}`` from a directory, a glob, or a JSONL file."""
    path = Path(source)
    if path.is_file() and path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise UserError(f"{path}:{n}: invalid JSON ({e.msg})") from None
                if "image" not in row:
                    raise UserError(f"{path}:{n}: row has no 'image'")
                image = Path(row["image"]) if Path(row["image"]).is_absolute() else path.parent / row["image"]
                row_prompt = row.get("prompt", prompt)
                if not row_prompt:
                    raise UserError(f"{path}:{n}: row has no 'prompt' and no PROMPT argument was given")
                yield {"id": str(row.get("id", image.stem)), "image": str(image), "prompt": row_prompt}
        return
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    elif any(ch in source for ch in "*?["):
        files = sorted(Path(p) for p in globlib.glob(source, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    else:
        raise UserError(f"--input must be a directory, a glob or a .jsonl file: {source}")
    if not prompt:
        raise UserError("a PROMPT is required with --input DIR or GLOB")
    for f in files:
        yield {"id": f.stem if path.is_dir() else str(f), "image": str(f), "prompt": prompt}


def done_ids(output: Path) -> set[str]:
    """Ids already present in an output JSONL file (a torn last line is ignored)."""
    ids: set[str] = set()
    if output.is_file():
        for line in output.read_text(encoding="utf-8").splitlines():
            try:
                ids.add(str(json.loads(line)["id"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return ids


def predict_batch(predictor: Predictor, source: str, prompt: str | None, output: Path, gen: GenerationConfig,
                  batch_size: int = 8, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Predict every input not yet in ``output``; returns counts (done, skipped, failed)."""
    items = list(iter_inputs(source, prompt))
    seen = done_ids(output)
    todo = [it for it in items if it["id"] not in seen]
    output.parent.mkdir(parents=True, exist_ok=True)
    counts = {"total": len(items), "skipped": len(items) - len(todo), "done": 0, "failed": 0}
    with output.open("a", encoding="utf-8") as out:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            ready, rows = [], []
            for it in chunk:
                try:
                    ready.append((it, load_image(check_image_path(it["image"]))))
                except UserError as e:
                    rows.append({**it, "error": str(e)})
            if ready:
                preds = predictor.predict_many([(im, it["prompt"]) for it, im in ready], gen)
                rows += [{**it, **p.to_json()} for (it, _), p in zip(ready, preds)]
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                counts["failed" if "error" in row else "done"] += 1
            out.flush()
            os.fsync(out.fileno())
            if progress is not None:
                progress(len(chunk))
    return counts


# ----------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------


def draw_points(image: Image.Image, points: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Save a copy of ``image`` with numbered markers and labels at ``points`` (pixel coordinates)."""
    canvas = image.convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    r = max(3, round(min(canvas.size) / 60))
    for i, p in enumerate(points, start=1):
        x, y = p["x"], p["y"]
        draw.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), fill=(255, 255, 255))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(230, 20, 60))
        draw.text((x + r + 2, y - r - 2), f"{i} {p.get('label') or ''}".strip(), fill=(230, 20, 60))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    canvas.save(tmp)
    os.replace(tmp, path)
    return path
