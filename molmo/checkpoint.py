"""Native checkpoint format (DESIGN §2): a directory written atomically.

    config.json                       MolmoConfig (validated by the same schema on load)
    model.safetensors                 weights; or model-00001-of-0000N.safetensors + model.safetensors.index.json
    tokenizer.json                    when a tokenizer is attached
    molmo.json                        {"format": "molmo-native", "format_version": 1, "preprocess": {…},
                                       "provenance": {…}, "parameters": N}

Weights are read only from safetensors. ``load_native`` builds the model on the meta device and
assigns tensors straight from the files (no second full copy in memory); big checkpoints are
sharded above ``max_shard_bytes``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from molmo.config.model import MolmoConfig
from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError

FORMAT = "molmo-native"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
DEFAULT_MAX_SHARD_BYTES = 5 * 1024**3

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}


def parse_dtype(name: str | torch.dtype | None) -> torch.dtype | None:
    """``"bf16"`` / ``"bfloat16"`` / ``torch.bfloat16`` → ``torch.bfloat16`` (None passes through)."""
    if name is None or isinstance(name, torch.dtype):
        return name
    if name not in DTYPES:
        raise UserError(f"unknown dtype {name!r} (choose from {', '.join(sorted(set(DTYPES)))})")
    return DTYPES[name]


# ----------------------------------------------------------------------------------------------
# Atomic directory writes
# ----------------------------------------------------------------------------------------------


class AtomicDir:
    """Write into a temporary sibling directory, then move it into place (replacing ``dst``).

    On an exception inside the ``with`` block the temporary directory is removed and an existing
    ``dst`` is left untouched. The finished directory gets the usual umask permissions.
    """

    def __init__(self, dst: str | os.PathLike):
        self.dst = Path(dst)

    def __enter__(self) -> Path:
        self.dst.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dst.name}.tmp-", dir=self.dst.parent))
        umask = os.umask(0)
        os.umask(umask)
        self._file_mode = 0o666 & ~umask
        os.chmod(self.tmp, 0o777 & ~umask)  # mkdtemp makes 0700; a checkpoint should be shareable
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        for path in self.tmp.rglob("*"):  # temp-file writers (mkstemp) leave 0600 files
            if path.is_file() and not path.is_symlink():
                os.chmod(path, self._file_mode)
        backup = None
        if self.dst.exists() or self.dst.is_symlink():
            backup = self.dst.with_name(f".{self.dst.name}.old-{os.getpid()}")
            _remove(backup)  # a stale backup left by a killed process
            os.replace(self.dst, backup)
        os.replace(self.tmp, self.dst)
        if backup is not None:
            _remove(backup)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------


def save_weights(
    tensors: Iterable[tuple[str, torch.Tensor]], directory: Path, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    metadata: dict[str, str] | None = None,
) -> list[str]:
    """Write ``(name, tensor)`` pairs as one safetensors file or shards + index; returns file names.

    Tensors are consumed one shard at a time, so a streaming converter never holds the whole model.
    """
    pending: dict[str, torch.Tensor] = {}
    pending_bytes = total = n_shards = 0
    shard_of: dict[str, int] = {}

    def flush() -> None:
        nonlocal pending, pending_bytes, n_shards
        n_shards += 1
        save_file(pending, str(directory / f".shard-{n_shards}.tmp"), metadata=metadata or {"format": "pt"})
        pending, pending_bytes = {}, 0

    for name, tensor in tensors:
        nbytes = tensor.numel() * tensor.element_size()
        if pending and pending_bytes + nbytes > max_shard_bytes:
            flush()
        pending[name] = tensor.detach().contiguous().cpu()
        shard_of[name] = n_shards + 1
        pending_bytes += nbytes
        total += nbytes
    if pending or n_shards == 0:
        flush()

    if n_shards == 1:
        os.replace(directory / ".shard-1.tmp", directory / WEIGHTS)
        return [WEIGHTS]
    names = [f"model-{i:05d}-of-{n_shards:05d}.safetensors" for i in range(1, n_shards + 1)]
    for i, name in enumerate(names, start=1):
        os.replace(directory / f".shard-{i}.tmp", directory / name)
    index = {"metadata": {"total_size": total}, "weight_map": {k: names[v - 1] for k, v in shard_of.items()}}
    write_json(directory / INDEX, index)
    return names


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of a checkpoint directory (single file or the index's shards)."""
    single, index = directory / WEIGHTS, directory / INDEX
    if index.is_file():
        weight_map = read_json(index, "weight index").get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise UserError(f"{index}: no weight_map")
        files = sorted({directory / f for f in weight_map.values()})
    elif single.is_file():
        files = [single]
    else:
        raise UserError(f"{directory}: no {WEIGHTS} or {INDEX}")
    for f in files:
        if not f.is_file():
            raise UserError(f"{directory}: missing weight shard {f.name}")
    return files


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}  # fmt: skip


