"""Environment settings (``MOLMO_*`` variables), read with pydantic-settings.

| variable | meaning |
|---|---|
| ``MOLMO_HOME`` | cache and default output root (default ``~/.cache/molmo``) |
| ``MOLMO_LOG_LEVEL`` | library log level (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``) |
| ``MOLMO_NO_PROGRESS`` | ``1`` disables progress bars (plain log lines instead) |
| ``MOLMO_RECIPES_DIR`` | extra directory searched by ``molmo recipes`` for recipe names |
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings taken from ``MOLMO_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MOLMO_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "molmo",
        description="Root for caches and default run outputs.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the molmo library loggers."
    )
    no_progress: bool = Field(
        default=False, description="Disable rich progress bars; print plain log lines instead."
    )
    recipes_dir: Path | None = Field(
        default=None, description="Extra directory searched for recipe names by `molmo recipes`."
    )


def get_settings() -> Settings:
    """Read the settings from the current environment (cheap; not cached so tests can monkeypatch)."""
    return Settings()
