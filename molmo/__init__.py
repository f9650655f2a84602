"""molmo: build data, train, evaluate, predict with and convert Molmo vision-language models.

The top-level functions are imported lazily so ``import molmo`` (and ``molmo --help``) stay fast:
``molmo.build``, ``molmo.load``, ``molmo.save``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build", "load", "save"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from molmo import api

        return getattr(api, name)
    raise AttributeError(f"module 'molmo' has no attribute {name!r}")
