"""Readers that turn public dataset layouts into :class:`~molmo.data.sample.Record` s in our schema.

One module per source format; each registers a :class:`FormatSpec` in :data:`FORMATS`. Readers
only parse annotations and resolve image *paths* (or take embedded bytes); loading and validating
the images is ``pack``'s job, so the eval runner can reuse the same readers on raw benchmark files.
Eval references (all answers, options, points…) go under ``json["refs"]`` whenever the source has them.
"""

from __future__ import annotations

from pathlib import Path

from molmo.data.formats import chartqa, docvqa, folder, jsonl, llava, parquet, vqa2  # noqa: F401  (register)
from molmo.data.formats.common import FORMATS, FormatSpec, RecordStream
from molmo.errors import UserError

__all__ = ["FORMATS", "FormatSpec", "RecordStream", "get_format", "open_format"]


def get_format(name: str) -> FormatSpec:
    """The registered reader called ``name`` (``UserError`` listing the choices otherwise)."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UserError(
            f"unknown pack format {name!r}; choose one of: {', '.join(sorted(FORMATS))}"
        ) from None


def open_format(name: str, src: str | Path, mapping: dict[str, str] | None = None) -> RecordStream:
    """Open ``src`` with the reader ``name``; ``mapping`` renames source columns/fields (parquet, jsonl)."""
    src = Path(src)
    if not src.exists():
        raise UserError(f"{src}: no such file or directory")
    return get_format(name).open(src, dict(mapping or {}))
