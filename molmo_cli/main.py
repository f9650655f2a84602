"""The ``molmo`` command: a thin Typer front end over the ``molmo`` library.

Exit codes: 0 ok, 1 runtime failure, 2 bad usage / input / recipe, 130 interrupted.
Errors are printed as ``error: <one line>``; ``--debug`` adds the traceback.
Sub-command modules import torch and other heavy libraries lazily, inside the commands, so
``molmo --help`` stays fast.
"""

from __future__ import annotations

import sys
import traceback

import typer

from molmo.errors import MolmoError, UserError
from molmo_cli import _common
from molmo_cli import convert as convert_cmd
from molmo_cli import data as data_cmd
from molmo_cli import eval as eval_cmd
from molmo_cli import predict as predict_cmd
from molmo_cli import recipes as recipes_cmd
from molmo_cli import train as train_cmd


def _cli_exceptions() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(exit, abort, usage) exception types of the click that Typer runs on (vendored or not)."""
    exit_, abort, usage = [typer.Exit], [typer.Abort], [typer.exceptions.TyperException]
    try:
        import click

        exit_.append(click.exceptions.Exit)
        abort.append(click.exceptions.Abort)
        usage.append(click.ClickException)
    except ImportError:
        pass
    return tuple(exit_), tuple(abort), tuple(usage)


_EXIT, _ABORT, _USAGE = _cli_exceptions()

app = typer.Typer(
    name="molmo",
    help="Build data, train, evaluate, predict with and convert Molmo vision-language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(convert_cmd.app, name="convert")
app.add_typer(data_cmd.app, name="data")
app.add_typer(recipes_cmd.app, name="recipes")
app.command("train")(train_cmd.train)
app.command("predict")(predict_cmd.predict)
app.command("eval")(eval_cmd.eval_command)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("molmo")
        except PackageNotFoundError:  # running from a source tree without install
            v = "unknown"
        print(f"molmo {v}")
        raise typer.Exit(0)


@app.callback()
def _global(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print results and errors."),
) -> None:
    """Global options (give them before the sub-command)."""
    _common.OPTIONS.debug = debug
    _common.OPTIONS.quiet = quiet
    _common.setup_logging()


def _error(message: str) -> None:
    for line in str(message).strip().splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (used by tests and the console script)."""
    args = list(sys.argv[1:] if argv is None else argv)
    _common.OPTIONS.debug = "--debug" in args[: args.index("--") if "--" in args else len(args)]
    _common.OPTIONS.quiet = False
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=args, prog_name="molmo", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except _EXIT as e:
        return int(getattr(e, "exit_code", 0) or 0)
    except (*_ABORT, KeyboardInterrupt):
        _error("interrupted")
        return 130
    except _USAGE as e:  # bad usage: unknown command/option, missing argument
        e.show()
        return int(getattr(e, "exit_code", 2))
    except MolmoError as e:  # includes UserError (exit 2)
        if _common.OPTIONS.debug:
            traceback.print_exc()
        _error(str(e))
        return e.exit_code
    except Exception as e:  # noqa: BLE001 — last resort: one line, traceback with --debug
        if _common.OPTIONS.debug:
            traceback.print_exc()
        _error(f"{type(e).__name__}: {e} (rerun with --debug for the traceback)")
        return 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


__all__ = ["UserError", "app", "main", "run"]
