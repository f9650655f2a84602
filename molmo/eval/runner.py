"""``molmo eval``: two stages, resumable, data-parallel.

1. **Inference.** For every task of the plan the samples are read in order (``--limit`` takes the
   first N), turned into prompts by the task, and answered in batches of ``batch_size`` with greedy
   decoding. Each answer is appended to ``predictions.jsonl`` (flushed per batch) under a key of
   (model path + checkpoint fingerprint, task, sample id, prompt, style, generation settings): a
   rerun of an interrupted eval skips every key already written and recomputes nothing, while a
   rewritten checkpoint or changed settings get new keys.
2. **Metrics** (:mod:`molmo.eval.scoring`): the records are scored, ``predictions.jsonl`` is
   rewritten with per-sample scores, ``results.json`` and ``report.html`` are written. This stage
   alone is ``molmo eval --predictions FILE`` (no model, no data).

Under ``torchrun`` (``WORLD_SIZE`` > 1) rank r answers the samples with ``index % world == r`` into
``predictions.rank{r}.jsonl``; after a barrier rank 0 merges the files (one record per key) and runs
the metric stage, so the results equal a one-process run's. The process group is initialised here
from the launcher's environment (``env://``; gloo on CPU, nccl on GPU) and destroyed at the end.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from itertools import islice
from pathlib import Path
from typing import Any

from molmo.errors import MolmoError, UserError
from molmo.eval.predictions import (
    PREDICTIONS_FILE,
    RANK_FILE,
    PredictionWriter,
    done_keys,
    merge_prediction_files,
    prediction_key,
    rank_file,
)
from molmo.eval.report import thumbnail
from molmo.eval.scoring import EvalOutcome, finish, score_prediction_file
from molmo.eval.suite import EvalPlan, TaskRun, plan_eval
from molmo.eval.tasks.base import EvalItem
from molmo.eval.tasks.sources import iter_source

Progress = Callable[[str, "int | None"], AbstractContextManager[Callable[[int], None]]]
THUMBNAILS_PER_TASK = 64


@contextlib.contextmanager
def _no_progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    yield lambda n=1: None


class _Dist:
    """This process's place in a torchrun job (rank 0 of 1 without one)."""

    def __init__(self, device_type: str, distributed: bool = True):
        self.world = int(os.environ.get("WORLD_SIZE", "1")) if distributed else 1
        self.rank = int(os.environ.get("RANK", "0")) if distributed else 0
        self.created = False
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo", init_method="env://",
                                        timeout=datetime.timedelta(hours=2))  # ranks wait for each other's shard
                self.created = True
            self.rank, self.world = dist.get_rank(), dist.get_world_size()

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.created:
            import torch.distributed as dist

            dist.destroy_process_group()


def items_of(run: TaskRun, errors: list[str]) -> Iterator[EvalItem]:
    """The task's eval items in sample order, limited to ``run.limit`` samples."""
    samples = iter_source(run.task, run.data, errors, synthetic=run.limit)
    for index, sample in enumerate(islice(samples, run.limit)):
        item = run.task.item(sample, index, run.settings)
        if item is not None:
            yield item


def _record(model: str, run: TaskRun, item: EvalItem, key: str, text: str, sizes: list[list[int]]) -> dict[str, Any]:
    return {"key": key, "model": model, "task": run.task.name, "id": item.id, "index": item.index,
            "prompt": item.prompt, "style": item.style, "generation": run.settings.generation(),
            "prediction": text, "image_sizes": sizes, "refs": item.refs}


def checkpoint_fingerprint(path: str) -> str:
    """A short hash of a checkpoint's config and weight files (names, sizes, mtimes): part of every
    resume key, so predictions of a since-overwritten checkpoint are not reused."""
    root = Path(path)
    digest = hashlib.sha256()
    if (root / "config.json").is_file():
        digest.update((root / "config.json").read_bytes())
    for weights in sorted(root.glob("*.safetensors")):
        st = weights.stat()
        digest.update(f"{weights.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def infer_task(run: TaskRun, evm: Any, model: str, writer: PredictionWriter, done: set[str], dist: _Dist,
               batch_size: int, progress: Progress, notes: list[str], model_key: str | None = None) -> list[str]:
    """Answer this rank's not-yet-done items of ``run``; returns the keys of ALL the run's items.
    ``model`` is recorded with each prediction; ``model_key`` (default ``model``) goes into the keys."""
    errors: list[str] = []
    keys: list[str] = []
    pending: list[tuple[EvalItem, str]] = []

    def flush(advance: Callable[[int], None]) -> None:
        ready, images = [], []
        for item, key in pending:
            try:
                images.append(evm.load_images(item))
                ready.append((item, key))
            except UserError as e:
                notes.append(f"{run.task.name}: skipped {item.id}: {e}")
        if ready:
            answers = evm.generate([i for i, _ in ready], images, run.settings)
            writer.write([_record(model, run, i, k, a.text, a.image_sizes) for (i, k), a in zip(ready, answers)])
        advance(len(pending))
        pending.clear()

    with progress(f"eval {run.task.name}", run.limit if dist.world == 1 else None) as advance:
        for item in items_of(run, errors):
            key = prediction_key(model_key or model, run.task.name, item.id, item.prompt, item.style,
                                 run.settings.generation())
            keys.append(key)
            if item.index % dist.world != dist.rank:
                continue
            if key in done:
                advance(1)
                continue
            pending.append((item, key))
            if len(pending) >= batch_size:
                flush(advance)
        if pending:
            flush(advance)
    notes.extend(f"{run.task.name}: {e}" for e in errors[:20])
    if len(errors) > 20:
        notes.append(f"{run.task.name}: … {len(errors) - 20} more unreadable samples")
    return keys


