"""``MolmoTokenizer``: a base LLM ``tokenizer.json`` extended with Molmo's special tokens.

Id layout of released checkpoints (molmo-facts §3.1): the base vocabulary is padded with dummy
special tokens ``|<EXTRA_TOKENS_i>|`` (i = 0, 1, ...) up to ``pad_to``, then the five image tokens
``<im_start>``, ``<im_end>``, ``<im_patch>``, ``<im_col>``, ``<|image|>`` get ids exactly
``pad_to + 0 .. 4`` (Molmo-7B-D: 152064..152068). Qwen2/OLMo tokenizers have no BOS, so BOS = EOS
unless ``TokenizerConfig.bos_token`` names one. A tokenizer file that already carries the image
tokens (e.g. one saved by :meth:`MolmoTokenizer.save`) is used as is after its ids are checked.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tokenizers import AddedToken, Tokenizer

from molmo.config.preprocess import SpecialTokenIds, TokenizerConfig
from molmo.errors import UserError

IMAGE_TOKENS = ("<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>")
IMAGE_PROMPT = "<|image|>"
EXTRA_TOKEN = "|<EXTRA_TOKENS_{}>|"
TOKENIZER_FILE = "tokenizer.json"


def _special(content: str) -> AddedToken:
    return AddedToken(content, special=True, normalized=False, single_word=False, lstrip=False, rstrip=False)


class MolmoTokenizer:
    """Text <-> ids with Molmo's special tokens; special ids are attributes and :attr:`special_ids`.

    Attributes:
        bos_id, eos_id, pad_id: sequence ids (BOS = EOS for Qwen/OLMo).
        image_start_id, image_end_id, image_patch_id, image_col_id, image_prompt_id: image token ids.
    """

    def __init__(
        self, tokenizer: Tokenizer, config: TokenizerConfig | None = None, source: str = "tokenizer"
    ):
        self.config = config or TokenizerConfig()
        self.source = source
        self._tok = tokenizer
        self.eos_id = self._require(self.config.eos_token, "eos_token")
        self.bos_id = (
            self._require(self.config.bos_token, "bos_token") if self.config.bos_token else self.eos_id
        )
        self.pad_id = (
            self._require(self.config.pad_token, "pad_token") if self.config.pad_token else self.eos_id
        )
        self._add_image_tokens()
        ids = [tokenizer.token_to_id(t) for t in IMAGE_TOKENS]
        (
            self.image_start_id,
            self.image_end_id,
            self.image_patch_id,
            self.image_col_id,
            self.image_prompt_id,
        ) = ids

    # ---- construction ----
    @classmethod
    def from_file(cls, path: str | os.PathLike, config: TokenizerConfig | None = None) -> MolmoTokenizer:
        """Load a ``tokenizer.json`` file, or the one inside a checkpoint directory."""
        path = Path(path)
        file = path / TOKENIZER_FILE if path.is_dir() else path
        if not file.is_file():
            raise UserError(f"{file}: tokenizer file not found")
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # noqa: BLE001 - the Rust loader raises a plain Exception on bad JSON
            raise UserError(f"{file}: not a valid tokenizer.json ({str(exc).splitlines()[0]})") from None
        return cls(tokenizer, config, source=str(file))

    def _require(self, token: str, what: str) -> int:
        token_id = self._tok.token_to_id(token)
        if token_id is None:
            raise UserError(f"{self.source}: {what} {token!r} is not in the vocabulary")
        return token_id

    def _add_image_tokens(self) -> None:
        """Pad with EXTRA tokens to ``pad_to`` and append the image tokens; verify the id layout."""
        existing = [self._tok.token_to_id(t) for t in IMAGE_TOKENS]
        pad_to = self.config.pad_to
        if all(i is None for i in existing):
            size = self._tok.get_vocab_size(with_added_tokens=True)
            if pad_to is not None:
                if size > pad_to:
                    raise UserError(
                        f"{self.source}: vocabulary of {size} tokens is larger than pad_to={pad_to}"
                    )
                self._tok.add_special_tokens([_special(EXTRA_TOKEN.format(i)) for i in range(pad_to - size)])
            first = pad_to if pad_to is not None else self._tok.get_vocab_size(with_added_tokens=True)
            self._tok.add_special_tokens([_special(t) for t in IMAGE_TOKENS])
            existing = [self._tok.token_to_id(t) for t in IMAGE_TOKENS]
        else:
            first = pad_to if pad_to is not None else existing[0]
        expected = list(range(first, first + len(IMAGE_TOKENS))) if first is not None else None
        if existing != expected:
            raise UserError(
                f"{self.source}: image token ids {dict(zip(IMAGE_TOKENS, existing))} do not follow the Molmo "
                f"layout (expected {expected}; check tokenizer.pad_to)"
            )

    # ---- ids ----
    @property
    def special_ids(self) -> SpecialTokenIds:
        """The special ids as a config object (stored in the model config)."""
        return SpecialTokenIds(
            bos=self.bos_id, eos=self.eos_id, pad=self.pad_id, image_start=self.image_start_id,
            image_end=self.image_end_id, image_patch=self.image_patch_id, image_col=self.image_col_id,
            image_prompt=self.image_prompt_id,
        )  # fmt: skip

    def check_special_ids(self, expected: SpecialTokenIds) -> None:
        """Raise UserError if this tokenizer's special ids differ from a model's stored ids."""
        actual = self.special_ids.model_dump()
        wrong = {k: (v, actual[k]) for k, v in expected.model_dump().items() if actual[k] != v}
        if wrong:
            detail = ", ".join(f"{k}: model {a} vs tokenizer {b}" for k, (a, b) in wrong.items())
            raise UserError(f"{self.source}: special token ids do not match the model ({detail})")

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return self._tok.get_vocab_size(with_added_tokens=True)

    def __len__(self) -> int:
        return self.vocab_size

    # ---- text ----
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no BOS/EOS added; special-token strings in the text are recognised)."""
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        """:meth:`encode` for several texts."""
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Text of ``ids``; negative ids (batch padding) are ignored, special tokens skipped by default."""
        return self._tok.decode([int(i) for i in ids if int(i) >= 0], skip_special_tokens=skip_special_tokens)

    def token_to_id(self, token: str) -> int | None:
        """Id of a token string, or None."""
        return self._tok.token_to_id(token)

    def id_to_token(self, token_id: int) -> str | None:
        """Token string of an id, or None."""
        return self._tok.id_to_token(int(token_id))

    @property
    def backend(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer`` (special tokens already added)."""
        return self._tok

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``tokenizer.json`` (with the Molmo tokens) into ``directory`` atomically."""
        return save_tokenizer_json(self._tok, Path(directory) / TOKENIZER_FILE)


def save_tokenizer_json(tokenizer: Tokenizer, path: str | os.PathLike) -> Path:
    """Serialise ``tokenizer`` to ``path`` atomically (temp file in the same directory, then replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tokenizer.to_str(pretty=False))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
