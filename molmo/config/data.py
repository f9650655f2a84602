"""The ``[data]`` section of a training recipe: which shards to read and how to mix them.

A recipe lists one or more *sources* (each a set of WebDataset shards given as local paths, brace
patterns such as ``shards/train-{000..099}.tar``, directories holding a ``manifest.json``, or
fsspec URLs such as ``s3://bucket/x-{0..9}.tar``). Sampling rates follow either

- an explicit ``rate`` per source, or
- Molmo's root-size rule: sources name a ``group``; each group has a rate in ``groups``; inside a
  group a source's share is proportional to ``sqrt(size)`` (``size`` overrides the sample count
  used for that computation, e.g. "treat as 10k"); all rates are then normalised to sum to 1, or
- neither: rates proportional to the sources' sizes (every sample equally likely).

The loader's sample order is a function of ``seed`` only (not of ``workers`` or timing), so a
run resumes exactly from the loader state saved in a checkpoint.

Example (TOML)::

    [data]
    seed = 17
    shuffle_buffer = 1000
    groups = {demo = 0.15, aux = 0.5, pointing = 0.35}
    [[data.sources]]
    name = "shapes"
    paths = ["data/shapes/train"]
    group = "pointing"

This module must import without torch.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from molmo.config.base import StrictModel


class DataSource(StrictModel):
    """One source of training samples (a set of shards) and how often to draw from it."""

    name: str = Field(
        ..., min_length=1, description="Short unique name; used in logs, stats and the loader state."
    )
    paths: list[str] = Field(
        ...,
        min_length=1,
        description="Shard locations: .tar files, brace patterns (a-{000..009}.tar), directories with a "
        "manifest.json, or fsspec URLs (file://, memory://, s3://, gs://).",
    )
    rate: float | None = Field(
        None,
        gt=0,
        description="Explicit sampling weight (normalised over all sources). Mutually exclusive with group.",
    )
    group: str | None = Field(
        None,
        description="Group name for the sqrt-size rule; the group's rate is taken from DataConfig.groups.",
    )
    size: int | None = Field(
        None,
        gt=0,
        description="Sample count used by the sqrt-size rule instead of the real count "
        "(does not truncate the data).",
    )

    @model_validator(mode="after")
    def _rate_or_group(self) -> DataSource:
        if self.rate is not None and self.group is not None:
            raise ValueError(f"data source {self.name!r}: give either 'rate' or 'group', not both")
        return self


class DataConfig(StrictModel):
    """How the training loader reads, mixes, shuffles and splits WebDataset shards."""

    sources: list[DataSource] = Field(..., min_length=1, description="The shard sources to mix.")
    groups: dict[str, float] = Field(
        default_factory=dict, description="Group name -> group rate for sources that use the sqrt-size rule."
    )
    seed: int = Field(
        0, ge=0, description="Seed of the sample order; the order does not depend on worker count."
    )
    shuffle_buffer: int = Field(
        1000,
        ge=0,
        description="Windows of this many consecutive samples of a source (per epoch) are permuted, like a "
        "shuffle buffer but seekable for exact resume (0 or 1 = keep shard order).",
    )
    shuffle_shards: bool = Field(True, description="Shuffle the shard order of each source every epoch.")
    workers: int = Field(
        2, ge=0, description="DataLoader worker processes that decode samples (0 = main process)."
    )
    prefetch: int = Field(2, ge=1, description="Samples prefetched per worker.")
    max_corrupt: int = Field(
        100,
        ge=0,
        description="Abort with an error after this many undecodable samples (0 = abort on the first).",
    )
    max_image_pixels: int = Field(
        178_956_970,
        gt=0,
        description="Reject decoded images larger than this many pixels (decompression-bomb guard).",
    )
    epochs: int | None = Field(
        None, ge=1, description="Stop after this many passes over every source (None = cycle forever)."
    )
    split_turns: bool = Field(
        False,
        description="Train every question/answer pair of a multi-turn sample as its own conversation about "
        "the image(s), packed into one example (Molmo's multi-annotation packing: each pair sees only the "
        "image and itself, loss weights scaled by sqrt(1/k)); False = train the dialog as one conversation.",
    )

    length_buckets: int = Field(
        1,
        ge=1,
        description="Read this many micro-batches' worth of samples at a time, sort them by token length "
        "and batch neighbours together (batch order then shuffled), so less compute goes to padding; "
        "resume stays exact; `prefetch` is raised to hold a window. 1 = batch samples in stream order.",
    )

    @model_validator(mode="after")
    def _check_mixture(self) -> DataConfig:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate data source names: {', '.join(dupes)}")
        explicit = [s for s in self.sources if s.rate is not None]
        grouped = [s for s in self.sources if s.group is not None]
        if explicit and grouped:
            raise ValueError("mix either explicit 'rate's or 'group's (sqrt-size rule), not both")
        for s in grouped:
            if s.group not in self.groups:
                raise ValueError(
                    f"data source {s.name!r} names unknown group {s.group!r}; add it to data.groups"
                )
        for g, r in self.groups.items():
            if r <= 0:
                raise ValueError(f"group {g!r} has non-positive rate {r}")
        if grouped and len(grouped) != len(self.sources):
            missing = [s.name for s in self.sources if s.group is None]
            raise ValueError(f"sources without a group while others use groups: {', '.join(missing)}")
        return self
