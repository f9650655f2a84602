"""An image folder with captions: ``name.jpg`` + ``name.txt`` (the caption), searched recursively.

Each image with a non-empty sibling ``.txt`` becomes a captioning sample (user "Describe this
image.", assistant = caption, style ``long_caption``, task ``caption``; ``refs.answers`` = the
caption). An image without a caption file is a bad record. Files are visited in sorted order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from molmo.data.formats.common import RecordStream, bad, make_key, qa_json, register
from molmo.data.sample import Record
from molmo.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
PROMPT = "Describe this image."


@register("folder", "image folder with captions: name.jpg + name.txt (recursive)")
def open_folder(src: Path, options: dict[str, str]) -> RecordStream:
    if not src.is_dir():
        raise UserError(f"{src}: the folder format needs a directory of images with .txt captions")
    images = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    prompt = options.get("prompt", PROMPT)

    def records() -> Iterator[Record]:
        for i, img in enumerate(images):
            rel = img.relative_to(src).with_suffix("").as_posix()
            txt = img.with_suffix(".txt")
            try:
                caption = txt.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                yield bad(i, f"no readable caption file {txt.name}", rel)
                continue
            if not caption:
                yield bad(i, f"empty caption file {txt.name}", rel)
                continue
            obj = qa_json(prompt, [caption], options.get("style", "long_caption"), "caption", {"file": rel})
            yield Record(key=make_key(i, rel), json=obj, images=[str(img)])

    return RecordStream(records(), total=len(images))
