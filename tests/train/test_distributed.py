"""Two processes under torchrun (gloo, ZeRO-3): same global batches, same losses as one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMON = ["--set", "engine.precision=fp32", "--set", "logging.interval=1", "--set", "schedule.max_steps=4",
          "--set", "checkpoint.every_n_steps=2"]


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_process_zero3_matches_one_process(tmp_path):
    launcher_vars = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    env = {k: v for k, v in os.environ.items() if k not in launcher_vars}  # in-process runs set these
    env.update(PYTHONWARNINGS="ignore", MOLMO_NO_PROGRESS="1")
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "molmo_cli",
         "train", "recipes/debug.toml", *COMMON, "--set", "engine.micro_batch_size=2", "-o", str(tmp_path / "two"),
         "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    result = json.loads(two.stdout)  # only rank 0 prints, and only JSON
    assert result["step"] == 4 and Path(result["native_checkpoint"]).is_dir()
    ckpt = tmp_path / "two" / "checkpoints" / "step-00000004" / "trainer"
    assert sorted(p.name for p in ckpt.iterdir()) == ["rank-0.pt", "rank-1.pt"]

    one = subprocess.run(
        [sys.executable, "-m", "molmo_cli", "train", "recipes/debug.toml", *COMMON, "-o", str(tmp_path / "one")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    # rank r of 2 reads global positions r, r+2, …: the same 4 samples per step as one process
    for a, b in zip(losses(tmp_path / "one"), losses(tmp_path / "two")):
        assert abs(a - b) < 1e-4
