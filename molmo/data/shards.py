"""Finding, opening and reading tar shards — local paths, brace patterns and fsspec URLs.

- :func:`resolve_shards` turns user specs (``data/train``, ``s-{000..009}.tar``, ``s3://b/x-*.tar``,
  ``memory://t/dir``) into :class:`ShardRef` s; a directory with a ``manifest.json`` contributes the
  manifest's shards (with sample counts and checksums), one without contributes its ``*.tar``.
- :func:`index_tar` scans a shard's headers once and returns where each sample's members lie, so
  the loader can read any sample by index with two seeks (random access).
- :func:`iter_tar` streams a shard sample by sample (inspect, verify, stats).

Plain :mod:`tarfile` + :mod:`fsspec`; the only WebDataset import lives in ``molmo.data.loader``.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import fsspec

from molmo.data.manifest import MANIFEST_NAME, Manifest
from molmo.errors import UserError

_BRACE_RANGE = re.compile(r"\{(-?\d+)\.\.(-?\d+)\}")
_BRACE_LIST = re.compile(r"\{([^{}]*,[^{}]*)\}")


class ShardError(OSError):
    """A whole shard cannot be read (missing, truncated, not a tar); the message names it."""


@dataclass
class ShardRef:
    """One shard: where it is and, when a manifest lists it, its expected count/bytes/sha256."""

    url: str
    samples: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    manifest: str | None = None  # directory whose manifest.json listed this shard

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class SampleEntry:
    """Where one sample's members sit inside a tar: ``(ext, data offset, size)`` per member."""

    key: str
    members: list[tuple[str, int, int]] = field(default_factory=list)


def expand_braces(pattern: str) -> list[str]:
    """Expand ``{000..099}`` numeric ranges (zero padding kept) and ``{a,b}`` lists, left to right."""
    m = _BRACE_RANGE.search(pattern)
    l = _BRACE_LIST.search(pattern)
    if m and (not l or m.start() < l.start()):
        lo, hi = m.group(1), m.group(2)
        width = len(lo) if lo.startswith("0") and len(lo) > 1 else 0
        step = 1 if int(hi) >= int(lo) else -1
        head, tail = pattern[: m.start()], pattern[m.end() :]
        return [
            x
            for i in range(int(lo), int(hi) + step, step)
            for x in expand_braces(f"{head}{i:0{width}d}{tail}")
        ]
    if l:
        head, tail = pattern[: l.start()], pattern[l.end() :]
        return [x for alt in l.group(1).split(",") for x in expand_braces(f"{head}{alt}{tail}")]
    return [pattern]


def _is_url(spec: str) -> bool:
    return "://" in spec


def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}"


def _fs(spec: str) -> tuple[Any, str]:
    try:
        return fsspec.core.url_to_fs(spec)
    except (ImportError, ValueError) as e:
        raise UserError(
            f"{spec}: cannot open this location ({e}); install the fsspec extra for its protocol"
        ) from None


def _manifest_at(fs: Any, path: str) -> Manifest | None:
    mpath = _join(path, MANIFEST_NAME)
    if not fs.exists(mpath):
        return None
    try:
        with fs.open(mpath, "rb") as f:
            obj = json.loads(f.read())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{mpath}: cannot read manifest ({e})") from None
    return Manifest.from_json(obj, mpath)


