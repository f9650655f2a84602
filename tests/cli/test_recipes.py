from __future__ import annotations

import json

RECIPE = """
[model]
preset = "tiny"
[data]
[[data.sources]]
name = "a"
paths = ["a.tar"]
[schedule]
max_steps = 5
"""


def test_validate_ok_and_misspelt_key(cli, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(RECIPE)
    bad = tmp_path / "bad.toml"
    bad.write_text(RECIPE + "\n[optim.llm]\nlrr = 1e-4\n")
    code, out, _ = cli("recipes", "validate", good)
    assert code == 0 and "ok" in out
    code, out, err = cli("recipes", "validate", good, bad)
    assert code == 2
    assert "unknown key 'optim.llm.lrr' (did you mean 'lr'?)" in err
    assert "Traceback" not in err


def test_show_resolves_defaults_and_overrides(cli, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(RECIPE)
    code, out, _ = cli("recipes", "show", path, "--set", "optim.llm.lr=3e-4", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["optim"]["llm"]["lr"] == 3e-4 and data["engine"]["zero_stage"] == 3
    code, out, _ = cli("recipes", "show", path)
    assert code == 0 and "[optim.llm]" in out and "lr = 1e-05" in out


def test_show_bad_override_is_exit_2(cli, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(RECIPE)
    code, _, err = cli("recipes", "show", path, "--set", "engine.zero=3")
    assert code == 2 and "did you mean 'zero_stage'" in err


def test_list_json(cli):
    code, out, _ = cli("recipes", "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"recipes", "presets"}
