"""Training checkpoints: complete-or-absent, keep-last-K, ``--resume auto``.

Layout under the run directory::

    checkpoints/
      step-00000100/            a complete checkpoint (renamed into place after COMPLETE was written)
        COMPLETE                completion marker (JSON: step, tokens, world size)
        <DeepSpeed files>       engine state: module, optimiser, ZeRO partitions
        trainer/rank-0.pt       per-rank state: data-loader position, RNG states, counters
      .tmp-step-00000200/       a checkpoint being written (ignored by resume, removed on the next save)

Saving: every rank writes its DeepSpeed shards and trainer state into ``.tmp-step-N``; after a
barrier rank 0 writes ``COMPLETE`` and renames the directory to ``step-N``. A run killed at any
point leaves either a complete ``step-N`` or an ignored temporary directory.
Per-rank trainer files hold only tensors and plain Python values and are read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from molmo.errors import UserError

STEP_RE = re.compile(r"^step-(\d{8})$")
MARKER = "COMPLETE"


@dataclass(frozen=True)
class CheckpointRef:
    """A complete checkpoint on disk."""

    path: Path
    step: int

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def tag(self) -> str:
        return self.path.name


def tag_for(step: int) -> str:
    return f"step-{step:08d}"


def _barrier() -> None:
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def complete_checkpoints(root: Path) -> list[CheckpointRef]:
    """Complete checkpoints under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        m = STEP_RE.match(child.name)
        if m and (child / MARKER).is_file():
            found.append(CheckpointRef(child, int(m.group(1))))
    return sorted(found, key=lambda c: c.step)


def resolve_resume(resume: str, root: Path) -> CheckpointRef | None:
    """``auto`` → latest complete checkpoint (or None), ``none`` → None, else an explicit path."""
    if resume == "none":
        return None
    if resume == "auto":
        found = complete_checkpoints(root)
        return found[-1] if found else None
    path = Path(resume)
    m = STEP_RE.match(path.name)
    if not path.is_dir() or m is None:
        raise UserError(f"--resume: not a checkpoint directory (expected .../step-NNNNNNNN): {resume}")
    if not (path / MARKER).is_file():
        raise UserError(f"--resume: checkpoint is incomplete (no {MARKER} marker): {resume}")
    return CheckpointRef(path, int(m.group(1)))


def rng_state() -> dict[str, Any]:
    """RNG states of torch, Python and numpy as weights_only-loadable values."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(engine, root: Path, step: int, trainer_state: dict[str, Any], meta: dict[str, Any],
                    rank: int, keep_last: int, write_model_files=None) -> CheckpointRef:
    """Write a complete checkpoint for ``step`` (collective: call on every rank).

    ``write_model_files(directory)``, if given, runs on rank 0 before the completion marker (the
    model config, preprocessing and tokenizer that consolidation needs).
    """
    root.mkdir(parents=True, exist_ok=True)
    tag = tag_for(step)
    tmp_tag = f".tmp-{tag}"
    if rank == 0:
        for stale in root.glob(".tmp-step-*"):
            shutil.rmtree(stale, ignore_errors=True)
    _barrier()
    engine.save(root, tmp_tag)
    trainer_dir = root / tmp_tag / "trainer"
    trainer_dir.mkdir(parents=True, exist_ok=True)
    _atomic_torch_save(trainer_state, trainer_dir / f"rank-{rank}.pt")
    _barrier()
    final = root / tag
    if rank == 0:
        if write_model_files is not None:
            write_model_files(root / tmp_tag)
        marker = root / tmp_tag / MARKER
        marker.write_text(json.dumps({"step": step, **meta}, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(root / tmp_tag, final)
        for old in complete_checkpoints(root)[:-keep_last]:
            shutil.rmtree(old.path, ignore_errors=True)
    _barrier()
    return CheckpointRef(final, step)


def load_trainer_state(ref: CheckpointRef, rank: int) -> dict[str, Any]:
    """The per-rank trainer state of a checkpoint (safe load: tensors and plain values only)."""
    path = ref.path / "trainer" / f"rank-{rank}.pt"
    if not path.is_file():
        raise UserError(f"checkpoint {ref.path} has no state for rank {rank} (different number of processes?)")
    return torch.load(path, map_location="cpu", weights_only=True)


def checkpoint_meta(ref: CheckpointRef) -> dict[str, Any]:
    return json.loads((ref.path / MARKER).read_text())