def resolve_shards(specs: str | Sequence[str]) -> list[ShardRef]:
    """Resolve shard specs to an ordered list of :class:`ShardRef` (raises ``UserError`` if none)."""
    if isinstance(specs, str):
        specs = [specs]
    out: list[ShardRef] = []
    for spec in specs:
        for item in expand_braces(str(spec)):
            fs, path = _fs(item)
            local = not _is_url(item)

            def _url(p: str, fs: Any = fs, local: bool = local) -> str:
                return p if local else fs.unstrip_protocol(p)

            if any(c in path for c in "*?[") and not fs.exists(path):
                found = sorted(fs.glob(path))
                if not found:
                    raise UserError(f"{item}: no files match")
                out.extend(ShardRef(url=_url(p)) for p in found)
            elif fs.isdir(path):
                manifest = _manifest_at(fs, path)
                if manifest is not None:
                    base = _url(path.rstrip("/"))
                    out.extend(
                        ShardRef(
                            url=_join(base, s.name),
                            samples=s.samples,
                            bytes=s.bytes,
                            sha256=s.sha256,
                            manifest=base,
                        )
                        for s in manifest.shards
                    )
                else:
                    tars = sorted(p for p in fs.ls(path, detail=False) if p.endswith(".tar"))
                    if not tars:
                        raise UserError(f"{item}: directory has no manifest.json and no .tar shards")
                    out.extend(ShardRef(url=_url(p)) for p in tars)
            elif fs.exists(path):
                out.append(ShardRef(url=_url(path)))
            else:
                raise UserError(f"{item}: no such shard file or directory")
    if not out:
        raise UserError(f"no shards found in {', '.join(map(str, specs))}")
    return out


def open_shard(url: str) -> IO[bytes]:
    """Open a shard for binary reading (local path or fsspec URL); raises :class:`ShardError`."""
    try:
        if _is_url(url):
            return fsspec.open(url, "rb").open()
        return open(url, "rb")
    except (OSError, ValueError) as e:
        raise ShardError(f"{url}: cannot open shard ({e})") from None


def split_name(name: str) -> tuple[str, str] | None:
    """WebDataset's rule: key = path up to the first dot of the base name; ext = the rest."""
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    if dot <= slash + 1 or dot == len(name) - 1:
        return None
    return name[:dot], name[dot + 1 :].lower()


def _skip(info: tarfile.TarInfo) -> bool:
    base = info.name.rsplit("/", 1)[-1]
    return not info.isreg() or base.startswith(("__", "."))


def index_tar(f: IO[bytes], url: str = "") -> list[SampleEntry]:
    """Scan tar headers (no data read) and group members into samples, in file order."""
    entries: list[SampleEntry] = []
    try:
        with tarfile.open(fileobj=f, mode="r:") as tf:
            for info in tf:
                if _skip(info) or (kx := split_name(info.name)) is None:
                    continue
                key, ext = kx
                if not entries or entries[-1].key != key:
                    entries.append(SampleEntry(key))
                entries[-1].members.append((ext, info.offset_data, info.size))
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ShardError(f"{url or 'shard'}: unreadable tar ({e})") from None
    return entries


def read_entry(f: IO[bytes], entry: SampleEntry, url: str = "") -> dict[str, Any]:
    """Read one indexed sample's members: ``{"__key__": key, "__url__": url, ext: bytes, …}``."""
    fields: dict[str, Any] = {"__key__": entry.key, "__url__": url}
    for ext, offset, size in entry.members:
        f.seek(offset)
        data = f.read(size)
        if len(data) != size:
            raise ShardError(f"{url}: truncated member {entry.key}.{ext}")
        fields[ext] = data
    return fields


def iter_tar(url: str) -> Iterator[dict[str, Any]]:
    """Stream the samples of one shard in file order; raises :class:`ShardError` on a broken tar."""
    f = open_shard(url)
    try:
        with tarfile.open(fileobj=f, mode="r|") as tf:
            current: dict[str, Any] | None = None
            for info in tf:
                if _skip(info) or (kx := split_name(info.name)) is None:
                    continue
                key, ext = kx
                data = tf.extractfile(info).read()  # type: ignore[union-attr]
                if current is None or current["__key__"] != key:
                    if current is not None:
                        yield current
                    current = {"__key__": key, "__url__": url}
                current[ext] = data
            if current is not None:
                yield current
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ShardError(f"{url}: unreadable tar ({e})") from None
    finally:
        f.close()
