"""Does the decoder look at the object a question asks about? Attention on the target shape, per layer.

    python scripts/attention_binding.py molmo/assets/tiny-shapes data/shapes/eval --questions 60

Takes eval questions (``molmo data synth shapes --split eval``) about exactly one shape in a scene of
two or more: colour questions ("What color is the square?") and pointing questions with one target
("Point to the red circle.", "Point to all the squares." when there is one square). It runs the
checkpoint teacher-forced on each and reads every decoder layer's attention at one position: the
one that predicts the first answer token (colour) or the first digit of ``x`` (pointing), where the
model must already know which object it is talking about.

For every question kind and layer it reports the head whose attention singles out the target best
(the most ``excess`` mass: target mass minus what a head spreading the same mass over every shape
alike would put there): its attention mass on the target shape's image tokens, on the other shapes'
tokens, and the target's share of the two, beside ``chance``, the share the target's tokens have
among all shape tokens. A share near chance, or little excess, in every layer means the model
answers without finding the object first. ``words`` is the most any head of the layer puts on
the question's object words (its kind, colour or plural tokens): the step before, reading what to
look for.

Image tokens are mapped to shapes through the preprocessor's own crop geometry
(:func:`molmo.data.synth.patch_labels.patch_coverage`) and the connector's pooling windows, so only
single-crop checkpoints with window pooling are supported (the tiny-shapes recipe). The attention
weights are recomputed from the queries and keys the decoder passes to ``attend``; the model's
outputs are unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import torch

import molmo
import molmo.models.llm.block as decoder_block
from molmo.data.loader import iter_samples
from molmo.data.synth.patch_labels import instance_masks, patch_coverage
from molmo.data.synth.render import COLORS, KINDS, PLURALS, shape_point
from molmo.data.synth.shapes import Scene, Shape
from molmo.errors import MolmoError
from molmo.nn.attention import repeat_kv
from molmo.nn.masks import causal_mask
from molmo.preprocess.collate import collate
from molmo.train.data import SampleTransform

KINDS_ASKED = ("colour", "point")
OBJECT_WORDS = frozenset((*KINDS, *COLORS, *PLURALS.values()))
MIN_OWNED = 0.1  # a pooled token belongs to the shape covering most of it, if at least this much


@contextlib.contextmanager
def recorded_attention() -> Iterator[list[torch.Tensor]]:
    """Record each decoder layer's attention weights ``(B, H, Tq, Tk)`` (float32) while active."""
    weights: list[torch.Tensor] = []
    attend = decoder_block.attend

    def recording(q, k, v, mask=None, dropout_p=0.0):
        n_rep = q.shape[1] // k.shape[1]
        scores = (q.float() @ repeat_kv(k, n_rep).float().transpose(-1, -2)) / math.sqrt(q.shape[-1])
        if mask is None and q.shape[2] == k.shape[2]:  # attend's default: causal when Tq == Tk, else full
            mask = causal_mask(q.shape[2], k.shape[2], device=q.device)
        weights.append((scores if mask is None else scores.masked_fill(~mask, float("-inf"))).softmax(-1))
        return attend(q, k, v, mask, dropout_p=dropout_p)

    decoder_block.attend = recording
    try:
        yield weights
    finally:
        decoder_block.attend = attend


def target_shape(sample_json: dict, shapes: list[Shape]) -> tuple[str, int] | None:
    """``(question kind, index of the one shape asked about)``, or None for other questions."""
    task, refs = sample_json.get("task"), sample_json.get("refs") or {}
    question = sample_json["messages"][0]["content"]
    if task == "color":
        asked = [k for k in KINDS if re.search(rf"\b{k}\b", question)]
        matches = [i for i, s in enumerate(shapes) if len(asked) == 1 and s.kind == asked[0]]
        return ("colour", matches[0]) if len(matches) == 1 else None
    if task == "point" and refs.get("count") == 1:
        x, y = refs["points"][0]
        for i, s in enumerate(shapes):
            px, py = shape_point(s.kind, s.cx, s.cy, s.half)
            if abs(px - x) < 0.01 and abs(py - y) < 0.01:
                return "point", i
    return None


def token_owners(scene: Scene, model) -> np.ndarray:
    """Shape index owning each image token of the (single) crop, -1 for background: ``(tokens,)``."""
    pooling = model.vision_backbone.image_pooling_2d
    window = getattr(pooling, "window", None)
    if window is None:
        raise MolmoError("attention_binding needs window pooling (connector.pooling attention_meanq/attention)")
    masks = [mask for _, mask in instance_masks(scene)][: len(scene.shapes)]  # shapes come first
    coverage = patch_coverage(masks, model.preprocess_config)  # (n_crops, n_patches, n_shapes)
    if coverage.shape[0] != 1:
        raise MolmoError(f"attention_binding supports single-crop preprocessing; this image has {coverage.shape[0]} crops")
    grid = model.config.vision.grid
    (wh, ww), n = window, len(scene.shapes)
    cov = torch.from_numpy(coverage[0].reshape(1, grid, grid, n)).permute(0, 3, 1, 2)  # (1, n, g, g)
    pooled = torch.nn.functional.avg_pool2d(cov, (wh, ww), ceil_mode=True)[0].flatten(1).T.numpy()  # (T, n)
    return np.where(pooled.max(1) >= MIN_OWNED, pooled.argmax(1), -1)


