"""Regenerate the small assets the debug recipe and tests use (run from the repository root):

- ``molmo/assets/shapes-tokenizer/tokenizer.json``: a byte-level BPE trained on tiny-shapes texts
  (questions and answers of 4,000 synthetic train scenes, seed 424242), vocab 500 + Molmo's tokens.
- ``examples/shapes-debug/``: 64 train samples (seed 7) in 4 shards, for ``recipes/debug.toml``.

    python scripts/make_shapes_assets.py
"""

from __future__ import annotations

from pathlib import Path

from molmo.data.synth import synth_shapes
from molmo.data.synth.shapes import make_sample
from molmo.preprocess.bpe import train_bpe
from molmo.preprocess.tokenizer import MolmoTokenizer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    texts = []
    for i in range(4000):
        sample = make_sample("train", 424242, i)
        texts += [m["content"] for m in sample.json["messages"]]
    tok = MolmoTokenizer(train_bpe(texts, 500))  # adds <im_start>… right after the BPE vocabulary
    print("tokenizer:", tok.save(ROOT / "molmo/assets/shapes-tokenizer"), tok.vocab_size, "ids")
    manifest = synth_shapes(ROOT / "examples/shapes-debug", 64, seed=7, split="train", shard_samples=16, overwrite=True)
    print("debug shards:", len(manifest.shards))


if __name__ == "__main__":
    main()
