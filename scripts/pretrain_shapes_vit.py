"""Dense ViT pretraining for the tiny-shapes demo model (molmo.train.vit_pretrain).

    python scripts/pretrain_shapes_vit.py recipes/tiny-shapes.toml runs/tiny-shapes-vit --steps 1200

Builds the ViT and preprocessor of RECIPE's [model] section, teaches it per-patch shape kind /
colour / digit labels of freshly drawn synth scenes, and writes OUT/model.safetensors (native
``vision_backbone.image_vit.*`` keys) for the recipe's ``[model] vision_weights``.
"""

from __future__ import annotations

import argparse
import sys

from molmo.config.recipe import load_train_recipe
from molmo.errors import MolmoError
from molmo.train.vit_pretrain import VitPretrainConfig, pretrain_vit


def _escape(text: str | None) -> str | None:
    """argparse %-formats help strings: a literal '%' in a field description must be doubled."""
    return None if text is None else text.replace("%", "%%")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="training recipe whose [model] defines the ViT and preprocessing")
    parser.add_argument("out", help="output directory (replaced atomically)")
    parser.add_argument("--workers", type=int, default=1, help="scene-drawing worker processes (0 = inline)")
    for name, field in VitPretrainConfig.model_fields.items():
        kind = field.annotation if field.annotation in (int, float, str) else None
        if field.annotation is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction,
                                default=field.default, help=_escape(field.description))
        elif kind is not None:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=field.default, help=_escape(field.description))
    args = vars(parser.parse_args(argv))
    recipe_path, out, workers = args.pop("recipe"), args.pop("out"), args.pop("workers")
    try:
        recipe = load_train_recipe(recipe_path)
        config, preprocess = recipe.model.resolve()
        report = pretrain_vit(config.vision, preprocess, VitPretrainConfig(**args), out, workers=workers)
    except (MolmoError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}: " + " ".join(f"{k}={v}" for k, v in report["final"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
