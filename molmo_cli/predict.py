"""``molmo predict``: answer a prompt about an image (streamed on a terminal), or a whole folder/JSONL."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from molmo_cli import _common


def predict(
    image: str | None = typer.Argument(None, help="Image file (jpg, png, webp, …)."),
    prompt: str | None = typer.Argument(None, help="The question or instruction, e.g. \"Point to the dog.\""),
    model: str | None = typer.Option(None, "--model", "-m", help="Native checkpoint directory (default: the bundled demo model)."),
    input_: str | None = typer.Option(None, "--input", "-i", help="Batch mode: a directory, a glob, or a JSONL file (id, image, prompt)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Batch mode: output JSONL (appended; done ids are skipped)."),
    max_new_tokens: int = typer.Option(192, "--max-new-tokens", min=1, help="Maximum tokens to generate."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0 = greedy."),
    top_p: float = typer.Option(1.0, "--top-p", min=0.0, max=1.0, help="Nucleus sampling mass."),
    top_k: int = typer.Option(0, "--top-k", min=0, help="Sample from the k most likely tokens (0 = off)."),
    num_beams: int = typer.Option(1, "--num-beams", min=1, help="Beam search width."),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed."),
    stream: bool = typer.Option(True, "--stream/--no-stream", help="Print the answer token by token on a terminal."),
    json_out: bool = typer.Option(False, "--json", help="Print {answer, points, count, tokens, timings} as JSON."),
    draw: Path | None = typer.Option(None, "--draw", help="Save the image with the answer's points drawn (PNG)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
    dtype: str | None = typer.Option(None, "--dtype", help="Weights dtype: fp32, bf16, fp16, or bf16-autocast."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Batch mode: prompts per generation batch."),
) -> None:
    """Answer PROMPT about IMAGE with a Molmo model; points in the answer are listed (and drawn with --draw)."""
    from molmo.config.generation import GenerationConfig
    from molmo.errors import UserError

    if input_ is None:
        if image is None or prompt is None:
            raise UserError("give IMAGE and PROMPT, or --input DIR|GLOB|FILE.jsonl with --output FILE")
        if not prompt.strip():
            raise UserError("the prompt is empty")
        from molmo.predict import check_image_path

        check_image_path(image)  # fail on a bad path before loading the model
    elif output is None:
        raise UserError("--input needs --output FILE.jsonl")
    if draw is not None and draw.suffix.lower() != ".png":
        raise UserError(f"--draw writes a PNG file; got {draw}")
    try:
        gen = GenerationConfig(max_new_tokens=max_new_tokens, temperature=temperature, top_p=max(top_p, 1e-6),
                               top_k=top_k, num_beams=num_beams, seed=seed, stop_token_ids=None)
    except ValueError as e:
        raise UserError(str(e).splitlines()[-1]) from None

    from molmo.predict import Predictor

    if model is None:
        from molmo.demo import NOTICE

        _common.notice(NOTICE)
    predictor = Predictor.load(model, device=device, dtype=dtype)
    if input_ is not None:
        _batch(predictor, input_, prompt if prompt is not None else image, output, gen, batch_size, json_out)
        return

    live = stream and not json_out and _common.interactive(sys.stdout)
    on_token = (lambda text: print(text, end="", flush=True)) if live else None
    pred = predictor.predict(image, prompt, gen, on_token=on_token)
    if live:
        print()
    if draw is not None:
        from molmo.predict import draw_points
        from molmo.preprocess.image_io import load_image

        draw_points(load_image(image), pred.points, draw)
        _common.notice(f"drew {len(pred.points)} point(s) to {draw}")
    if json_out:
        _common.emit_json(pred.to_json())
        return
    if not live:
        print(pred.answer)
    if pred.points:
        rows = [[i, p["label"], p["x"], p["y"], p["x_pct"], p["y_pct"]] for i, p in enumerate(pred.points, start=1)]
        _common.print_table("Points", ["#", "label", "x (px)", "y (px)", "x (%)", "y (%)"], rows)
    if pred.count is not None:
        print(f"count: {pred.count}")


def _batch(predictor, source: str, prompt: str | None, output: Path, gen, batch_size: int, json_out: bool) -> None:
    from molmo.predict import iter_inputs, predict_batch

    total = sum(1 for _ in iter_inputs(source, prompt))
    with _common.progress("predict", total=total) as advance:
        counts = predict_batch(predictor, source, prompt, output, gen, batch_size, progress=advance)
    if json_out:
        _common.emit_json({**counts, "output": str(output)})
    else:
        _common.print_table("Batch prediction", ["total", "done", "skipped", "failed", "output"],
                            [[counts["total"], counts["done"], counts["skipped"], counts["failed"], str(output)]])
