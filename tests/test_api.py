"""molmo.build / molmo.load / molmo.save and model.generate, as a user calls them."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer

import molmo
from molmo.config.generation import GenerationConfig
from molmo.config.model import model_preset
from molmo.config.preprocess import TokenizerConfig, preprocess_for_vision
from molmo.errors import UserError
from molmo.models.molmo import Molmo
from molmo.preprocess.bpe import train_bpe
from molmo.preprocess.tokenizer import MolmoTokenizer


def test_build_from_preset_or_config_is_seeded():
    a = molmo.build("tiny", seed=0)
    b = molmo.build(model_preset("tiny"), seed=0)
    c = molmo.build("tiny", seed=1)
    assert isinstance(a, Molmo) and a.tokenizer is None and a.preprocess_config is None
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.transformer.ff_out.weight, c.transformer.ff_out.weight)
    assert {p.dtype for p in molmo.build("tiny-olmo", dtype="bf16").parameters()} == {torch.bfloat16}
    with pytest.raises(UserError, match="unknown model preset 'tiny-qwen'"):
        molmo.build("tiny-qwen")
    with pytest.raises(UserError, match="unknown dtype 'int4'"):
        molmo.build("tiny", dtype="int4")


def test_build_on_meta_needs_no_memory():
    big = molmo.build("molmo-72b", meta=True, dtype="bf16")
    assert all(p.is_meta and p.dtype == torch.bfloat16 for p in big.parameters())
    assert big.num_parameters()["total"] > 73_000_000_000


@pytest.fixture(scope="module")
def tokenizer() -> MolmoTokenizer:
    bpe = train_bpe(["the red circle", "a blue square", "two green triangles"] * 10, vocab_size=270)
    return MolmoTokenizer(Tokenizer.from_str(bpe.to_str()), TokenizerConfig(pad_to=272))


def test_save_load_and_generate_with_attached_tokenizer(tmp_path, tokenizer):
    llm = {"embedding_size": 272, "additional_vocab_size": 8}
    model = molmo.build(
        model_preset("tiny", {"llm": llm, "special_tokens": tokenizer.special_ids.model_dump()}), seed=0
    )
    model.tokenizer = tokenizer
    model.preprocess_config = preprocess_for_vision(model.config.vision, overlap_margins=(0, 0))
    molmo.save(model, tmp_path / "a")
    model.save(tmp_path / "b", dtype="bf16")
    loaded = molmo.load(tmp_path / "a")
    assert not loaded.training and loaded.preprocess_config == model.preprocess_config
    assert loaded.tokenizer.special_ids == tokenizer.special_ids
    assert all(torch.equal(x, y) for x, y in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert molmo.load(tmp_path / "b", dtype="fp32").transformer.ff_out.weight.dtype == torch.float32
    assert molmo.load(tmp_path / "b", device="meta").transformer.ff_out.weight.is_meta

    ids = torch.tensor([tokenizer.encode("the red")])
    cfg = GenerationConfig(max_new_tokens=4, stop_token_ids=[])
    res = loaded.generate(ids, config=cfg)
    assert res.token_ids == model.generate(ids, config=cfg).token_ids
    assert res.texts == [tokenizer.decode(res.token_ids[0])]  # decode defaults to the tokenizer's
    with pytest.raises(UserError, match="not a molmo checkpoint"):
        molmo.load(tmp_path)


def test_generate_from_a_preprocessed_batch(tokenizer):
    """The preprocessor's Batch satisfies the splice contract; a padded batch == each sample alone."""
    import numpy as np

    from molmo.preprocess.preprocessor import Preprocessor

    llm = {"embedding_size": 272, "additional_vocab_size": 8}
    model = molmo.build(
        model_preset("tiny", {"llm": llm, "special_tokens": tokenizer.special_ids.model_dump()}), seed=0
    )
    model.tokenizer = tokenizer
    pre = Preprocessor(preprocess_for_vision(model.config.vision, overlap_margins=(0, 0)), tokenizer)
    rng = np.random.default_rng(0)
    examples = [
        pre(
            [rng.integers(0, 255, (h, w, 3), dtype=np.uint8)],
            [{"role": "user", "content": q}],
            for_inference=True,
        )
        for (h, w), q in [((60, 200), "the red circle"), ((50, 50), "a blue square? two green triangles")]
    ]
    cfg = GenerationConfig(max_new_tokens=5, stop_token_ids=[])

    def run(batch):
        inputs = batch.model_inputs(with_targets=False)
        return model.generate(inputs.pop("input_ids"), config=cfg, **inputs).token_ids

    together = run(pre.collate(examples))
    assert (
        pre.collate(examples).images.shape[1] > pre.collate(examples[1:]).images.shape[1]
    )  # crops were padded
    assert together == [run(pre.collate([e]))[0] for e in examples]