def _demo_notice() -> str:
    from molmo.demo import NOTICE

    return NOTICE


def collect_thumbnails(run: TaskRun, records: list[dict[str, Any]], limit: int = THUMBNAILS_PER_TASK) -> dict[str, str]:
    """Thumbnails of the first ``limit`` samples of ``run`` (re-read from its data) for the report."""
    by_id = {str(r["id"]): r for r in records}
    out: dict[str, str] = {}
    if not by_id:
        return out
    from molmo.preprocess.image_io import load_image

    shown = 0
    for item in items_of(run, []):
        record = by_id.get(item.id)
        if record is None or not item.images:
            continue
        try:
            out[item.id] = thumbnail(load_image(item.images[0]), record.get("prediction", ""), record.get("refs"))
        except (UserError, OSError):
            continue
        shown += 1
        if shown >= limit:
            break
    return out


def run_inference(plan: EvalPlan, *, model_obj: Any = None, progress: Progress | None = None,
                  distributed: bool = True) -> EvalOutcome:
    """Stage 1 then stage 2 for ``plan`` (``model_obj``: an already loaded Molmo, else ``plan.model``).

    ``distributed=False`` runs in this process alone even inside a multi-rank job (the training loop
    evaluates on rank 0 while the other ranks wait).
    """
    from molmo.eval.inference import EvalModel, resolve_device

    progress = progress or _no_progress
    device = resolve_device(plan.device)
    if device.type == "cuda":
        import torch

        torch.cuda.set_device(device)  # before the process group: nccl binds each rank to its GPU
    dist = _Dist(device.type, distributed)
    try:
        model_name = str(plan.model)
        evm = EvalModel(model_obj, device, model_name) if model_obj is not None else EvalModel.load(model_name, device)
        out = plan.output
        out.mkdir(parents=True, exist_ok=True)
        existing = [out / PREDICTIONS_FILE, *sorted(out.glob(RANK_FILE.format(rank="*")))]
        done = done_keys(existing)
        target = out / PREDICTIONS_FILE if dist.world == 1 else rank_file(out, dist.rank)
        notes: list[str] = [_demo_notice()] if plan.uses_demo else []
        keys: dict[str, list[str]] = {}
        model_key = f"{model_name}#{checkpoint_fingerprint(model_name)}"
        with PredictionWriter(target) as writer:
            for run in plan.runs:
                keys[run.task.name] = infer_task(run, evm, model_name, writer, done, dist, plan.batch_size, progress,
                                                 notes, model_key)
        dist.barrier()
        if dist.rank != 0:
            dist.barrier()
            return EvalOutcome(model=model_name, results=[], output_dir=out, notes=notes, is_main=False)
        try:
            return _score_run(plan, model_name, keys, notes)
        finally:
            dist.barrier()
    finally:
        dist.close()


def _score_run(plan: EvalPlan, model: str, keys: dict[str, list[str]], notes: list[str]) -> EvalOutcome:
    records = merge_prediction_files(plan.output)
    by_key = {r.get("key"): r for r in records}
    groups, thumbs = [], {}
    for run in plan.runs:
        picked = [by_key[k] for k in keys[run.task.name] if k in by_key]
        missing = len(keys[run.task.name]) - len(picked)
        if missing:
            notes.append(f"{run.task.name}: {missing} samples have no prediction (unreadable images?)")
        groups.append((run.task, picked))
        thumbs[run.task.name] = collect_thumbnails(run, picked)
    if plan.runs and not any(recs for _, recs in groups):
        raise MolmoError(f"no sample could be evaluated ({'; '.join(notes[:3]) or 'no data'})")
    return finish(model, plan.output, groups, records, thumbs, notes)


def run_eval(
    recipe: str | None = None,
    *,
    tasks: tuple[str, ...] | list[str] = (),
    model: str | None = None,
    data: tuple[str, ...] | list[str] = (),
    predictions: str | None = None,
    output: str | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> EvalOutcome:
    """``molmo eval``: plan from the arguments, then run inference + metrics, or only the metrics
    when ``predictions`` is given (no model, no data; the report then has no thumbnails)."""
    plan = plan_eval(recipe, tasks=tasks, model=model, data=data, predictions=predictions, output=output,
                     limit=limit, batch_size=batch_size, device=device)
    if plan.predictions is not None:
        if int(os.environ.get("RANK", "0")) != 0:  # under a launcher only rank 0 scores and writes
            return EvalOutcome(model="", results=[], output_dir=plan.output, is_main=False)
        return score_prediction_file(plan)
    return run_inference(plan, progress=progress)
