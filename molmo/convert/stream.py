"""Streaming building blocks shared by the converters (``from-hf``, ``to-hf``, ``init``).

A conversion never holds two copies of a model: it scans the safetensors headers first (names,
shapes, dtypes — no tensor data), validates the whole plan, then reads one tensor at a time and
hands it to ``molmo.checkpoint.save_weights``, which flushes a shard as soon as it is full::

    refs = scan_safetensors(src)                     # [TensorRef(key, file, shape, dtype)], headers only
    for ref, tensor in stream_safetensors(refs):     # one tensor in memory at a time
        ...

Everything is written inside ``AtomicDir(dst)``: a failure leaves ``dst`` untouched.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from molmo.checkpoint import FORMAT, FORMAT_VERSION, INDEX, WEIGHTS, parse_dtype, write_json
from molmo.config.model import MolmoConfig
from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".h5", ".gguf")


@dataclass(frozen=True)
class TensorRef:
    """One tensor of a safetensors checkpoint, known from the file header only."""

    key: str
    file: Path
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype name, e.g. "BF16"


@dataclass
class ConversionResult:
    """What a conversion wrote (returned by ``from_hf`` / ``to_hf`` / ``init_from_hf``)."""

    path: Path
    n_tensors: int
    n_parameters: int
    files: list[str]
    dtypes: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "tensors": self.n_tensors, "parameters": self.n_parameters,
                "files": self.files, "dtypes": self.dtypes, **self.details}  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of ``directory``: ``model.safetensors`` or the shards its index names."""
    single, index = directory / WEIGHTS, directory / INDEX
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            names = sorted(set(weight_map.values()))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UserError(f"{index}: not a valid safetensors index (needs a 'weight_map' object)") from None
        files = [directory / name for name in names]
    elif single.is_file():
        files = [single]
    else:
        others = sorted(p.name for p in directory.glob("*.safetensors"))
        if len(others) == 1:
            files = [directory / others[0]]
        else:
            raise UserError(f"{directory}: no {WEIGHTS} or {INDEX} (weights must be safetensors)")
    for f in files:
        if not f.is_file():
            raise UserError(f"{directory}: missing weight shard {f.name} (named in {INDEX})")
    return files


def scan_safetensors(directory: Path) -> list[TensorRef]:
    """Names, shapes and dtypes of every tensor (headers only); duplicates are an error."""
    refs: list[TensorRef] = []
    seen: dict[str, Path] = {}
    for path in weight_files(directory):
        try:
            with safe_open(str(path), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 — safe_open has no __iter__
                    view = f.get_slice(key)
                    if key in seen:
                        raise UserError(f"tensor {key!r} appears in both {seen[key].name} and {path.name}")
                    seen[key] = path
                    refs.append(TensorRef(key, path, tuple(view.get_shape()), str(view.get_dtype())))
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 — safetensors raises several error types on bad files
            raise UserError(f"{path}: unreadable safetensors file ({str(e).splitlines()[0]})") from None
    return refs


def stream_safetensors(refs: Iterable[TensorRef]) -> Iterator[tuple[TensorRef, torch.Tensor]]:
    """Read the referenced tensors one at a time, opening each file once (refs grouped by file)."""
    handle, current = None, None
    try:
        for ref in refs:
            if ref.file != current:
                if handle is not None:
                    handle.__exit__(None, None, None)
                handle = safe_open(str(ref.file), framework="pt").__enter__()
                current = ref.file
            yield ref, handle.get_tensor(ref.key)
    finally:
        if handle is not None:
            handle.__exit__(None, None, None)


# ----------------------------------------------------------------------------------------------
# Shapes, dtypes, sizes
# ----------------------------------------------------------------------------------------------


def expected_shapes(config: MolmoConfig) -> dict[str, tuple[int, ...]]:
    """Native tensor name -> shape for ``config`` (model built on the meta device: no memory)."""
    from molmo.models.molmo import Molmo

    with torch.device("meta"):
        model = Molmo(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_shape(name: str, shape: tuple[int, ...], expected: dict[str, tuple[int, ...]], source: str) -> None:
    """UserError unless ``name`` is a tensor of the model with exactly ``shape``."""
    if name not in expected:
        raise UserError(f"{source}: unexpected tensor {name!r} (not part of this model config)")
    if tuple(shape) != expected[name]:
        raise UserError(f"{source}: tensor {name!r} has shape {tuple(shape)}, the config expects {expected[name]}")


def parse_convert_dtype(name: str | None) -> torch.dtype | None:
    """``keep``/None -> None (keep each tensor's dtype); else fp32/bf16/fp16 (or long names)."""
    return None if name in (None, "keep") else parse_dtype(name)


def cast(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """Cast floating-point tensors to ``dtype`` (None keeps them); integer tensors are untouched."""
    return tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"`` (the spelling HF configs use)."""
    return str(dtype).removeprefix("torch.")


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def check_destination(dst: Path, sources: Iterable[Path], overwrite: bool) -> None:
    """Refuse to write over a source, or over an existing non-empty directory without ``overwrite``."""
    target = Path(dst).resolve()
    for src in sources:
        src = Path(src).resolve()
        if target == src or src in target.parents or target in src.parents:
            raise UserError(f"destination {dst} overlaps the source {src}; choose another directory")
    if target.exists():
        if not target.is_dir():
            raise UserError(f"destination {dst} exists and is not a directory")
        if any(target.iterdir()) and not overwrite:
            raise UserError(f"destination {dst} exists and is not empty (pass --overwrite to replace it)")


def write_molmo_json(directory: Path, preprocess: PreprocessConfig | None, provenance: dict[str, Any],
                     n_parameters: int) -> None:
    """The native ``molmo.json`` (same layout as ``molmo.checkpoint.save_native`` writes)."""
    write_json(directory / "molmo.json", {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "preprocess": preprocess.model_dump(mode="json") if preprocess is not None else None,
        "provenance": {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **provenance},
        "parameters": int(n_parameters),
    })  # fmt: skip


def write_sorted_json(path: Path, obj: dict[str, Any]) -> None:
    """JSON as Hugging Face writes configs (indent 2, sorted keys), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class TensorCounter:
    """Counts what passes through a tensor stream (tensors, parameters, dtypes) and reports progress."""

    def __init__(self, on_tensor: Any = None):
        self.n_tensors = 0
        self.n_parameters = 0
        self.dtype_bytes: dict[str, int] = {}
        self.on_tensor = on_tensor

    def __call__(self, items: Iterable[tuple[str, torch.Tensor]]) -> Iterator[tuple[str, torch.Tensor]]:
        for name, tensor in items:
            self.n_tensors += 1
            self.n_parameters += tensor.numel()
            key = dtype_name(tensor.dtype)
            self.dtype_bytes[key] = self.dtype_bytes.get(key, 0) + tensor.numel() * tensor.element_size()
            if self.on_tensor is not None:
                self.on_tensor(name)
            yield name, tensor

    @property
    def main_dtype(self) -> str:
        """The dtype holding most bytes (``float32`` for an empty stream)."""
        return max(self.dtype_bytes, key=self.dtype_bytes.__getitem__) if self.dtype_bytes else "float32"
