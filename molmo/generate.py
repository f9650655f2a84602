"""Autoregressive generation (greedy, sampling, beam search) over a small model protocol.

Model protocol — any callable ``model`` with
    model(input_ids, position_ids=..., attention_mask=..., kv_cache=..., [logit_positions=...,]
          **prefill_kwargs) -> object with ``.logits`` (B, T|1, V) and ``.kv_cache``
where
    input_ids       (B, T) int64 new tokens (the prompt may contain -1 at padded positions);
    position_ids    (B, T) int64 RoPE positions of the new tokens;
    attention_mask  (B, past + T) bool, True = valid key, covering cached and new positions;
    kv_cache        a ``molmo.nn.KVCache`` the model reads the past from and appends to;
    logit_positions (B,) int64, prefill only: the model returns logits at that position of each
                    row only, shape (B, 1, V) (so a long prompt never materialises (B, T, V));
    prefill_kwargs  e.g. images: passed on the first (prefill) call ONLY.
``DecoderLM`` and the Molmo model satisfy it.

Padding: any layout works (left, right — the Batch's -1 padding — or holes), since nothing is
moved: ``attention_mask`` (default ``input_ids >= 0``) marks the valid prompt tokens, position
ids default to ``cumsum(mask) - 1``, the first new token comes from each row's LAST VALID
position (``logit_positions``), and every later token is appended at the end of all rows with
position ``last valid position + 1, + 2, ...``. The KV cache is created once and reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from molmo.config.generation import GenerationConfig
from molmo.errors import UserError
from molmo.nn.kv_cache import KVCache
from molmo.nn.masks import position_ids_from_mask
from molmo.nn.sampling import sample_next

Decode = Callable[[list[int]], str]
Stream = Callable[[int, int], None]  # (batch row, token id)

__all__ = ["GenerationConfig", "GenerationResult", "beam_search", "generate"]


@dataclass
class GenerationResult:
    """token_ids[b]: new tokens of row b, including the stop token / the tokens that completed a
    stop string. texts[b] (only with a ``decode`` fn): decoded text with stop ids removed and cut
    before the first stop string. finish_reasons[b]: "eos" | "stop_string" | "length".
    scores[b]: length-normalised log-probability of the chosen beam (beam search only)."""

    token_ids: list[list[int]]
    finish_reasons: list[str]
    texts: list[str] | None = None
    scores: list[float] | None = field(default=None)


class _StopChecker:
    """Decides whether a row's generated tokens end with a stop token or contain a stop string."""

    def __init__(self, cfg: GenerationConfig, decode: Decode | None):
        if cfg.stop_strings and decode is None:
            raise UserError("stop_strings need a decode function (token ids -> text)")
        self.stop_ids = set(cfg.stop_token_ids or ())
        self.stop_strings = cfg.stop_strings
        self.decode = decode
        # a stop string completed by the newest token lies within its last few tokens
        self.window = 2 * max((len(s) for s in cfg.stop_strings), default=0) + 8

    def __call__(self, tokens: list[int]) -> str | None:
        if tokens and tokens[-1] in self.stop_ids:
            return "eos"
        if self.stop_strings:
            tail = self.decode(tokens[-self.window :])
            if any(s in tail for s in self.stop_strings):
                return "stop_string"
        return None

    def text(self, tokens: list[int]) -> str:
        text = self.decode([t for t in tokens if t not in self.stop_ids])
        cuts = [text.find(s) for s in self.stop_strings if s in text]
        return text[: min(cuts)] if cuts else text


@torch.no_grad()
def generate(
    model: Callable[..., Any],
    input_ids: torch.Tensor,
    config: GenerationConfig | None = None,
    *,
    attention_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    decode: Decode | None = None,
    stream: Stream | None = None,
    **prefill_kwargs: Any,
) -> GenerationResult:
    """Generate continuations of a batch of prompts.

    input_ids: (B, T) int64 prompts, padded anyhow (pad = -1 by default).
    attention_mask: (B, T) bool valid prompt tokens; default ``input_ids >= 0``.
    position_ids: (B, T) int64; default ``cumsum(attention_mask) - 1``.
    decode: token ids -> text; needed for stop strings and to fill ``texts``.
    stream: called as ``stream(row, token_id)`` for every generated token as soon as it is chosen
        (beam search: for the tokens of the best beam, once the search is over).
    prefill_kwargs: extra model inputs for the first forward only (e.g. images).
    Runs under ``torch.no_grad``; put the model in eval mode first (dropout).
    """
    config = config or GenerationConfig()
    run = _beam_search if config.num_beams > 1 else _sample
    return _generate(
        run, model, input_ids, config, attention_mask, position_ids, decode, stream, prefill_kwargs
    )


