"""``molmo eval``: run an eval suite or single tasks, or score an existing predictions file.

Thin: the arguments go to ``molmo.eval.runner.run_eval`` (planning, inference, metrics, files);
this module renders the result (a table of tasks × metrics in percent, or ``--json``). Library
imports are lazy so ``molmo --help`` stays fast.
"""

from __future__ import annotations

import typer

from molmo_cli import _common

#: Kept in sync with ``molmo.eval.tasks.TASKS`` by a test (importing the registry here would pull
#: torch into ``molmo --help``).
TASK_NAMES = (
    "vqa2, textvqa, okvqa, docvqa, infovqa, st_vqa, chartqa, ai2d, a_okvqa_mc, science_qa, realworldqa, mmmu, "
    "mathvista, countbench, pixmo_count, pixmo_points, caption, shapes"
)


def eval_command(
    recipe: str | None = typer.Argument(
        None, help="Eval suite recipe (kind = \"eval\"), a file or shipped name, e.g. eval-suite."
    ),
    task: list[str] = typer.Option(
        [], "--task", "-t", help=f"Task or family alias, repeatable ({TASK_NAMES}; vqa -> vqa2, ...)."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Native checkpoint directory (default: the recipe's, else the demo model)."
    ),
    data: list[str] = typer.Option(
        [], "--data", "-d",
        help="Local data for the task: official JSON / HF parquet / shards / JSONL (repeatable; TASK=PATH with several tasks).",
    ),
    predictions: str | None = typer.Option(
        None, "--predictions", help="Score this predictions.jsonl only (the metric stage; no model needed)."
    ),
    output: str | None = typer.Option(
        None, "--output", "-o", help="Output directory (default: recipe output_dir or $MOLMO_HOME/eval/<name>)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Evaluate the first N samples of each task."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Prompts generated together (default 8)."),
    json_out: bool = typer.Option(False, "--json", help="Print results.json on stdout."),
    device: str | None = typer.Option(None, "--device", help="auto (default), cpu or cuda."),
) -> None:
    """Evaluate a model on benchmarks (inference then metrics), resumable and torchrun-parallel.

    Writes OUTPUT/predictions.jsonl (per sample, with scores), results.json and report.html.

    Rerun the same command to resume an interrupted eval; nothing already answered is recomputed.
    """
    from molmo.eval.report import format_metric
    from molmo.eval.runner import run_eval

    outcome = run_eval(
        recipe, tasks=task, model=model, data=data, predictions=predictions, output=output, limit=limit,
        batch_size=batch_size, device=device, progress=_common.progress,
    )
    if not outcome.is_main:
        return
    for note in outcome.notes:
        _common.notice(note)
    if json_out:
        _common.emit_json(outcome.to_json())
    else:
        rows = []
        for row in outcome.results:
            names = list(row.metrics)
            first = names[0] if names else "-"
            value = format_metric(first, row.metrics[first]) if names else "-"
            rest = ", ".join(f"{n} {format_metric(n, row.metrics[n])}" for n in names[1:])
            rows.append([row.task, row.n, first, value, rest])
        _common.print_table(f"Eval — {outcome.model}", ["task", "n", "metric", "value", "other metrics"], rows)
        _common.notice("values in percent (CIDEr x100; results.json keeps it raw in [0, 10])")
    for name, path in outcome.files.items():
        _common.notice(f"{name}: {path}")