def iter_weights(directory: Path, meta: bool = False) -> Iterator[tuple[str, torch.Tensor]]:
    """Stream ``(name, tensor)`` from the checkpoint's safetensors files, one tensor at a time.

    ``meta=True`` reads only the file headers and yields meta tensors of the stored shape and dtype.
    """
    for path in weight_files(directory):
        try:
            with safe_open(str(path), framework="pt") as f:
                for name in f.keys():  # noqa: SIM118 — safe_open has no __iter__
                    if meta:
                        part = f.get_slice(name)
                        dtype = _SAFETENSORS_DTYPES.get(part.get_dtype())
                        if dtype is None:
                            raise UserError(f"{path}: tensor {name!r} has unsupported dtype {part.get_dtype()}")
                        yield name, torch.empty(part.get_shape(), dtype=dtype, device="meta")
                    else:
                        yield name, f.get_tensor(name)
        except (OSError, ValueError, RuntimeError, SafetensorError) as e:
            if isinstance(e, UserError):
                raise
            raise UserError(f"{path}: unreadable safetensors file ({e})") from None


def read_json(path: Path, what: str = "JSON file") -> dict[str, Any]:
    """A JSON object from ``path``; ``UserError`` naming the file when missing, unreadable or not an object."""
    if not path.is_file():
        raise UserError(f"{path}: {what} not found")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: invalid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a JSON object")
    return obj


# ----------------------------------------------------------------------------------------------
# Whole checkpoints
# ----------------------------------------------------------------------------------------------


def is_native_checkpoint(path: str | os.PathLike) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and (p / "molmo.json").is_file()


