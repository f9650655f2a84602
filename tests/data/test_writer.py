from __future__ import annotations

import tarfile

import pytest

from molmo.data.manifest import sha256_file
from molmo.data.writer import ShardWriter, member_size


def _sample(i: int, n: int = 100) -> dict:
    return {"__key__": f"k{i:03d}", "json": b"{}", "png": bytes([i % 256]) * n}


def test_rolls_by_count_and_names(tmp_path):
    seen = []
    with ShardWriter(tmp_path, "t", max_samples=3, on_shard=seen.append) as w:
        for i in range(7):
            w.write(_sample(i))
    assert [s.name for s in w.shards] == ["t-000000.tar", "t-000001.tar", "t-000002.tar"]
    assert [s.samples for s in w.shards] == [3, 3, 1] and seen == w.shards
    for s in w.shards:
        p = tmp_path / s.name
        assert p.stat().st_size == s.bytes and sha256_file(p) == s.sha256
    with tarfile.open(tmp_path / "t-000000.tar") as tf:
        assert tf.getnames() == ["k000.json", "k000.png", "k001.json", "k001.png", "k002.json", "k002.png"]
    assert not list(tmp_path.glob("*.tmp"))


def test_rolls_by_bytes_and_big_sample_gets_own_shard(tmp_path):
    per = member_size(2) + member_size(100)
    with ShardWriter(tmp_path, max_bytes=2 * per, max_samples=100) as w:
        for i in range(5):
            w.write(_sample(i))
        w.write(_sample(9, n=10 * per))
    assert [s.samples for s in w.shards] == [2, 2, 1, 1]


def test_deterministic_bytes(tmp_path):
    digests = []
    for d in ("a", "b"):
        with ShardWriter(tmp_path / d) as w:
            for i in range(3):
                w.write(_sample(i))
        digests.append(w.shards[0].sha256)
    assert digests[0] == digests[1]


def test_abort_leaves_no_half_shard(tmp_path):
    with pytest.raises(RuntimeError), ShardWriter(tmp_path, max_samples=2) as w:
        for i in range(3):
            w.write(_sample(i))
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-000000.tar"]
