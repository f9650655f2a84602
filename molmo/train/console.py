"""Live training progress on a terminal (rich), plain log lines otherwise.

The train loop calls ``update(step, values)`` every log interval. On a TTY a rich progress bar shows
step, loss, LR and throughput live; when not attached to a terminal (cluster jobs, ``CI``,
``MOLMO_NO_PROGRESS``) each update is one ``key=value`` line on the ``molmo.train`` logger.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from molmo.train.metrics_log import format_line

log = logging.getLogger("molmo.train")


def _live() -> bool:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("MOLMO_NO_PROGRESS", "") not in ("", "0"):
        return False
    return sys.stderr.isatty()


class TrainConsole:
    """Progress display for rank 0 (a no-op on other ranks)."""

    def __init__(self, total_steps: int | None, start_step: int, enabled: bool = True):
        self.total = total_steps
        self.enabled = enabled
        self._progress = None
        self._task = None
        if enabled and _live():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
            )
            self._progress.start()
            self._task = self._progress.add_task("train", total=total_steps, completed=start_step, status="")

    def update(self, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            keys = ("loss", "lr/llm", "tokens_per_s")
            status = " ".join(
                f"{k}={values[k]:.3g}" if isinstance(values.get(k), float) else f"{k}={values.get(k)}"
                for k in keys if k in values
            )
            self._progress.update(self._task, completed=step, status=status)
        else:
            log.info(format_line(step, self.total, values))

    def message(self, text: str) -> None:
        if self.enabled:
            log.info(text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
