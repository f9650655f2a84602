"""Output conventions shared by every ``molmo`` command.

- Results go to stdout: a rich table on a terminal (plain text when piped), or JSON with ``--json``
  (``emit_json``: machine-readable results only, nothing else on stdout).
- Notices, warnings and progress go to stderr. Progress is a rich bar on a terminal and one plain,
  parseable ``progress`` line per interval otherwise (pipes, ``CI=true``, ``MOLMO_NO_PROGRESS=1``).
- Errors are raised as ``molmo.errors.UserError`` (exit 2) / ``MolmoError`` (exit 1) and printed by
  ``molmo_cli.main`` as one line each.

This module imports rich but never torch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class GlobalOptions:
    """Options given before the sub-command (``molmo --debug --quiet …``)."""

    debug: bool = False
    quiet: bool = False


OPTIONS = GlobalOptions()


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def interactive(stream: Any = None) -> bool:
    """True when rich live output (progress bars, streaming) is appropriate on ``stream``."""
    stream = stream or sys.stderr
    if _env_true("CI") or _env_true("MOLMO_NO_PROGRESS"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def stdout() -> Console:
    """A console on the current stdout (created per call so tests capturing stdout work)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr() -> Console:
    """A console on the current stderr."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def notice(message: str) -> None:
    """An informational line on stderr (suppressed by ``--quiet``)."""
    if not OPTIONS.quiet:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning line on stderr (always shown)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (one document)."""
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str), flush=True)


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Render rows as a rich table on a terminal, or as tab-separated lines when piped."""
    if not interactive(sys.stdout):
        if title:
            print(f"# {title}")
        print("\t".join(columns))
        for row in rows:
            print("\t".join("" if v is None else str(v) for v in row))
        return
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout().print(table)


@contextlib.contextmanager
def progress(description: str, total: int | None = None, unit: str = "it") -> Iterator[Callable[[int], None]]:
    """Progress reporting: yields ``advance(n)``.

    On a terminal: a rich progress bar on stderr. Otherwise: a ``progress`` log line on stderr at
    most every 10 seconds and at the end, e.g.
    ``progress task=pack done=120 total=1000 rate=35.2/s elapsed=3.4s``.
    """
    start = time.monotonic()
    done = 0
    if interactive() and not OPTIONS.quiet:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=stderr(),
            transient=False,
        ) as bar:
            task = bar.add_task(description, total=total)

            def advance(n: int = 1) -> None:
                bar.advance(task, n)

            yield advance
        return

    last = start
    slug = description.split()[0].lower() if description else "work"

    def line() -> str:
        elapsed = time.monotonic() - start
        rate = done / elapsed if elapsed > 0 else 0.0
        tot = f" total={total}" if total is not None else ""
        return f"progress task={slug} done={done}{tot} rate={rate:.1f}/s elapsed={elapsed:.1f}s"

    def advance_plain(n: int = 1) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= 10 and not OPTIONS.quiet:
            last = now
            print(line(), file=sys.stderr, flush=True)

    yield advance_plain
    if not OPTIONS.quiet:
        print(line(), file=sys.stderr, flush=True)


def setup_logging(level: str | None = None) -> None:
    """Route the ``molmo`` library loggers to stderr (rich on a terminal, plain otherwise)."""
    from molmo.config.settings import get_settings

    lvl = "WARNING" if OPTIONS.quiet else (level or get_settings().log_level)
    if OPTIONS.debug:
        lvl = "DEBUG"
    logger = logging.getLogger("molmo")
    logger.handlers.clear()
    logger.propagate = False
    if interactive():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=stderr(), show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(lvl)
