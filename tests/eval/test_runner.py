import contextlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

import molmo
from molmo.eval.predictions import read_predictions
from molmo.eval.runner import run_inference
from molmo.eval.suite import plan_eval
from molmo.eval.tasks import TASKS


def _plan(tmp_path, checkpoint, tasks, data=(), limit=None, batch_size=2, tokens=4, out="out"):
    plan = plan_eval(tasks=tasks, model=str(checkpoint), data=list(data), output=str(tmp_path / out), limit=limit,
                     batch_size=batch_size, device="cpu")
    for run in plan.runs:
        run.settings = run.task.settings(max_new_tokens=tokens)
    return plan


def test_end_to_end_every_task_family_in_its_native_format(bench, tiny_checkpoint, tmp_path):
    plan = _plan(tmp_path, tiny_checkpoint, list(TASKS), [f"{t}={p}" for t, p in bench.items()], limit=5, batch_size=3)
    outcome = run_inference(plan)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results == outcome.to_json() and results["model"] == str(tiny_checkpoint.resolve())
    rows = {r["task"]: r for r in results["results"]}
    assert set(TASKS) - {"shapes"} <= set(rows) and any(t.startswith("shapes/") for t in rows)
    for name, row in rows.items():
        assert set(row) == {"task", "n", "metrics", "metric_variants"} and row["metrics"], name
        assert set(row["metric_variants"]) == set(row["metrics"])
        top = 10.0 if name == "caption" else 1.0
        assert all(0.0 <= v <= top for v in row["metrics"].values()), row
        assert row["n"] == (2 if not name.startswith("shapes") else row["n"])
    records = read_predictions(tmp_path / "out" / "predictions.jsonl")
    assert len(records) == 2 * (len(TASKS) - 1) + 5 and not outcome.notes
    for r in records:
        assert {"id", "prompt", "prediction", "refs", "scores", "key", "generation", "image_sizes"} <= set(r)
        assert r["generation"]["max_new_tokens"] == 4 and r["generation"]["temperature"] == 0.0
    page = (tmp_path / "out" / "report.html").read_text()
    assert all(r["id"] in page for r in records) and page.count("data:image/jpeg;base64,") == len(records)


class _Interrupt(Exception):
    pass


def _stop_after(n_items):
    @contextlib.contextmanager
    def progress(description, total=None):
        done = [0]

        def advance(k=1):
            done[0] += k
            if done[0] >= n_items:
                raise _Interrupt

        yield advance

    return progress


def _counted_model(checkpoint):
    model = molmo.load(checkpoint)
    calls = []
    model.vision_backbone.register_forward_hook(lambda *a: calls.append(1))  # one image encoding per batch
    return model, calls


def test_interrupted_run_resumes_without_recomputing(tiny_checkpoint, tmp_path):
    plan = _plan(tmp_path, tiny_checkpoint, ["shapes"], limit=6, batch_size=2, tokens=3)
    model, calls = _counted_model(tiny_checkpoint)
    with pytest.raises(_Interrupt):
        run_inference(plan, model_obj=model, progress=_stop_after(2))
    first = read_predictions(tmp_path / "out" / "predictions.jsonl")
    assert len(first) == 2 and len(calls) == 1
    with open(tmp_path / "out" / "predictions.jsonl", "a") as f:
        f.write('{"key": "cut-off')  # the crash also cut a line
    calls.clear()
    outcome = run_inference(plan, model_obj=model)
    assert len(calls) == 2  # the 4 remaining samples, two per batch
    records = read_predictions(tmp_path / "out" / "predictions.jsonl")
    assert sorted(r["index"] for r in records) == list(range(6))
    assert {r["key"]: r["prediction"] for r in first}.items() <= {r["key"]: r["prediction"] for r in records}.items()
    calls.clear()
    again = run_inference(plan, model_obj=model)
    assert calls == [] and again.to_json() == outcome.to_json()
    changed = _plan(tmp_path, tiny_checkpoint, ["shapes"], limit=6, batch_size=2, tokens=2)  # new settings: new keys
    run_inference(changed, model_obj=model)
    assert len(calls) == 3
    stat = (tiny_checkpoint / "model.safetensors").stat()  # the checkpoint was rewritten: new keys
    os.utime(tiny_checkpoint / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    run_inference(changed, model_obj=model)
    assert len(calls) == 6


SCRIPT = """
import json, os, sys, torch
torch.set_num_threads(1)
from molmo.eval.suite import plan_eval
from molmo.eval.runner import run_inference
plan = plan_eval(tasks=["shapes"], model=sys.argv[1], output=sys.argv[2], limit=5, batch_size=1, device="cpu")
plan.runs[0].settings = plan.runs[0].task.settings(max_new_tokens=3)
outcome = run_inference(plan)
with open(sys.argv[2] + ".rank" + os.environ["RANK"] + ".json", "w") as f:
    json.dump([outcome.is_main, len(outcome.results)], f)
"""


def test_two_processes_merge_to_the_one_process_result(tiny_checkpoint, tmp_path):
    one = run_inference(_plan(tmp_path, tiny_checkpoint, ["shapes"], limit=5, batch_size=1, tokens=3, out="one"))
    script = tmp_path / "eval_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
           str(tiny_checkpoint), str(tmp_path / "two")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"two.rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == [True, len(one.results)] and ranks[1] == [False, 0]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["predictions.jsonl", "report.html", "results.json"]
    assert json.loads((tmp_path / "two" / "results.json").read_text()) == one.to_json()
    merged = {r["id"]: r["prediction"] for r in read_predictions(tmp_path / "two" / "predictions.jsonl")}
    single = {r["id"]: r["prediction"] for r in read_predictions(tmp_path / "one" / "predictions.jsonl")}
    assert merged == single and len(merged) == 5
