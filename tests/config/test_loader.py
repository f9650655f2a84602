from __future__ import annotations

import pytest
from pydantic import Field

from molmo.config.base import StrictModel
from molmo.config.loader import apply_override, deep_merge, load_composed, load_recipe_file, parse_literal
from molmo.errors import UserError


class Inner(StrictModel):
    lr: float = Field(1.0, description="lr")
    name: str = Field("x", description="name")
    layers: list[int] = Field(default_factory=list, description="layers")
    flag: bool = Field(False, description="flag")


class Schema(StrictModel):
    inner: Inner = Field(default_factory=Inner, description="inner")
    title: str = Field("t", description="title")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_deep_merge_tables_merge_and_arrays_replace():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    top = {"a": {"y": [3], "z": 2}}
    assert deep_merge(base, top) == {"a": {"x": 1, "y": [3], "z": 2}, "b": 1}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}  # inputs untouched


def test_include_chain_child_wins(tmp_path):
    write(tmp_path / "base.toml", 'title = "base"\n[inner]\nlr = 2.0\nname = "b"\n')
    write(tmp_path / "mid.toml", 'include = "base.toml"\n[inner]\nlr = 3.0\n')
    write(tmp_path / "top.toml", 'include = ["mid.toml"]\ntitle = "top"\n')
    data = load_composed(tmp_path / "top.toml")
    assert data == {"title": "top", "inner": {"lr": 3.0, "name": "b"}}


def test_include_cycle_and_missing_are_user_errors(tmp_path):
    write(tmp_path / "a.toml", 'include = "b.toml"\n')
    write(tmp_path / "b.toml", 'include = "a.toml"\n')
    with pytest.raises(UserError, match="cycle"):
        load_composed(tmp_path / "a.toml")
    write(tmp_path / "c.toml", 'include = "nope.toml"\n')
    with pytest.raises(UserError, match="nope.toml"):
        load_composed(tmp_path / "c.toml")


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_composed(tmp_path / "missing.toml")
    write(tmp_path / "bad.toml", "title = \n")
    with pytest.raises(UserError, match="invalid TOML"):
        load_composed(tmp_path / "bad.toml")


@pytest.mark.parametrize(
    ("raw", "value"),
    [("3", 3), ("1e-4", 1e-4), ("true", True), ("[1, 2]", [1, 2]), ('"a b"', "a b"), ("plain", "plain")],
)
def test_parse_literal(raw, value):
    assert parse_literal(raw) == value


def test_overrides_are_typed_by_schema():
    data = apply_override({}, Schema, "inner.lr=0.5")
    data = apply_override(data, Schema, "inner.layers=[1,2,3]")
    data = apply_override(data, Schema, "inner.flag=true")
    data = apply_override(data, Schema, "inner.name=123")  # str field keeps the raw text
    data = apply_override(data, Schema, "title=true")
    cfg = Schema.model_validate(data)
    assert cfg.inner.lr == 0.5 and cfg.inner.layers == [1, 2, 3] and cfg.inner.flag is True
    assert cfg.inner.name == "123" and cfg.title == "true"


def test_override_unknown_key_suggests():
    with pytest.raises(UserError, match=r"unknown key 'inner\.lrr' \(did you mean 'lr'\?\)"):
        apply_override({}, Schema, "inner.lrr=1")
    with pytest.raises(UserError, match="KEY=VALUE"):
        apply_override({}, Schema, "inner.lr")


def test_validation_errors_name_dotted_path(tmp_path):
    write(tmp_path / "r.toml", '[inner]\nlrr = 1.0\nflag = "maybe"\n')
    with pytest.raises(UserError) as exc:
        load_recipe_file(Schema, tmp_path / "r.toml")
    lines = str(exc.value).splitlines()
    assert any("unknown key 'inner.lrr' (did you mean 'lr'?)" in line for line in lines)
    assert any("inner.flag" in line for line in lines)
    assert len(lines) == 2
