"""JSON Lines in our own sample schema, with image paths instead of bytes.

Each line: ``{"messages": [...], "style"?, "task"?, "meta"?, "refs"?, "images": ["a.jpg", …] |
"image": "a.jpg", "video"?: "clip.mp4", "id"?: "…"}``. Paths are relative to the JSONL file's
directory (or ``--map image_root=DIR``). An unparsable line is a bad record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molmo.data.formats.common import RecordStream, bad, find_one, make_key, register
from molmo.data.sample import Record


def convert(index: int, line: str, root: Path) -> Record:
    """One JSONL line -> Record (or a bad record with the reason)."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as e:
        return bad(index, f"bad JSON ({e})")
    if not isinstance(obj, dict):
        return bad(index, "line is not a JSON object")
    ident = obj.pop("id", None) if "id" in obj else obj.pop("key", None)
    images = obj.pop("images", None)
    if images is None:
        images = [obj.pop("image")] if obj.get("image") else []
        obj.pop("image", None)
    if isinstance(images, str):
        images = [images]
    video = obj.pop("video", None)
    if not isinstance(images, list) or not all(isinstance(p, str) and p for p in images):
        return bad(index, "'images' must be a list of paths", ident)
    if video is not None and not isinstance(video, str):
        return bad(index, "'video' must be a path", ident)
    return Record(
        key=make_key(index, ident),
        json=obj,
        images=[str(root / p) for p in images],
        video=str(root / video) if video else None,
    )


@register("jsonl", "JSON Lines in the molmo sample schema with image paths (images|image, messages, …)")
def open_jsonl(src: Path, options: dict[str, str]) -> RecordStream:
    path = src if src.is_file() else find_one(src, ["*.jsonl"], "JSONL")
    root = Path(options.get("image_root", path.parent))
    with open(path, encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip())

    def records() -> Iterator[Record]:
        with open(path, encoding="utf-8", errors="replace") as f:
            i = 0
            for line in f:
                if line.strip():
                    yield convert(i, line, root)
                    i += 1

    return RecordStream(records(), total=total)
