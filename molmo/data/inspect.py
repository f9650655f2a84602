"""Look at the first samples of a shard set: a table of rows and an optional contact sheet.

:func:`inspect_shards` returns one :class:`InspectRow` per sample (key, task, style, question,
answer, image sizes). With ``show=PATH`` it also writes a PNG contact sheet of the images with
their points drawn (from ``refs.points`` in pixels, else parsed from Molmo point text in the
answer, via ``molmo.preprocess.points``) and the key/task under each tile. Reads shards
sequentially with plain tarfile.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from molmo.data.sample import image_fields
from molmo.data.shards import ShardError, iter_tar, resolve_shards
from molmo.errors import MolmoError
from molmo.preprocess.points import parse_points


@dataclass
class InspectRow:
    """One sample as shown by ``molmo data inspect``."""

    key: str
    shard: str
    task: str | None
    style: str | None
    question: str
    answer: str
    image_sizes: list[tuple[int, int]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _row(fields: dict[str, Any], shard: str) -> tuple[InspectRow, dict[str, Any], list[bytes]]:
    key = fields.get("__key__", "?")
    try:
        obj = json.loads(fields.get("json", b"{}"))
        images = image_fields(fields)
    except (ValueError, UnicodeDecodeError) as e:
        return InspectRow(key, shard, None, None, "", "", error=f"bad sample ({e})"), {}, []
    msgs = obj.get("messages") or []
    question = next((m.get("content", "") for m in msgs if m.get("role") == "user"), "")
    answer = next((m.get("content", "") for m in msgs if m.get("role") == "assistant"), "")
    sizes, error = [], None
    for data in images:
        try:
            with Image.open(io.BytesIO(data)) as im:
                sizes.append(im.size)
        except (OSError, ValueError) as e:
            error = f"corrupt image ({e})"
    return (
        InspectRow(key, shard, obj.get("task"), obj.get("style"), question, answer, sizes, error),
        obj,
        images,
    )


def sample_points(obj: dict[str, Any], width: int, height: int) -> list[tuple[float, float]]:
    """Pixel points of a sample: ``refs.points`` if present, else parsed from the answer's point tags."""
    refs = obj.get("refs") or {}
    if refs.get("points"):
        return [(float(x), float(y)) for x, y in refs["points"]]
    answer = next(
        (m.get("content", "") for m in obj.get("messages") or [] if m.get("role") == "assistant"), ""
    )
    return [p.pixels(width, height) for p in parse_points(answer).points]


def contact_sheet(
    tiles: Sequence[tuple[bytes, dict[str, Any], str]], out: str | Path, cols: int = 4, size: int = 224
) -> Path:
    """Write a grid of thumbnails (``(image bytes, json, caption)`` per tile) with points drawn."""
    cols = max(1, min(cols, len(tiles)))
    rows = (len(tiles) + cols - 1) // cols
    label_h = 14
    sheet = Image.new("RGB", (cols * size, rows * (size + label_h)), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (data, obj, caption) in enumerate(tiles):
        x0, y0 = (i % cols) * size, (i // cols) * (size + label_h)
        try:
            im = Image.open(io.BytesIO(data)).convert("RGB")
        except (OSError, ValueError):
            draw.text((x0 + 4, y0 + 4), "corrupt image", fill=(255, 80, 80), font=font)
            continue
        w, h = im.size
        scale = min(size / w, size / h)
        thumb = im.resize((max(1, round(w * scale)), max(1, round(h * scale))))
        sheet.paste(thumb, (x0, y0))
        for px, py in sample_points(obj, w, h):
            cx, cy = x0 + px * scale, y0 + py * scale
            draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], outline=(255, 0, 255), width=2)
        draw.text((x0 + 2, y0 + size + 1), caption[:36], fill=(230, 230, 230), font=font)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    sheet.save(tmp, format="PNG")
    tmp.replace(out)
    return out


def inspect_shards(
    shards: str | Sequence[str], n: int = 10, show: str | Path | None = None
) -> list[InspectRow]:
    """The first ``n`` samples of ``shards`` as rows; with ``show`` also write a contact sheet PNG."""
    rows: list[InspectRow] = []
    tiles: list[tuple[bytes, dict[str, Any], str]] = []
    for ref in resolve_shards(shards):
        if len(rows) >= n:
            break
        try:
            for fields in iter_tar(ref.url):
                row, obj, images = _row(fields, ref.name)
                rows.append(row)
                if images:
                    tiles.append((images[0], obj, f"{row.task or '-'} {row.key}"))
                if len(rows) >= n:
                    break
        except ShardError as e:
            raise MolmoError(str(e)) from None
    if show is not None and tiles:
        contact_sheet(tiles, show)
    return rows
