"""MolmoTokenizer: special-token id layout, BOS/EOS, save/load, errors."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from molmo.config.preprocess import TokenizerConfig
from molmo.errors import UserError
from molmo.preprocess.tokenizer import EXTRA_TOKEN, IMAGE_TOKENS, MolmoTokenizer


def _fresh(base_bpe) -> Tokenizer:
    return Tokenizer.from_str(base_bpe.to_str())


def test_pad_to_512_gives_image_tokens_512_to_516(base_bpe):
    base_size = base_bpe.get_vocab_size(with_added_tokens=True)
    tok = MolmoTokenizer(_fresh(base_bpe), TokenizerConfig(pad_to=512))
    assert [tok.token_to_id(t) for t in IMAGE_TOKENS] == [512, 513, 514, 515, 516]
    assert (tok.image_start_id, tok.image_end_id, tok.image_patch_id, tok.image_col_id, tok.image_prompt_id) == (
        512, 513, 514, 515, 516,
    )  # fmt: skip
    assert tok.token_to_id(EXTRA_TOKEN.format(0)) == base_size
    assert tok.token_to_id(EXTRA_TOKEN.format(511 - base_size)) == 511
    assert tok.vocab_size == len(tok) == 517


def test_bos_is_eos_by_default_and_configurable(base_bpe):
    tok = MolmoTokenizer(_fresh(base_bpe), TokenizerConfig(pad_to=512))
    assert tok.bos_id == tok.eos_id == tok.pad_id == tok.token_to_id("<|endoftext|>")
    ids = tok.special_ids
    assert (ids.bos, ids.eos, ids.image_patch, ids.image_prompt) == (tok.bos_id, tok.eos_id, 514, 516)
    explicit = MolmoTokenizer(_fresh(base_bpe), TokenizerConfig(pad_to=512, bos_token="Ġthe"))
    assert explicit.bos_id == explicit.token_to_id("Ġthe") != explicit.eos_id


def test_no_padding_appends_image_tokens(base_bpe):
    size = base_bpe.get_vocab_size(with_added_tokens=True)
    tok = MolmoTokenizer(_fresh(base_bpe))
    assert tok.image_start_id == size and tok.image_prompt_id == size + 4


def test_save_and_reload_keeps_ids(tmp_path, tokenizer):
    path = tokenizer.save(tmp_path / "ckpt")
    assert path.name == "tokenizer.json"
    again = MolmoTokenizer.from_file(tmp_path / "ckpt", TokenizerConfig(pad_to=512))
    assert again.special_ids == tokenizer.special_ids
    again.check_special_ids(tokenizer.special_ids)
    assert (
        MolmoTokenizer.from_file(path).special_ids == tokenizer.special_ids
    )  # pad_to inferred from the file
    with pytest.raises(UserError, match="do not follow the Molmo layout"):
        MolmoTokenizer.from_file(path, TokenizerConfig(pad_to=600))


def test_check_special_ids_mismatch(tokenizer):
    wrong = tokenizer.special_ids.model_copy(update={"image_patch": 1})
    with pytest.raises(UserError, match="image_patch: model 1 vs tokenizer 514"):
        tokenizer.check_special_ids(wrong)


def test_errors(tmp_path, base_bpe):
    with pytest.raises(UserError, match="larger than pad_to"):
        MolmoTokenizer(_fresh(base_bpe), TokenizerConfig(pad_to=10))
    with pytest.raises(UserError, match="eos_token"):
        MolmoTokenizer(_fresh(base_bpe), TokenizerConfig(eos_token="</s>"))
    with pytest.raises(UserError, match="not found"):
        MolmoTokenizer.from_file(tmp_path / "nope")
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="not a valid tokenizer.json"):
        MolmoTokenizer.from_file(tmp_path)


def test_encode_decode(tokenizer):
    ids = tokenizer.encode(" User: What colour is the circle? Assistant:")
    assert tokenizer.decode(ids) == " User: What colour is the circle? Assistant:"
    assert tokenizer.bos_id not in ids  # nothing added
    marked = tokenizer.encode(" User: <|image|>What")
    assert tokenizer.image_prompt_id in marked
    with_special = ids + [tokenizer.eos_id, tokenizer.image_patch_id, -1, -1]
    assert tokenizer.decode(with_special) == tokenizer.decode(ids)
    assert "<|endoftext|>" in tokenizer.decode(with_special, skip_special_tokens=False)
    assert tokenizer.encode_batch(["a", "b"]) == [tokenizer.encode("a"), tokenizer.encode("b")]
    assert tokenizer.id_to_token(tokenizer.image_col_id) == "<im_col>"
