"""Preprocessor end to end: examples, batches, token counting, packing, multi-image."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from molmo.config.preprocess import PreprocessConfig
from molmo.errors import UserError
from molmo.preprocess.preprocessor import Preprocessor

QA = [{"role": "user", "content": "What colour is the circle?"}, {"role": "assistant", "content": "Red."}]


@pytest.fixture(scope="module")
def pre(tokenizer):
    return Preprocessor(PreprocessConfig(), tokenizer, seed=0)


def _image(w, h, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_training_example_640x480(pre, tokenizer):
    ex = pre([_image(640, 480)], QA, style="vqa2")
    assert ex["images"].shape == (7, 576, 588) and ex["image_masks"].shape == (7, 576)
    assert ex["image_input_idx"].shape == (7, 144)
    text = tokenizer.encode(" User: vqa2: What colour is the circle? Assistant:") + tokenizer.encode(" Red.")
    assert len(ex["input_ids"]) == 1 + 740 + len(text)  # BOS + image + text (+EOS target, -1 shift)
    idx = ex["image_input_idx"]
    patch_positions = np.flatnonzero(ex["input_ids"] == tokenizer.image_patch_id)
    assert np.array_equal(np.sort(idx[idx >= 0]), patch_positions)
    assert ex["metadata"] == {"image_sizes": [(640, 480)]}
    assert (
        tokenizer.decode(ex["labels"][ex["labels"] >= 0], skip_special_tokens=False) == " Red.<|endoftext|>"
    )


def test_inference_example_and_batch(pre, tokenizer):
    ex = pre([_image(336, 336)], QA, style="vqa2", for_inference=True)
    assert tokenizer.decode(ex["input_ids"]).endswith(" User: vqa2: What colour is the circle? Assistant:")
    assert ex["loss_mask"].sum() == 0 and len(ex["input_ids"]) == 1 + 316 + len(
        tokenizer.encode(" User: vqa2: What colour is the circle? Assistant:")
    )
    text_only = pre([], [{"role": "user", "content": "Hi"}], for_inference=True)
    assert "images" not in text_only
    batch = pre.collate([ex, text_only])
    batch.validate()
    assert batch.images.shape == (2, 2, 576, 588) and torch.all(batch.images[1] == -1)
    only_text = pre.collate([text_only], pad_crops_to=1)
    assert only_text.images.shape == (1, 1, 576, 588)
    assert pre.decode(batch.input_ids[1].tolist()) == " User: Hi Assistant:"


def test_count_tokens_matches_real_examples(pre):
    for size in [(640, 480), (1, 1), (100, 900)]:
        real = pre([_image(*size)], QA, style="chart_qa")
        count = pre.count_tokens([size], QA, style="chart_qa")
        assert count.total == len(real["input_ids"])
        assert count.loss_tokens == int((real["loss_mask"] > 0).sum())
        assert count.crops == len(real["images"])
    count = pre.count_tokens([(640, 480)], QA)
    assert count.image_tokens == 740 and count.text_tokens == count.total - 740


def test_numpy_input_rgba_and_multi_image(pre, tokenizer):
    rgba = Image.new("RGBA", (50, 40), (255, 0, 0, 128))
    arr = np.zeros((30, 60, 3), np.uint8)
    ex = pre([rgba, arr], [{"role": "user", "content": "Compare <|image|> with <|image|>"}])
    assert ex["images"].shape[0] == 4  # two crops per small image
    idx = ex["image_input_idx"]
    assert np.all(ex["input_ids"][idx[idx >= 0]] == tokenizer.image_patch_id)
    assert len(np.unique(idx[idx >= 0])) == int((ex["input_ids"] == tokenizer.image_patch_id).sum())
    assert ex["metadata"]["image_sizes"] == [(50, 40), (60, 30)]
    assert "Image 1" in tokenizer.decode(ex["input_ids"]) and "Image 2" in tokenizer.decode(ex["input_ids"])


def test_sequence_length_truncates_training_only(tokenizer):
    pre = Preprocessor(PreprocessConfig(sequence_length=300, crop_mode="resize"), tokenizer)
    ex = pre([_image(64, 64)], QA * 30)
    assert len(ex["input_ids"]) == 300
    inference = pre([_image(64, 64)], QA * 30, for_inference=True)
    assert len(inference["input_ids"]) > 300


def test_multi_annotation(pre, tokenizer):
    convs = [QA, [{"role": "user", "content": "How many?"}, {"role": "assistant", "content": "Two."}]]
    ex = pre.multi_annotation([_image(336, 336)], convs, styles=["vqa2", "tally_qa"], rng=3, shuffle=True)
    assert set(np.unique(ex["subsegment_ids"]).tolist()) == {0, 1, 10000}
    assert np.allclose(ex["loss_mask"][ex["loss_mask"] > 0], np.sqrt(0.5))
    text = tokenizer.decode(ex["input_ids"])
    assert "vqa2: What colour" in text and "tally_qa: How many?" in text
    batch = pre.collate([ex, pre([_image(100, 100)], QA)])
    assert batch.subsegment_ids.shape == batch.input_ids.shape
    assert batch.position_ids[0].max() < len(ex["input_ids"]) - 5  # positions restart per conversation
    with pytest.raises(UserError):
        pre.multi_annotation([_image(10, 10)], convs, styles=["vqa2"])


def test_seeded_style_dropping_is_reproducible(tokenizer):
    messages = [{"role": "user", "content": "Point to the circle"}, {"role": "assistant", "content": "x"}]
    runs = []
    for _ in range(2):
        pre = Preprocessor(PreprocessConfig(), tokenizer, seed=42)
        runs.append([len(pre([], messages, style="pointing")["input_ids"]) for _ in range(40)])
    assert runs[0] == runs[1] and len(set(runs[0])) == 2  # prefix kept in some examples, dropped in others
    per_sample = [
        len(Preprocessor(PreprocessConfig(), tokenizer)([], messages, style="pointing", rng=7)["input_ids"])
    ]
    assert per_sample * 3 == [
        len(Preprocessor(PreprocessConfig(), tokenizer)([], messages, style="pointing", rng=7)["input_ids"])
        for _ in range(3)
    ]
