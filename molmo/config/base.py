"""The base class of every configuration object in molmo.

Every config is a pydantic v2 model that rejects unknown keys (``extra="forbid"``) and documents
each field with ``Field(description=...)``; a test walks all subclasses and enforces both.
This module (and the whole ``molmo.config`` package) must stay importable without torch.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that forbids unknown keys and re-validates on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())
