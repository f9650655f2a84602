"""Message formatting: role format, leading spaces, style prefixes, templates."""

from __future__ import annotations

import numpy as np
import pytest

from molmo.config.preprocess import PromptConfig
from molmo.errors import UserError
from molmo.preprocess.prompts import (
    apply_template,
    format_messages,
    format_multiple_choice,
    option_letter,
    resolve_style,
    style_prefix,
)

QA = [{"role": "user", "content": "What is it?"}, {"role": "assistant", "content": "A cat."}]


def _texts(turns):
    return [(t.role, t.text) for t in turns]


def test_role_format_single_turn():
    assert _texts(format_messages(QA, None, PromptConfig())) == [
        ("user", " User: What is it? Assistant:"),
        ("assistant", " A cat."),
    ]


def test_first_message_without_space():
    turns = format_messages(QA, None, PromptConfig(always_start_with_space=False))
    assert [t.text for t in turns] == ["User: What is it? Assistant:", " A cat."]


def test_multi_turn_and_style_on_first_user_only():
    messages = QA + [{"role": "user", "content": "Colour?"}, {"role": "assistant", "content": "Black."}]
    turns = format_messages(messages, "vqa2", PromptConfig())
    assert [t.text for t in turns] == [
        " User: vqa2: What is it? Assistant:", " A cat.", " User: Colour? Assistant:", " Black.",
    ]  # fmt: skip


def test_inference_drops_trailing_answer():
    turns = format_messages(QA, "vqa2", PromptConfig(), for_inference=True)
    assert _texts(turns) == [("user", " User: vqa2: What is it? Assistant:")]


def test_eval_style_map():
    cfg = PromptConfig()
    assert resolve_style("eval_short_answer", cfg) == "vqa2"
    assert resolve_style("eval_multiple_choice", cfg) == "a_okvqa_mc"
    assert resolve_style("", cfg) is None
    turns = format_messages(QA, "eval_multiple_choice", cfg, for_inference=True)
    assert turns[0].text == " User: a_okvqa_mc: What is it? Assistant:"


def test_demo_styles_dropped_90_percent_seeded():
    cfg = PromptConfig()
    rng = np.random.default_rng(1234)
    kept = sum(style_prefix("pointing", "x", cfg, False, rng) == "pointing:" for _ in range(2000))
    assert 140 <= kept <= 260  # ~10%
    again = np.random.default_rng(1234)
    assert kept == sum(style_prefix("pointing", "x", cfg, False, again) == "pointing:" for _ in range(2000))
    rng = np.random.default_rng(0)
    assert all(style_prefix("pointing", "x", cfg, True, rng) == "" for _ in range(100))  # never at inference
    assert style_prefix("chart_qa", "x", cfg, True, rng) == "chart_qa:"
    assert style_prefix("chart_qa", "x", PromptConfig(style_mode="none"), False, rng) == ""
    assert style_prefix("pointing", "x", PromptConfig(style_mode="style"), True, rng) == "pointing:"


def test_style_and_length():
    cfg = PromptConfig(
        style_mode="style_and_length", message_format="none", length_drop_prob=0.0, length_noise_std=0.0
    )
    rng = np.random.default_rng(0)
    assert style_prefix("long_caption", "x" * 150, cfg, True, rng) == "long_caption 65:"
    assert style_prefix("long_caption", "x" * 150, cfg, False, rng) == "long_caption 10:"
    always_drop = cfg.model_copy(update={"length_drop_prob": 1.0})
    assert style_prefix("long_caption", "x" * 150, always_drop, False, rng) == "long_caption :"
    caption = [{"role": "user", "content": ""}, {"role": "assistant", "content": "y" * 30}]
    turns = format_messages(caption, "long_caption", cfg, rng=rng)
    assert [t.text for t in turns] == [" long_caption 2:", " " + "y" * 30]
    noisy = PromptConfig(style_mode="style_and_length")
    lengths = {
        style_prefix("long_caption", "x" * 600, noisy, False, np.random.default_rng(s)) for s in range(30)
    }
    assert len(lengths) > 2  # noise + 10% length-free prefixes


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "assistant", "content": "hi"}],
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        [{"role": "system", "content": "be nice"}],
        [{"role": "user", "content": 3}],
        [{"role": "user"}],
        "What?",
    ],
)
def test_bad_messages(messages):
    with pytest.raises(UserError):
        format_messages(messages, None, PromptConfig())


def test_templates_and_multiple_choice():
    rng = np.random.default_rng(0)
    prompt = apply_template("pointing", rng, label="red circles")
    assert "red circles" in prompt
    assert apply_template("plain", rng, question="Why?") == "Why?"
    with pytest.raises(UserError, match="needs field"):
        apply_template("pointing", rng)
    with pytest.raises(UserError, match="no prompt templates"):
        apply_template("nonsense", rng)
    assert format_multiple_choice("Which?", ["cat", "dog"]) == "Which?\nA: cat\nB: dog\n"
    assert option_letter(2) == "C"
    with pytest.raises(UserError):
        format_multiple_choice("Which?", [])
