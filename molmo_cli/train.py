"""``molmo train``: run a recipe (same command under torchrun / the deepspeed launcher)."""

from __future__ import annotations

import typer

from molmo_cli import _common


def train(
    recipe: str = typer.Argument(..., help="Recipe file or shipped recipe name (see `molmo recipes list`)."),
    set_: list[str] = typer.Option([], "--set", help="Override a recipe value: KEY.PATH=VALUE (repeatable)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Run directory (default: recipe output_dir or $MOLMO_HOME/runs/<name>)."),
    resume: str = typer.Option("auto", "--resume", help="auto (latest complete checkpoint in the run dir), none, or a checkpoint path."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate the recipe and print the plan; start nothing."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    local_rank: int | None = typer.Option(None, "--local_rank", "--local-rank", hidden=True,
                                          help="Set by the deepspeed launcher (same as LOCAL_RANK)."),
) -> None:
    """Train a model from a TOML recipe with DeepSpeed (ZeRO 0-3, CPU or GPU, 1..N processes).

    Exit codes: 0 done, 1 runtime failure, 2 bad recipe/input, 75 preempted (checkpoint saved;
    rerun the same command to resume), 130 interrupted.
    """
    import os

    from molmo.config.catalog import resolve_recipe
    from molmo.config.recipe import load_train_recipe

    if local_rank is not None:  # the deepspeed launcher passes --local_rank=N and sets RANK/WORLD_SIZE
        os.environ.setdefault("LOCAL_RANK", str(local_rank))
    cfg = load_train_recipe(resolve_recipe(recipe), set_)
    if dry_run:
        from molmo.train.setup import plan

        summary = plan(cfg, output).summary()
        if json_out:
            _common.emit_json(summary)
        else:
            _common.print_table("Training plan", ["key", "value"], [[k, v] for k, v in summary.items()])
        return
    import contextlib
    import sys

    with contextlib.redirect_stdout(sys.stderr):  # third-party prints never mix with results
        from molmo.train.loop import train as run_training

        result = run_training(cfg, output=output, resume=resume)

    if int(os.environ.get("RANK", "0")) == 0:
        info = result.to_json()
        info.pop("losses")
        if json_out:
            _common.emit_json({**info, "final_loss": result.losses[-1] if result.losses else None})
        else:
            rows = [[k, v] for k, v in info.items()]
            rows.append(["final_loss", f"{result.losses[-1]:.4f}" if result.losses else "-"])
            _common.print_table("Training", ["key", "value"], rows)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
