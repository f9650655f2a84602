"""The Python entry points: ``molmo.build``, ``molmo.load`` and ``molmo.save``.

    import molmo
    model = molmo.build("tiny", seed=0)             # fresh weights from a preset (or a MolmoConfig)
    model = molmo.load("ckpts/molmo-7b-d", device="cuda", dtype="bf16")
    model.tokenizer, model.preprocess_config       # attached by load() when the checkpoint has them
    result = model.generate(input_ids, images=..., image_input_idx=..., image_masks=...)
    molmo.save(model, "ckpts/copy")                 # == model.save("ckpts/copy")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from molmo.checkpoint import load_native, parse_dtype
from molmo.config.model import MolmoConfig, model_preset
from molmo.models.molmo import Molmo


def build(config: MolmoConfig | str, *, device: str | torch.device = "cpu", dtype: torch.dtype | str | None = None,
          seed: int | None = None, meta: bool = False) -> Molmo:
    """A Molmo with fresh weights from a ``MolmoConfig`` or a preset name.

    ``seed`` makes the initialisation reproducible; ``meta=True`` builds on the meta device (shapes
    and parameter counts, no memory). No tokenizer is attached (``model.tokenizer`` is None).
    """
    config = model_preset(config) if isinstance(config, str) else config
    if seed is not None:
        torch.manual_seed(seed)
    with torch.device("meta" if meta else device):
        model = Molmo(config)
    dtype = parse_dtype(dtype)
    if dtype is not None:
        model = model.to(dtype)
    return model


def load(path: str | os.PathLike, *, device: str | torch.device = "cpu", dtype: torch.dtype | str | None = None) -> Molmo:
    """Load a native checkpoint (safetensors only), in eval mode; attaches ``.tokenizer`` and
    ``.preprocess_config`` (None when the checkpoint has none). ``device="meta"``: structure only."""
    model, tokenizer, preprocess = load_native(path, device=device, dtype=dtype)
    model.tokenizer = tokenizer
    model.preprocess_config = preprocess
    return model


def save(model: Molmo, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save ``model`` as a native checkpoint (its attached tokenizer/preprocess config by default);
    ``kwargs`` as ``molmo.checkpoint.save_native`` (dtype, max_shard_bytes, provenance, ...)."""
    return model.save(path, **kwargs)
