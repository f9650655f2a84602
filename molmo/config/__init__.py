"""Configuration schemas (pydantic), TOML recipe loading and ``--set`` overrides.

Importable without torch: this package sits at the bottom of the import layering.
"""

from molmo.config.base import StrictModel

__all__ = ["StrictModel"]