@torch.no_grad()
def beam_search(
    model: Callable[..., Any],
    input_ids: torch.Tensor,
    config: GenerationConfig | None = None,
    *,
    attention_mask: torch.Tensor | None = None,
    position_ids: torch.Tensor | None = None,
    decode: Decode | None = None,
    stream: Stream | None = None,
    **prefill_kwargs: Any,
) -> GenerationResult:
    """Beam search with ``config.num_beams`` beams, even 1 (then it equals greedy decoding).

    Same arguments as ``generate`` (which calls this when num_beams > 1).
    """
    config = config or GenerationConfig()
    return _generate(
        _beam_search, model, input_ids, config, attention_mask, position_ids, decode, stream, prefill_kwargs
    )


def _generate(
    run: Callable[..., GenerationResult],
    model: Callable[..., Any],
    input_ids: torch.Tensor,
    config: GenerationConfig,
    attention_mask: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    decode: Decode | None,
    stream: Stream | None,
    prefill_kwargs: dict[str, Any],
) -> GenerationResult:
    """Prefill once (with the prefill-only kwargs), then hand over to the decoding loop ``run``."""
    stop = _StopChecker(config, decode)
    mask = (input_ids >= 0) if attention_mask is None else attention_mask.bool()
    if position_ids is None:
        position_ids = position_ids_from_mask(mask)
    T = input_ids.shape[1]
    idx = torch.arange(T, device=input_ids.device)
    last = torch.where(mask, idx, -1).max(dim=1).values.clamp(min=0)  # (B,) last valid position
    next_pos = position_ids.masked_fill(~mask, -1).max(dim=1).values + 1  # (B,)

    cache = KVCache(capacity=T + config.max_new_tokens)
    out = model(
        input_ids, position_ids=position_ids, attention_mask=mask, kv_cache=cache,
        logit_positions=last, **prefill_kwargs,
    )  # fmt: skip
    state = _DecodeState(model, _cache_of(out, cache), mask, next_pos)
    result = run(out.logits[:, -1], state, config, stop, stream)
    if decode is not None:
        result.texts = [stop.text(toks) for toks in result.token_ids]
    return result


class _DecodeState:
    """Everything one decode step needs: the model, its cache, the key mask and next positions."""

    def __init__(self, model: Callable[..., Any], cache: KVCache, mask: torch.Tensor, next_pos: torch.Tensor):
        self.model, self.cache, self.mask, self.next_pos = model, cache, mask, next_pos

    def select_rows(self, rows: torch.Tensor) -> None:
        """Keep/duplicate batch rows (beam search): new row i = old row rows[i]."""
        self.cache.reorder(rows)
        self.mask, self.next_pos = self.mask[rows], self.next_pos[rows]

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed tokens (B,) at each row's next position; return the next logits (B, V)."""
        ones = torch.ones_like(self.mask[:, :1])
        self.mask = torch.cat([self.mask, ones], dim=1)
        out = self.model(
            tokens[:, None],
            position_ids=self.next_pos[:, None],
            attention_mask=self.mask,
            kv_cache=self.cache,
        )
        self.cache = _cache_of(out, self.cache)
        self.next_pos = self.next_pos + 1
        return out.logits[:, -1]


def _cache_of(out: Any, fallback: KVCache) -> KVCache:
    cache = getattr(out, "kv_cache", None)
    return fallback if cache is None else cache


def _sample(
    logits: torch.Tensor,
    state: _DecodeState,
    cfg: GenerationConfig,
    stop: _StopChecker,
    stream: Stream | None,
) -> GenerationResult:
    """Greedy (temperature 0) or temperature/top-k/top-p sampling, with per-row finished tracking."""
    B = logits.shape[0]
    generator = torch.Generator(device=logits.device)
    if cfg.seed is None:
        generator.seed()
    else:
        generator.manual_seed(cfg.seed)
    tokens: list[list[int]] = [[] for _ in range(B)]
    reasons = ["length"] * B
    finished = [False] * B
    for step in range(cfg.max_new_tokens):
        next_tokens = sample_next(logits, cfg.temperature, cfg.top_k, cfg.top_p, generator)  # (B,)
        for b, t in enumerate(next_tokens.tolist()):
            if finished[b]:
                continue
            tokens[b].append(t)
            if stream is not None:
                stream(b, t)
            reason = stop(tokens[b])
            if reason is not None:
                finished[b], reasons[b] = True, reason
        if all(finished) or step == cfg.max_new_tokens - 1:
            break
        logits = state.step(next_tokens)
    return GenerationResult(token_ids=tokens, finish_reasons=reasons)


