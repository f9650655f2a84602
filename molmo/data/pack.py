"""``pack``: convert a dataset in one of the registered source formats into WebDataset shards.

Pipeline: a format reader yields :class:`~molmo.data.sample.Record` s in source order; a thread pool
loads and validates each record's images with PIL (decoding releases the GIL) and validates the json;
results are consumed **in order** and written by a :class:`~molmo.data.writer.ShardWriter`.

Bad records (missing/corrupt/oversized image, bad JSON, empty conversation, schema violation) are
skipped and listed with their reason in ``manifest.json`` — or, with ``strict=True``, abort the
pack with a :class:`~molmo.errors.UserError` naming the record.

Resuming: after every finished shard the manifest (``complete: false``) records how many source
records the finished shards cover. Running the same pack again skips those records and continues
with the next shard number; a complete pack of the same source is a no-op.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from molmo.data.formats import open_format
from molmo.data.manifest import Manifest, ShardInfo, prepare_destination, write_manifest
from molmo.data.sample import (
    DEFAULT_MAX_PIXELS,
    DecodedSample,
    Record,
    SampleError,
    check_image,
    decode_fields,
    encode_fields,
    normalize_json,
    validate_json,
)
from molmo.data.writer import DEFAULT_MAX_BYTES, DEFAULT_MAX_SAMPLES, ShardWriter
from molmo.errors import UserError

ProgressFn = Callable[[int, "int | None"], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class PackResult:
    """What a pack run did: the final manifest and this run's counts."""

    directory: Path
    manifest: Manifest
    written: int
    failed: int
    skipped: int  # records already covered by shards of an earlier (interrupted) run

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "written": self.written,
            "failed": self.failed,
            "skipped": self.skipped,
            "samples": self.manifest.samples,
            "shards": len(self.manifest.shards),
            "failures_total": self.manifest.failures_total,
        }


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int
) -> Iterator[tuple[T, R | None, Exception | None]]:
    """Apply ``fn`` on a thread pool, yielding ``(item, result, error)`` in input order.

    At most ``4 * workers`` items are in flight (the input may be huge). ``workers <= 1`` runs inline.
    """
    if workers <= 1:
        for item in items:
            try:
                yield item, fn(item), None
            except Exception as e:  # noqa: BLE001 — reported to the caller, who decides (skip or strict)
                yield item, None, e
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        window: deque[tuple[T, Future[R]]] = deque()
        it = iter(items)
        done = False
        while True:
            while not done and len(window) < 4 * workers:
                try:
                    item = next(it)
                except StopIteration:
                    done = True
                    break
                window.append((item, pool.submit(fn, item)))
            if not window:
                return
            item, fut = window.popleft()
            try:
                yield item, fut.result(), None
            except Exception as e:  # noqa: BLE001 — same contract as the inline branch
                yield item, None, e


def _read_media(ref: str | bytes, what: str) -> bytes:
    if isinstance(ref, (bytes, bytearray)):
        return bytes(ref)
    try:
        with open(ref, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise SampleError(f"missing {what} file {ref}") from None
    except OSError as e:
        raise SampleError(f"cannot read {what} file {ref} ({e.strerror})") from None


def load_record(rec: Record, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Load and validate a record's media and json; return its tar fields or raise ``SampleError``."""
    if rec.error:
        raise SampleError(rec.error)
    images = [check_image(_read_media(ref, "image"), max_pixels)[:2] for ref in rec.images]
    video = None
    if rec.video is not None:
        video = _read_media(rec.video, "video")
        if video[4:8] != b"ftyp":
            raise SampleError("video is not an mp4 file")
    obj = normalize_json(validate_json(rec.json, n_images=len(images)))
    return encode_fields(rec.key, obj, images, video)


def record_to_sample(rec: Record, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedSample:
    """Load a reader's record straight into a :class:`DecodedSample` (eval on raw benchmark files).

    Raises ``SampleError`` for a bad record, exactly as ``pack`` would skip it.
    """
    return decode_fields(load_record(rec, max_pixels), max_pixels)


def pack(
    src: str | Path,
    dst: str | Path,
    format: str,
    *,
    workers: int = 4,
    strict: bool = False,
    shard_size: int = DEFAULT_MAX_BYTES,
    shard_samples: int = DEFAULT_MAX_SAMPLES,
    mapping: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    resume: bool = True,
    overwrite: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    limit: int | None = None,
    prefix: str = "shard",
) -> PackResult:
    """Pack ``src`` (read with the ``format`` reader) into shards in ``dst``; see the module doc.

    ``progress(done, total)`` is called after each record (``total`` is None when unknown).
    ``limit`` stops after that many source records. Raises ``UserError`` for bad input.
    """
    src, dst = Path(src), Path(dst)
    stream = open_format(format, src, mapping)
    source = {
        "kind": "pack",
        "format": format,
        "src": str(src.resolve()),
        "mapping": dict(mapping or {}),
        "shard_size": shard_size,
        "shard_samples": shard_samples,
        "limit": limit,
    }
    manifest = prepare_destination(dst, source, resume, overwrite)
    if manifest.complete:
        return PackResult(dst, manifest, written=0, failed=0, skipped=manifest.records_done)
    total = stream.total if limit is None else min(limit, stream.total or limit)
    cursor = {"next": manifest.records_done}

    def on_shard(info: ShardInfo) -> None:
        manifest.shards.append(info)
        manifest.records_done = cursor["next"]
        write_manifest(dst, manifest)

    skipped = manifest.records_done
    records = _indexed(stream, start=skipped, stop=limit)
    writer = ShardWriter(
        dst, prefix, shard_size, shard_samples, start_index=len(manifest.shards), on_shard=on_shard
    )
    written = failed = 0
    write_manifest(dst, manifest)
    try:
        for (index, rec), fields, err in ordered_map(
            lambda ir: load_record(ir[1], max_pixels), records, workers
        ):
            if err is not None:
                if not isinstance(err, SampleError):
                    raise err
                if strict:
                    raise UserError(f"{src}: record {index} ({rec.key}): {err}")
                manifest.add_failure(index, rec.key, str(err))
                failed += 1
            else:
                cursor["next"] = index
                writer.write(fields)  # type: ignore[arg-type]
                written += 1
            cursor["next"] = index + 1
            if progress is not None:
                progress(index + 1, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    manifest.records_done = cursor["next"]
    manifest.complete = True
    write_manifest(dst, manifest)
    return PackResult(dst, manifest, written=written, failed=failed, skipped=skipped)


def _indexed(stream: Iterable[Record], start: int, stop: int | None) -> Iterator[tuple[int, Record]]:
    """Number the records, skip the first ``start`` (resume) and stop at ``stop`` (limit)."""
    for i, rec in enumerate(stream):
        if stop is not None and i >= stop:
            return
        if i >= start:
            yield i, rec
