"""Token sequences: formatted turns + image layouts -> ids, loss weights, image positions.

One sequence (molmo-facts §3.4, §6.1)::

    [BOS] [Image 1] <image block> ... " User: q Assistant:" " a" [EOS] " User: ..." ...

Images go where ``<|image|>`` appears in a user message, else first (right after BOS). With several
images each block is preceded by the text "Image k". Assistant turns and their EOS carry the loss.

Multi-annotation packing (molmo-facts §8.4): several conversations about the same image(s) in one
sequence ``[BOS][images] conv_0 conv_1 ...``; image tokens (and BOS) get sub-segment id 10000,
conversation k gets id k, position ids restart after the image for every conversation (each sees
only the image and itself), and loss weights are scaled by sqrt(1/k).

:func:`finalize` shifts to (input, target) pairs: ``input_ids = tokens[:-1]``, ``labels =
tokens[1:]`` (-100 where the weight is 0); for inference the whole prompt is input and nothing is
a target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from molmo.errors import UserError
from molmo.preprocess.layout import DROPPED, ImageLayout
from molmo.preprocess.prompts import Turn
from molmo.preprocess.tokenizer import MolmoTokenizer

IMAGE_SUBSEGMENT = 10000
IGNORE_INDEX = -100


@dataclass
class TokenSequence:
    """A full token sequence before shifting.

    Attributes:
        tokens: every token, BOS first (int64).
        weights: loss weight of each token *as a target* (float32).
        image_offsets: index in ``tokens`` where each image block starts.
        positions / subsegments: only for packed sequences (int64), else None.
    """

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    image_offsets: list[int] = field(default_factory=list)
    positions: list[int] | None = None
    subsegments: list[int] | None = None

    def add(self, ids: Sequence[int], weight: float = 0.0) -> None:
        self.tokens.extend(int(i) for i in ids)
        self.weights.extend([float(weight)] * len(ids))


def _add_images(
    seq: TokenSequence, layouts: Sequence[ImageLayout], indices: Sequence[int], tokenizer, prefix: bool
):
    """Append the blocks of images ``indices`` (each after 'Image k' when ``prefix``)."""
    for k in indices:
        if prefix:
            seq.add(tokenizer.encode(f"Image {k + 1}"))
        seq.image_offsets.append(len(seq.tokens))
        seq.add(layouts[k].token_ids(tokenizer.special_ids))


def _add_turns(
    seq: TokenSequence, turns: Sequence[Turn], layouts, tokenizer, prefix: bool, weight: float
) -> int:
    """Append turns, splicing image blocks at ``<|image|>``; returns how many images were placed."""
    placed = len(seq.image_offsets)
    start = placed
    for turn in turns:
        ids = tokenizer.encode(turn.text)
        if turn.role == "assistant":
            if tokenizer.image_prompt_id in ids:
                raise UserError("the <|image|> marker may only appear in user messages")
            seq.add(ids + [tokenizer.eos_id], weight)
            continue
        piece: list[int] = []
        for token in ids:
            if token != tokenizer.image_prompt_id:
                piece.append(token)
                continue
            seq.add(piece)
            piece = []
            if placed >= len(layouts):
                raise UserError(
                    f"messages hold more <|image|> markers than the {len(layouts)} image(s) given"
                )
            _add_images(seq, layouts, [placed], tokenizer, prefix)
            placed += 1
        seq.add(piece)
    return placed - start


def count_markers(turns: Sequence[Turn], marker: str = "<|image|>") -> int:
    """Number of image markers in the user turns (UserError if an assistant turn holds one)."""
    if any(marker in t.text for t in turns if t.role == "assistant"):
        raise UserError(f"the {marker} marker may only appear in user messages")
    return sum(t.text.count(marker) for t in turns if t.role == "user")


def build_sequence(
    turns: Sequence[Turn],
    layouts: Sequence[ImageLayout],
    tokenizer: MolmoTokenizer,
    multi_image_prefix: bool = True,
) -> TokenSequence:
    """One conversation with its images (at the markers, or first)."""
    prefix = multi_image_prefix and len(layouts) > 1
    seq = TokenSequence()
    seq.add([tokenizer.bos_id])
    markers = count_markers(turns)
    if markers == 0:
        _add_images(seq, layouts, range(len(layouts)), tokenizer, prefix)
    elif markers != len(layouts):
        raise UserError(f"messages hold {markers} <|image|> marker(s) but {len(layouts)} image(s) were given")
    _add_turns(seq, turns, layouts, tokenizer, prefix, weight=1.0)
    return seq


def build_packed_sequence(
    conversations: Sequence[Sequence[Turn]],
    layouts: Sequence[ImageLayout],
    tokenizer: MolmoTokenizer,
    multi_image_prefix: bool = True,
) -> TokenSequence:
    """Several conversations about the same images in one sequence (multi-annotation packing)."""
    if not conversations:
        raise UserError("multi-annotation packing needs at least one conversation")
    if any(count_markers(turns) for turns in conversations):
        raise UserError("<|image|> markers are not supported with multi-annotation packing (images go first)")
    seq = TokenSequence(positions=[], subsegments=[])
    seq.add([tokenizer.bos_id])
    _add_images(seq, layouts, range(len(layouts)), tokenizer, multi_image_prefix and len(layouts) > 1)
    n_prefix = len(seq.tokens)
    seq.positions.extend(range(n_prefix))
    seq.subsegments.extend([IMAGE_SUBSEGMENT] * n_prefix)
    weight = math.sqrt(1.0 / len(conversations))
    for k, turns in enumerate(conversations):
        before = len(seq.tokens)
        _add_turns(seq, turns, layouts, tokenizer, prefix=False, weight=weight)
        n = len(seq.tokens) - before
        seq.positions.extend(range(n_prefix, n_prefix + n))
        seq.subsegments.extend([k] * n)
    return seq


def finalize(
    seq: TokenSequence,
    layouts: Sequence[ImageLayout],
    *,
    for_inference: bool,
    max_length: int | None = None,
) -> dict[str, np.ndarray]:
    """Shift into model arrays; truncate training examples to ``max_length`` tokens.

    Returns ``input_ids``, ``labels``, ``loss_mask`` (T,), ``image_input_idx`` (n_crops, K) when there
    are images, and ``position_ids`` / ``subsegment_ids`` for packed sequences.
    """
    tokens = np.asarray(seq.tokens, dtype=np.int64)
    weights = np.asarray(seq.weights, dtype=np.float32)
    extra = {"position_ids": seq.positions, "subsegment_ids": seq.subsegments}
    if for_inference:
        out = {
            "input_ids": tokens,
            "labels": np.full_like(tokens, IGNORE_INDEX),
            "loss_mask": np.zeros_like(weights),
        }
        out.update({k: np.asarray(v, dtype=np.int64) for k, v in extra.items() if v is not None})
    else:
        loss_mask = weights[1:]
        labels = np.where(loss_mask > 0, tokens[1:], IGNORE_INDEX)
        out = {"input_ids": tokens[:-1], "labels": labels, "loss_mask": loss_mask}
        out.update({k: np.asarray(v[:-1], dtype=np.int64) for k, v in extra.items() if v is not None})
        if max_length is not None and len(out["input_ids"]) > max_length:
            out = {k: v[:max_length] for k, v in out.items()}
    length = len(out["input_ids"])
    if layouts:
        blocks = []
        for layout, offset in zip(layouts, seq.image_offsets):
            idx = np.where(layout.input_idx >= 0, layout.input_idx + offset, DROPPED)
            blocks.append(np.where(idx < length, idx, DROPPED))
        out["image_input_idx"] = np.concatenate(blocks).astype(np.int64)
    return out
