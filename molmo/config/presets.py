"""One view over every preset registry (models, vision encoders, LLMs), for ``molmo recipes list``.

Registries live next to their schemas (``molmo.config.vision``, ``molmo.config.llm``,
``molmo.config.model``) as plain data; this module only collects their names.
"""

from __future__ import annotations

import importlib

_REGISTRIES = {
    "model": ("molmo.config.model", "MODEL_PRESETS"),
    "vision": ("molmo.config.vision", "VISION_PRESETS"),
    "llm": ("molmo.config.llm", "LLM_PRESETS"),
}


def preset_catalog() -> dict[str, list[str]]:
    """Preset kind -> sorted preset names, for the registries that exist."""
    out: dict[str, list[str]] = {}
    for kind, (module, attr) in _REGISTRIES.items():
        try:
            registry = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        out[kind] = sorted(registry)
    return out
