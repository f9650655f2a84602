from __future__ import annotations

import pytest

from molmo.config.catalog import list_recipes
from molmo.config.recipe import TrainRecipe, load_any_recipe, load_train_recipe
from molmo.errors import UserError

MINIMAL = """
name = "t"
[model]
preset = "tiny"
[data]
[[data.sources]]
name = "shapes"
paths = ["shards/train-{000..003}.tar"]
[schedule]
max_steps = 10
"""


def test_minimal_recipe_gets_molmo_defaults(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(MINIMAL)
    r = load_train_recipe(path)
    assert isinstance(r, TrainRecipe)
    assert r.optim.optimizer.kind == "adamw" and r.optim.optimizer.betas == (0.9, 0.95)
    assert r.optim.clip_mode == "per_component" and r.optim.freeze_embedding
    assert r.schedule.shape.kind == "cosine" and r.schedule.shape.alpha_f == 0.1
    assert r.engine.zero_stage == 3


def test_overrides_switch_union_variants(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(MINIMAL)
    r = load_train_recipe(path, ["optim.optimizer.kind=lion", "schedule.shape.kind=constant", "optim.vit.frozen=true"])
    assert r.optim.optimizer.kind == "lion" and r.schedule.shape.kind == "constant" and r.optim.vit.frozen


def test_bad_values_are_user_errors(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(MINIMAL + "\n[engine]\nzero_stage = 7\n")
    with pytest.raises(UserError, match="engine.zero_stage"):
        load_train_recipe(path)
    path.write_text(MINIMAL.replace("max_steps = 10", ""))
    with pytest.raises(UserError, match="at least one of max_steps"):
        load_train_recipe(path)
    path.write_text(MINIMAL.replace('preset = "tiny"', 'preset = "tiny"\ncheckpoint = "x"'))
    with pytest.raises(UserError, match="exactly one of model.preset or model.checkpoint"):
        load_train_recipe(path)


def test_unknown_kind(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('kind = "trian"\n')
    with pytest.raises(UserError, match="did you mean 'train'"):
        load_any_recipe(path)


def test_every_shipped_recipe_validates():
    recipes = list_recipes()
    for path in recipes.values():
        load_any_recipe(path)
