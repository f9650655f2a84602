"""Run-directory metrics: ``metrics.jsonl`` (one JSON object per log interval) and TensorBoard.

Only rank 0 writes. Every record has ``step`` and ``time`` plus the logged values, e.g.
``{"step": 10, "time": 1733011200.5, "loss": 2.31, "lr/llm": 1e-05, "tokens_per_s": 812.4, ...}``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("molmo.train")


class MetricsWriter:
    """Append metrics to ``run_dir/metrics.jsonl`` and (optionally) TensorBoard event files."""

    def __init__(self, run_dir: Path, tensorboard: bool, enabled: bool = True):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self._tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.warning("tensorboard is not installed (pip install 'molmo[tensorboard]'); skipping event files")
            else:
                self._tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def write(self, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, "time": round(time.time(), 3), **values}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._tb.add_scalar(key, value, step)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def format_line(step: int, total: int | None, values: dict[str, Any]) -> str:
    """One parseable ``key=value`` log line, e.g. ``step=10/100 loss=2.3100 lr/llm=1.00e-05 …``."""
    parts = [f"step={step}" + (f"/{total}" if total else "")]
    for key, value in values.items():
        if isinstance(value, float):
            text = f"{value:.3e}" if (abs(value) < 1e-3 and value != 0) else f"{value:.4f}"
        else:
            text = str(value)
        parts.append(f"{key}={text}")
    return " ".join(parts)
