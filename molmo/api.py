"""The Python entry points: ``molmo.build``, ``molmo.load`` and ``molmo.save``.

    import molmo
    model = molmo.build("tiny")                     # fresh weights from a preset (or a MolmoConfig)
    model = molmo.load("ckpts/molmo-7b-d", device="cuda", dtype="bf16")
    model.tokenizer, model.preprocess_config       # attached by load() when the checkpoint has them
    molmo.save(model, "ckpts/copy")
"""

from __future__ import annotations

import os
from typing import Any

import torch

from molmo.checkpoint import load_native, parse_dtype, save_native
from molmo.config.model import MolmoConfig, model_preset
from molmo.models.molmo import Molmo


def build(config: MolmoConfig | str, *, device: str | torch.device = "cpu", dtype: torch.dtype | str | None = None,
          seed: int | None = None, meta: bool = False) -> Molmo:
    """A Molmo with fresh weights from a ``MolmoConfig`` or a preset name (``meta=True``: no memory)."""
    config = model_preset(config) if isinstance(config, str) else config
    if seed is not None:
        torch.manual_seed(seed)
    with torch.device("meta" if meta else device):
        model = Molmo(config)
    dtype = parse_dtype(dtype)
    if dtype is not None and not meta:
        model = model.to(dtype)
    model.tokenizer = None
    model.preprocess_config = None
    return model


def load(path: str | os.PathLike, *, device: str | torch.device = "cpu", dtype: torch.dtype | str | None = None) -> Molmo:
    """Load a native checkpoint (safetensors only); attaches ``.tokenizer`` and ``.preprocess_config``."""
    model, tokenizer, preprocess = load_native(path, device=device, dtype=dtype)
    model.tokenizer = tokenizer
    model.preprocess_config = preprocess
    return model


def save(model: Molmo, path: str | os.PathLike, **kwargs: Any):
    """Save ``model`` as a native checkpoint (uses its attached tokenizer/preprocess config by default)."""
    kwargs.setdefault("tokenizer", getattr(model, "tokenizer", None))
    kwargs.setdefault("preprocess", getattr(model, "preprocess_config", None))
    return save_native(model, path, **kwargs)
