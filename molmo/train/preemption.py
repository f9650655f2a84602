"""Cluster preemption: SIGTERM / SIGUSR1 → finish the current step, save, exit with ``EXIT_PREEMPTED``.

SLURM sends SIGTERM (or a configured signal such as SIGUSR1 via ``--signal=USR1@120``) before it
kills or requeues a job. The handler only sets a flag; the loop checks it after every optimiser step,
agrees on it across ranks (any rank preempted → all stop), writes a complete checkpoint and exits
with code 75 (``EX_TEMPFAIL``). Rerunning the same command with ``--resume auto`` continues.
"""

from __future__ import annotations

import signal
import threading

EXIT_PREEMPTED = 75
"""Exit code of a run stopped by SIGTERM/SIGUSR1 after saving a checkpoint (resume with --resume auto)."""


class PreemptionFlag:
    """Installs SIGTERM/SIGUSR1 handlers (main thread only) that record the request."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.requested = signum

    def __enter__(self) -> PreemptionFlag:  # noqa: PYI034 (typing.Self needs Python 3.11)
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    @property
    def name(self) -> str | None:
        return signal.Signals(self.requested).name if self.requested is not None else None
