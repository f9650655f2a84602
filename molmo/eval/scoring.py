"""The metric stage: predictions -> per-sample scores -> result rows -> results.json, report.html.

It needs no model and no data: everything the metrics use is in each record (``prediction``,
``refs``, ``image_sizes``). :func:`score_prediction_file` is ``molmo eval --predictions FILE``;
the runner calls :func:`finish` after inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molmo.errors import UserError
from molmo.eval.predictions import PREDICTIONS_FILE, read_predictions, write_json, write_predictions
from molmo.eval.report import write_report
from molmo.eval.suite import EvalPlan
from molmo.eval.tasks import Task, get_task
from molmo.eval.tasks.base import ResultRow

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"


@dataclass
class EvalOutcome:
    """What ``molmo eval`` produced (``to_json`` is ``results.json`` and the ``--json`` output)."""

    model: str
    results: list[ResultRow]
    output_dir: Path
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    is_main: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "results": [row.to_json() for row in self.results]}


def score_groups(groups: Sequence[tuple[Task, list[dict[str, Any]]]]) -> list[ResultRow]:
    """Score each task's records (sets ``record["scores"]`` in place) and return all result rows."""
    rows: list[ResultRow] = []
    for task, records in groups:
        scores = task.score_records(records)
        for record, score in zip(records, scores):
            record["scores"] = score
        rows.extend(task.rows(records, scores))
    return rows


def finish(model: str, output: Path, groups: Sequence[tuple[Task, list[dict[str, Any]]]],
           all_records: list[dict[str, Any]], thumbnails: dict[str, dict[str, str]] | None = None,
           notes: list[str] | None = None) -> EvalOutcome:
    """Score ``groups``, then write predictions.jsonl (all records, scored), results.json, report.html."""
    rows = score_groups(groups)
    ordered = [r for _, records in groups for r in records]
    picked = {id(r) for r in ordered}
    output.mkdir(parents=True, exist_ok=True)
    outcome = EvalOutcome(model=model, results=rows, output_dir=output, notes=list(notes or []))
    pred = write_predictions(output / PREDICTIONS_FILE, ordered + [r for r in all_records if id(r) not in picked])
    results = write_json(output / RESULTS_FILE, outcome.to_json())
    report = write_report(output / REPORT_FILE, model, rows, [(t.name, recs) for t, recs in groups], thumbnails)
    outcome.files = {"results": str(results), "predictions": str(pred), "report": str(report)}
    return outcome


def group_records(records: list[dict[str, Any]], tasks: Sequence[Task], source: str) -> list[tuple[Task, list[dict[str, Any]]]]:
    """Records per task, in the order of ``tasks`` (or of first appearance when none are given)."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_task.setdefault(get_task(str(record["task"])).name, []).append(record)
    wanted = [t.name for t in tasks] or list(by_task)
    missing = [t for t in wanted if t not in by_task]
    if missing:
        raise UserError(f"{source}: no predictions for task {', '.join(missing)} (it has: {', '.join(by_task) or 'none'})")
    return [(get_task(name), sorted(by_task[name], key=lambda r: r.get("index", 0))) for name in wanted]


def score_prediction_file(plan: EvalPlan, thumbnails: dict[str, dict[str, str]] | None = None) -> EvalOutcome:
    """The metric stage alone: score ``plan.predictions`` and write the outputs to ``plan.output``."""
    assert plan.predictions is not None
    records = read_predictions(plan.predictions, strict=True)
    if not records:
        raise UserError(f"{plan.predictions}: no predictions in this file")
    groups = group_records(records, [run.task for run in plan.runs], str(plan.predictions))
    models = sorted({str(r.get("model")) for _, recs in groups for r in recs})
    if len(models) > 1:
        raise UserError(f"{plan.predictions}: predictions of several models ({', '.join(models)}); split the file")
    return finish(models[0], plan.output, groups, records, thumbnails)