def read_checkpoint_meta(path: str | os.PathLike) -> tuple[MolmoConfig, dict[str, Any]]:
    """(model config, molmo.json contents) of a native checkpoint; clear errors otherwise."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"model not found: {p}")
    if not p.is_dir():
        raise UserError(f"model path is not a directory: {p}")
    missing = [name for name in ("config.json", "molmo.json") if not (p / name).is_file()]
    if missing:
        hint = ""
        if (p / "config.json").is_file():
            hint = " (an HF Molmo checkpoint? convert it with `molmo convert from-hf`)"
        raise UserError(f"not a molmo checkpoint: {p / missing[0]} is missing{hint}")
    meta = read_json(p / "molmo.json", "molmo.json")
    if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise UserError(f"{p / 'molmo.json'}: unsupported checkpoint format {meta.get('format')} v{meta.get('format_version')}")
    try:
        config = MolmoConfig.model_validate_json((p / "config.json").read_text())
    except ValueError as e:
        raise UserError(f"{p / 'config.json'}: invalid model config: {str(e).splitlines()[0]}") from None
    return config, meta


def save_native(
    model: torch.nn.Module,
    path: str | os.PathLike,
    *,
    tokenizer: Any | None = None,
    preprocess: PreprocessConfig | None = None,
    provenance: dict[str, Any] | None = None,
    dtype: torch.dtype | str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> Path:
    """Write ``model`` (a ``Molmo``) as a native checkpoint directory, atomically."""
    dtype = parse_dtype(dtype)
    config: MolmoConfig = model.config
    if tokenizer is not None:
        if config.special_tokens is None:
            config = config.model_copy(update={"special_tokens": tokenizer.special_ids})
        else:
            tokenizer.check_special_ids(config.special_tokens)  # never write a checkpoint that cannot load
    state = model.state_dict()

    def tensors() -> Iterator[tuple[str, torch.Tensor]]:
        for name, t in state.items():
            yield name, (t.to(dtype) if dtype is not None and t.is_floating_point() else t)

    with AtomicDir(path) as tmp:
        write_json(tmp / "config.json", config.model_dump(mode="json"))
        save_weights(tensors(), tmp, max_shard_bytes)
        if tokenizer is not None:
            tokenizer.save(tmp)
        write_json(
            tmp / "molmo.json",
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "preprocess": preprocess.model_dump(mode="json") if preprocess is not None else None,
                "provenance": {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(provenance or {})},
                "parameters": int(sum(t.numel() for t in state.values())),
            },
        )
    return Path(path)


def load_state_into(model: torch.nn.Module, tensors: Iterable[tuple[str, torch.Tensor]], *,
                    device: torch.device | str = "cpu", dtype: torch.dtype | None = None, source: str = "") -> None:
    """Assign named tensors to ``model`` (which may live on the meta device); checks names and shapes."""
    expected = dict(model.state_dict(keep_vars=True))
    seen: set[str] = set()
    for name, tensor in tensors:
        if name not in expected:
            raise UserError(f"{source}: unexpected tensor {name!r} (not part of this model config)")
        if name in seen:
            raise UserError(f"{source}: tensor {name!r} is stored twice")
        target = expected[name]
        if tuple(tensor.shape) != tuple(target.shape):
            raise UserError(f"{source}: tensor {name!r} has shape {tuple(tensor.shape)}, model expects {tuple(target.shape)}")
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        module_name, _, attr = name.rpartition(".")
        module = model.get_submodule(module_name) if module_name else model
        old = getattr(module, attr)
        new = tensor.to(device)
        if isinstance(old, torch.nn.Parameter):
            setattr(module, attr, torch.nn.Parameter(new, requires_grad=old.requires_grad))
        else:
            module._buffers[attr] = new
        seen.add(name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise UserError(f"{source}: checkpoint lacks {len(missing)} tensor(s), e.g. {missing[0]!r}")


def load_native(path: str | os.PathLike, device: str | torch.device = "cpu", dtype: torch.dtype | str | None = None):
    """(model, tokenizer or None, PreprocessConfig or None) from a native checkpoint directory.

    ``device="meta"`` reads only the safetensors headers: names, shapes and dtypes are checked and
    the model holds no memory (inspect a 72B checkpoint's structure on a laptop).
    """
    from molmo.models.molmo import Molmo
    from molmo.preprocess.tokenizer import MolmoTokenizer

    p = Path(path)
    config, meta = read_checkpoint_meta(p)
    with torch.device("meta"):
        model = Molmo(config)
    on_meta = torch.device(device).type == "meta"
    load_state_into(model, iter_weights(p, meta=on_meta), device=device, dtype=parse_dtype(dtype), source=str(p))
    tokenizer = MolmoTokenizer.from_file(p / "tokenizer.json") if (p / "tokenizer.json").is_file() else None
    if tokenizer is not None and config.special_tokens is not None:
        tokenizer.check_special_ids(config.special_tokens)
    try:
        preprocess = PreprocessConfig.model_validate(meta["preprocess"]) if meta.get("preprocess") else None
    except ValueError as e:
        raise UserError(f"{p / 'molmo.json'}: invalid preprocess settings: {str(e).splitlines()[0]}") from None
    model.eval()
    return model, tokenizer, preprocess
