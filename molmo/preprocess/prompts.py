"""Turn chat messages into Molmo's prompt text (molmo-facts §6).

Role format with leading spaces, one string per message::

    [BOS][image] " User: vqa2: What is it? Assistant:" " A cat."<EOS> " User: ... Assistant:" ...

- The style prefix goes on the first user message (``{style}:``); eval-only styles are mapped
  first (``eval_short_answer`` -> ``vqa2``, ``eval_multiple_choice`` -> ``a_okvqa_mc``).
- ``demo_or_style``: demo styles (pointing, point_count, user_qa, long_caption) keep their prefix
  only 10% of the time in training (seeded RNG) and never at inference.
- ``style_and_length``: ``{style} {n}:`` with n = (len(answer) + int(N(0, 25))) // 15 in training
  (``{style} :`` 10% of the time), ``{style} 65:`` at inference.

Also: a few prompt templates per task (our own wording) and the multiple-choice layout.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from molmo.config.preprocess import PromptConfig
from molmo.errors import UserError

ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Turn:
    """One formatted message: ``text`` is exactly what is tokenised (loss only on assistant turns)."""

    role: Literal["user", "assistant"]
    text: str


def resolve_style(style: str | None, config: PromptConfig) -> str | None:
    """Map eval-only styles onto trained ones; empty styles become None."""
    if not style:
        return None
    return config.eval_style_map.get(style, style)


def style_prefix(
    style: str | None,
    answer: str | None,
    config: PromptConfig,
    for_inference: bool,
    rng: np.random.Generator,
) -> str:
    """The prefix put before the first user message ('' for none), per ``config.style_mode``."""
    style = resolve_style(style, config)
    if style is None or config.style_mode == "none":
        return ""
    if config.style_mode == "style":
        return f"{style}:"
    if config.style_mode == "demo_or_style":
        if style not in config.demo_styles:
            return f"{style}:"
        keep = not for_inference and rng.random() < config.demo_style_keep_prob
        return f"{style}:" if keep else ""
    # style_and_length
    if for_inference:
        return f"{style} {config.default_inference_length}:"
    if answer is None or rng.random() < config.length_drop_prob:
        return f"{style} :"
    noise = int(rng.normal(0.0, config.length_noise_std)) if config.length_noise_std > 0 else 0
    return f"{style} {max(0, (len(answer) + noise) // 15)}:"


def check_messages(messages: Sequence[dict[str, Any]], what: str = "messages") -> None:
    """Raise UserError unless ``messages`` alternate user/assistant, starting with user, with str content."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise UserError(f"{what}: expected a non-empty list of {{'role', 'content'}} messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise UserError(f"{what}[{i}]: expected a dict with 'role' and 'content'")
        expected = ROLES[i % 2]
        if message["role"] != expected:
            raise UserError(
                f"{what}[{i}]: role {message['role']!r}, expected {expected!r} (user/assistant alternate)"
            )
        if not isinstance(message["content"], str):
            raise UserError(f"{what}[{i}]: content must be a string")


def format_messages(
    messages: Sequence[dict[str, Any]],
    style: str | None,
    config: PromptConfig,
    *,
    for_inference: bool = False,
    rng: np.random.Generator | None = None,
) -> list[Turn]:
    """Formatted turns of one conversation.

    For inference a trailing assistant message is dropped, so the prompt ends with " Assistant:".
    """
    check_messages(messages)
    if for_inference and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    rng = rng if rng is not None else np.random.default_rng()
    answer = messages[1]["content"] if len(messages) > 1 else None
    prefix = style_prefix(style, answer, config, for_inference, rng)
    turns = []
    for i, message in enumerate(messages):
        text = message["content"]
        if message["role"] == "user":
            if i == 0 and prefix:
                text = f"{prefix} {text}" if text else prefix
            if config.message_format == "role":
                text = f"User: {text} Assistant:"
        if i > 0 or config.always_start_with_space:
            text = " " + text
        turns.append(Turn(message["role"], text))
    return turns


# ---- prompt templates (our own wording; {label} / {question} are filled in) ----
PROMPT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "long_caption": (
        "Describe this image.",
        "Describe this image in detail.",
        "What do you see in this picture? Describe it thoroughly.",
        "Write a detailed description of the image.",
        "Give a long, detailed caption for this image.",
    ),
    "short_caption": (
        "Caption this image.",
        "Write a one-sentence caption for the picture.",
        "Briefly describe the image.",
    ),
    "pointing": (
        "Point to {label}",
        "Locate all {label}.",
        "Point to the {label} in the image.",
        "Where are the {label}? Point to them.",
        "Show me where {label} is by pointing.",
    ),
    "point_count": (
        "How many {label} are there?",
        "Point to and count the {label} in the picture.",
        "Count the {label} in the image.",
        "How many {label} can you see? Point to each one.",
    ),
    "only_count": (
        "How many {label} are there? Answer with a number only.",
        "Count the {label}. Reply with just the number.",
    ),
    "short_answer": ("{question} Answer with a single word or phrase.", "{question}"),
    "plain": ("{question}",),
}


def apply_template(style: str, rng: np.random.Generator | None = None, **fields: str) -> str:
    """A prompt for ``style`` from :data:`PROMPT_TEMPLATES`, filled with ``fields`` (random template)."""
    templates = PROMPT_TEMPLATES.get(style)
    if templates is None:
        raise UserError(
            f"no prompt templates for style {style!r}; known: {', '.join(sorted(PROMPT_TEMPLATES))}"
        )
    rng = rng if rng is not None else np.random.default_rng()
    template = templates[int(rng.integers(len(templates)))]
    try:
        return template.format(**fields)
    except KeyError as exc:
        raise UserError(f"prompt template for {style!r} needs field {exc.args[0]!r}") from None


def format_multiple_choice(question: str, options: Sequence[str]) -> str:
    """``question`` followed by lettered options, one per line: 'Q\\nA: x\\nB: y\\n' (target = letter)."""
    if not 1 <= len(options) <= 26:
        raise UserError(f"multiple choice needs 1..26 options, got {len(options)}")
    lines = [f"{letter}: {option}" for letter, option in zip(string.ascii_uppercase, options)]
    return question + "\n" + "\n".join(lines) + "\n"


def option_letter(index: int) -> str:
    """The letter of option ``index`` (0 -> 'A')."""
    return string.ascii_uppercase[index]
