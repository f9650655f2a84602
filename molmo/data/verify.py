"""``verify``: decode every sample of a shard set and check it against its manifest.

Checks, per shard: the file exists and is a readable tar; its sha256, byte size and sample count
match the manifest; keys are unique; every sample's json passes the schema and every image decodes.
For a local directory also: the manifest says ``complete``, no leftover ``*.tmp`` files, no ``*.tar``
missing from the manifest. Returns a :class:`VerifyReport`; nothing is raised for bad data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from molmo.data.manifest import read_manifest
from molmo.data.sample import DEFAULT_MAX_PIXELS, SampleError, decode_fields
from molmo.data.shards import ShardError, ShardRef, iter_tar, open_shard, resolve_shards

MAX_LISTED_BAD = 1000


@dataclass
class ShardCheck:
    """The verdict on one shard."""

    name: str
    url: str
    samples: int = 0
    bad_samples: int = 0
    expected_samples: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.bad_samples == 0


@dataclass
class VerifyReport:
    """Everything ``verify`` found. ``ok`` is False when any problem or bad sample was seen."""

    path: str
    shards: list[ShardCheck] = field(default_factory=list)
    bad_samples: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return sum(s.samples for s in self.shards)

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.shards)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "samples": self.samples,
            "problems": self.problems,
            "bad_samples": self.bad_samples,
            "shards": [{**asdict(s), "ok": s.ok} for s in self.shards],
        }


def _sha256_and_size(url: str) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    with open_shard(url) as f:
        while block := f.read(1 << 20):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n


def check_shard(
    ref: ShardRef, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[ShardCheck, list[dict[str, str]]]:
    """Verify one shard; returns its check and the list of its bad samples."""
    check = ShardCheck(name=ref.name, url=ref.url, expected_samples=ref.samples)
    bad: list[dict[str, str]] = []
    try:
        if ref.sha256 is not None:
            digest, size = _sha256_and_size(ref.url)
            if ref.bytes is not None and size != ref.bytes:
                check.problems.append(f"size {size} bytes, manifest says {ref.bytes}")
            if digest != ref.sha256:
                check.problems.append("sha256 does not match the manifest")
        seen: set[str] = set()
        for fields in iter_tar(ref.url):
            check.samples += 1
            key = fields["__key__"]
            try:
                if key in seen:
                    raise SampleError("duplicate key in shard")
                seen.add(key)
                decode_fields(fields, max_pixels)
            except SampleError as e:
                check.bad_samples += 1
                bad.append({"shard": ref.name, "key": key, "reason": str(e)})
    except ShardError as e:
        check.problems.append(str(e))
    if ref.samples is not None and check.samples != ref.samples:
        check.problems.append(f"{check.samples} samples, manifest says {ref.samples}")
    return check, bad


def _directory_problems(path: str) -> list[str]:
    p = Path(path)
    if "://" in path or not p.is_dir():
        return []
    problems = []
    manifest = read_manifest(p)
    if manifest is not None:
        if not manifest.complete:
            problems.append("manifest.json says the pack is incomplete (interrupted run?)")
        listed = {s.name for s in manifest.shards}
        extra = sorted(t.name for t in p.glob("*.tar") if t.name not in listed)
        if extra:
            problems.append(f"shards not listed in manifest.json: {', '.join(extra[:10])}")
    leftovers = sorted(t.name for t in p.glob("*.tmp"))
    if leftovers:
        problems.append(f"half-written files left over: {', '.join(leftovers[:10])}")
    return problems


def verify(
    path: str | Sequence[str],
    workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Callable[[int, int | None], None] | None = None,
) -> VerifyReport:
    """Verify the shards at ``path`` (directory, shard file, brace pattern or URL); see the module doc."""
    specs = [path] if isinstance(path, str) else list(path)
    report = VerifyReport(path=", ".join(map(str, specs)))
    for spec in specs:
        report.problems.extend(_directory_problems(str(spec)))
    refs = resolve_shards(specs)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, (check, bad) in enumerate(pool.map(lambda r: check_shard(r, max_pixels), refs)):
            report.shards.append(check)
            report.bad_samples.extend(bad[: max(0, MAX_LISTED_BAD - len(report.bad_samples))])
            if progress is not None:
                progress(i + 1, len(refs))
    return report
