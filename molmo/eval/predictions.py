"""``predictions.jsonl``: the per-sample output of the inference stage and the input of the metric stage.

One JSON object per line::

    {"key": "3f1c…",                      # resume key (see prediction_key)
     "model": "/ckpts/molmo-7b-d", "task": "vqa2", "id": "000000003-262148000", "index": 3,
     "prompt": "What is he looking at?", "style": "vqa2",
     "generation": {"max_new_tokens": 12, "temperature": 0.0, "num_beams": 1, "max_crops": 36},
     "prediction": "sky", "image_sizes": [[640, 480]],
     "refs": {"answers": ["sky", …]},        # everything the metrics need
     "scores": {"vqa_score": 1.0, …}}         # added by the metric stage (null: nothing to score)

The inference stage appends and flushes after every batch (:class:`PredictionWriter`), so an
interrupted run loses at most the batch in flight; a line cut off by a crash is dropped when the
file is reopened. Under ``torchrun`` every rank appends to ``predictions.rank{r}.jsonl`` and rank 0
merges them (:func:`merge_prediction_files`). Whole-file rewrites are atomic (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from molmo.errors import UserError

PREDICTIONS_FILE = "predictions.jsonl"
RANK_FILE = "predictions.rank{rank}.jsonl"
REQUIRED_FIELDS = ("task", "id", "prediction")


def prediction_key(model: str, task: str, sample_id: str, prompt: str, style: str | None,
                   generation: dict[str, Any]) -> str:
    """Stable identity of one model query: same key = same answer, so a resumed run skips it."""
    blob = json.dumps([model, task, sample_id, prompt, style, generation], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def rank_file(directory: str | os.PathLike, rank: int) -> Path:
    return Path(directory) / RANK_FILE.format(rank=rank)


def read_predictions(path: str | os.PathLike, *, strict: bool = False) -> list[dict[str, Any]]:
    """All records of ``path`` ([] if it does not exist).

    A last line without its newline (a write cut off by a crash) is ignored. Other unreadable lines
    are skipped, or, with ``strict``, raise ``UserError`` naming the file and line; ``strict`` also
    requires the fields the metric stage needs (``task``, ``id``, ``prediction``).
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    if lines and not text.endswith("\n"):
        lines = lines[:-1]  # partial last write
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if strict:
                raise UserError(f"{path}:{number}: not valid JSON ({e.msg})") from None
            continue
        if not isinstance(record, dict):
            if strict:
                raise UserError(f"{path}:{number}: a prediction must be a JSON object")
            continue
        missing = [f for f in REQUIRED_FIELDS if f not in record]
        if strict and missing:
            raise UserError(f"{path}:{number}: prediction lacks {', '.join(missing)}")
        out.append(record)
    return out


def done_keys(paths: Iterable[str | os.PathLike]) -> set[str]:
    """Keys of every readable record in ``paths`` (what a resumed run need not recompute)."""
    return {r["key"] for p in paths for r in read_predictions(p) if isinstance(r.get("key"), str)}


class PredictionWriter:
    """Append records to a JSONL file, flushing (and fsync-ing) after every batch."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_line()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open across batches

    def _drop_partial_line(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PredictionWriter:  # noqa: PYI034 - not subclassed
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def atomic_write(path: str | os.PathLike, write: Callable[[IO[str]], None]) -> Path:
    """Create ``path`` through ``write(file)`` on a temp file in the same directory, then rename it
    into place (readers never see a half-written file); permissions follow the umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_predictions(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> Path:
    """Write ``records`` as the whole of ``path``, atomically."""

    def write(f: IO[str]) -> None:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    return atomic_write(path, write)


def merge_prediction_files(directory: str | os.PathLike) -> list[dict[str, Any]]:
    """Fold every ``predictions.rank*.jsonl`` of ``directory`` into ``predictions.jsonl`` (atomic;
    one record per key, the earliest kept), delete the rank files and return all records."""
    directory = Path(directory)
    main = directory / PREDICTIONS_FILE
    parts = sorted(directory.glob(RANK_FILE.format(rank="*")))
    merged: dict[str, dict[str, Any]] = {}
    unkeyed = []
    for path in [main, *parts]:
        for record in read_predictions(path):
            key = record.get("key")
            if isinstance(key, str):
                merged.setdefault(key, record)
            else:
                unkeyed.append(record)
    records = unkeyed + list(merged.values())
    if parts or main.exists():
        write_predictions(main, records)
    for path in parts:
        path.unlink(missing_ok=True)
    return records


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (used for ``results.json``)."""
    return atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n"))
