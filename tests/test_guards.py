"""Project-wide guards: file size, import layering, config documentation, lazy CLI imports."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "molmo", ROOT / "molmo_cli"]
MAX_LINES = 500

# Import layering (DESIGN §1): a module may import molmo modules of its own rank or lower only.
RANKS = {
    "molmo.errors": 0,
    "molmo.config": 0,
    "molmo.nn": 1,
    "molmo.models": 2,
    "molmo.data": 2,
    "molmo.preprocess": 2,
    "molmo.generate": 2,
    "molmo.checkpoint": 2,
    "molmo.api": 3,
    "molmo.train": 3,
    "molmo.eval": 3,
    "molmo.convert": 3,
    "molmo.predict": 3,
    "molmo.demo": 3,
}


def py_files():
    for pkg in PACKAGES:
        yield from sorted(pkg.rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def rank_of(module: str) -> int | None:
    best = None
    for prefix, rank in RANKS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, rank)
    return None if best is None else best[1]


def test_no_file_over_500_lines():
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in py_files() if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not big, f"split these files by concept: {big}"


def test_library_never_imports_cli_or_typer():
    bad = []
    for path in (ROOT / "molmo").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in ("molmo_cli", "typer", "click"):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
            if top == "rich" and "train" not in path.parts:
                bad.append(f"{path.relative_to(ROOT)} imports {name} (rich only in molmo/train console helpers)")
    assert not bad, bad


def test_import_layering():
    bad = []
    for path in (ROOT / "molmo").rglob("*.py"):
        own = rank_of(module_name(path))
        if own is None:
            continue
        for name in imports_of(path):
            if name.startswith("molmo.") or name == "molmo":
                other = rank_of(name)
                if other is not None and other > own:
                    bad.append(f"{module_name(path)} (rank {own}) imports {name} (rank {other})")
    assert not bad, bad


@pytest.mark.parametrize(("package", "owner"), [("deepspeed", "molmo.train.engine"), ("webdataset", "molmo.data.loader")])
def test_single_owner_of_heavy_dependency(package, owner):
    users = sorted(module_name(p) for p in py_files() if any(n.split(".")[0] == package for n in imports_of(p)))
    assert users in ([], [owner]), f"only {owner} may import {package}: {users}"


def test_model_code_never_touches_torch_distributed():
    bad = []
    for sub in ("nn", "models"):
        for path in (ROOT / "molmo" / sub).rglob("*.py"):
            if any(n.startswith("torch.distributed") for n in imports_of(path)) or "torch.distributed" in path.read_text():
                bad.append(str(path.relative_to(ROOT)))
    assert not bad, bad


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def test_config_package_imports_without_torch():
    code = (
        "import pkgutil, importlib, sys, molmo.config\n"
        "for m in pkgutil.walk_packages(molmo.config.__path__, 'molmo.config.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad[:5]\n"
    )
    proc = _run_python(code)
    assert proc.returncode == 0, proc.stderr


def test_cli_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from molmo_cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad[:5]\n"
    )
    proc = _run_python(code)
    assert proc.returncode == 0, proc.stderr


def _all_config_classes():
    import molmo.config
    from molmo.config.base import StrictModel

    for m in pkgutil.walk_packages(molmo.config.__path__, "molmo.config."):
        importlib.import_module(m.name)
    seen, stack = [], list(StrictModel.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return [c for c in seen if c.__module__.startswith("molmo.")]


def test_every_config_field_is_documented_and_strict():
    classes = _all_config_classes()
    assert len(classes) >= 10
    missing = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in classes
        for name, field in cls.model_fields.items()
        if not field.description
    ]
    assert not missing, f"fields without description: {missing}"
    assert all(cls.model_config.get("extra") == "forbid" for cls in classes)
