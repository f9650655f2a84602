"""The training data loader: a deterministic, resumable, worker-count-independent sample stream.

Design (see ``molmo.data.mixture``): global position ``g`` -> source (seeded chooser) -> that
source's ``p``-th draw -> ``(epoch, shard, index)`` (seeded shard order + windowed shuffle). Rank
``r`` of ``R`` takes positions ``g = base + r + k·R`` (``k = 0, 1, …``), so ranks are disjoint by
construction. Inside a rank, DataLoader worker ``w`` of ``W`` handles ``k ≡ w (mod W)`` and reads
those samples by random access (a per-shard tar index); PyTorch returns worker outputs round-robin,
which restores the order ``k = 0, 1, 2, …`` for every ``W`` — the stream does not depend on the
worker count. A corrupt sample still occupies its position (the worker sends a marker that the
main process counts and drops), so alignment never breaks.

State (``state_dict()``)::

    {"version": 1, "seed": 17, "next_global": 1234,   # first global position not yet handed out
     "samples_seen": 615, "corrupt": 2, "world_size": 2, "sources": {"shapes": [5000, 1.0]}}

Resuming sets ``base = next_global``, ``k = 0``: the same world size continues exactly where it
stopped; another world size continues from the same point in the global sequence (ranks are
assumed to consume in lockstep, as data-parallel training does).

This is the ONLY module that imports ``webdataset`` (used by :func:`iter_samples`, the ordered,
sequential reader for evaluation).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import webdataset as wds
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from molmo.config.data import DataConfig
from molmo.data.mixture import SourceChooser, SourcePlan, mixture_rates
from molmo.data.sample import DEFAULT_MAX_PIXELS, DecodedSample, SampleError, decode_fields
from molmo.data.shards import (
    SampleEntry,
    ShardError,
    ShardRef,
    index_tar,
    open_shard,
    read_entry,
    resolve_shards,
)
from molmo.errors import MolmoError, UserError

STATE_VERSION = 1
MAX_LISTED_CORRUPT = 100


@dataclass
class _Corrupt:
    """Placeholder a worker sends for an unreadable sample (keeps positions aligned)."""

    where: str
    reason: str


@dataclass
class SourceInfo:
    """A resolved source: its shards, per-shard counts and final sampling rate."""

    name: str
    shards: list[ShardRef]
    counts: list[int]
    rate: float

    @property
    def size(self) -> int:
        return sum(self.counts)


class _ShardReader:
    """Per-process cache of open shard files and their tar indexes (random access by index)."""

    def __init__(self, max_open: int = 16, max_index: int = 256) -> None:
        self._files: OrderedDict[str, IO[bytes]] = OrderedDict()
        self._index: OrderedDict[str, list[SampleEntry]] = OrderedDict()
        self.max_open, self.max_index = max_open, max_index

    def file(self, url: str) -> IO[bytes]:
        if url in self._files:
            self._files.move_to_end(url)
            return self._files[url]
        f = open_shard(url)
        self._files[url] = f
        if len(self._files) > self.max_open:
            self._files.popitem(last=False)[1].close()
        return f

    def index(self, url: str) -> list[SampleEntry]:
        if url not in self._index:
            self._index[url] = index_tar(self.file(url), url)
            if len(self._index) > self.max_index:
                self._index.popitem(last=False)
        return self._index[url]

    def read(self, url: str, i: int) -> dict[str, Any]:
        entries = self.index(url)
        if i >= len(entries):
            raise ShardError(f"{url}: has {len(entries)} samples, expected more (manifest out of date?)")
        return read_entry(self.file(url), entries[i], url)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


def count_samples(shards: Sequence[ShardRef]) -> list[int]:
    """Samples per shard: from the manifest when it lists them, else by scanning the tar headers."""
    reader = _ShardReader(max_open=1, max_index=1)
    try:
        return [s.samples if s.samples is not None else len(reader.index(s.url)) for s in shards]
    finally:
        reader.close()


class _PositionStream(IterableDataset):
    """Yields ``(k, item)`` for rank-local positions ``k`` in ``[start, stop)`` owned by this worker."""

    def __init__(self, loader: ShardLoader, base: int, start: int, stop: int | None) -> None:
        self.sources = loader.sources
        self.seed, self.rank, self.world = loader.config.seed, loader.rank, loader.world_size
        self.base, self.start, self.stop = base, start, stop
        self.transform, self.decode = loader.transform, loader.decode
        self.max_pixels = loader.config.max_image_pixels
        self.shuffle_buffer, self.shuffle_shards = loader.config.shuffle_buffer, loader.config.shuffle_shards

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        info = get_worker_info()
        w, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        chooser = SourceChooser([s.rate for s in self.sources], self.seed)
        plans = [
            SourcePlan(s.counts, self.seed, i, self.shuffle_buffer, self.shuffle_shards)
            for i, s in enumerate(self.sources)
        ]
        reader = _ShardReader()
        k = self.start + w
        try:
            while self.stop is None or k < self.stop:
                g = self.base + self.rank + k * self.world
                si, p = chooser.locate(g)
                src = self.sources[si]
                _, shard, idx = plans[si].locate(p)
                url = src.shards[shard].url
                yield k, self._load(reader, src.name, url, idx, g)
                k += n_workers
        finally:
            reader.close()

    def _load(self, reader: _ShardReader, source: str, url: str, idx: int, g: int) -> Any:
        try:
            fields = reader.read(url, idx)
            if not self.decode:
                return fields
            sample = decode_fields(fields, self.max_pixels)
        except (SampleError, ShardError, OSError) as e:
            return _Corrupt(f"{url}#{idx}", str(e))
        sample.source, sample.url, sample.position = source, url, g
        if self.transform is None:
            return sample
        try:
            return self.transform(sample)
        except Exception as e:  # noqa: BLE001 — a transform failure is this sample's problem (counted)
            return _Corrupt(f"{url}#{idx} ({sample.key})", f"transform failed: {type(e).__name__}: {e}")


def loader_workers(config: DataConfig, workers: int | None = None) -> int:
    """Worker processes a ``ShardLoader`` uses: the override if given, else ``config.workers`` (0 = inline)."""
    return config.workers if workers is None else workers


def _first(batch: Any) -> Any:
    return batch


class ShardLoader:
    """Iterate decoded samples (or ``transform(sample)``) of a :class:`DataConfig` mixture.

    ``iter(loader)`` continues from the current position each time (starting a new iterator retires
    the previous one); ``state_dict`` / ``load_state_dict`` save and restore the position.
    ``decode=False`` yields raw tar fields instead. Each ``DecodedSample.position`` is its global
    position — a per-sample seed for random augmentation that does not depend on the worker count.
    """

    def __init__(
        self,
        config: DataConfig,
        rank: int = 0,
        world_size: int = 1,
        transform: Callable[[DecodedSample], Any] | None = None,
        workers: int | None = None,
        decode: bool = True,
    ) -> None:
        if not 0 <= rank < world_size:
            raise UserError(f"rank {rank} is outside world size {world_size}")
        self.config, self.rank, self.world_size = config, rank, world_size
        self.transform, self.decode = transform, decode
        self.workers = loader_workers(config, workers)
        resolved = {s.name: resolve_shards(s.paths) for s in config.sources}
        counts = {name: count_samples(refs) for name, refs in resolved.items()}
        rates = mixture_rates(config, {name: sum(c) for name, c in counts.items()})
        self.sources = [
            SourceInfo(s.name, resolved[s.name], counts[s.name], rates[s.name]) for s in config.sources
        ]
        self.total = sum(s.size for s in self.sources)
        self.base = 0  # global position where the current rank split starts
        self.k = 0  # rank-local positions consumed since base (corrupt ones included)
        self.samples_seen = 0
        self.corrupt = 0
        self.corrupt_samples: list[dict[str, str]] = []
        self._active: object | None = None

    # -- position bookkeeping -------------------------------------------------------------------
    @property
    def next_global(self) -> int:
        """First global position not yet handed out (the same on every rank in lockstep)."""
        return self.base + self.k * self.world_size

    @property
    def epoch(self) -> float:
        """Passes over the whole mixture so far (global positions / total samples)."""
        return self.next_global / self.total

    def _stop(self) -> int | None:
        if self.config.epochs is None:
            return None
        return max(0, (self.config.epochs * self.total - self.base) // self.world_size)

    def schedule(self, n: int) -> list[tuple[str, str, int, int]]:
        """The next ``n`` positions of this rank as ``(source, shard url, index, epoch)``; reads nothing."""
        chooser = SourceChooser([s.rate for s in self.sources], self.config.seed)
        plans = [
            SourcePlan(s.counts, self.config.seed, i, self.config.shuffle_buffer, self.config.shuffle_shards)
            for i, s in enumerate(self.sources)
        ]
        out = []
        for k in range(self.k, self.k + n):
            si, p = chooser.locate(self.base + self.rank + k * self.world_size)
            epoch, shard, idx = plans[si].locate(p)
            out.append((self.sources[si].name, self.sources[si].shards[shard].url, idx, epoch))
        return out

    # -- iteration ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        token = self._active = object()  # a newer iterator retires this one (one live iterator at a time)
        stream = _PositionStream(self, self.base, self.k, self._stop())
        if self.workers == 0:
            it: Any = iter(stream)
        else:
            it = iter(
                DataLoader(
                    stream,
                    batch_size=None,
                    num_workers=self.workers,
                    collate_fn=_first,
                    prefetch_factor=self.config.prefetch,
                    persistent_workers=False,
                )
            )
        try:
            for k, item in it:
                if self._active is not token:
                    return
                self.k = k + 1
                if isinstance(item, _Corrupt):
                    self._count_corrupt(item)
                    continue
                self.samples_seen += 1
                yield item
        finally:
            del it

    def _count_corrupt(self, item: _Corrupt) -> None:
        self.corrupt += 1
        if len(self.corrupt_samples) < MAX_LISTED_CORRUPT:
            self.corrupt_samples.append({"where": item.where, "reason": item.reason})
        if self.corrupt > self.config.max_corrupt:
            raise MolmoError(
                f"too many corrupt samples ({self.corrupt} > max_corrupt={self.config.max_corrupt}); "
                f"last: {item.where}: {item.reason}"
            )

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable loader position (see the module doc)."""
        return {
            "version": STATE_VERSION,
            "seed": self.config.seed,
            "next_global": self.next_global,
            "samples_seen": self.samples_seen,
            "corrupt": self.corrupt,
            "world_size": self.world_size,
            "sources": {s.name: [s.size, round(s.rate, 12)] for s in self.sources},
        }

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Continue from a saved position. ``strict`` requires the same seed and sources (sizes, rates)."""
        if state.get("version") != STATE_VERSION:
            raise UserError(
                f"loader state version {state.get('version')!r} is not supported (expected {STATE_VERSION})"
            )
        if strict and state["seed"] != self.config.seed:
            raise UserError(
                f"loader state was saved with data seed {state['seed']}, config has {self.config.seed}"
            )
        mine = self.state_dict()["sources"]
        saved = {k: list(v) for k, v in state["sources"].items()}
        if strict and saved != mine:
            raise UserError(
                f"data sources changed since the loader state was saved ({saved} != {mine}); "
                "the position cannot be resumed exactly (load with strict=False to continue anyway)"
            )
        self.base, self.k = int(state["next_global"]), 0
        self.samples_seen, self.corrupt = int(state["samples_seen"]), int(state["corrupt"])


def iter_samples(
    paths: str | Sequence[str],
    decode: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    errors: list[str] | None = None,
) -> Iterator[DecodedSample]:
    """Stream every sample of ``paths`` once, in shard order (evaluation, prediction over shards).

    Broken samples/shards are skipped; their reasons are appended to ``errors`` when given.
    Built on WebDataset's tar expansion and key grouping.
    """
    urls = [r.url for r in resolve_shards(paths)]

    def handler(exn: Exception) -> bool:
        if errors is not None:
            url = next((a for a in reversed(exn.args[1:]) if isinstance(a, str)), "")
            msg = exn.args[0] if exn.args else exn
            errors.append(f"{url + ': ' if url else ''}{type(exn).__name__}: {msg}")
        return True

    def streams() -> Iterator[dict[str, Any]]:
        for url in urls:
            try:
                f = open_shard(url)
            except ShardError as e:
                handler(e)
                continue
            try:
                yield {"url": url, "stream": f}
            finally:
                f.close()

    files = wds.tariterators.tar_file_expander(streams(), handler=handler)
    for fields in wds.tariterators.group_by_keys(files, handler=handler):
        try:
            sample = decode_fields(fields, max_pixels, decode_images=decode)
        except SampleError as e:
            handler(SampleError(f"{fields.get('__key__')}: {e}", fields.get("__url__", "")))
            continue
        sample.url = fields.get("__url__", "")
        yield sample
