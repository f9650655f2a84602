"""``manifest.json``: the table of contents of a shard directory.

Layout (version 1)::

    {"format_version": 1, "complete": true,
     "source": {"kind": "pack", "format": "llava", "src": "/data/llava.json", ...},
     "shards": [{"name": "shard-000000.tar", "samples": 10000, "bytes": 5242880, "sha256": "…"}],
     "samples": 10000,
     "records_done": 10012,                       # source records consumed (for resuming)
     "failures": [{"index": 17, "key": "…", "reason": "corrupt image (…)"}],
     "failures_total": 12}

``complete`` is false while a pack is running or after it was interrupted; ``records_done`` and
``failures`` then describe exactly the records covered by the listed shards, so a resumed pack can
skip them. The file is always written atomically (temp file + ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from molmo.errors import UserError

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
MAX_LISTED_FAILURES = 10_000


@dataclass
class ShardInfo:
    """One finished shard file."""

    name: str
    samples: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    """The parsed ``manifest.json`` of a shard directory."""

    shards: list[ShardInfo] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    records_done: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    failures_total: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def samples(self) -> int:
        return sum(s.samples for s in self.shards)

    def add_failure(self, index: int, key: str, reason: str) -> None:
        """Record one skipped source record (the list is capped; the total is not)."""
        self.failures_total += 1
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append({"index": index, "key": key, "reason": reason})

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "complete": self.complete,
            "source": self.source,
            "shards": [asdict(s) for s in self.shards],
            "samples": self.samples,
            "records_done": self.records_done,
            "failures": self.failures,
            "failures_total": self.failures_total,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "manifest.json") -> Manifest:
        try:
            shards = [
                ShardInfo(
                    name=str(s["name"]),
                    samples=int(s["samples"]),
                    bytes=int(s["bytes"]),
                    sha256=str(s["sha256"]),
                )
                for s in obj["shards"]
            ]
            return cls(
                shards=shards,
                source=dict(obj.get("source") or {}),
                complete=bool(obj.get("complete", True)),
                records_done=int(obj.get("records_done", 0)),
                failures=list(obj.get("failures") or []),
                failures_total=int(obj.get("failures_total", len(obj.get("failures") or []))),
                format_version=int(obj.get("format_version", FORMAT_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"{where}: malformed manifest ({type(e).__name__}: {e})") from None


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` atomically: temp file in the same directory, fsync, ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    """Atomically write ``directory/manifest.json``; returns its path."""
    path = Path(directory) / MANIFEST_NAME
    write_json_atomic(path, manifest.to_json())
    return path


def read_manifest(directory: Path | str) -> Manifest | None:
    """Read ``directory/manifest.json`` (local path); ``None`` when there is none."""
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: cannot read manifest ({e})") from None
    return Manifest.from_json(obj, str(path))


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a local file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def prepare_destination(dst: Path, source: dict[str, Any], resume: bool, overwrite: bool) -> Manifest:
    """Get a shard directory ready for writing and return the manifest to continue from.

    - ``overwrite``: delete our files (``*.tar``, ``*.tmp``, the manifest) and start afresh.
    - an existing manifest of the same ``source`` description is continued (``resume=True``); a
      complete one is returned as is (the caller has nothing to do).
    - a manifest of another source, or shards without a manifest, is a ``UserError``.
    Leftover temp files of an interrupted run are removed.
    """
    dst.mkdir(parents=True, exist_ok=True)
    old = read_manifest(dst)
    if overwrite:
        for p in dst.iterdir():
            if p.name == MANIFEST_NAME or p.suffix in (".tar", ".tmp"):
                p.unlink()
        old = None
    elif old is None and any(p.suffix == ".tar" for p in dst.iterdir()):
        raise UserError(
            f"{dst}: holds shards but no manifest.json; choose an empty directory or pass overwrite"
        )
    elif old is not None:
        what = "a complete" if old.complete else "an interrupted"
        if old.source != source:
            raise UserError(
                f"{dst}: holds {what} pack of another source or options; "
                "choose another directory or pass overwrite"
            )
        if not resume:
            raise UserError(f"{dst}: already holds {what} pack; pass overwrite to rebuild it")
    for p in dst.iterdir():
        if p.suffix == ".tmp" or p.name.startswith(f".{MANIFEST_NAME}.tmp"):
            p.unlink()  # half-written shard or manifest of an interrupted run
    return old if old is not None else Manifest(source=source)
