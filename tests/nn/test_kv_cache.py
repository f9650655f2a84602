import torch

from molmo.nn.kv_cache import KVCache


def test_update_appends_and_grows():
    cache = KVCache(capacity=2)
    assert cache.seq_len == 0
    k1, v1 = torch.randn(2, 1, 3, 4), torch.randn(2, 1, 3, 4)
    k, v = cache.update(0, k1, v1)
    torch.testing.assert_close(k, k1)
    for step in range(5):  # forces growth beyond the initial capacity
        kn, vn = torch.randn(2, 1, 1, 4), torch.randn(2, 1, 1, 4)
        k, v = cache.update(0, kn, vn)
        torch.testing.assert_close(k[:, :, -1:], kn)
        torch.testing.assert_close(v[:, :, :3], v1)
    assert cache.seq_len == 8 and k.shape == (2, 1, 8, 4)


def test_layers_must_be_updated_in_order():
    cache = KVCache()
    try:
        cache.update(1, torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2))
    except ValueError as e:
        assert "layer 1" in str(e)
    else:
        raise AssertionError("expected ValueError")


def test_reorder_selects_and_duplicates_rows():
    cache = KVCache(capacity=4)
    k = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 2, 1).contiguous()
    cache.update(0, k, k)
    cache.reorder(torch.tensor([2, 2, 0]))
    keys, values = cache.get(0)
    assert keys[:, 0, 0, 0].tolist() == [2.0, 2.0, 0.0]
    assert values.shape == (3, 1, 2, 1)
