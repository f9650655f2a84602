"""``stats``: what is inside a shard set — tasks, styles, image sizes, text and token lengths.

Images are only opened for their header (size), never decoded. Token lengths:

- image tokens per sample come from ``molmo.preprocess`` (the multi-crop layout for the image
  sizes under a :class:`~molmo.config.preprocess.PreprocessConfig`, default Molmo's 12 crops);
- with a tokenizer (``tokenizer.json`` or a directory holding one) the full sequence length is
  counted by ``Preprocessor.count_tokens`` (prompt format + image tokens + text).

Samples over ``max_length`` (default with a tokenizer: the config's ``sequence_length``) are counted
and listed; without a tokenizer the check uses the image tokens alone (a lower bound).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from molmo.data.sample import image_fields
from molmo.data.shards import ShardError, iter_tar, resolve_shards
from molmo.errors import MolmoError, UserError

MAX_LISTED_LONG = 50


def summarize(values: Sequence[float]) -> dict[str, float]:
    """min / mean / p50 / p90 / p99 / max of ``values`` (empty dict when there are none)."""
    if not values:
        return {}
    a = np.asarray(values, dtype=np.float64)
    q = np.percentile(a, [50, 90, 99])
    out = {"min": a.min(), "mean": a.mean(), "p50": q[0], "p90": q[1], "p99": q[2], "max": a.max()}
    return {k: round(float(v), 2) for k, v in out.items()}


def histogram(values: Sequence[int]) -> dict[str, int]:
    """Counts per power-of-two bucket (``"<=64"``, ``"<=128"``…)."""
    out: Counter[str] = Counter()
    for v in values:
        edge = 16
        while edge < v:
            edge *= 2
        out[f"<={edge}"] += 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0][2:])))


@dataclass
class StatsReport:
    """The statistics of a shard set (``to_json`` is what ``molmo data stats --json`` prints)."""

    path: str
    samples: int = 0
    shards: int = 0
    by_task: dict[str, int] = field(default_factory=dict)
    by_style: dict[str, int] = field(default_factory=dict)
    images_per_sample: dict[str, int] = field(default_factory=dict)
    videos: int = 0
    image_width: dict[str, float] = field(default_factory=dict)
    image_height: dict[str, float] = field(default_factory=dict)
    aspect_ratio: dict[str, float] = field(default_factory=dict)
    question_chars: dict[str, float] = field(default_factory=dict)
    answer_chars: dict[str, float] = field(default_factory=dict)
    image_tokens: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    token_histogram: dict[str, int] = field(default_factory=dict)
    max_length: int | None = None
    over_max_length: int = 0
    over_max_keys: list[str] = field(default_factory=list)
    unreadable: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _TokenCounter:
    """Wraps ``molmo.preprocess`` for token counts (tokenizer optional)."""

    def __init__(self, tokenizer: str | Path | None, preprocess: Any) -> None:
        from molmo.config.preprocess import PreprocessConfig

        self.config = preprocess if preprocess is not None else PreprocessConfig()
        self.pre = None
        try:
            from molmo.preprocess.layout import image_layout
        except ImportError:  # preprocessing unavailable: text statistics only
            self._layout = None
            if tokenizer is not None:
                raise UserError("token counts need molmo.preprocess, which failed to import") from None
            return
        self._layout = image_layout
        if tokenizer is not None:
            from molmo.preprocess import MolmoTokenizer, Preprocessor

            path = Path(tokenizer)
            path = path / "tokenizer.json" if path.is_dir() else path
            if not path.exists():
                raise UserError(f"{path}: no tokenizer.json")
            self.pre = Preprocessor(self.config, MolmoTokenizer.from_file(path))

    def image_tokens(self, sizes: list[tuple[int, int]]) -> int | None:
        if self._layout is None:
            return None
        return sum(self._layout(h, w, self.config).n_tokens for w, h in sizes)

    def total(self, sizes: list[tuple[int, int]], messages: list[dict[str, str]], style: str | None) -> int:
        assert self.pre is not None
        return self.pre.count_tokens(sizes, messages, style).total


def stats(
    path: str | Sequence[str],
    tokenizer: str | Path | None = None,
    preprocess: Any = None,
    max_length: int | None = None,
    limit: int | None = None,
) -> StatsReport:
    """Compute a :class:`StatsReport` over (at most ``limit`` samples of) the shards at ``path``."""
    refs = resolve_shards(path)
    report = StatsReport(
        path=str(path) if isinstance(path, str) else ", ".join(map(str, path)), shards=len(refs)
    )
    counter = _TokenCounter(tokenizer, preprocess)
    report.max_length = max_length or (counter.config.sequence_length if counter.pre is not None else None)
    if counter.pre is None:
        report.notes.append(
            "no tokenizer given: text tokens not counted (image tokens from the preprocessing layout; "
            "--max-length checks image tokens only)"
        )
    tasks: Counter[str] = Counter()
    styles: Counter[str] = Counter()
    n_images: Counter[str] = Counter()
    widths: list[int] = []
    heights: list[int] = []
    aspects: list[float] = []
    q_chars: list[int] = []
    a_chars: list[int] = []
    img_tokens: list[int] = []
    totals: list[int] = []
    for ref in refs:
        try:
            for fields in iter_tar(ref.url):
                if limit is not None and report.samples >= limit:
                    break
                try:
                    obj = json.loads(fields["json"])
                    sizes = []
                    for data in image_fields(fields):
                        with Image.open(io.BytesIO(data)) as im:
                            sizes.append(im.size)
                except (KeyError, ValueError, OSError):
                    report.unreadable += 1
                    continue
                report.samples += 1
                tasks[str(obj.get("task"))] += 1
                styles[str(obj.get("style"))] += 1
                n_images[str(len(sizes))] += 1
                report.videos += "mp4" in fields
                for w, h in sizes:
                    widths.append(w)
                    heights.append(h)
                    aspects.append(round(w / h, 3))
                msgs = obj.get("messages") or []
                q_chars.append(sum(len(m.get("content", "")) for m in msgs if m.get("role") == "user"))
                a_chars.append(sum(len(m.get("content", "")) for m in msgs if m.get("role") == "assistant"))
                n_img = counter.image_tokens(sizes)
                if n_img is not None:
                    img_tokens.append(n_img)
                n = counter.total(sizes, msgs, obj.get("style")) if counter.pre is not None else n_img
                if counter.pre is not None:
                    totals.append(n)
                if report.max_length is not None and n is not None and n > report.max_length:
                    report.over_max_length += 1
                    if len(report.over_max_keys) < MAX_LISTED_LONG:
                        report.over_max_keys.append(fields["__key__"])
        except ShardError as e:
            raise MolmoError(str(e)) from None
        if limit is not None and report.samples >= limit:
            break
    report.by_task = dict(tasks.most_common())
    report.by_style = dict(styles.most_common())
    report.images_per_sample = dict(sorted(n_images.items()))
    report.image_width, report.image_height = summarize(widths), summarize(heights)
    report.aspect_ratio = summarize(aspects)
    report.question_chars, report.answer_chars = summarize(q_chars), summarize(a_chars)
    report.image_tokens = summarize(img_tokens)
    report.tokens = summarize(totals)
    report.token_histogram = histogram(totals if totals else img_tokens)
    return report
