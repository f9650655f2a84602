"""Copy a trained tiny-shapes checkpoint into the package as the bundled demo model.

    python scripts/package_demo_model.py runs/tiny-shapes/final            # -> molmo/assets/tiny-shapes

The checkpoint is re-saved with molmo's own writer (safetensors, atomic) with provenance pointing
at the recipes that made it; the package keeps it under 30 MB.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import molmo
from molmo.demo import DEMO_DIR

LIMIT_BYTES = 30 * 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--dtype", default=None, help="fp32 (default: as trained) or bf16")
    parser.add_argument("--recipe", action="append", default=None,
                        help="recipe(s) that trained it, recorded as provenance (default: recipes/tiny-shapes.toml)")
    args = parser.parse_args()
    model = molmo.load(args.checkpoint)
    provenance = {"recipes": args.recipe or ["recipes/tiny-shapes.toml"], "source": str(args.checkpoint)}
    out = molmo.save(model, DEMO_DIR, dtype=args.dtype, provenance=provenance)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {out} ({size / 2**20:.1f} MiB)")
    if size > LIMIT_BYTES:
        shutil.rmtree(out)
        raise SystemExit(f"demo checkpoint is {size / 2**20:.1f} MiB, over the 30 MiB budget; use --dtype bf16")


if __name__ == "__main__":
    main()
