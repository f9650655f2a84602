"""Token sequences: image placement, loss layout, shifting, truncation, multi-annotation packing."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from molmo.config.preprocess import PreprocessConfig, PromptConfig
from molmo.errors import UserError
from molmo.preprocess.layout import image_layout
from molmo.preprocess.prompts import format_messages
from molmo.preprocess.sequence import (
    IGNORE_INDEX,
    IMAGE_SUBSEGMENT,
    build_packed_sequence,
    build_sequence,
    finalize,
)

CFG = PreprocessConfig()
LAYOUT = image_layout(336, 336, CFG)  # 316 tokens
QA = [{"role": "user", "content": "What is it?"}, {"role": "assistant", "content": "A red circle."}]


def _turns(messages, **kw):
    return format_messages(messages, None, PromptConfig(), **kw)


def test_image_first_then_text_and_loss_on_answer(tokenizer):
    seq = build_sequence(_turns(QA), [LAYOUT], tokenizer)
    tokens = np.array(seq.tokens)
    assert tokens[0] == tokenizer.bos_id and seq.image_offsets == [1]
    assert tokens[1] == tokenizer.image_start_id and tokens[316] == tokenizer.image_end_id
    user = tokenizer.encode(" User: What is it? Assistant:")
    answer = tokenizer.encode(" A red circle.")
    assert tokens[317:].tolist() == user + answer + [tokenizer.eos_id]
    weights = np.array(seq.weights)
    assert weights[: 317 + len(user)].sum() == 0 and np.all(weights[317 + len(user) :] == 1.0)


def test_finalize_shifts_labels(tokenizer):
    seq = build_sequence(_turns(QA), [LAYOUT], tokenizer)
    ex = finalize(seq, [LAYOUT], for_inference=False)
    tokens = np.array(seq.tokens)
    assert np.array_equal(ex["input_ids"], tokens[:-1])
    targets = ex["labels"] >= 0
    assert np.array_equal(ex["labels"][targets], tokens[1:][targets])
    assert np.all(ex["labels"][~targets] == IGNORE_INDEX) and np.array_equal(targets, ex["loss_mask"] > 0)
    answer = tokenizer.encode(" A red circle.")
    assert tokenizer.decode(ex["labels"][targets], skip_special_tokens=False) == " A red circle.<|endoftext|>"
    assert targets.sum() == len(answer) + 1
    # image positions are shifted by the BOS token
    idx = ex["image_input_idx"]
    assert idx.shape == (2, 144) and np.all(ex["input_ids"][idx[idx >= 0]] == tokenizer.image_patch_id)
    assert idx[0, 0] == 2  # BOS, <im_start>, then the first <im_patch>


def test_inference_prompt_has_no_targets(tokenizer):
    seq = build_sequence(_turns(QA, for_inference=True), [LAYOUT], tokenizer)
    ex = finalize(seq, [LAYOUT], for_inference=True)
    assert tokenizer.decode(ex["input_ids"][317:]) == " User: What is it? Assistant:"
    assert np.all(ex["labels"] == IGNORE_INDEX) and ex["loss_mask"].sum() == 0


def test_multi_turn_loss_layout(tokenizer):
    messages = QA + [{"role": "user", "content": "Size?"}, {"role": "assistant", "content": "Big."}]
    ex = finalize(build_sequence(_turns(messages), [], tokenizer), [], for_inference=False)
    assert "image_input_idx" not in ex
    target_text = tokenizer.decode(ex["labels"][ex["labels"] >= 0], skip_special_tokens=False)
    assert target_text == " A red circle.<|endoftext|> Big.<|endoftext|>"
    assert (
        tokenizer.decode(ex["input_ids"])
        == " User: What is it? Assistant: A red circle. User: Size? Assistant: Big."
    )


def test_image_marker_placement_and_text_before_image(tokenizer):
    messages = [
        {"role": "user", "content": "Look: <|image|> what?"},
        {"role": "assistant", "content": "Red."},
    ]
    seq = build_sequence(_turns(messages), [LAYOUT], tokenizer)
    prefix = tokenizer.encode(" User: Look: ")
    assert seq.image_offsets == [1 + len(prefix)]
    ex = finalize(seq, [LAYOUT], for_inference=False)
    idx = ex["image_input_idx"]
    assert idx[0, 0] == 1 + len(prefix) + 1
    assert np.all(ex["input_ids"][idx[idx >= 0]] == tokenizer.image_patch_id)
    assert tokenizer.image_prompt_id not in ex["input_ids"]


def test_multi_image_prefixes(tokenizer):
    small = image_layout(10, 10, PreprocessConfig(crop_mode="resize"))
    seq = build_sequence(_turns(QA), [small, small], tokenizer)
    ex = finalize(seq, [small, small], for_inference=False)
    image1 = tokenizer.encode("Image 1")
    assert seq.tokens[1 : 1 + len(image1)] == image1
    assert seq.image_offsets[0] == 1 + len(image1)
    assert seq.image_offsets[1] == seq.image_offsets[0] + 158 + len(tokenizer.encode("Image 2"))
    assert ex["image_input_idx"].shape == (2, 144)
    idx = ex["image_input_idx"]
    assert np.all(ex["input_ids"][idx] == tokenizer.image_patch_id)
    assert len(set(idx.reshape(-1).tolist())) == 288


def test_marker_count_mismatch_errors(tokenizer):
    marked = [{"role": "user", "content": "<|image|> and <|image|>"}]
    with pytest.raises(UserError, match=re.escape("2 <|image|> marker(s) but 1 image(s)")):
        build_sequence(_turns(marked), [LAYOUT], tokenizer)
    bad_answer = [{"role": "user", "content": "<|image|>"}, {"role": "assistant", "content": "<|image|>"}]
    with pytest.raises(UserError, match="only appear in user"):
        build_sequence(_turns(bad_answer), [LAYOUT, LAYOUT], tokenizer)


def test_truncation_drops_cut_image_positions(tokenizer):
    seq = build_sequence(_turns(QA), [LAYOUT], tokenizer)
    ex = finalize(seq, [LAYOUT], for_inference=False, max_length=200)
    assert all(len(ex[k]) == 200 for k in ("input_ids", "labels", "loss_mask"))
    idx = ex["image_input_idx"]
    assert idx.max() < 200 and (idx >= 0).sum() == len(
        np.flatnonzero(ex["input_ids"] == tokenizer.image_patch_id)
    )


def test_multi_annotation_packing(tokenizer):
    convs = [
        _turns(QA),
        _turns([{"role": "user", "content": "Count?"}, {"role": "assistant", "content": "Two."}]),
        _turns([{"role": "user", "content": "Where?"}, {"role": "assistant", "content": "Left."}]),
    ]
    seq = build_packed_sequence(convs, [LAYOUT], tokenizer)
    ex = finalize(seq, [LAYOUT], for_inference=False)
    n_prefix = 1 + LAYOUT.n_tokens
    seg, pos = ex["subsegment_ids"], ex["position_ids"]
    assert len(seg) == len(pos) == len(ex["input_ids"])
    assert np.all(seg[:n_prefix] == IMAGE_SUBSEGMENT) and np.array_equal(pos[:n_prefix], np.arange(n_prefix))
    for k in range(3):
        where = np.flatnonzero(seg == k)
        assert np.array_equal(where, np.arange(where[0], where[-1] + 1))  # contiguous
        assert np.array_equal(
            pos[where], n_prefix + np.arange(len(where))
        )  # positions restart per conversation
    weights = ex["loss_mask"][ex["loss_mask"] > 0]
    assert np.allclose(weights, math.sqrt(1 / 3))
    target_text = tokenizer.decode(ex["labels"][ex["labels"] >= 0], skip_special_tokens=False)
    assert target_text == " A red circle.<|endoftext|> Two.<|endoftext|> Left.<|endoftext|>"
    with pytest.raises(UserError, match="not supported"):
        build_packed_sequence([_turns([{"role": "user", "content": "<|image|>"}])], [LAYOUT], tokenizer)
