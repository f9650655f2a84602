"""``molmo convert``: checkpoint conversion (from-hf, to-hf, init).

Each command validates its options, calls ONE function of ``molmo.convert`` (plus the optional
numerical check of ``molmo.convert.verify``) and renders the result: a table on a terminal,
tab-separated when piped, JSON with ``--json``. Library imports are lazy so ``molmo --help`` never
imports torch. Bad input exits 2 with the destination untouched; a failed ``--verify`` exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from molmo.errors import MolmoError
from molmo_cli import _common

app = typer.Typer(
    help="Convert checkpoints: allenai HF Molmo <-> native, or a fresh Molmo from HF vision + LLM checkpoints.",
    no_args_is_help=True,
)

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
ShardOption = typer.Option("5GB", "--max-shard-size", help="Largest safetensors shard, e.g. 5GB, 500MB, 2GiB.")
OverwriteOption = typer.Option(False, "--overwrite", help="Replace DST if it exists and is not empty.")
VerifyOption = typer.Option(
    False, "--verify", help="Run source and result on a fixed random input and report the max difference."
)
ToleranceOption = typer.Option(
    1e-3, "--tolerance", min=0.0, help="Largest max-abs difference --verify accepts (else exit 1)."
)


def _dtype_option(default: str) -> Any:
    return typer.Option(default, "--dtype", help="Output dtype: keep (as stored), fp32, bf16 or fp16.")


def _run(description: str, convert: Any) -> Any:
    """Call ``convert(on_tensor)`` under a progress reporter (one step per tensor written)."""
    with _common.progress(description, unit="tensor") as advance:
        return convert(lambda _name: advance(1))


def _render(title: str, result: Any, report: Any, json_out: bool) -> None:
    data = result.as_dict()
    if report is not None:
        data["verify"] = report.as_dict()
    if json_out:
        _common.emit_json(data)
    else:
        rows = [["path", data["path"]], ["tensors", data["tensors"]], ["parameters", f"{data['parameters']:,}"],
                ["files", len(data["files"])], ["dtypes", ", ".join(data["dtypes"])]]  # fmt: skip
        if "special_tokens" in data:
            rows.append(["image tokens", f"{data['special_tokens']['image_start']}.."])
        if report is not None:
            rows += [[f"verify {name} max |diff|", f"{diff:.3g}"] for name, diff in report.diffs.items()]
            rows.append(["verify", f"{'ok' if report.ok else 'FAILED'} (tolerance {report.tolerance:g})"])
        _common.print_table(title, ["", "value"], rows)
    if report is not None and not report.ok:
        worst = max(report.diffs, key=report.diffs.__getitem__)
        raise MolmoError(
            f"verification failed: max |{worst} difference| {report.diffs[worst]:.3g} > tolerance {report.tolerance:g}"
        )


@app.command("from-hf")
def from_hf(
    src: Path = typer.Argument(..., help="allenai HF Molmo directory (config.json, safetensors, tokenizer.json)."),
    dst: Path = typer.Argument(..., help="Native checkpoint directory to write."),
    dtype: str = _dtype_option("keep"),
    max_shard_size: str = ShardOption,
    overwrite: bool = OverwriteOption,
    verify: bool = VerifyOption,
    tolerance: float = ToleranceOption,
    json_out: bool = JsonOption,
) -> None:
    """Convert an HF Molmo checkpoint (e.g. allenai/Molmo-7B-D-0924) to the native format, tensor by tensor."""
    from molmo.convert.hf_molmo import from_hf as convert
    from molmo.sizes import parse_size

    shard = parse_size(max_shard_size, "--max-shard-size")
    result = _run("convert", lambda cb: convert(src, dst, dtype=dtype, max_shard_bytes=shard, overwrite=overwrite,
                                                on_tensor=cb))  # fmt: skip
    report = None
    if verify:
        from molmo.convert.verify import verify_hf_molmo

        _common.notice("verifying: HF weights vs native checkpoint on a fixed input ...")
        report = verify_hf_molmo(src, dst, round_to="native", tolerance=tolerance)
    _render("from-hf", result, report, json_out)


@app.command("to-hf")
def to_hf(
    src: Path = typer.Argument(..., help="Native checkpoint directory."),
    dst: Path = typer.Argument(..., help="HF Molmo directory to write."),
    dtype: str = _dtype_option("keep"),
    max_shard_size: str = ShardOption,
    code_from: Path | None = typer.Option(
        None, "--code-from", help="Copy the remote-code *.py files from this directory (e.g. a released checkpoint)."
    ),
    overwrite: bool = OverwriteOption,
    verify: bool = VerifyOption,
    tolerance: float = ToleranceOption,
    json_out: bool = JsonOption,
) -> None:
    """Convert a native checkpoint to the allenai HF Molmo layout (config.json, safetensors shards, tokenizer)."""
    from molmo.convert.hf_molmo import to_hf as convert
    from molmo.sizes import parse_size

    shard = parse_size(max_shard_size, "--max-shard-size")
    result = _run("convert", lambda cb: convert(src, dst, dtype=dtype, max_shard_bytes=shard, overwrite=overwrite,
                                                code_from=code_from, on_tensor=cb))  # fmt: skip
    report = None
    if verify:
        from molmo.convert.verify import verify_hf_molmo

        _common.notice("verifying: native checkpoint vs HF weights on a fixed input ...")
        report = verify_hf_molmo(dst, src, round_to="hf", tolerance=tolerance)
    _render("to-hf", result, report, json_out)


@app.command("init")
def init(
    dst: Path = typer.Argument(..., help="Native checkpoint directory to write."),
    vision: Path = typer.Option(..., "--vision", help="HF vision encoder directory (CLIP, SigLIP, DINOv2, MetaCLIP)."),
    llm: Path = typer.Option(..., "--llm", help="HF LLM directory (Qwen2, Llama, OLMo-2) with tokenizer.json."),
    preset: str | None = typer.Option(None, "--preset", help="Molmo preset to build (e.g. molmo-7b-d)."),
    recipe: Path | None = typer.Option(None, "--recipe", help="Recipe whose \\[model] section defines the model."),
    dtype: str = _dtype_option("fp32"),
    seed: int = typer.Option(0, "--seed", help="Seed of the fresh connector / new-embedding weights."),
    max_shard_size: str = ShardOption,
    overwrite: bool = OverwriteOption,
    verify: bool = VerifyOption,
    tolerance: float = ToleranceOption,
    json_out: bool = JsonOption,
) -> None:
    """Assemble a fresh Molmo (stage-1 start) from HF vision + LLM checkpoints; the connector is new."""
    from molmo.convert.init import init_from_hf
    from molmo.sizes import parse_size

    shard = parse_size(max_shard_size, "--max-shard-size")
    result = _run("init", lambda cb: init_from_hf(vision, llm, dst, preset=preset, recipe=recipe, dtype=dtype,
                                                  seed=seed, max_shard_bytes=shard, overwrite=overwrite,
                                                  on_tensor=cb))  # fmt: skip
    report = None
    if verify:
        from molmo.convert.verify import verify_init

        _common.notice("verifying: vision features and LLM logits vs transformers ...")
        report = verify_init(vision, llm, dst, tolerance=tolerance)
    _render("init", result, report, json_out)


@app.command("zero")
def zero(
    checkpoint: Path = typer.Argument(..., help="A training checkpoint: RUN/checkpoints/step-NNNNNNNN."),
    dst: Path = typer.Argument(..., help="Native checkpoint directory to write."),
    hf: Path | None = typer.Option(None, "--hf", help="Also export the result to this directory in the HF Molmo layout."),
    dtype: str | None = typer.Option(None, "--dtype", help="Weights dtype of the output: fp32 (default), bf16, fp16."),
    json_out: bool = JsonOption,
) -> None:
    """Consolidate the ZeRO shards of a training checkpoint into a native checkpoint (optionally HF too)."""
    import contextlib
    import sys

    with contextlib.redirect_stdout(sys.stderr):  # DeepSpeed prints progress on stdout
        from molmo.train.export import export_native

        out = export_native(checkpoint, dst, dtype=dtype)
    result = {"checkpoint": str(checkpoint), "native": str(out)}
    if hf is not None:
        from molmo.convert.hf_molmo import to_hf

        to_hf(out, hf)
        result["hf"] = str(hf)
    if json_out:
        _common.emit_json(result)
    else:
        _common.print_table("convert zero", list(result), [list(result.values())])
