from __future__ import annotations

import json

import pytest

from molmo.data.manifest import read_manifest
from molmo.data.pack import ordered_map, pack
from molmo.data.shards import iter_tar, resolve_shards
from molmo.errors import UserError


@pytest.fixture
def llava_src(tmp_path, png, jpg):
    img = tmp_path / "imgs"
    img.mkdir()
    (img / "ok.png").write_bytes(png)
    (img / "ok.jpg").write_bytes(jpg)
    (img / "bad.jpg").write_bytes(b"garbage")
    (img / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])
    conv = [{"from": "human", "value": "<image>\nQ?"}, {"from": "gpt", "value": "A."}]
    names = [
        "ok.png",
        "ok.jpg",
        "bad.jpg",
        "ok.png",
        "missing.png",
        "ok.jpg",
        "cut.jpg",
        "ok.png",
        "ok.jpg",
        "ok.png",
    ]
    data = [{"id": f"r{i}", "image": n, "conversations": conv} for i, n in enumerate(names)]
    data.append({"id": "empty", "image": "ok.png", "conversations": []})
    (img / "data.json").write_text(json.dumps(data))
    return img / "data.json"


def _keys(d):
    return [s["__key__"] for r in resolve_shards(str(d)) for s in iter_tar(r.url)]


def test_pack_skips_bad_records_and_writes_manifest(tmp_path, llava_src):
    calls = []
    res = pack(
        llava_src,
        tmp_path / "out",
        "llava",
        workers=2,
        shard_samples=3,
        progress=lambda d, t: calls.append((d, t)),
    )
    m = read_manifest(tmp_path / "out")
    assert m.complete and m.samples == 7 == res.written and res.failed == 4 and m.records_done == 11
    assert [s.samples for s in m.shards] == [3, 3, 1]
    reasons = {f["key"]: f["reason"] for f in m.failures}
    assert "corrupt image" in reasons["000000002-r2"] and "missing image file" in reasons["000000004-r4"]
    assert "corrupt image" in reasons["000000006-r6"] and "empty conversation" in reasons["000000010-empty"]
    assert calls[-1] == (11, 11)
    assert _keys(tmp_path / "out")[:3] == ["000000000-r0", "000000001-r1", "000000003-r3"]
    first = next(iter_tar(str(tmp_path / "out" / m.shards[0].name)))
    assert set(first) == {"__key__", "__url__", "json", "png"}
    assert json.loads(first["json"])["messages"][0] == {"role": "user", "content": "Q?"}
    again = pack(llava_src, tmp_path / "out", "llava", shard_samples=3)
    assert again.written == 0 and again.manifest.samples == 7


def test_strict_raises_user_error_naming_the_record(tmp_path, llava_src):
    with pytest.raises(UserError, match="record 2 .*r2.*corrupt image"):
        pack(llava_src, tmp_path / "out", "llava", workers=0, strict=True, shard_samples=1)
    assert not list((tmp_path / "out").glob("*.tmp"))
    assert not read_manifest(tmp_path / "out").complete


def test_decompression_bomb_guard(tmp_path, llava_src):
    res = pack(llava_src, tmp_path / "out", "llava", workers=0, max_pixels=100)
    assert res.written == 4  # only the four 8x6 PNGs fit under 100 pixels
    assert any("too large" in f["reason"] for f in res.manifest.failures)


def test_resume_after_interrupt_matches_uninterrupted(tmp_path, llava_src):
    full = pack(llava_src, tmp_path / "full", "llava", workers=0, shard_samples=2)

    def boom(done, total):
        if done == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pack(llava_src, tmp_path / "part", "llava", workers=2, shard_samples=2, progress=boom)
    partial = read_manifest(tmp_path / "part")
    assert not partial.complete and len(partial.shards) >= 1
    assert not list((tmp_path / "part").glob("*.tmp"))
    done_before = {s.name: s.sha256 for s in partial.shards}
    res = pack(llava_src, tmp_path / "part", "llava", workers=2, shard_samples=2)
    assert res.skipped == partial.records_done > 0
    assert [s.sha256 for s in res.manifest.shards] == [s.sha256 for s in full.manifest.shards]
    assert {s.name: s.sha256 for s in res.manifest.shards[: len(done_before)]} == done_before
    assert res.manifest.failures == full.manifest.failures


def test_other_source_in_destination_is_refused(tmp_path, llava_src):
    pack(llava_src, tmp_path / "out", "llava", limit=2)
    with pytest.raises(UserError, match="another source"):
        pack(llava_src, tmp_path / "out", "llava", limit=3)
    assert pack(llava_src, tmp_path / "out", "llava", limit=3, overwrite=True).written == 2


def test_ordered_map_keeps_order_and_reports_errors():
    def f(x):
        if x == 3:
            raise ValueError("three")
        return x * 2

    out = list(ordered_map(f, range(20), workers=3))
    assert [o[0] for o in out] == list(range(20))
    assert out[2][1] == 4 and isinstance(out[3][2], ValueError)


def test_record_to_sample_for_eval_on_raw_files(llava_src):
    from molmo.data.formats import open_format
    from molmo.data.pack import record_to_sample
    from molmo.data.sample import SampleError

    recs = list(open_format("llava", llava_src))
    s = record_to_sample(recs[0])
    assert s.images[0].size == (8, 6) and s.messages[1]["content"] == "A."
    with pytest.raises(SampleError, match="corrupt image"):
        record_to_sample(recs[2])
