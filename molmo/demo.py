"""The bundled tiny-shapes demo model (DESIGN §4): trained by ``recipes/tiny-shapes.toml`` on the
synthetic shapes world, shipped inside the package as the default model of ``molmo predict`` and
``molmo eval``. It only knows synthetic shapes.
"""

from __future__ import annotations

from pathlib import Path

from molmo.errors import UserError

DEMO_DIR = Path(__file__).resolve().parent / "assets" / "tiny-shapes"

NOTICE = (
    "note: using the bundled tiny-shapes demo model (it only knows synthetic coloured shapes); "
    "pass --model PATH for a real checkpoint, e.g. one made by `molmo convert from-hf`"
)


def default_model_path() -> Path:
    """Directory of the bundled demo checkpoint."""
    if not (DEMO_DIR / "config.json").is_file():
        raise UserError(f"the bundled demo model is missing ({DEMO_DIR}); pass --model PATH")
    return DEMO_DIR
