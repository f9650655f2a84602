from __future__ import annotations

import subprocess
import sys


def test_help_lists_only_working_commands(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "recipes" in out


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("molmo ")


def test_unknown_command_is_usage_error(cli):
    code, _, err = cli("frobnicate")
    assert code == 2 and "frobnicate" in err


def test_console_script_exit_codes():
    proc = subprocess.run([sys.executable, "-m", "molmo_cli", "recipes", "show", "no-such-recipe"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: recipe not found")
    assert "Traceback" not in proc.stderr
