import torch

from molmo.nn.sampling import sample_next, top_k_filter, top_p_filter


def test_top_k_keeps_k_best():
    logits = torch.tensor([[1.0, 4.0, 3.0, 2.0]])
    out = top_k_filter(logits, 2)
    assert torch.isinf(out).tolist() == [[True, False, False, True]]
    assert top_k_filter(logits, 0) is logits


def test_top_p_keeps_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    out = top_p_filter(probs.log(), 0.7)  # 0.5 < 0.7, 0.5 + 0.3 >= 0.7 -> keep two
    assert torch.isinf(out).tolist() == [[False, False, True, True]]
    out = top_p_filter(probs.log(), 0.1)  # always keep the best one
    assert torch.isinf(out).tolist() == [[False, True, True, True]]


def test_sample_next_greedy_and_seeded():
    logits = torch.randn(4, 50)
    assert sample_next(logits, 0.0).tolist() == logits.argmax(-1).tolist()
    a = sample_next(logits, 1.0, generator=torch.Generator().manual_seed(3))
    b = sample_next(logits, 1.0, generator=torch.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()
    assert sample_next(logits, 1.0, top_k=1).tolist() == logits.argmax(-1).tolist()
