import time

import torch

from molmo.config.llm import llm_preset
from molmo.models.llm import DecoderLM, llm_num_parameters
from molmo.nn.kv_cache import KVCache


def _model(name="tiny-qwen2", **overrides):
    torch.manual_seed(0)
    return DecoderLM(llm_preset(name, **overrides)).eval()


def test_state_dict_keys_mirror_released_checkpoint():
    keys = set(_model("tiny-olmo2").state_dict())
    expected = {"wte.embedding", "wte.new_embedding", "ln_f.weight", "ff_out.weight"}
    for i in range(2):
        expected |= {
            f"blocks.{i}.{n}.weight"
            for n in ("attn_norm", "att_proj", "attn_out", "ff_norm", "ff_proj", "ff_out", "q_norm", "k_norm")
        }
    assert keys == expected
    tied = set(_model("tiny-llama").state_dict())
    assert "ff_out.weight" not in tied and "blocks.0.att_proj.bias" not in tied


def test_logits_cover_embedding_size_only():
    m = _model()
    out = m(torch.tensor([[1, 2, 256 + 3]]))  # a "new" token as input is fine
    assert out.logits.shape == (1, 3, 256)
    assert out.hidden_states.shape == (1, 3, 64)


def test_tied_head_uses_embedding():
    m = _model("tiny-llama")
    out = m(torch.tensor([[5, 6]]))
    torch.testing.assert_close(out.logits, out.hidden_states @ m.wte.embedding.T)


def test_embed_then_inputs_embeds_equals_input_ids():
    m = _model()
    ids = torch.tensor([[3, 1, 4, 1, 5]])
    x = m.embed(ids)
    torch.testing.assert_close(m(inputs_embeds=x).logits, m(ids).logits)
    # the multimodal model adds features to the embeddings: the output must change accordingly
    x2 = x.clone()
    x2[:, 1] += 1.0
    assert not torch.allclose(m(inputs_embeds=x2).logits[:, 1:], m(ids).logits[:, 1:])
    torch.testing.assert_close(m(inputs_embeds=x2).logits[:, 0], m(ids).logits[:, 0])


def test_padding_left_and_right_match_unpadded():
    m = _model("tiny-olmo2")
    ids = torch.tensor([[7, 8, 9, 10]])
    ref = m(ids).logits[0]
    left = m(torch.tensor([[-1, -1, 7, 8, 9, 10]]), attention_mask=torch.tensor([[0, 0, 1, 1, 1, 1]]).bool())
    right = m(torch.tensor([[7, 8, 9, 10, -1]]), attention_mask=torch.tensor([[1, 1, 1, 1, 0]]).bool())
    torch.testing.assert_close(left.logits[0, 2:], ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(right.logits[0, :4], ref, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(left.logits).all() and torch.isfinite(right.logits).all()


def test_kv_cache_decoding_equals_full_recomputation():
    for name in ("tiny-qwen2", "tiny-olmo2", "tiny-llama"):
        m = _model(name)
        ids = torch.randint(0, 250, (2, 9))
        mask = torch.ones(2, 9, dtype=torch.bool)
        mask[1, :3] = False  # left padding in row 1
        full = m(ids, attention_mask=mask).logits
        cache = KVCache()
        prefill = m(ids[:, :4], attention_mask=mask[:, :4], kv_cache=cache).logits
        chunk = m(ids[:, 4:6], attention_mask=mask[:, :6], kv_cache=cache).logits  # 2-token chunk
        steps = [
            m(ids[:, t : t + 1], attention_mask=mask[:, : t + 1], kv_cache=cache).logits for t in range(6, 9)
        ]
        cached = torch.cat([prefill, chunk, *steps], dim=1)
        assert cache.seq_len == 9
        torch.testing.assert_close(cached[mask], full[mask], atol=1e-5, rtol=1e-5)


def test_logit_positions_gathers_one_position_per_row():
    m = _model()
    ids = torch.randint(0, 250, (2, 6))
    full = m(ids).logits
    out = m(ids, logit_positions=torch.tensor([5, 2])).logits
    assert out.shape == (2, 1, 256)
    torch.testing.assert_close(out[:, 0], torch.stack([full[0, 5], full[1, 2]]))


def test_subsegments_isolate_conversations():
    m = _model()
    seg = torch.tensor([[10000, 10000, 0, 0, 1, 1]])
    ids = torch.tensor([[11, 12, 21, 22, 31, 32]])
    pos = torch.tensor([[0, 1, 2, 3, 2, 3]])
    packed = m(ids, position_ids=pos, subsegment_ids=seg).logits
    alone = m(torch.tensor([[11, 12, 31, 32]])).logits  # image + conversation 1 only
    torch.testing.assert_close(packed[0, [0, 1, 4, 5]], alone[0], atol=1e-5, rtol=1e-5)


def test_meta_device_parameter_counts():
    # molmo-facts §5.4: the LLM of Molmo-7B-D has 7,616,075,264 parameters (incl. 128 new rows).
    assert llm_num_parameters(llm_preset("qwen2-7b")) == 7_616_075_264
    assert (
        llm_num_parameters(llm_preset("qwen2-7b"), include_new_embedding=False) == 7_616_075_264 - 128 * 3584
    )

    def by_hand(c):
        per_block = (
            2 * c.d_model
            + (c.q_dim + 2 * c.kv_dim) * (c.d_model + int(c.qkv_bias))
            + c.q_dim * c.d_model
            + c.mlp_hidden_size * c.d_model
            + c.ffn_hidden_size * c.d_model
            + (c.q_dim + c.kv_dim) * int(c.qk_norm)
        )
        head = 0 if c.weight_tying else c.embedding_size * c.d_model
        emb = (c.embedding_size + c.additional_vocab_size) * c.d_model
        return emb + c.n_layers * per_block + c.d_model + head

    for name in ("qwen2-72b", "olmo-7b-1024", "llama3-8b", "tiny-llama"):
        cfg = llm_preset(name)
        assert llm_num_parameters(cfg) == by_hand(cfg), name
    # OLMo-7B-1024: (100352+128+100352)*4096 embeddings/head + 32 * 202,391,552 per block + 4096
    assert llm_num_parameters(llm_preset("olmo-7b-1024")) == 7_299_141_632


def test_meta_build_is_instant_and_materialises():
    t0 = time.perf_counter()
    with torch.device("meta"):
        big = DecoderLM(llm_preset("qwen2-72b"))
    assert time.perf_counter() - t0 < 5.0
    assert big.wte.embedding.is_meta
    with torch.device("meta"):
        m = DecoderLM(llm_preset("tiny-olmo2"))
    m = m.to_empty(device="cpu")
    m.reset_parameters()
    assert torch.isfinite(m(torch.tensor([[1, 2, 3]])).logits).all()


def test_bf16_autocast_forward_on_cpu():
    m = _model("tiny-olmo2")
    ids = torch.randint(0, 250, (2, 7))
    ref = m(ids).logits
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(ids, kv_cache=KVCache()).logits
    assert out.dtype == torch.bfloat16
    assert torch.isfinite(out).all()
    assert (out.float() - ref).abs().max() < 0.05 * ref.abs().max() + 0.05


def test_activation_checkpointing_gives_same_gradients():
    m = _model()
    m.train()
    ids = torch.randint(0, 250, (2, 5))
    m(ids).logits.sum().backward()
    g_ref = m.blocks[0].att_proj.weight.grad.clone()
    m.zero_grad()
    m.activation_checkpointing = True
    m(ids).logits.sum().backward()
    torch.testing.assert_close(m.blocks[0].att_proj.weight.grad, g_ref)