@dataclass
class _Hypotheses:
    """The best ``size`` finished hypotheses of one row: (normalised score, tokens, reason)."""

    size: int
    length_penalty: float
    items: list[tuple[float, list[int], str]] = field(default_factory=list)

    def add(self, logprob: float, tokens: list[int], reason: str) -> None:
        self.items.append((logprob / len(tokens) ** self.length_penalty, tokens, reason))
        self.items.sort(key=lambda h: -h[0])
        del self.items[self.size :]

    def is_done(self, best_running_logprob: float, cur_len: int) -> bool:
        """No running beam can beat the worst kept hypothesis any more (HF's heuristic)."""
        if len(self.items) < self.size:
            return False
        return self.items[-1][0] >= best_running_logprob / cur_len**self.length_penalty


def _beam_search(
    logits: torch.Tensor,
    state: _DecodeState,
    cfg: GenerationConfig,
    stop: _StopChecker,
    stream: Stream | None,
) -> GenerationResult:
    """Beam search: K beams per row; candidates ending in a stop become finished hypotheses."""
    B, K, V = logits.shape[0], cfg.num_beams, logits.shape[-1]
    rows = torch.arange(B, device=logits.device).repeat_interleave(K)
    state.select_rows(rows)  # prefill ran once per prompt; now K copies of each row
    logprobs = logits.float().log_softmax(-1)[rows]  # (B*K, V)
    beam_scores = torch.full((B, K), float("-inf"), device=logits.device)
    beam_scores[:, 0] = 0.0  # at the first step only beam 0 is real
    beam_tokens: list[list[list[int]]] = [[[] for _ in range(K)] for _ in range(B)]
    hyps = [_Hypotheses(K, cfg.length_penalty) for _ in range(B)]
    done = [False] * B
    for step in range(cfg.max_new_tokens):
        cand = (beam_scores[:, :, None] + logprobs.view(B, K, V)).view(B, K * V)
        top_scores, top_idx = cand.topk(min(2 * K, K * V), dim=1)  # (B, 2K)
        top_scores, top_beam, top_tok = top_scores.tolist(), (top_idx // V).tolist(), (top_idx % V).tolist()
        new_scores = torch.full((B, K), float("-inf"))
        new_src = torch.zeros(B, K, dtype=torch.long)
        new_tok = torch.zeros(B, K, dtype=torch.long)
        new_tokens: list[list[list[int]]] = [[[] for _ in range(K)] for _ in range(B)]
        for b in range(B):
            if done[b]:
                continue
            n = 0
            for j, (s, k, t) in enumerate(zip(top_scores[b], top_beam[b], top_tok[b])):
                if s == float("-inf"):
                    break
                seq = beam_tokens[b][k] + [t]
                reason = stop(seq)
                if reason is not None:
                    if j < K:  # a stop only counts when it ranks among the top K candidates
                        hyps[b].add(s, seq, reason)
                    continue
                new_scores[b, n], new_src[b, n], new_tok[b, n], new_tokens[b][n] = s, k, t, seq
                n += 1
                if n == K:
                    break
            done[b] = n == 0 or hyps[b].is_done(float(new_scores[b].max()), step + 1)
        beam_scores, beam_tokens = new_scores.to(logits.device), new_tokens
        if all(done) or step == cfg.max_new_tokens - 1:
            break
        src = (torch.arange(B)[:, None] * K + new_src).view(-1).to(logits.device)
        state.select_rows(src)
        logprobs = state.step(new_tok.view(-1).to(logits.device)).float().log_softmax(-1)

    token_ids, reasons, scores = [], [], []
    for b in range(B):
        if not done[b]:  # ran out of length: running beams compete with finished ones
            for k in range(K):
                if beam_scores[b, k] > float("-inf"):
                    hyps[b].add(float(beam_scores[b, k]), beam_tokens[b][k], "length")
        score, toks, reason = hyps[b].items[0]
        token_ids.append(toks)
        reasons.append(reason)
        scores.append(score)
        for t in toks if stream is not None else ():
            stream(b, t)
    return GenerationResult(token_ids=token_ids, finish_reasons=reasons, scores=scores)
