"""Does a shapes model tell the shape kinds apart? (the demo model's measured bottleneck)

    python scripts/probe_shape_kinds.py molmo/assets/tiny-shapes

Draws one large blue circle / square / triangle / diamond on white, asks "Describe this image."
with the answer started as "a blue", and prints the model's next-token probability of each kind
word. A model that sees shapes puts most mass on the drawn kind (the diagonal); the bundled model
prints nearly the same row for every shape.
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image, ImageDraw

import molmo
from molmo.preprocess.preprocessor import Preprocessor

KINDS = ("circle", "square", "triangle", "diamond")


def draw(kind: str, size: int = 200, half: int = 40, color=(40, 80, 220)) -> Image.Image:
    image = Image.new("RGB", (size, size), (255, 255, 255))
    d, c = ImageDraw.Draw(image), size // 2
    if kind == "circle":
        d.ellipse([c - half, c - half, c + half, c + half], fill=color)
    elif kind == "square":
        d.rectangle([c - half, c - half, c + half, c + half], fill=color)
    elif kind == "triangle":
        d.polygon([(c, c - half), (c - half, c + half), (c + half, c + half)], fill=color)
    else:
        d.polygon([(c, c - half), (c - half, c), (c, c + half), (c + half, c)], fill=color)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    args = parser.parse_args()
    model = molmo.load(args.checkpoint).eval()
    pre, tok = Preprocessor(model.preprocess_config, model.tokenizer, seed=0), model.tokenizer
    word_ids = {k: tok.encode(" " + k)[0] for k in KINDS}
    blue = tok.encode(" blue")[-1]
    messages = [{"role": "user", "content": "Describe this image."}, {"role": "assistant", "content": "a blue"}]
    print("drawn\t" + "\t".join(KINDS))
    for kind in KINDS:
        batch = pre.collate([pre([draw(kind)], messages)])
        with torch.no_grad():
            logits = model(**batch.model_inputs()).logits[0]
        position = max(i for i, t in enumerate(batch.input_ids[0].tolist()) if t == blue)
        probs = torch.softmax(logits[position].float(), -1)
        print(kind + "\t" + "\t".join(f"{probs[word_ids[k]].item():.3f}" for k in KINDS))


if __name__ == "__main__":
    main()
