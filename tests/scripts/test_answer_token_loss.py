"""scripts/answer_token_loss.py: answer tokens grouped by role, scored teacher-forced."""

from __future__ import annotations

import json

import pytest

from molmo.data.synth import synth_shapes
from molmo.demo import DEMO_DIR


@pytest.fixture(scope="module")
def script(load_script):
    return load_script("answer_token_loss")


def test_roles_of_a_count_answer(script):
    text = ' Counting the <points x1="31.2" y1="7.0" x2="100.0" y2="42.25" alt="circles">circles</points> shows a total of 2.'
    roles = dict(zip(range(len(text)), script.char_roles(text)))
    at = text.index('x1="') + 4
    assert [roles[at + i] for i in range(4)] == ["x tens", "x units", "markup", "x tenths"]
    at = text.index('y1="') + 4
    assert [roles[at], roles[at + 2]] == ["y units", "y tenths"]  # 7.0: one digit before the point
    at = text.index('x2="') + 4
    assert [roles[at + i] for i in range(3)] == ["x hundreds", "x tens", "x units"]
    assert roles[text.index('42.25') + 4] == "y decimals"
    assert roles[text.index("total of 2") + 9] == "other digit" and roles[1] == "text"
    assert roles[text.index("circles<")] == "markup"  # the label between the tags
    pieces = [" Counting", " <", "points", " x", "1", '="', "3", "1", ".", "2", '">', "c", "</", "points>", " 2"]
    assert script.token_roles(pieces) == ["text", "markup", "markup", "markup", "markup", "markup", "x tens",
                                          "x units", "markup", "x tenths", "markup", "markup", "markup", "markup",
                                          "other digit"]


def test_bundled_model_on_a_few_dialogs(script, tmp_path, capsys):
    shards = tmp_path / "dialogs"
    synth_shapes(shards, 6, seed=5, questions=6)
    assert script.main([str(DEMO_DIR), str(shards), "--batches", "1", "--json"]) == 0
    rows = {r["role"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"text", "markup", "x tens", "y tens", "x tenths"} <= set(rows)
    assert all(r["tokens"] > 0 and r["ce"] >= 0 and 0 <= r["accuracy"] <= 1 for r in rows.values())
    assert rows["markup"]["accuracy"] > 0.9  # the point markup is learned; its digits are the question
    assert script.main([str(DEMO_DIR), str(shards), "--batches", "5"]) == 0  # 6 scenes: one pass only
    table = capsys.readouterr().out
    assert "x tens" in table
    markup = next(line.split() for line in table.splitlines() if line.startswith("markup"))
    assert int(markup[1]) == rows["markup"]["tokens"]  # the same scenes, counted once


def test_a_checkpoint_without_tokenizer_is_one_line_error(script, checkpoint_without_tokenizer, tmp_path, capsys):
    bare = checkpoint_without_tokenizer
    assert script.main([str(bare), str(tmp_path), "--batches", "1"]) == 2
    err = capsys.readouterr().err
    assert "tokenizer" in err and len(err.strip().splitlines()) == 1
