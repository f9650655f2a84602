"""``molmo data``: build and check WebDataset shards (synth, pack, inspect, verify, stats).

Each command validates its input, calls ONE function of ``molmo.data`` and renders the result
(rich table on a terminal, tab-separated when piped, JSON with ``--json``). Library imports are
lazy so ``molmo --help`` stays fast. ``verify`` exits 1 when it finds a problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from molmo.errors import UserError
from molmo.sizes import parse_size
from molmo_cli import _common

app = typer.Typer(
    help="Build and check WebDataset shards: synth, pack, inspect, verify, stats.", no_args_is_help=True
)
synth_app = typer.Typer(help="Generate synthetic datasets (the tiny-shapes world).", no_args_is_help=True)
app.add_typer(synth_app, name="synth")

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def parse_map(items: list[str]) -> dict[str, str]:
    """``["col=field", …]`` -> ``{"col": "field"}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"--map {item!r}: expected COLUMN=FIELD (or OPTION=VALUE, e.g. image_root=DIR)")
        out[key.strip()] = value.strip()
    return out


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int | None], None]]:
    """Adapt the library's ``progress(done, total)`` callback to the shared progress bar."""
    state: dict[str, Any] = {"done": 0, "ctx": None, "advance": None}

    def callback(done: int, total: int | None) -> None:
        if state["advance"] is None:
            state["ctx"] = _common.progress(description, total)
            state["advance"] = state["ctx"].__enter__()
        state["advance"](done - state["done"])
        state["done"] = done

    try:
        yield callback
    finally:
        if state["ctx"] is not None:
            state["ctx"].__exit__(None, None, None)


