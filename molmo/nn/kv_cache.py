"""A key/value cache for incremental decoding (inference only).

One cache object serves a whole decoder: layer ``i`` calls ``update(i, k, v)`` with the keys and
values of the new positions and gets back all keys/values so far. Buffers are allocated lazily
on the first update (with the dtype/device of the keys) with room for ``capacity`` positions and
grow by doubling, so a decode step copies only the new position. Keys are stored un-expanded
(n_kv_heads), i.e. GQA keeps its memory saving. ``reorder`` supports beam search.
"""

from __future__ import annotations

import torch


class KVCache:
    """Per-layer buffers ``(B, H_kv, capacity, head_dim)`` plus the number of filled positions."""

    def __init__(self, capacity: int = 0):
        self.capacity = capacity
        self._keys: list[torch.Tensor] = []
        self._values: list[torch.Tensor] = []
        self._lengths: list[int] = []

    @property
    def seq_len(self) -> int:
        """Number of cached positions (of layer 0; all layers agree between forwards)."""
        return self._lengths[0] if self._lengths else 0

    @property
    def num_layers(self) -> int:
        return len(self._keys)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append k, v: (B, H_kv, T_new, hd) to ``layer``; return (B, H_kv, T_past + T_new, hd) views."""
        if layer == len(self._keys):  # first call for this layer: allocate
            B, H, T, D = k.shape
            cap = max(self.capacity, T)
            self._keys.append(k.new_empty(B, H, cap, D))
            self._values.append(v.new_empty(B, H, cap, v.shape[-1]))
            self._lengths.append(0)
        elif layer > len(self._keys):
            raise ValueError(f"KVCache: layer {layer} updated before layer {len(self._keys)}")
        n, t = self._lengths[layer], k.shape[2]
        if n + t > self._keys[layer].shape[2]:
            self._grow(layer, max(2 * self._keys[layer].shape[2], n + t))
        self._keys[layer][:, :, n : n + t] = k
        self._values[layer][:, :, n : n + t] = v
        self._lengths[layer] = n + t
        return self._keys[layer][:, :, : n + t], self._values[layer][:, :, : n + t]

    def _grow(self, layer: int, new_cap: int) -> None:
        for bufs in (self._keys, self._values):
            old = bufs[layer]
            new = old.new_empty(old.shape[0], old.shape[1], new_cap, old.shape[3])
            new[:, :, : self._lengths[layer]] = old[:, :, : self._lengths[layer]]
            bufs[layer] = new

    def reorder(self, index: torch.Tensor) -> None:
        """Select/duplicate batch rows in place: row i of the new cache = row index[i] of the old."""
        for bufs in (self._keys, self._values):
            for i, buf in enumerate(bufs):
                bufs[i] = buf.index_select(0, index.to(buf.device))

    def get(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached (keys, values) of ``layer``: (B, H_kv, seq_len, hd) each."""
        n = self._lengths[layer]
        return self._keys[layer][:, :, :n], self._values[layer][:, :, :n]
