"""Offline byte-level BPE training."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from molmo.errors import UserError
from molmo.preprocess.bpe import save_bpe, train_bpe, train_bpe_file

CORPUS = ["the red circle is next to the blue square", "how many triangles are there? three"] * 30


def test_train_small_corpus_round_trips_any_text():
    tok = train_bpe(CORPUS, vocab_size=300)
    assert tok.token_to_id("<|endoftext|>") == 0
    assert 256 < tok.get_vocab_size() <= 300
    for text in ["the red circle", " Ünïcödé ☃ 123 <tags>", "unseen wordsxyz"]:
        assert tok.decode(tok.encode(text).ids) == text
    # merges were learned: a frequent word is one token
    assert len(tok.encode(" circle").ids) == 1


def test_save_and_load(tmp_path):
    path = train_bpe_file(CORPUS, 280, tmp_path / "demo")
    assert path == tmp_path / "demo" / "tokenizer.json"
    loaded = Tokenizer.from_file(str(path))
    assert loaded.encode("the red circle").ids == train_bpe(CORPUS, 280).encode("the red circle").ids
    assert save_bpe(loaded, tmp_path / "x.json").is_file()
    assert not list(tmp_path.glob("demo/.tokenizer.json.*"))  # no temp files left behind


def test_special_tokens_and_too_small_vocab():
    tok = train_bpe(CORPUS, 300, special_tokens=["<|endoftext|>", "<pad>"])
    assert tok.token_to_id("<pad>") == 1
    with pytest.raises(UserError, match="too small"):
        train_bpe(CORPUS, 100)
