"""Turn ``molmo eval`` arguments (and an optional suite recipe) into an :class:`EvalPlan`.

Precedence: command-line options > the recipe > task defaults. ``--task`` alone builds an ad-hoc
suite; with a recipe it selects some of the recipe's tasks. ``--data PATH`` feeds the only task;
with several tasks write ``--data TASK=PATH``. With ``--predictions FILE`` nothing runs a model:
the plan scores the file (every task in it, or the ``--task`` ones). Without ``--model`` (and no
``model`` in the recipe) the bundled demo model is used (``molmo.demo.default_model_path()``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from molmo.config.eval import EvalSuiteRecipe, EvalTaskConfig
from molmo.errors import UserError
from molmo.eval.tasks import ALIASES, TASKS, Task, TaskSettings, get_task
from molmo.eval.tasks.sources import detect_format


@dataclass
class TaskRun:
    """One task of a plan with its resolved settings, data and sample limit."""

    task: Task
    settings: TaskSettings
    data: list[str] = field(default_factory=list)
    limit: int | None = None


@dataclass
class EvalPlan:
    """Everything ``molmo eval`` will do."""

    name: str
    model: str | None
    output: Path
    runs: list[TaskRun]
    batch_size: int = 8
    device: str = "auto"
    predictions: Path | None = None
    uses_demo: bool = False


def default_model() -> str:
    """The bundled demo model's checkpoint directory (``molmo.demo``), or ``UserError`` when this
    install has none."""
    try:
        demo = importlib.import_module("molmo.demo")
    except ModuleNotFoundError as e:
        if e.name != "molmo.demo":
            raise
        raise UserError("no --model given (and no bundled demo model is available in this install)") from None
    return str(demo.default_model_path())


def _is_task_name(name: str) -> bool:
    key = name.strip().lower().replace("-", "_")
    return key in TASKS or key in ALIASES


def split_data(items: Sequence[str], tasks: Sequence[str]) -> dict[str, list[str]]:
    """``--data`` values -> {task: [paths]}; plain paths need exactly one task."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if sep and _is_task_name(name) and not Path(item).exists():
            out.setdefault(get_task(name).name, []).append(path)
        elif len(tasks) == 1:
            out.setdefault(tasks[0], []).append(item)
        else:
            raise UserError(f"--data {item}: with {len(tasks)} tasks write --data TASK=PATH")
    unknown = sorted(set(out) - set(tasks))
    if unknown:
        raise UserError(f"--data given for {', '.join(unknown)}, which is not among the tasks ({', '.join(tasks)})")
    return out


def _load_recipe(recipe: str) -> EvalSuiteRecipe:
    from molmo.config.catalog import resolve_recipe
    from molmo.config.loader import load_composed, load_recipe_file

    path = resolve_recipe(recipe)
    kind = load_composed(path).get("kind", "train")
    if kind != "eval":
        raise UserError(f"{path}: a {kind!r} recipe; molmo eval runs recipes with kind = \"eval\"")
    return load_recipe_file(EvalSuiteRecipe, path)


def plan_eval(
    recipe: str | None = None,
    *,
    tasks: Sequence[str] = (),
    model: str | None = None,
    data: Sequence[str] = (),
    predictions: str | None = None,
    output: str | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
) -> EvalPlan:
    """Resolve arguments into a plan (``UserError`` for unknown tasks, bad data mapping, ...)."""
    suite = _load_recipe(recipe) if recipe else None
    configs = list(suite.tasks) if suite else []
    if tasks:
        wanted = [get_task(t).name for t in tasks]
        if suite:
            by_name = {get_task(c.task).name: c for c in configs}
            missing = [t for t in wanted if t not in by_name]
            if missing:
                raise UserError(f"{recipe}: no task {', '.join(missing)} in this recipe (it has {', '.join(by_name)})")
            configs = [by_name[t] for t in dict.fromkeys(wanted)]
        else:
            configs = [EvalTaskConfig(task=t) for t in dict.fromkeys(wanted)]
    if not configs and predictions is None:
        raise UserError("nothing to evaluate: give a RECIPE or --task (see molmo eval --help)")
    names = [get_task(c.task).name for c in configs]
    extra = split_data(data, names) if data else {}
    default_limit = limit if limit is not None else (suite.limit if suite else None)
    runs = []
    for c, name in zip(configs, names):
        task = get_task(name)
        run_limit = limit if limit is not None else (c.limit if c.limit is not None else default_limit)
        runs.append(TaskRun(task, task.settings(c.style, c.max_new_tokens, c.max_crops),
                            list(extra.get(name, c.data)), run_limit))
    pred_path = Path(predictions) if predictions else None
    if pred_path is not None and not pred_path.is_file():
        raise UserError(f"--predictions {predictions}: no such file")
    if pred_path is None:
        for run in runs:  # fail before the model loads: every path exists and is a format the task reads
            for path in run.data:
                detect_format(str(path), run.task)
    name = suite.name if suite else ("-".join(names) or "predictions")
    if output:
        out = Path(output)
    elif suite and suite.output_dir:
        out = Path(suite.output_dir)
    elif pred_path is not None:
        out = pred_path.parent
    else:
        from molmo.config.settings import get_settings

        out = get_settings().home / "eval" / name
    chosen_model = model or (suite.model if suite else None)
    uses_demo = pred_path is None and chosen_model is None
    if uses_demo:
        chosen_model = default_model()
    if pred_path is None and not Path(chosen_model).exists():
        raise UserError(f"--model {chosen_model}: no such checkpoint directory")
    return EvalPlan(
        name=name, model=str(Path(chosen_model).resolve()) if chosen_model and pred_path is None else chosen_model,
        output=out, runs=runs, batch_size=batch_size or (suite.batch_size if suite else 8),
        device=device or (suite.device if suite else "auto"), predictions=pred_path, uses_demo=uses_demo,
    )
