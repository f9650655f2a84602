"""Find shipped recipes by name (``molmo recipes list/show``, ``molmo train debug``).

Search order: an existing file path as given; ``$MOLMO_RECIPES_DIR``; the project's ``recipes/``
directory (next to the package in a source checkout).
"""

from __future__ import annotations

from pathlib import Path

from molmo.config.settings import get_settings
from molmo.errors import UserError


def recipe_dirs() -> list[Path]:
    """Directories searched for recipe names, most specific first."""
    dirs = []
    extra = get_settings().recipes_dir
    if extra is not None:
        dirs.append(Path(extra))
    dirs.append(Path(__file__).resolve().parents[2] / "recipes")
    return [d for d in dirs if d.is_dir()]


def list_recipes() -> dict[str, Path]:
    """Recipe name -> path for every ``*.toml`` in the recipe directories (first one wins)."""
    found: dict[str, Path] = {}
    for d in recipe_dirs():
        for path in sorted(d.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def resolve_recipe(name_or_path: str | Path) -> Path:
    """A recipe path from a file path or a shipped recipe name (``debug`` or ``debug.toml``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    known = list_recipes()
    stem = path.name.removesuffix(".toml")
    if stem in known and path.parent == Path("."):
        return known[stem]
    from molmo.config.loader import suggest

    raise UserError(f"recipe not found: {name_or_path}{suggest(stem, list(known))}")
