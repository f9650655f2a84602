"""Attention masks: causality + key validity (padding) + optional sub-segments, as booleans.

Convention: ``True`` = the query may attend to the key (what ``F.scaled_dot_product_attention``
expects of a boolean mask). Shapes: query length ``Tq`` (new positions), key length
``Tk = past + Tq`` (cached + new); query i sits at absolute position ``past + i``.

Rules (molmo-facts §4.2, §8.4):
- causal: key j is visible to query i iff ``j <= past + i``;
- padding: ``attention_mask`` (B, Tk) marks valid keys; padded keys are never visible;
- sub-segments (multi-annotation packing): each token carries a sub-segment id; image tokens get
  ``IMAGE_SUBSEGMENT_ID`` (10000); query i may see key j iff ``subseg[i] <= subseg[j]`` (and
  causal), so every conversation sees the image and itself, never another conversation.
- every query always sees itself, so no row is empty (padded queries give finite garbage that
  callers ignore, instead of NaN).
"""

from __future__ import annotations

import torch

IMAGE_SUBSEGMENT_ID = 10000


def causal_mask(q_len: int, k_len: int, device: torch.device | None = None) -> torch.Tensor:
    """(Tq, Tk) bool: query i (absolute position k_len - q_len + i) sees keys j <= that position."""
    past = k_len - q_len
    q_pos = torch.arange(q_len, device=device)[:, None] + past
    return torch.arange(k_len, device=device)[None, :] <= q_pos


def build_attention_mask(
    attention_mask: torch.Tensor | None,
    q_len: int,
    k_len: int,
    subsegment_ids: torch.Tensor | None = None,
    device: torch.device | None = None,
) -> torch.Tensor | None:
    """Combine causality, key validity and sub-segments into a (B|1, 1, Tq, Tk) bool mask.

    attention_mask: (B, Tk) bool/int, 1 = valid key, or None (all valid).
    subsegment_ids: (B, Tk) int sub-segment id of every key (the last Tq are the queries), or None.
    Returns None when plain causal attention is exact (no padding, no sub-segments, and either no
    past or a single query): the caller may then use SDPA's ``is_causal`` fast path when Tq == Tk.
    """
    if attention_mask is None and subsegment_ids is None and (q_len == k_len or q_len == 1):
        return None
    if attention_mask is not None:
        device = attention_mask.device
    elif subsegment_ids is not None:
        device = subsegment_ids.device
    allowed = causal_mask(q_len, k_len, device)[None, None]  # (1, 1, Tq, Tk)
    if attention_mask is not None:
        _check_len("attention_mask", attention_mask, k_len)
        allowed = allowed & attention_mask.bool()[:, None, None, :]
    if subsegment_ids is not None:
        _check_len("subsegment_ids", subsegment_ids, k_len)
        q_seg = subsegment_ids[:, -q_len:]
        allowed = allowed & (q_seg[:, None, :, None] <= subsegment_ids[:, None, None, :])
    itself = torch.arange(q_len, device=device)[:, None] + (k_len - q_len) == torch.arange(
        k_len, device=device
    )
    return allowed | itself[None, None]


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) validity -> (B, T) int64 positions ``cumsum(mask) - 1`` clamped at 0 (padding anywhere)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def subsegment_position_ids(
    attention_mask: torch.Tensor | None, subsegment_ids: torch.Tensor
) -> torch.Tensor:
    """(B, T) positions for packed sub-segments: count of earlier visible valid keys (image + own tokens).

    Token i's position is the number of valid keys j < i with ``subseg[i] <= subseg[j]``; so each
    conversation restarts right after the image tokens it can see (molmo-facts §8.4).
    """
    B, T = subsegment_ids.shape
    valid = torch.ones(B, T, dtype=torch.bool, device=subsegment_ids.device)
    if attention_mask is not None:
        valid = attention_mask.bool()
    strictly_before = torch.ones(T, T, dtype=torch.bool, device=subsegment_ids.device).tril(-1)
    visible = strictly_before & (subsegment_ids[:, :, None] <= subsegment_ids[:, None, :])  # (B, Tq, Tk)
    return (visible & valid[:, None, :]).sum(-1)


def _check_len(name: str, t: torch.Tensor, k_len: int) -> None:
    if t.dim() != 2 or t.shape[1] != k_len:
        raise ValueError(f"{name} must be (B, past + T) = (B, {k_len}); got {tuple(t.shape)}")
