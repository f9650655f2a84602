"""Synthetic data generators. ``synth_shapes`` writes the tiny-shapes world as shards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from molmo.data.manifest import Manifest, ShardInfo, prepare_destination, write_manifest
from molmo.data.sample import encode_fields
from molmo.data.synth.shapes import ALL_TASK_WEIGHTS, MAX_SHAPES, SPLITS, make_sample, training_only
from molmo.data.writer import ShardWriter
from molmo.errors import UserError

GENERATORS = ("shapes",)


def synth_shapes(
    dst: str | Path,
    n: int,
    *,
    seed: int = 0,
    split: str = "train",
    tasks: tuple[str, ...] | None = None,
    questions: int = 1,
    max_shapes: int = MAX_SHAPES,
    min_shapes: int = 1,
    shard_samples: int = 10_000,
    shard_size: int = 512 * 1024 * 1024,
    overwrite: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> Manifest:
    """Write ``n`` tiny-shapes samples of ``(split, seed)`` to shards in ``dst``; returns the manifest.

    Resumable like ``pack`` (finished shards of an interrupted run are kept); running it again with
    the same arguments on a complete directory is a no-op. ``questions > 1`` writes multi-turn
    dialogs (several questions about each scene; train split only).
    """
    if split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    if tasks is not None:
        unknown = sorted(set(tasks) - set(ALL_TASK_WEIGHTS))
        if unknown or not tasks:
            raise UserError(f"--tasks: unknown task(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(ALL_TASK_WEIGHTS)}")
        tasks = tuple(sorted(set(tasks)))
        if split != "train" and training_only(tasks):
            raise UserError(f"--tasks {', '.join(training_only(tasks))}: training-only (no eval form); use --split train")
    if n < 1:
        raise UserError("--n must be at least 1")
    if not 1 <= max_shapes <= MAX_SHAPES:
        raise UserError(f"--max-shapes must be between 1 and {MAX_SHAPES}, not {max_shapes}")
    if not 1 <= min_shapes <= max_shapes:
        raise UserError(f"--min-shapes must be between 1 and --max-shapes ({max_shapes}), not {min_shapes}")
    if questions < 1:
        raise UserError("--questions must be at least 1")
    if questions > 1 and split != "train":
        raise UserError("--questions > 1 (multi-question dialogs) is only for --split train; eval samples ask one question")
    dst = Path(dst)
    source = {
        "kind": "synth",
        "generator": "shapes",
        "split": split,
        "seed": seed,
        "n": n,
        "tasks": list(tasks) if tasks is not None else None,
        "questions": questions,
        "max_shapes": max_shapes,
        # only when set, so the manifests of sets written before the option still match on resume
        **({"min_shapes": min_shapes} if min_shapes != 1 else {}),
        "shard_samples": shard_samples,
        "shard_size": shard_size,
    }
    manifest = prepare_destination(dst, source, resume=True, overwrite=overwrite)
    if manifest.complete:
        return manifest
    cursor = {"next": manifest.records_done}

    def on_shard(info: ShardInfo) -> None:
        manifest.shards.append(info)
        manifest.records_done = cursor["next"]
        write_manifest(dst, manifest)

    write_manifest(dst, manifest)
    with ShardWriter(
        dst, f"shapes-{split}", shard_size, shard_samples, len(manifest.shards), on_shard
    ) as writer:
        for i in range(manifest.records_done, n):
            s = make_sample(split, seed, i, tasks, questions, max_shapes, min_shapes)
            cursor["next"] = i
            writer.write(encode_fields(s.key, s.json, [(s.png, "png")]))
            if progress is not None:
                progress(i + 1, n)
        cursor["next"] = n
    manifest.records_done = n
    manifest.complete = True
    write_manifest(dst, manifest)
    return manifest


__all__ = ["GENERATORS", "make_sample", "synth_shapes"]
