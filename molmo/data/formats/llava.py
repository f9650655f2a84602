"""LLaVA-style training JSON: one JSON array of ``{id, image?, conversations: [{from, value}]}``.

``image`` is a path relative to the image root (default: the JSON file's directory; override with
``--map image_root=DIR``), a list of paths (LLaVA-NeXT multi-image) or absent (text-only).
Roles ``human``/``gpt`` become ``user``/``assistant``. With one image the ``<image>`` marker is
removed (the image goes first, as LLaVA-1.5 training does); with several, each ``<image>`` becomes
``<|image|>`` in place and the counts must match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molmo.data.formats.common import (
    RecordStream,
    bad,
    convert_image_marker,
    find_one,
    load_json,
    make_key,
    register,
)
from molmo.data.sample import Record
from molmo.errors import UserError

MARKER = "<image>"
_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
_STRIP_MARKER = re.compile(r"\s*<image>\s*")


def convert(index: int, rec: Any, root: Path) -> Record:
    """One LLaVA record -> Record (or a bad record with the reason)."""
    if not isinstance(rec, dict):
        return bad(index, "record is not an object")
    ident = rec.get("id")
    convs = rec.get("conversations")
    if not isinstance(convs, list) or not convs:
        return bad(index, "empty conversation", ident)
    image = rec.get("image")
    paths = [image] if isinstance(image, str) else list(image or [])
    if not all(isinstance(p, str) and p for p in paths):
        return bad(index, "'image' must be a path or a list of paths", ident)
    messages = []
    for turn in convs:
        if (
            not isinstance(turn, dict)
            or turn.get("from") not in _ROLES
            or not isinstance(turn.get("value"), str)
        ):
            return bad(index, f"bad conversation turn {turn!r:.80}", ident)
        messages.append({"role": _ROLES[turn["from"]], "content": turn["value"]})
    markers = sum(m["content"].count(MARKER) for m in messages)
    if markers and not paths:
        return bad(index, f"{MARKER} marker but no image", ident)
    for m in messages:
        if len(paths) == 1:
            m["content"] = (
                _STRIP_MARKER.sub(" ", m["content"]).strip() if MARKER in m["content"] else m["content"]
            )
        else:
            m["content"] = convert_image_marker(m["content"], MARKER)
    if len(paths) > 1 and markers not in (0, len(paths)):
        return bad(index, f"{markers} {MARKER} markers for {len(paths)} images", ident)
    meta: dict[str, Any] = {"id": ident, "source_format": "llava"}
    if rec.get("data_source"):
        meta["data_source"] = rec["data_source"]
    obj = {"messages": messages, "style": None, "task": None, "meta": meta}
    return Record(key=make_key(index, ident), json=obj, images=[str(root / p) for p in paths])


@register("llava", "LLaVA JSON array (id, image, conversations from human/gpt); --map image_root=DIR")
def open_llava(src: Path, options: dict[str, str]) -> RecordStream:
    path = src if src.is_file() else find_one(src, ["*.json"], "LLaVA JSON")
    data = load_json(path)
    if not isinstance(data, list):
        raise UserError(f"{path}: a LLaVA file is a JSON array of records")
    root = Path(options.get("image_root", path.parent))

    def records() -> Iterator[Record]:
        for i, rec in enumerate(data):
            yield convert(i, rec, root)

    return RecordStream(records(), total=len(data))
