"""``molmo recipes``: list, show and validate TOML recipes."""

from __future__ import annotations

from pathlib import Path

import typer

from molmo_cli import _common

app = typer.Typer(help="List, show and validate recipes.", no_args_is_help=True)

SetOption = typer.Option([], "--set", help="Override a recipe value: KEY.PATH=VALUE (repeatable).")


def _first_comment(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List shipped recipes and registered presets."""
    from molmo.config.catalog import list_recipes
    from molmo.config.presets import preset_catalog

    recipes = [
        {"name": name, "path": str(path), "description": _first_comment(path)}
        for name, path in list_recipes().items()
    ]
    presets = preset_catalog()
    if json_out:
        _common.emit_json({"recipes": recipes, "presets": presets})
        return
    _common.print_table("Recipes", ["name", "description", "path"], [[r["name"], r["description"], r["path"]] for r in recipes])
    rows = [[kind, name] for kind, names in presets.items() for name in names]
    _common.print_table("Presets", ["kind", "name"], rows)


@app.command()
def show(
    recipe: str = typer.Argument(..., help="Recipe file or shipped recipe name."),
    set_: list[str] = SetOption,
    json_out: bool = typer.Option(False, "--json", help="Print the resolved recipe as JSON instead of TOML."),
) -> None:
    """Print the fully resolved recipe (includes, overrides and defaults applied)."""
    import tomli_w

    from molmo.config.catalog import resolve_recipe
    from molmo.config.recipe import load_any_recipe

    resolved = load_any_recipe(resolve_recipe(recipe), set_)
    data = resolved.model_dump(mode="json", exclude_none=True)
    if json_out:
        _common.emit_json(data)
    else:
        print(tomli_w.dumps(data), end="")


@app.command()
def validate(
    recipes: list[str] = typer.Argument(..., help="Recipe files or shipped recipe names."),
    set_: list[str] = SetOption,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Validate recipes; exit 2 if any is invalid (one line per problem)."""
    from molmo.config.catalog import resolve_recipe
    from molmo.config.recipe import load_any_recipe
    from molmo.errors import UserError

    results = []
    for name in recipes:
        try:
            load_any_recipe(resolve_recipe(name), set_)
            results.append({"recipe": name, "ok": True, "errors": []})
        except UserError as e:
            results.append({"recipe": name, "ok": False, "errors": str(e).splitlines()})
    if json_out:
        _common.emit_json(results)
    else:
        for r in results:
            if r["ok"]:
                print(f"ok: {r['recipe']}")
            for line in r["errors"]:
                print(f"error: {line}", file=__import__("sys").stderr)
    if not all(r["ok"] for r in results):
        raise typer.Exit(2)
