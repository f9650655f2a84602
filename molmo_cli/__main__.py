"""``python -m molmo_cli`` runs the CLI (same as the ``molmo`` console script)."""

from molmo_cli.main import run

run()
