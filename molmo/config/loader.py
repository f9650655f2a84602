"""Load TOML recipes into pydantic schemas: ``include`` composition, ``--set`` overrides, clear errors.

A recipe is a TOML file validated by a pydantic model (for training: ``TrainRecipe``).

* ``include = "base.toml"`` (or a list) at the top level pulls in other recipes, resolved relative
  to the including file. Included files are merged first, in order; the including file wins. Tables
  merge key by key; every other value (arrays included) is replaced whole.
* ``--set a.b.c=value`` overrides are applied after includes. The value is parsed as a TOML literal
  (``3``, ``1e-4``, ``true``, ``[1, 2]``, ``"text"``) unless the schema field at that path is a
  string or path, in which case the raw text is kept. Unknown paths are rejected with a suggestion.
* Validation errors become ``UserError`` with one line per problem, naming the dotted key path
  (``unknown key 'optim.lrr' (did you mean 'lr'?)``).
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomllib
from pydantic import BaseModel, ValidationError

from molmo.errors import UserError

M = TypeVar("M", bound=BaseModel)

INCLUDE_KEY = "include"


# ----------------------------------------------------------------------------------------------
# Reading and composing TOML
# ----------------------------------------------------------------------------------------------


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse one TOML file; missing files and syntax errors raise ``UserError``."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"recipe not found: {path}")
    if path.is_dir():
        raise UserError(f"recipe path is a directory, expected a .toml file: {path}")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file") from None


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``top``: nested tables merge, other values are replaced."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_composed(path: str | Path, _stack: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read ``path`` and resolve its ``include`` chain into one dict (cycles are errors)."""
    path = Path(path).resolve()
    if path in _stack:
        chain = " -> ".join(p.name for p in (*_stack, path))
        raise UserError(f"recipe include cycle: {chain}")
    data = read_toml(path)
    includes = data.pop(INCLUDE_KEY, [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise UserError(f"{path}: 'include' must be a file name or a list of file names")
    merged: dict[str, Any] = {}
    for inc in includes:
        inc_path = (path.parent / inc).resolve()
        if not inc_path.exists():
            raise UserError(f"{path}: included recipe not found: {inc}")
        merged = deep_merge(merged, load_composed(inc_path, (*_stack, path)))
    return deep_merge(merged, data)


# ----------------------------------------------------------------------------------------------
# Schema navigation (for typed overrides and suggestions)
# ----------------------------------------------------------------------------------------------


def _unwrap(annotation: Any) -> list[Any]:
    """Flatten Optional/Union/Annotated into the list of concrete member types."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                members.extend(_unwrap(arg))
        return members
    return [annotation]


def _model_members(annotation: Any, current: Any) -> list[type[BaseModel]]:
    """Pydantic model classes an annotation can hold; narrowed by a discriminator when possible."""
    models = [t for t in _unwrap(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) > 1 and isinstance(current, dict):
        for m in models:
            for name, field in m.model_fields.items():
                literal = _unwrap(field.annotation)
                if (typing.get_origin(literal[0]) is typing.Literal and name in current
                        and current[name] in typing.get_args(literal[0])):
                    return [m]
    return models


def _field_names(models: list[type[BaseModel]]) -> list[str]:
    names: list[str] = []
    for m in models:
        names.extend(n for n in m.model_fields if n not in names)
    return names


def suggest(name: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        close = [c for c in candidates if name and (c.startswith(name) or name.startswith(c))][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _leaf_is_text(annotation: Any) -> bool:
    members = _unwrap(annotation)
    return bool(members) and all(m in (str, Path) for m in members)


def apply_override(data: dict[str, Any], schema: type[BaseModel], assignment: str) -> dict[str, Any]:
    """Apply one ``a.b.c=value`` override to ``data`` (returns a new dict)."""
    if "=" not in assignment:
        raise UserError(f"--set expects KEY=VALUE, got '{assignment}'")
    key, raw = assignment.split("=", 1)
    parts = [p.strip() for p in key.strip().split(".")]
    if not all(parts):
        raise UserError(f"--set: bad key path '{key}'")

    models: list[type[BaseModel]] = [schema]
    node: Any = data
    annotation: Any = None
    for depth, part in enumerate(parts):
        names = _field_names(models)
        if models and part not in names:
            where = ".".join(parts[: depth + 1])
            raise UserError(f"--set: unknown key '{where}'{suggest(part, names)}")
        annotation = next((m.model_fields[part].annotation for m in models if part in m.model_fields), None)
        child = node.get(part) if isinstance(node, dict) else None
        if depth < len(parts) - 1:
            models = _model_members(annotation, child)
            if not models and typing.get_origin(_unwrap(annotation)[0]) is not dict:
                where = ".".join(parts[: depth + 1])
                raise UserError(f"--set: '{where}' is a value, not a table")
            node = child if isinstance(child, dict) else {}

    value = raw if _leaf_is_text(annotation) else parse_literal(raw)
    return deep_merge(data, _nest(parts, value))


def parse_literal(raw: str) -> Any:
    """Parse a TOML literal (number, bool, array, quoted string); fall back to the raw text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _nest(parts: list[str], value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(parts):
        out = {part: out}
    return out


# ----------------------------------------------------------------------------------------------
# Validation with readable errors
# ----------------------------------------------------------------------------------------------


def _walk(schema: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> tuple[list[str], list[str]]:
    """Follow a pydantic error location through the schema.

    Returns the user-facing path (discriminator tags that pydantic inserts into ``loc`` removed)
    and the field names valid next to the last element (for "did you mean" suggestions).
    """
    models: list[type[BaseModel]] = [schema]
    node = data
    path: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path[-1:] = [f"{path[-1]}[{part}]"] if path else [f"[{part}]"]
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        names = _field_names(models)
        if models and part not in names and i < len(loc) - 1:
            continue  # a discriminated-union tag inserted by pydantic
        path.append(str(part))
        if i == len(loc) - 1 or part not in names:
            break
        ann = next(m.model_fields[part].annotation for m in models if part in m.model_fields)
        node = node.get(part) if isinstance(node, dict) else None
        inner = _unwrap(ann)
        if typing.get_origin(inner[0]) is list:
            inner = _unwrap(typing.get_args(inner[0])[0])
        models = [t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)]
        if len(models) > 1 and i + 1 < len(loc) and isinstance(loc[i + 1], str):
            tagged = [m for m in models if _tag_of(m) == loc[i + 1]]
            models = tagged or models
    return path, _field_names(models)


def _tag_of(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    args = typing.get_args(_unwrap(field.annotation)[0])
    return args[0] if args else None


def format_validation_error(
    err: ValidationError, schema: type[BaseModel], data: Any, source: str = "", prefix: str = ""
) -> str:
    """One line per problem: ``source: a.b.c: message`` (``prefix`` is prepended to key paths)."""
    lead = f"{source}: " if source else ""
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        parts, siblings = _walk(schema, data, loc)
        path = prefix + ".".join(parts)
        if e["type"] == "extra_forbidden":
            hint = suggest(str(loc[-1]), siblings)
            lines.append(f"{lead}unknown key '{path}'{hint}")
        elif e["type"] == "missing":
            lines.append(f"{lead}missing required key '{path}'")
        else:
            got = e.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            msg = e["msg"].removeprefix("Value error, ")
            where = f"{path}: " if path.rstrip(".") else ""
            lines.append(f"{lead}{where}{msg}{shown}")
    return "\n".join(lines)


def validate(schema: type[M], data: dict[str, Any], source: str = "recipe") -> M:
    """Validate ``data`` against ``schema``; raise ``UserError`` listing every problem."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise UserError(format_validation_error(e, schema, data, source)) from None


def load_recipe_file(schema: type[M], path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> M:
    """Read a TOML recipe (with includes), apply ``--set`` overrides and validate it."""
    data = load_composed(path)
    for assignment in overrides:
        data = apply_override(data, schema, assignment)
    return validate(schema, data, source=str(path))
