"""Train a small byte-level BPE tokenizer offline (for tests and the bundled demo model).

Byte-level like GPT-2/Qwen: every string is encodable (no unknown token), spaces are part of the
following token ("Ġ"), and ``<|endoftext|>`` is the EOS (and BOS) special token. The result is a
plain ``tokenizers.Tokenizer``; wrap it in :class:`molmo.preprocess.tokenizer.MolmoTokenizer` to add
the image tokens::

    tok = train_bpe(texts, vocab_size=512)
    save_bpe(tok, "ckpt/tokenizer.json")
    molmo_tok = MolmoTokenizer(tok, TokenizerConfig(pad_to=512))   # image tokens 512..516
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from molmo.errors import UserError
from molmo.preprocess.tokenizer import save_tokenizer_json

DEFAULT_SPECIAL_TOKENS = ("<|endoftext|>",)


def train_bpe(
    texts: Iterable[str],
    vocab_size: int,
    *,
    special_tokens: Sequence[str] = DEFAULT_SPECIAL_TOKENS,
    min_frequency: int = 2,
    individual_digits: bool = True,
) -> Tokenizer:
    """Train a byte-level BPE on ``texts``; the vocabulary has at most ``vocab_size`` entries.

    ``individual_digits`` splits numbers into single digits before BPE (as Qwen2's tokenizer does),
    so coordinates and counts are spelt digit by digit instead of as arbitrary merged tokens.

    Special tokens get the first ids (``<|endoftext|>`` = 0), then the 256 byte symbols, then
    merges. Small corpora may stop below ``vocab_size`` (no more merges to learn).
    """
    floor = len(special_tokens) + 256
    if vocab_size < floor:
        raise UserError(f"vocab_size {vocab_size} is too small: a byte-level BPE needs at least {floor}")
    tokenizer = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if individual_digits
        else byte_level
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def save_bpe(tokenizer: Tokenizer, path: str | os.PathLike) -> Path:
    """Write ``tokenizer`` as ``tokenizer.json`` (``path`` may be a directory); atomic."""
    path = Path(path)
    if path.suffix != ".json":
        path = path / "tokenizer.json"
    return save_tokenizer_json(tokenizer, path)


def train_bpe_file(texts: Iterable[str], vocab_size: int, path: str | os.PathLike, **kwargs) -> Path:
    """:func:`train_bpe` then :func:`save_bpe`; returns the written file."""
    return save_bpe(train_bpe(texts, vocab_size, **kwargs), path)
