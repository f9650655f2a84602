"""Consolidate a training checkpoint (ZeRO shards) into a native checkpoint — ``molmo convert zero``.

Every training checkpoint carries, next to DeepSpeed's files, a ``model/`` folder written by rank 0:
``config.json`` (MolmoConfig), ``preprocess.json`` and ``tokenizer.json``. Consolidation reads the
fp32 weights from the shards (ZeRO stages 1–3 via DeepSpeed's ``zero_to_fp32``; stage 0 from the
module state file, loaded with ``weights_only=True``), checks them against the config and writes a
native checkpoint atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from molmo.checkpoint import load_state_into, save_native
from molmo.config.model import MolmoConfig
from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError
from molmo.models.molmo import Molmo
from molmo.preprocess.tokenizer import MolmoTokenizer
from molmo.train.checkpoint import MARKER

MODEL_DIR = "model"


def write_model_files(directory: Path, config: MolmoConfig, preprocess: PreprocessConfig,
                      tokenizer: MolmoTokenizer) -> None:
    out = directory / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(config.model_dump_json(indent=2))
    (out / "preprocess.json").write_text(preprocess.model_dump_json(indent=2))
    tokenizer.save(out)


def consolidated_state_dict(ckpt: Path) -> dict[str, torch.Tensor]:
    """fp32 full weights of a complete training checkpoint directory (``.../checkpoints/step-N``)."""
    from molmo.train.engine import consolidate

    module_file = ckpt / "mp_rank_00_model_states.pt"
    zero_files = list(ckpt.glob("*optim_states.pt"))
    if zero_files and any("zero_pp_rank" in f.name for f in zero_files):
        return consolidate(ckpt.parent, ckpt.name)
    if not module_file.is_file():
        raise UserError(f"{ckpt}: no DeepSpeed model state file")
    state = torch.load(module_file, map_location="cpu", weights_only=True)
    return {k: v.float() if v.is_floating_point() else v for k, v in state["module"].items()}


def export_native(ckpt: str | Path, dst: str | Path, dtype: str | None = None) -> Path:
    """Write the weights of training checkpoint ``ckpt`` as a native checkpoint at ``dst``."""
    ckpt = Path(ckpt)
    if not ckpt.is_dir():
        raise UserError(f"checkpoint not found: {ckpt}")
    if not (ckpt / MARKER).is_file():
        raise UserError(f"{ckpt}: incomplete checkpoint (no {MARKER} marker)")
    model_dir = ckpt / MODEL_DIR
    if not (model_dir / "config.json").is_file():
        raise UserError(f"{ckpt}: no {MODEL_DIR}/config.json (not written by molmo train)")
    config = MolmoConfig.model_validate_json((model_dir / "config.json").read_text())
    preprocess = PreprocessConfig.model_validate_json((model_dir / "preprocess.json").read_text())
    tokenizer = MolmoTokenizer.from_file(model_dir / "tokenizer.json")
    state = consolidated_state_dict(ckpt)
    with torch.device("meta"):
        model = Molmo(config)
    load_state_into(model, state.items(), source=str(ckpt))
    meta = json.loads((ckpt / MARKER).read_text())
    provenance = {"source": str(ckpt), "step": meta.get("step"), "tokens": meta.get("tokens")}
    return save_native(model, dst, tokenizer=tokenizer, preprocess=preprocess, provenance=provenance, dtype=dtype)
