"""Fixtures for preprocessing tests: a tiny byte-level BPE tokenizer with Molmo's special tokens."""

from __future__ import annotations

import pytest

from molmo.config.preprocess import TokenizerConfig
from molmo.preprocess.bpe import train_bpe
from molmo.preprocess.tokenizer import MolmoTokenizer

CORPUS = [
    "User: What colour is the circle? Assistant: The circle is red.",
    "User: How many squares are there? Assistant: There are 3 squares.",
    "Point to the triangle. Counting the triangles shows a total of 2.",
    "a small blue square on a green background next to a yellow circle",
    "Describe this image. The image shows shapes: circle, square, triangle, star.",
] * 20


@pytest.fixture(scope="session")
def base_bpe():
    """A fresh-trained byte-level BPE (vocab <= 400)."""
    return train_bpe(CORPUS, vocab_size=400)


@pytest.fixture(scope="session")
def tokenizer(base_bpe):
    """MolmoTokenizer padded to 512: image tokens 512..516, BOS = EOS = <|endoftext|> (id 0)."""
    from tokenizers import Tokenizer

    return MolmoTokenizer(Tokenizer.from_str(base_bpe.to_str()), TokenizerConfig(pad_to=512))
