"""Human-readable byte sizes (``5GB``, ``500MiB``, ``1.5k``, ``1024``) for CLI options and recipes."""

from __future__ import annotations

import re

from molmo.errors import UserError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}  # fmt: skip


def parse_size(text: str | int, what: str = "size") -> int:
    """``"5GB"`` -> 5e9, ``"500MiB"`` -> 500*2**20, ``"1024"`` -> 1024 bytes; decimal k/M/G/T, binary Ki/Mi/….

    Raises ``UserError`` naming ``what`` (e.g. ``--shard-size``) for unparsable or non-positive sizes.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        size = text
    else:
        match = _SIZE.match(str(text))
        unit = (match[2] or "").lower().removesuffix("b") if match else None
        if match is None or unit not in _UNITS:
            raise UserError(f"{what} {text!r}: expected a size such as 5GB, 512MB, 2GiB or a number of bytes")
        size = int(float(match[1]) * _UNITS[unit])
    if size <= 0:
        raise UserError(f"{what} must be positive, got {text!r}")
    return size
