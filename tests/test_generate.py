"""Generation: HF greedy parity, padding, KV cache reuse, beams, sampling, stops, streaming."""

import itertools

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from molmo.config.llm import llm_preset
from molmo.convert.hf_llm import hf_config_dict, hf_to_native_state_dict
from molmo.errors import UserError
from molmo.generate import GenerationConfig, beam_search, generate
from molmo.models.llm import DecoderLM

PROMPTS = [[5, 17, 42, 8, 99], [3, 1, 4, 1, 5, 9, 2, 6, 53], [77, 12, 250 - 1]]


def peaky(model, scale=0.08):
    """Random weights large enough that greedy choices are not near-ties."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_(1.0, 0.2)
            else:
                p.normal_(0.0, 0.15 if ("embed" in name or "wte" in name or "lm_head" in name) else scale)
    return model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return peaky(DecoderLM(llm_preset("tiny-qwen2"))).eval()


def pad(prompts, side, pad_id=-1):
    T = max(len(p) for p in prompts)
    rows = [
        ([pad_id] * (T - len(p)) + p) if side == "left" else (p + [pad_id] * (T - len(p))) for p in prompts
    ]
    ids = torch.tensor(rows)
    mask = torch.tensor(
        [[i >= T - len(p) if side == "left" else i < len(p) for i in range(T)] for p in prompts]
    )
    return ids, mask


def greedy(model, prompts, side="left", **cfg):
    ids, mask = pad(prompts, side)
    return generate(model, ids, GenerationConfig(**cfg), attention_mask=mask)


def test_greedy_matches_transformers_generate():
    cfg = llm_preset("tiny-qwen2")
    torch.manual_seed(0)
    kwargs = {k: v for k, v in hf_config_dict(cfg, "qwen2").items() if k != "model_type"}
    hf = peaky(Qwen2ForCausalLM(Qwen2Config(**kwargs, pad_token_id=0))).eval()
    ours = DecoderLM(cfg).eval()
    ours.load_state_dict(hf_to_native_state_dict(hf.state_dict(), cfg), strict=False)

    free = greedy(ours, PROMPTS, max_new_tokens=12).token_ids
    k = next(i for i in range(2, 12) if free[0][i] not in free[0][:i])
    eos = free[0][k]  # make row 0 stop early (and maybe others)
    ids, mask = pad(PROMPTS, "left", pad_id=0)
    with torch.no_grad():
        ref = hf.generate(
            ids,
            attention_mask=mask.long(),
            max_new_tokens=12,
            do_sample=False,
            pad_token_id=0,
            eos_token_id=eos,
        )[:, ids.shape[1] :].tolist()
    res = generate(ours, ids, GenerationConfig(max_new_tokens=12, stop_token_ids=[eos]), attention_mask=mask)
    assert res.token_ids[0] == free[0][: k + 1] and res.finish_reasons[0] == "eos"
    for mine, theirs in zip(res.token_ids, ref):
        assert theirs[: len(mine)] == mine
        assert all(t == 0 for t in theirs[len(mine) :])  # HF pads finished rows
    assert any(len(t) == 12 for t in res.token_ids)  # some row ran to the length limit


def test_left_and_right_padding_agree_with_single_prompts(model):
    left = greedy(model, PROMPTS, "left", max_new_tokens=8).token_ids
    right = greedy(model, PROMPTS, "right", max_new_tokens=8).token_ids
    single = [greedy(model, [p], max_new_tokens=8).token_ids[0] for p in PROMPTS]
    assert left == right == single
    # -1 padding without an explicit mask is detected from the ids
    ids, _ = pad(PROMPTS, "right")
    assert generate(model, ids, GenerationConfig(max_new_tokens=8)).token_ids == single


def test_kv_cache_decoding_equals_full_recomputation(model):
    res = greedy(model, PROMPTS, max_new_tokens=10)
    for prompt, new in zip(PROMPTS, res.token_ids):
        with torch.no_grad():
            logits = model(torch.tensor([prompt + new])).logits[0]
        recomputed = logits[len(prompt) - 1 : -1].argmax(-1).tolist()
        assert recomputed == new


def test_prefill_kwargs_only_on_first_call_and_cache_reused(model):
    calls = []

    def wrapped(input_ids, images=None, **kw):
        calls.append((input_ids.shape, images, kw["kv_cache"], kw["attention_mask"].shape))
        return model(input_ids, **kw)

    ids, mask = pad(PROMPTS, "left")
    res = generate(wrapped, ids, GenerationConfig(max_new_tokens=4), attention_mask=mask, images="IMG")
    assert [c[1] for c in calls] == ["IMG", None, None, None]
    assert len({id(c[2]) for c in calls}) == 1  # one KV cache object for all steps
    assert [c[0][1] for c in calls] == [9, 1, 1, 1]  # prompt once, then one token per step
    assert [c[3][1] for c in calls] == [9, 10, 11, 12]
    assert all(len(t) == 4 for t in res.token_ids)


def test_beam_search_with_one_beam_equals_greedy(model):
    for side in ("left", "right"):
        g = greedy(model, PROMPTS, side, max_new_tokens=9)
        eos = g.token_ids[1][3]
        g = greedy(model, PROMPTS, side, max_new_tokens=9, stop_token_ids=[eos])
        ids, mask = pad(PROMPTS, side)
        b = beam_search(
            model, ids, GenerationConfig(max_new_tokens=9, stop_token_ids=[eos]), attention_mask=mask
        )
        assert b.token_ids == g.token_ids and b.finish_reasons == g.finish_reasons
        assert g.finish_reasons[1] == "eos"


def _seq_logprob(model, prompt, new):
    with torch.no_grad():
        lp = model(torch.tensor([prompt + new])).logits[0].float().log_softmax(-1)
    return sum(float(lp[len(prompt) - 1 + i, t]) for i, t in enumerate(new))


def test_exhaustive_beam_search_finds_best_two_token_sequence():
    torch.manual_seed(0)
    m = peaky(DecoderLM(llm_preset("tiny-qwen2", embedding_size=32, vocab_size=32)), scale=0.15).eval()
    prompt = [3, 14, 15]
    best = max(itertools.product(range(32), repeat=2), key=lambda s: _seq_logprob(m, prompt, list(s)))
    cfg = GenerationConfig(max_new_tokens=2, num_beams=32, length_penalty=0.0)
    res = generate(m, torch.tensor([prompt]), cfg)
    assert res.token_ids[0] == list(best)
    assert res.scores[0] == pytest.approx(_seq_logprob(m, prompt, list(best)), abs=1e-4)
    greedy_new = generate(m, torch.tensor([prompt]), GenerationConfig(max_new_tokens=2)).token_ids[0]
    assert res.scores[0] >= _seq_logprob(m, prompt, greedy_new) - 1e-6


def test_beam_search_stops_on_eos_with_length_penalty(model):
    g = greedy(model, [PROMPTS[0]], max_new_tokens=8).token_ids[0]
    res = greedy(
        model, [PROMPTS[0]], max_new_tokens=8, num_beams=3, stop_token_ids=[g[2]], length_penalty=1.0
    )
    toks = res.token_ids[0]
    assert res.finish_reasons[0] in ("eos", "length")
    assert (res.finish_reasons[0] == "eos") == (toks[-1] == g[2])
    assert g[2] not in toks[:-1]


def test_sampling_is_reproducible_with_seed(model):
    ids, mask = pad(PROMPTS, "left")

    def run(seed, **kw):
        cfg = GenerationConfig(max_new_tokens=10, temperature=1.5, seed=seed, **kw)
        return generate(model, ids, cfg, attention_mask=mask).token_ids

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert run(3, top_k=1) == greedy(model, PROMPTS, max_new_tokens=10).token_ids
    assert run(3, top_p=1e-6) == greedy(model, PROMPTS, max_new_tokens=10).token_ids


def decode(ids):
    return "".join(chr(ord("a") + t % 26) for t in ids)


def test_stop_strings_and_texts(model):
    free = greedy(model, PROMPTS, max_new_tokens=10).token_ids
    stop = decode(free[0][3:5])
    ids, _ = pad(PROMPTS, "left")  # no mask given: derived from the -1 padding
    res = generate(model, ids, GenerationConfig(max_new_tokens=10, stop_strings=[stop]), decode=decode)
    first = decode(free[0]).find(stop)
    assert res.finish_reasons[0] == "stop_string"
    assert res.token_ids[0] == free[0][: len(res.token_ids[0])]
    assert stop in decode(res.token_ids[0]) and stop not in decode(res.token_ids[0][:-1])
    assert res.texts[0] == decode(free[0])[:first]
    with pytest.raises(UserError, match="decode"):
        generate(model, ids, GenerationConfig(stop_strings=["x"]))


def test_streaming_callback_receives_every_token_in_order(model):
    seen = {0: [], 1: [], 2: []}
    free = greedy(model, PROMPTS, max_new_tokens=7).token_ids
    eos = free[2][1]
    ids, mask = pad(PROMPTS, "left")
    res = generate(
        model, ids, GenerationConfig(max_new_tokens=7, stop_token_ids=[eos]), attention_mask=mask,
        stream=lambda row, tok: seen[row].append(tok),
    )  # fmt: skip
    assert [seen[i] for i in range(3)] == res.token_ids
    assert res.token_ids[2][-1] == eos and res.finish_reasons[2] == "eos"
    beams = {0: [], 1: [], 2: []}
    res = generate(
        model, ids, GenerationConfig(max_new_tokens=5, num_beams=2), attention_mask=mask,
        stream=lambda row, tok: beams[row].append(tok),
    )  # fmt: skip
    assert [beams[i] for i in range(3)] == res.token_ids


def test_config_validation():
    with pytest.raises(ValueError, match="temperature=0"):
        GenerationConfig(num_beams=2, temperature=0.7)
    with pytest.raises(ValueError):
        GenerationConfig(max_new_tokens=0)
