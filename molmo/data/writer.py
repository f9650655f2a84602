"""Write samples into WebDataset tar shards that roll over by size or sample count.

Each shard is written as ``<name>.tmp`` and renamed to ``<name>`` (``shard-000000.tar``…) only
after it is closed, so a half-written shard never looks complete. Tar members get a fixed mtime
and owner so identical samples give byte-identical shards (the sha256 is reproducible).

Only the standard :mod:`tarfile` module is used; no WebDataset import here.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from molmo.data.manifest import ShardInfo

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_SAMPLES = 10_000
_BLOCK = 512


class _HashingFile(io.RawIOBase):
    """A write-only file wrapper that hashes and counts every byte written (tarfile writes sequentially)."""

    def __init__(self, f: Any) -> None:
        self._f = f
        self.sha = hashlib.sha256()
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._f.write(data)
        self.sha.update(data)
        self.n += len(data)
        return len(data)

    def tell(self) -> int:
        return self.n


def member_size(n: int) -> int:
    """Bytes one tar member of ``n`` data bytes takes (header + padded data)."""
    return _BLOCK + (n + _BLOCK - 1) // _BLOCK * _BLOCK


class ShardWriter:
    """Append samples (dicts of ``ext -> bytes`` plus ``__key__``) to rolling tar shards.

    A new shard starts when the current one holds ``max_samples`` samples or adding the next sample
    would exceed ``max_bytes`` (a single larger sample still gets a shard of its own).
    ``on_shard(info)`` is called after each shard is renamed into place — ``pack`` uses it to
    update the manifest so an interrupted run can resume.
    """

    def __init__(
        self,
        directory: str | Path,
        prefix: str = "shard",
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        start_index: int = 0,
        on_shard: Callable[[ShardInfo], None] | None = None,
    ) -> None:
        if max_bytes <= 0 or max_samples <= 0:
            raise ValueError("max_bytes and max_samples must be positive")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_samples = max_samples
        self.next_index = start_index
        self.on_shard = on_shard
        self.shards: list[ShardInfo] = []
        self._raw: Any = None
        self._hash: _HashingFile | None = None
        self._tar: tarfile.TarFile | None = None
        self._name = ""
        self._count = 0
        self._bytes = 0

    def shard_name(self, index: int) -> str:
        return f"{self.prefix}-{index:06d}.tar"

    def _open(self) -> None:
        self._name = self.shard_name(self.next_index)
        self.next_index += 1
        self._raw = open(self.directory / f"{self._name}.tmp", "wb")  # noqa: SIM115 — lives until _finish
        self._hash = _HashingFile(self._raw)
        self._tar = tarfile.open(fileobj=self._hash, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self._count = 0
        self._bytes = 0

    def write(self, fields: dict[str, Any]) -> None:
        """Write one sample; ``fields["__key__"]`` names it, every other entry is one member."""
        key = fields["__key__"]
        members = [(k, v) for k, v in fields.items() if not k.startswith("__")]
        size = sum(member_size(len(v)) for _, v in members)
        if self._tar is not None and (self._count >= self.max_samples or self._bytes + size > self.max_bytes):
            self._finish()
        if self._tar is None:
            self._open()
        assert self._tar is not None
        for ext, data in members:
            info = tarfile.TarInfo(f"{key}.{ext}")
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o444
            info.uname = info.gname = ""
            self._tar.addfile(info, io.BytesIO(data))
        self._count += 1
        self._bytes += size

    def _finish(self) -> None:
        """Close the current shard, fsync it and rename it into place."""
        assert self._tar is not None and self._hash is not None
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        tmp = self.directory / f"{self._name}.tmp"
        os.replace(tmp, self.directory / self._name)
        info = ShardInfo(
            name=self._name, samples=self._count, bytes=self._hash.n, sha256=self._hash.sha.hexdigest()
        )
        self.shards.append(info)
        self._tar = self._hash = self._raw = None
        if self.on_shard is not None:
            self.on_shard(info)

    @property
    def pending(self) -> int:
        """Samples written to the open (not yet finished) shard."""
        return self._count if self._tar is not None else 0

    def close(self) -> None:
        """Finish the open shard (if any)."""
        if self._tar is not None:
            self._finish()

    def abort(self) -> None:
        """Drop the open shard: close and delete its temp file (finished shards stay)."""
        if self._tar is not None:
            try:
                self._tar.close()
                self._raw.close()
            finally:
                (self.directory / f"{self._name}.tmp").unlink(missing_ok=True)
                self._tar = self._hash = self._raw = None

    def __enter__(self) -> ShardWriter:  # noqa: PYI034
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
