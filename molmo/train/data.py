"""Training batches: shard samples → ``Preprocessor`` examples (in loader workers) → ``Batch``.

``SampleTransform`` is picklable (it rebuilds its ``Preprocessor`` lazily in each worker) and seeds
the per-sample randomness (style dropping, length noise) from ``(seed, global position)`` so the
stream is identical for any number of workers and after a resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from molmo.config.data import DataConfig
from molmo.config.preprocess import PreprocessConfig
from molmo.data.loader import ShardLoader, loader_workers
from molmo.data.sample import IMAGE_TOKEN, DecodedSample
from molmo.preprocess.batch import Batch
from molmo.preprocess.preprocessor import Preprocessor
from molmo.preprocess.tokenizer import MolmoTokenizer


def split_pairs(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Cut a user/assistant/user/assistant... dialog into one conversation per question/answer pair.

    A ``system`` message or an ``<|image|>`` marker has no place in a lone pair, so dialogs that are
    not plain alternating user/assistant turns are kept whole (one conversation).
    """
    roles = [m.get("role") for m in messages]
    plain = len(messages) % 2 == 0 and roles == ["user", "assistant"] * (len(messages) // 2)
    if not plain or any(IMAGE_TOKEN in str(m.get("content", "")) for m in messages):
        return [messages]
    return [messages[i : i + 2] for i in range(0, len(messages), 2)]


class SampleTransform:
    """``DecodedSample`` → example dict (numpy arrays), run inside loader workers."""

    def __init__(self, preprocess: PreprocessConfig, tokenizer_file: Path, seed: int, split_turns: bool = False):
        self.preprocess = preprocess
        self.split_turns = split_turns
        self.tokenizer_file = Path(tokenizer_file)
        self.seed = seed
        self._pre: Preprocessor | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pre": None}

    @property
    def preprocessor(self) -> Preprocessor:
        if self._pre is None:
            self._pre = Preprocessor(self.preprocess, MolmoTokenizer.from_file(self.tokenizer_file), seed=self.seed)
        return self._pre

    def __call__(self, sample: DecodedSample) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, max(sample.position, 0)])
        pairs = split_pairs(sample.messages) if self.split_turns else [sample.messages]
        if len(pairs) > 1:
            example = self.preprocessor.multi_annotation(sample.images, pairs, styles=sample.style, rng=rng)
        else:  # one conversation (also a dialog split_pairs keeps whole): the plain, unpacked encoding
            example = self.preprocessor(sample.images, sample.messages, style=sample.style, rng=rng)
        example["key"] = sample.key
        return example


class BatchStream:
    """Micro-batches for one rank from a resumable ``ShardLoader``.

    With ``config.length_buckets = K > 1`` it reads ``K`` micro-batches' worth of samples (a
    *window*), sorts them by token length (stable), cuts them into ``K`` micro-batches of similar
    lengths and hands those out in a seeded random order, so less of each batch is padding.

    ``state_dict()`` is the loader position after the last micro-batch handed out, so a checkpoint
    taken between optimiser steps resumes with the next unseen sample. Mid-window it is the
    window's start position plus the number of its batches already handed out: a resume re-reads
    the window (samples and their augmentation are a function of their position) and skips those.
    """

    def __init__(self, config: DataConfig, transform: SampleTransform, micro_batch_size: int,
                 rank: int, world_size: int, workers: int | None = None):
        if config.length_buckets > 1:  # the workers' queues must hold a window, or every window read stalls a step
            n_workers = max(1, loader_workers(config, workers))
            window = -(-config.length_buckets * micro_batch_size // n_workers)
            config = config.model_copy(update={"prefetch": max(config.prefetch, window)})
        self.loader = ShardLoader(config, rank=rank, world_size=world_size, transform=transform, workers=workers)
        self.transform = transform
        self.micro_batch_size = micro_batch_size
        self.buckets = config.length_buckets
        self.seed = config.seed
        self.rank = rank
        self._it: Iterator[Any] | None = None
        self._window: dict[str, Any] | None = None  # loader state where the current window starts
        self._pending: list[list[dict[str, Any]]] = []  # the window's batches not yet handed out
        self._served = 0  # the window's batches handed out
        self._resume: tuple[int, int] | None = None  # (batches to skip, window size) after a resume

    @property
    def dataset_size(self) -> int:
        return self.loader.total

    def _read_window(self) -> None:
        """Fill ``_pending`` with the next window's micro-batches (none when the data is exhausted)."""
        if self._it is None:
            self._it = iter(self.loader)
        skip, buckets = self._resume or (0, self.buckets)
        self._resume = None
        self._window = self.loader.state_dict()
        want = buckets * self.micro_batch_size
        examples: list[dict[str, Any]] = []
        for example in self._it:
            examples.append(example)
            if len(examples) == want:
                break
        n = len(examples) // self.micro_batch_size
        examples = examples[: n * self.micro_batch_size]
        if buckets > 1:
            examples.sort(key=lambda ex: len(ex["input_ids"]))
        batches = [examples[i * self.micro_batch_size : (i + 1) * self.micro_batch_size] for i in range(n)]
        if buckets > 1:  # shuffled so lengths (and whatever correlates with them) do not trend in time
            rng = np.random.default_rng([self.seed, self.rank, int(self._window["next_global"])])
            batches = [batches[i] for i in rng.permutation(n)]
        self._pending, self._served = batches[skip:], min(skip, n)

    def next_batch(self) -> tuple[Batch, list[str]] | None:
        """The next micro-batch and its sample keys, or None when the data is exhausted."""
        if not self._pending:
            self._read_window()
            if not self._pending:
                return None
        examples = self._pending.pop(0)
        self._served += 1
        keys = [ex.pop("key") for ex in examples]
        return self.transform.preprocessor.collate(examples), keys

    def state_dict(self) -> dict[str, Any]:
        if self._pending:  # mid-window
            assert self._window is not None
            return {"window": self._window, "served": self._served,
                    "buckets": self._served + len(self._pending)}
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.close()
        if "window" in state:
            self.loader.load_state_dict(state["window"])
            self._resume = (int(state["served"]), int(state["buckets"]))
        else:
            self.loader.load_state_dict(state)

    def close(self) -> None:
        if self._it is not None:
            self._it.close()
            self._it = None
        self._pending, self._served, self._window = [], 0, None

    @property
    def epoch(self) -> float:
        """Passes over the data so far (counting the samples of the current window as read)."""
        return self.loader.epoch
