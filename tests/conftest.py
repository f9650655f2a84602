"""Shared test fixtures. Tests run on CPU with tiny configs and project-generated data."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MOLMO_NO_PROGRESS", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own MOLMO_HOME so nothing leaks into the user's cache."""
    monkeypatch.setenv("MOLMO_HOME", str(tmp_path_factory.mktemp("molmo_home")))


@pytest.fixture
def cli(capsys):
    """Run the molmo CLI in-process: ``code, out, err = cli("recipes", "list")``."""
    from molmo_cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
