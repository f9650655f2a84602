"""Where eval samples come from: our shards, a benchmark's own files, or a generator (shapes).

``--data PATH`` is recognised by its shape, in this order:

1. WebDataset shards in our schema (eval refs under ``json["refs"]``): a ``.tar`` file, a brace
   pattern (``eval-{000..003}.tar``), or a directory with ``manifest.json`` / ``*.tar``;
2. Hugging Face parquet (``*.parquet`` file, or a directory holding some): read with
   ``molmo.data.formats`` ``parquet`` and the task's column mapping;
3. the benchmark's official JSON (a ``.json`` file or a directory): the task's ``json_format``,
   a ``molmo.data.formats`` reader (``vqa2``, ``docvqa``, ``chartqa``, ``folder``) or one of
   :mod:`molmo.eval.tasks.readers` (``textvqa``, ``stvqa``, ``aokvqa``, ``scienceqa``, ``coco_captions``);
4. JSON Lines in our schema with image paths (``.jsonl``).

Sample ids are the shard keys / reader keys (``<index>-<source id>``); with several paths for one
task they are prefixed by the path's position (``1/…``) so they stay unique.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from molmo.errors import UserError
from molmo.eval.tasks.base import SourceSample, Task
from molmo.eval.tasks.readers import READERS

_SHARD_CHARS = ("{", "*", "?", "[")


def detect_format(path: str, task: Task) -> str:
    """The format name of ``path`` for ``task`` ("shards", "parquet", "jsonl" or a reader name)."""
    if path.endswith(".tar") or any(c in path for c in _SHARD_CHARS) or "://" in path:
        return "shards"
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file or directory (task {task.name} reads {task.data_help})")
    if p.is_dir():
        if (p / "manifest.json").exists() or any(p.glob("*.tar")):
            return "shards"
        if any(p.rglob("*.parquet")):
            return "parquet"
        if task.json_format is not None and any(p.glob("*.json")):
            return task.json_format
        if any(p.glob("*.jsonl")):
            return "jsonl"
        if any(p.rglob("*.txt")):
            return "folder"
    elif p.suffix == ".parquet":
        return "parquet"
    elif p.suffix == ".jsonl":
        return "jsonl"
    elif p.suffix == ".json" and task.json_format is not None:
        return task.json_format
    raise UserError(f"{path}: not a format task {task.name} reads ({task.data_help})")


def parquet_mapping(path: str, task: Task) -> dict[str, str]:
    """The task's column mapping restricted to the columns the (first) parquet file has."""
    if not task.parquet_map:
        return {}
    import pyarrow.parquet as pq

    p = Path(path)
    first = p if p.is_file() else min(p.rglob("*.parquet"))
    try:
        names = set(pq.read_schema(first).names)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several unrelated types for a bad file
        raise UserError(f"{first}: cannot read parquet ({e})") from None
    return {col: fld for col, fld in task.parquet_map if col in names}


def _from_format(fmt: str, path: str, task: Task, errors: list[str]) -> Iterator[SourceSample]:
    """Samples of one non-shard source (readers yield Records with image paths or bytes)."""
    if fmt in READERS:
        records = READERS[fmt](Path(path))
    else:
        from molmo.data.formats import open_format

        records = iter(open_format(fmt, path, parquet_mapping(path, task) if fmt == "parquet" else {}))
    for record in records:
        if record.error:
            errors.append(f"{path}: {record.key}: {record.error}")
            continue
        yield SourceSample(record.key, record.json, list(record.images), fmt)


def iter_source(task: Task, paths: Sequence[str], errors: list[str] | None = None,
                synthetic: int | None = None) -> Iterator[SourceSample]:
    """Every sample of ``paths`` for ``task``, in order; bad records are skipped (reasons in ``errors``).

    With no paths, a task that can generate its own data (shapes) yields ``synthetic`` samples;
    any other task raises ``UserError`` saying which data it needs.
    """
    errors = errors if errors is not None else []
    if not paths:
        generated = task.synthetic_samples(synthetic)
        if generated is None:
            raise UserError(f"task {task.name} needs --data ({task.data_help})")
        yield from generated
        return
    for position, path in enumerate(paths):
        fmt = detect_format(str(path), task)
        if fmt == "shards":
            from molmo.data.loader import iter_samples

            stream = (SourceSample(s.key, s.json, list(s.images), "shards") for s in iter_samples(str(path), errors=errors))
        else:
            stream = _from_format(fmt, str(path), task, errors)
        for sample in stream:
            if len(paths) > 1:
                sample.id = f"{position}/{sample.id}"
            yield sample