def answer_position(labels: torch.Tensor, pieces: list[str], kind: str) -> int:
    """The position whose label is the first answer token (colour) or the first x digit (pointing)."""
    at = [int(t) for t in (labels >= 0).nonzero().flatten()]
    if kind == "colour":
        return at[0]
    return next(t for t in at if pieces[t].strip().isdigit())


def measure(checkpoint: str, shards: str, questions: int) -> list[dict[str, float | int | str]]:
    """One row per (question kind, decoder layer) over up to ``questions`` questions of each kind."""
    model = molmo.load(checkpoint).eval()
    if model.tokenizer is None or model.preprocess_config is None:
        raise MolmoError(f"{checkpoint}: the checkpoint has no tokenizer.json or preprocessing config")
    transform = SampleTransform(model.preprocess_config, f"{checkpoint}/tokenizer.json", seed=0)
    # per kind: Σ over questions of (target mass, other-shape mass, object-word mass) per (layer, head)
    sums: dict[str, np.ndarray] = {}
    chance: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for sample in iter_samples([shards]):
        scene_json = sample.json.get("meta", {}).get("scene")
        if scene_json is None or len(scene_json["shapes"]) < 2:
            continue
        shapes = [Shape(**s) for s in scene_json["shapes"]]
        found = target_shape(sample.json, shapes)
        if found is None or counts[found[0]] >= questions:
            continue
        kind, target = found
        scene = Scene(**{**scene_json, "shapes": shapes, "number": None})
        owners = token_owners(scene, model)
        is_target, is_other = owners == target, (owners >= 0) & (owners != target)
        if not is_target.any():
            continue
        inputs = collate([transform(sample)]).model_inputs()
        labels = inputs["labels"][0]
        pieces = [model.tokenizer.decode([int(t)]) if t >= 0 else "" for t in labels]
        at = answer_position(labels, pieces, kind)
        image_idx = inputs["image_input_idx"][0, 0]  # (T_img,) sequence positions of the image tokens
        ids = inputs["input_ids"][0, :at + 1]
        words = [i for i, t in enumerate(ids) if t >= 0 and model.tokenizer.decode([int(t)]).strip() in OBJECT_WORDS]
        with recorded_attention() as weights, torch.no_grad():
            model(**{k: v for k, v in inputs.items() if k not in ("labels", "loss_mask")})
        rows = []
        for layer_weights in weights:
            w = layer_weights[0, :, at, image_idx].numpy()  # (H, T_img)
            on_words = layer_weights[0, :, at, words].sum(-1).numpy()  # (H,)
            rows.append(np.stack([w[:, is_target].sum(1), w[:, is_other].sum(1), on_words], axis=-1))  # (H, 3)
        sums[kind] = sums.get(kind, 0) + np.stack(rows)  # (layers, H, 3)
        chance[kind] += is_target.sum() / (is_target.sum() + is_other.sum())
        counts[kind] += 1
        if all(counts[k] >= questions for k in KINDS_ASKED):
            break
    out = []
    for kind in KINDS_ASKED:
        if not counts[kind]:
            continue
        mean = sums[kind] / counts[kind]  # (layers, H, 3)
        share = mean[..., 0] / np.maximum(mean[..., :2].sum(-1), 1e-9)
        base = chance[kind] / counts[kind]
        excess = mean[..., 0] - base * mean[..., :2].sum(-1)  # (layers, H)
        for layer in range(mean.shape[0]):
            head = int(excess[layer].argmax())
            out.append({"question": kind, "layer": layer, "head": head, "n": counts[kind],
                        "target_mass": round(float(mean[layer, head, 0]), 4),
                        "other_mass": round(float(mean[layer, head, 1]), 4),
                        "target_share": round(float(share[layer, head]), 4),
                        "excess": round(float(excess[layer, head]), 4),
                        "chance": round(float(base), 4),
                        "words": round(float(mean[layer, :, 2].max()), 4)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="native checkpoint directory (with tokenizer.json)")
    parser.add_argument("shards", help="folder of shapes eval shards (molmo data synth shapes ... --split eval)")
    parser.add_argument("--questions", type=int, default=60, help="questions of each kind to read")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        rows = measure(args.checkpoint, args.shards, args.questions)
    except MolmoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"error: {args.shards}: no colour or single-target pointing questions in scenes of 2+ shapes",
              file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'question':9s} {'layer':>5s} {'head':>4s} {'n':>4s} {'target':>7s} {'others':>7s} {'share':>6s} "
          f"{'chance':>7s} {'excess':>7s} {'words':>6s}")
    for r in rows:
        print(f"{r['question']:9s} {r['layer']:5d} {r['head']:4d} {r['n']:4d} {r['target_mass']:7.3f} "
              f"{r['other_mass']:7.3f} {r['target_share']:6.3f} {r['chance']:7.3f} {r['excess']:7.3f} {r['words']:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
