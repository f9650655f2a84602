"""Which answer tokens does a model get wrong? Teacher-forced loss and accuracy by token role.

    python scripts/answer_token_loss.py molmo/assets/tiny-shapes data/shapes/eval --batches 30

Runs the checkpoint over dialog shards exactly as training sees them (its own preprocessing, every
question/answer pair packed as its own conversation), and groups the answer tokens by role: the
tens / units / tenths digits of point coordinates (``x="31.2"``), other digits (counts, numbers
read), the rest of the point markup, and plain text. A role whose cross-entropy sits at ln 10 = 2.30
with accuracy near 0.1 is a digit the model has not learned at all. ``--json`` prints the rows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
from collections import defaultdict

import torch

import molmo
from molmo.config.data import DataConfig, DataSource
from molmo.errors import MolmoError
from molmo.train.data import BatchStream, SampleTransform

#: a coordinate value inside point markup: x="31.2", y1="7.0", ...
_COORD = re.compile(r'\b([xy])\d*="(\d+)(?:\.(\d+))?"')
_MARKUP = re.compile(r"<points?\b.*?(?:</points?>|$)", re.DOTALL)
_PLACES = ("hundreds", "tens", "units")


def char_roles(text: str) -> list[str]:
    """The role of every character of one answer (see the module docstring)."""
    roles = ["other digit" if c.isdigit() else "text" for c in text]
    for m in _MARKUP.finditer(text):  # tags, attribute names and the label: all "markup" first
        roles[m.start():m.end()] = ["markup"] * (m.end() - m.start())
    for m in _COORD.finditer(text):
        axis, whole, frac = m.group(1), m.group(2), m.group(3) or ""
        start = m.start(2)
        places = _PLACES[-len(whole):] if len(whole) <= 3 else ("big",) * len(whole)
        for i, place in enumerate(places):
            roles[start + i] = f"{axis} {place}"
        for i in range(len(frac)):
            roles[m.start(3) + i] = f"{axis} tenths" if i == 0 else f"{axis} decimals"
    return roles


def token_roles(pieces: list[str]) -> list[str]:
    """One role per token of an answer given as its decoded pieces: the role of the token's first
    digit if it has one (a digit token is one digit in Molmo's and our tokenizers), else of its first
    non-space character."""
    roles = char_roles("".join(pieces))
    out, pos = [], 0
    for piece in pieces:
        own = roles[pos:pos + len(piece)] or ["text"]
        digits = [r for r, c in zip(own, piece) if c.isdigit()]
        visible = [r for r, c in zip(own, piece) if not c.isspace()] or own
        out.append(digits[0] if digits else visible[0])
        pos += len(piece)
    return out


def measure(checkpoint: str, shards: str, batches: int, batch_size: int = 16,
            device: str = "cpu") -> list[dict[str, float | str | int]]:
    """Role rows over at most ``batches`` micro-batches (never past one pass over the shards)."""
    model = molmo.load(checkpoint, device=device)
    if model.tokenizer is None or model.preprocess_config is None:
        raise MolmoError(f"{checkpoint}: the checkpoint has no tokenizer.json or preprocessing config")
    transform = SampleTransform(model.preprocess_config, f"{checkpoint}/tokenizer.json", seed=0, split_turns=True)
    data = DataConfig(sources=[DataSource(name="probe", paths=[shards])], seed=0, shuffle_buffer=0,
                      shuffle_shards=False, workers=0)
    stream = BatchStream(data, transform, batch_size, 0, 1, workers=0)
    if stream.dataset_size < batch_size:  # the loader repeats its shards: read each scene once
        stream.close()
        batch_size = max(1, stream.dataset_size)
        stream = BatchStream(data, transform, batch_size, 0, 1, workers=0)
    batches = min(batches, stream.dataset_size // batch_size)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0])  # role -> [Σ ce, tokens, right]
    try:
        for _ in range(batches):
            item = stream.next_batch()
            if item is None:
                break
            batch = item[0].to(torch.device(device))
            inputs = {k: v for k, v in batch.model_inputs().items() if k not in ("labels", "loss_mask")}
            with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
                logits = model(**inputs).logits.float()  # (B, T, V)
            for row in range(batch.labels.shape[0]):
                labels = batch.labels[row]
                at = (labels >= 0).nonzero().flatten()
                ce = torch.nn.functional.cross_entropy(logits[row, at], labels[at], reduction="none")
                right = logits[row, at].argmax(-1) == labels[at]
                # contiguous label runs are the answers; the roles are read per answer
                cuts = [0, *((at[1:] != at[:-1] + 1).nonzero().flatten() + 1).tolist(), len(at)]
                for a, b in itertools.pairwise(cuts):
                    pieces = [model.tokenizer.decode([int(t)]) for t in labels[at[a:b]]]
                    for k, role in enumerate(token_roles(pieces), start=a):
                        t = totals[role]
                        t[0] += float(ce[k])
                        t[1] += 1
                        t[2] += int(right[k])
    finally:
        stream.close()
    return [{"role": role, "tokens": int(n), "ce": round(s / n, 4), "accuracy": round(r / n, 4)}
            for role, (s, n, r) in sorted(totals.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="native checkpoint directory (with tokenizer.json)")
    parser.add_argument("shards", help="folder of shapes dialog shards (molmo data synth shapes ...)")
    parser.add_argument("--batches", type=int, default=30,
                        help="micro-batches of 16 scenes to score (at most one pass over the shards)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        rows = measure(args.checkpoint, args.shards, args.batches, device=args.device)
    except MolmoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'role':14s} {'tokens':>7s} {'ce':>7s} {'accuracy':>9s}   (uniform over 10 digits: ce {math.log(10):.2f})")
    for r in rows:
        print(f"{r['role']:14s} {r['tokens']:7d} {r['ce']:7.3f} {r['accuracy']:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
