"""Mixture rates and the deterministic global sample schedule.

The loader decides *which* sample comes at every global position ``g = 0, 1, 2, …`` from the seed
alone, before anything is read; workers then only fetch and decode. Three pieces:

- :func:`mixture_rates`: per-source sampling rates — explicit ``rate`` s, or Molmo's root-size rule
  (inside a group rate ∝ sqrt(size), scaled to the group rate, then normalised), or — with neither —
  proportional to size (every sample equally likely).
- :class:`SourceChooser`: the source of position ``g``. Positions are cut in chunks of 4096; chunk
  ``c`` draws its sources i.i.d. from ``default_rng([seed, c])``, so any position can be located
  without replaying the past, and it also yields the sample's ordinal within its source.
- :class:`SourcePlan`: the ``p``-th sample of one source -> ``(epoch, shard, index in shard)``. Each
  epoch shuffles the shard order, then permutes consecutive windows of ``shuffle_buffer`` samples
  (a seekable equivalent of a streaming shuffle buffer).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from molmo.config.data import DataConfig
from molmo.errors import UserError

CHUNK = 4096


def mixture_rates(config: DataConfig, sizes: dict[str, int]) -> dict[str, float]:
    """Normalised sampling rate of every source in ``config`` given real sample counts ``sizes``."""
    raw: dict[str, float] = {}
    for s in config.sources:
        if sizes.get(s.name, 0) <= 0:
            raise UserError(f"data source {s.name!r} has no samples")
    if any(s.rate is not None for s in config.sources):
        raw = {s.name: float(s.rate or 0.0) for s in config.sources}
    elif any(s.group is not None for s in config.sources):
        for group, group_rate in config.groups.items():
            members = [s for s in config.sources if s.group == group]
            roots = {s.name: math.sqrt(s.size or sizes[s.name]) for s in members}
            total = sum(roots.values())
            raw.update({name: group_rate * r / total for name, r in roots.items()})
    else:
        raw = {s.name: float(sizes[s.name]) for s in config.sources}
    norm = sum(raw.values())
    return {name: r / norm for name, r in raw.items()}


class SourceChooser:
    """Which source serves global position ``g``, and the how-many-th sample of that source it is."""

    def __init__(self, rates: Sequence[float], seed: int, cache: int = 4) -> None:
        self.cdf = np.cumsum(np.asarray(rates, dtype=np.float64))
        self.cdf[-1] = 1.0
        self.n = len(rates)
        self.seed = seed
        self._prefix: list[np.ndarray] = [np.zeros(self.n, dtype=np.int64)]  # counts before chunk c
        self._chunks: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache = cache

    def _draw(self, c: int) -> np.ndarray:
        u = np.random.default_rng([self.seed, c]).random(CHUNK)
        return np.searchsorted(self.cdf, u, side="right").clip(max=self.n - 1)

    def chunk(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """``(sources, ordinals)`` of the positions of chunk ``c`` (ordinal = index within the source)."""
        if c in self._chunks:
            self._chunks.move_to_end(c)
            return self._chunks[c]
        while len(self._prefix) <= c:  # extend the per-chunk prefix counts (cheap: one bincount per chunk)
            k = len(self._prefix) - 1
            self._prefix.append(self._prefix[k] + np.bincount(self._draw(k), minlength=self.n))
        src = self._draw(c)
        ordinal = np.empty(CHUNK, dtype=np.int64)
        for s in range(self.n):
            idx = np.flatnonzero(src == s)
            ordinal[idx] = self._prefix[c][s] + np.arange(len(idx))
        self._chunks[c] = (src, ordinal)
        if len(self._chunks) > self._cache:
            self._chunks.popitem(last=False)
        return src, ordinal

    def locate(self, g: int) -> tuple[int, int]:
        """``(source index, ordinal within that source)`` of global position ``g``."""
        if self.n == 1:
            return 0, g
        src, ordinal = self.chunk(g // CHUNK)
        return int(src[g % CHUNK]), int(ordinal[g % CHUNK])


class SourcePlan:
    """Maps the ``p``-th draw from one source to ``(epoch, shard index, sample index in shard)``."""

    def __init__(
        self, counts: Sequence[int], seed: int, source_index: int, shuffle_buffer: int, shuffle_shards: bool
    ) -> None:
        self.counts = np.asarray(counts, dtype=np.int64)
        self.total = int(self.counts.sum())
        if self.total <= 0:
            raise UserError("a data source has no samples")
        self.seed, self.source_index = seed, source_index
        self.window = max(1, shuffle_buffer)
        self.shuffle_shards = shuffle_shards
        self._epochs: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._blocks: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def _epoch(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Shard order of epoch ``e`` and the cumulative sample counts along it."""
        if e not in self._epochs:
            order = np.arange(len(self.counts))
            if self.shuffle_shards:
                order = np.random.default_rng([self.seed, self.source_index, e]).permutation(len(self.counts))
            self._epochs[e] = (order, np.cumsum(self.counts[order]))
            if len(self._epochs) > 2:
                self._epochs.popitem(last=False)
        return self._epochs[e]

    def _block(self, e: int, b: int) -> np.ndarray:
        if (e, b) not in self._blocks:
            size = min(self.window, self.total - b * self.window)
            self._blocks[(e, b)] = np.random.default_rng([self.seed, self.source_index, e, b, 1]).permutation(
                size
            )
            if len(self._blocks) > 8:
                self._blocks.popitem(last=False)
        return self._blocks[(e, b)]

    def locate(self, p: int) -> tuple[int, int, int]:
        """``(epoch, shard index, index within the shard)`` of this source's ``p``-th draw."""
        e, o = divmod(p, self.total)
        if self.window > 1:
            b, r = divmod(o, self.window)
            o = b * self.window + int(self._block(e, b)[r])
        order, cum = self._epoch(e)
        j = int(np.searchsorted(cum, o, side="right"))
        start = int(cum[j - 1]) if j > 0 else 0
        return e, int(order[j]), o - start
