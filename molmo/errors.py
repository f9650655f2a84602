"""Exception types that map to the CLI's exit codes.

- ``UserError`` (exit 2): bad usage, bad input file, bad recipe value — the user can fix it.
- ``MolmoError`` (exit 1): a runtime failure (NaN loss that exhausted its budget, a crashed rank…).

Library code raises these with a one-line, human-readable message; the CLI prints the message
without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations


class MolmoError(RuntimeError):
    """A runtime failure; the CLI exits with code 1."""

    exit_code = 1


class UserError(MolmoError, ValueError):
    """A problem with the user's input (file, recipe, option); the CLI exits with code 2."""

    exit_code = 2
