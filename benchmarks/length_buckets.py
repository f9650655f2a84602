"""Length-bucketed batching (``[data] length_buckets``) against stream-order batches, same run.

For each bucket count it builds the recipe's trainer (random ViT weights: only the timing matters),
runs ``--warmup`` steps, then times ``--steps`` optimiser steps, and prints the share of batch
positions that are padding, seconds per step, real tokens per second and the ratio of each to
stream order (``length_buckets = 1``). Needs the recipe's shards (for tiny-shapes:
``molmo data synth shapes data/shapes/dialog ...`` as in the recipe header).

    python benchmarks/length_buckets.py [recipes/tiny-shapes.toml] [--buckets 1 8] [--steps 24]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from molmo.config.recipe import load_train_recipe
from molmo.train.loop import Trainer


def measure(recipe_path: str, buckets: int, steps: int, warmup: int) -> dict[str, float]:
    recipe = load_train_recipe(recipe_path, [f"data.length_buckets={buckets}", "logging.interval=100000"])
    recipe = recipe.model_copy(update={"model": recipe.model.model_copy(update={"vision_weights": None})})
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(recipe, out, resume="none")
        padded: list[int] = []  # batch positions (real + padding) of every micro-batch handed out
        stream_next = trainer.data.next_batch

        def recording_next():
            item = stream_next()
            if item is not None:
                padded.append(int(item[0].input_ids.numel()))
            return item

        trainer.data.next_batch = recording_next
        try:
            real = 0
            for i in range(warmup + steps):
                if i == warmup:
                    t0, real = time.perf_counter(), 0
                    del padded[:]
                if trainer.train_step() is None:
                    raise SystemExit("the data ran out; use fewer --steps")
                real += trainer.tokens_step
            seconds = time.perf_counter() - t0
            positions = sum(padded)
        finally:
            trainer.data.close()
    return {"padding": 1 - real / positions, "s_per_step": seconds / steps, "tokens_per_s": real / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default="recipes/tiny-shapes.toml")
    parser.add_argument("--buckets", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    results = {k: measure(args.recipe, k, args.steps, args.warmup) for k in args.buckets}
    base = results[args.buckets[0]]
    print(f"{'buckets':>8} {'padding':>8} {'s/step':>8} {'ratio':>6} {'tokens/s':>9} {'ratio':>6}")
    for k, r in results.items():
        print(f"{k:>8} {r['padding']:>8.1%} {r['s_per_step']:>8.3f} {r['s_per_step'] / base['s_per_step']:>6.2f} "
              f"{r['tokens_per_s']:>9.0f} {r['tokens_per_s'] / base['tokens_per_s']:>6.2f}")


if __name__ == "__main__":
    main()
