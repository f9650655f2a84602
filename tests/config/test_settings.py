from __future__ import annotations

from pathlib import Path

from molmo.config.settings import get_settings


def test_env_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("MOLMO_HOME", str(tmp_path))
    monkeypatch.setenv("MOLMO_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("MOLMO_NO_PROGRESS", "1")
    s = get_settings()
    assert s.home == Path(tmp_path) and s.log_level == "DEBUG" and s.no_progress is True