@synth_app.command("shapes")
def synth_shapes(
    dst: Path = typer.Argument(..., help="Output directory for the shards and manifest.json."),
    n: int = typer.Option(1000, "--n", help="Number of samples (one scene each; one question unless --questions)."),
    seed: int = typer.Option(0, "--seed", help="Seed; train and eval streams never overlap for any seeds."),
    split: str = typer.Option(
        "train", "--split", help="train or eval (eval samples carry refs: points, masks…)."
    ),
    shard_samples: int = typer.Option(10_000, "--shard-samples", help="Samples per shard."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing set in DST."),
    tasks: str | None = typer.Option(None, "--tasks", help="Only these tasks, comma-separated (e.g. color,caption,read); locate (training only) is asked only when named."),
    questions: int = typer.Option(
        1, "--questions", help="Questions per scene: >1 writes multi-turn dialogs (train split only)."
    ),
    max_shapes: int = typer.Option(6, "--max-shapes", help="At most this many shapes per scene (1-6; e.g. 2 for an easy curriculum)."),
    min_shapes: int = typer.Option(
        1, "--min-shapes", help="At least this many shapes per scene (1 to --max-shapes; e.g. 4 for crowded scenes)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Generate the tiny-shapes world (caption, color, count, point and read questions)."""
    from molmo.data.synth import synth_shapes as run

    if seed < 0:
        raise UserError("--seed must be >= 0")
    with _progress("synth shapes") as cb:
        manifest = run(
            dst, n, seed=seed, split=split, shard_samples=shard_samples, overwrite=overwrite, progress=cb,
            questions=questions, max_shapes=max_shapes, min_shapes=min_shapes,
            tasks=tuple(t.strip() for t in tasks.split(",") if t.strip()) if tasks is not None else None,
        )
    result = {
        "directory": str(dst),
        "samples": manifest.samples,
        "shards": len(manifest.shards),
        "split": split,
        "seed": seed,
    }
    if json_out:
        _common.emit_json(result)
    else:
        _common.print_table("synth shapes", list(result), [list(result.values())])


@app.command()
def pack(
    src: Path = typer.Argument(..., help="Source file or directory (layout depends on --format)."),
    dst: Path = typer.Argument(..., help="Output directory for the shards and manifest.json."),
    format: str = typer.Option(
        ..., "--format", "-f", help="llava, jsonl, vqa2, docvqa, chartqa, parquet or folder."
    ),
    workers: int = typer.Option(4, "--workers", help="Threads that load and validate images."),
    strict: bool = typer.Option(
        False, "--strict", help="Fail on the first bad record instead of skipping it."
    ),
    shard_size: str = typer.Option(
        "512MB", "--shard-size", help="Roll to a new shard after this many bytes."
    ),
    shard_samples: int = typer.Option(
        10_000, "--shard-samples", help="Roll to a new shard after this many samples."
    ),
    map_: list[str] = typer.Option(
        [], "--map", help="COLUMN=FIELD mapping or OPTION=VALUE (image_root=DIR); repeatable."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Only pack the first N source records."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing pack in DST (default: resume it)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Convert a dataset into WebDataset shards; bad records are skipped and listed in the manifest."""
    from molmo.data.pack import pack as run

    if workers < 0 or shard_samples < 1:
        raise UserError("--workers must be >= 0 and --shard-samples >= 1")
    with _progress(f"pack {format}") as cb:
        result = run(
            src,
            dst,
            format,
            workers=workers,
            strict=strict,
            shard_size=parse_size(shard_size, "--shard-size"),
            shard_samples=shard_samples,
            mapping=parse_map(map_),
            progress=cb,
            limit=limit,
            overwrite=overwrite,
        )
    summary = result.to_json()
    if json_out:
        _common.emit_json({**summary, "failures": result.manifest.failures[:100]})
        return
    _common.print_table(f"pack {format}", list(summary), [list(summary.values())])
    for f in result.manifest.failures[:10]:
        _common.warn(f"skipped record {f['index']} ({f['key']}): {f['reason']}")
    if result.manifest.failures_total > 10:
        _common.warn(
            f"... {result.manifest.failures_total - 10} more skipped records listed in {dst}/manifest.json"
        )


@app.command()
def inspect(
    shards: list[str] = typer.Argument(..., help="Shard directory, .tar files, brace patterns or URLs."),
    n: int = typer.Option(10, "--n", help="How many samples to show."),
    show: Path | None = typer.Option(
        None, "--show", help="Also write a contact sheet PNG with points drawn."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Show the first samples: key, task, style, question, answer, image sizes."""
    from molmo.data.inspect import inspect_shards

    rows = inspect_shards(shards, n=n, show=show)
    if json_out:
        _common.emit_json([r.to_json() for r in rows])
    else:
        table = [
            [
                r.key,
                r.task,
                r.style,
                r.question[:60],
                r.answer[:60],
                " ".join(f"{w}x{h}" for w, h in r.image_sizes) + (f" ({r.error})" if r.error else ""),
            ]
            for r in rows
        ]
        _common.print_table(None, ["key", "task", "style", "question", "answer", "images"], table)
    if show is not None:
        _common.notice(f"contact sheet written to {show}")


@app.command()
def verify(
    path: list[str] = typer.Argument(..., help="Shard directory, .tar files, brace patterns or URLs."),
    workers: int = typer.Option(2, "--workers", help="Shards checked in parallel."),
    json_out: bool = JsonOption,
) -> None:
    """Decode every sample and check checksums/counts against manifest.json; exit 1 on any problem."""
    from molmo.data.verify import verify as run

    with _progress("verify") as cb:
        report = run(path, workers=workers, progress=cb)
    if json_out:
        _common.emit_json(report.to_json())
    else:
        rows = [
            [
                s.name,
                s.samples,
                s.expected_samples,
                s.bad_samples,
                "ok" if s.ok else "; ".join(s.problems) or "bad samples",
            ]
            for s in report.shards
        ]
        _common.print_table(f"verify {report.path}", ["shard", "samples", "expected", "bad", "status"], rows)
    if not report.ok:
        for problem in report.problems:
            _common.warn(problem)
        for s in report.shards:
            for problem in s.problems:
                _common.warn(f"shard {s.name}: {problem}")
        for b in report.bad_samples[:20]:
            _common.warn(f"shard {b['shard']}: sample {b['key']}: {b['reason']}")
        raise typer.Exit(1)


@app.command()
def stats(
    path: list[str] = typer.Argument(..., help="Shard directory, .tar files, brace patterns or URLs."),
    tokenizer: Path | None = typer.Option(
        None, "--tokenizer", help="tokenizer.json (or its directory) for token counts."
    ),
    max_length: int | None = typer.Option(
        None, "--max-length", help="Flag samples longer than this many tokens."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Only look at the first N samples."),
    json_out: bool = JsonOption,
) -> None:
    """Counts by task/style, image sizes, text and token lengths."""
    from molmo.data.stats import stats as run

    report = run(path, tokenizer=tokenizer, max_length=max_length, limit=limit)
    data = report.to_json()
    if json_out:
        _common.emit_json(data)
        return
    rows = [
        [
            k,
            v
            if not isinstance(v, (dict, list))
            else ", ".join(f"{a}={b}" for a, b in v.items())
            if isinstance(v, dict)
            else "; ".join(map(str, v)),
        ]
        for k, v in data.items()
        if v not in ({}, [], None)
    ]
    _common.print_table(f"stats {report.path}", ["statistic", "value"], rows)
