from __future__ import annotations

import json
from collections import Counter
from itertools import islice

import fsspec
import pytest

from molmo.config.data import DataConfig
from molmo.data.loader import ShardLoader, iter_samples
from molmo.data.manifest import Manifest, write_manifest
from molmo.data.sample import encode_fields
from molmo.data.writer import ShardWriter
from molmo.errors import MolmoError, UserError


def _source(d, name, n, per, png, bad=()):
    with ShardWriter(d, name, max_samples=per) as w:
        for i in range(n):
            obj = {"messages": [{"role": "user", "content": f"{name} {i}"}]}
            img = b"corrupt" if i in bad else png
            w.write(encode_fields(f"{name}-{i:03d}", obj, [(img, "png")]))
    write_manifest(d, Manifest(shards=w.shards, complete=True))
    return str(d)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buf, format="PNG")
    root = tmp_path_factory.mktemp("loader")
    return {
        "a": _source(root / "a", "a", 30, 10, buf.getvalue()),
        "b": _source(root / "b", "b", 14, 7, buf.getvalue()),
        "bad": _source(root / "bad", "bad", 10, 5, buf.getvalue(), bad={2, 7}),
    }


def _cfg(sources, **kw):
    srcs = kw.pop(
        "srcs",
        [
            {"name": "a", "paths": [sources["a"]], "rate": 0.7},
            {"name": "b", "paths": [sources["b"]], "rate": 0.3},
        ],
    )
    return DataConfig(sources=srcs, seed=11, shuffle_buffer=4, **kw)


def _take(loader, n):
    return [s.key for s in islice(loader, n)]


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_resume_is_exact_and_independent_of_workers(sources, workers):
    n = 24
    reference = _take(ShardLoader(_cfg(sources), workers=0), n)
    full = _take(ShardLoader(_cfg(sources), workers=workers), n)
    assert full == reference
    first = ShardLoader(_cfg(sources), workers=workers)
    head = _take(first, n // 2)
    state = json.loads(json.dumps(first.state_dict()))
    assert state["next_global"] == n // 2 and state["samples_seen"] == n // 2
    resumed = ShardLoader(_cfg(sources), workers=workers)
    resumed.load_state_dict(state)
    assert head + _take(resumed, n // 2) == full
    assert resumed.samples_seen == n


def test_iterating_again_continues(sources):
    loader = ShardLoader(_cfg(sources), workers=0)
    assert _take(loader, 5) + _take(loader, 5) == _take(ShardLoader(_cfg(sources), workers=0), 10)


def test_ranks_are_disjoint_and_cover_the_global_sequence(sources):
    one = [{"name": "a", "paths": [sources["a"]]}]
    single = _take(ShardLoader(_cfg(sources, epochs=1, srcs=one), workers=0), 100)
    r0 = _take(ShardLoader(_cfg(sources, epochs=1, srcs=one), rank=0, world_size=2, workers=0), 100)
    r1 = _take(ShardLoader(_cfg(sources, epochs=1, srcs=one), rank=1, world_size=2, workers=2), 100)
    assert len(r0) == len(r1) == 15 and not set(r0) & set(r1) and len(set(r0) | set(r1)) == 30
    assert r0 == single[0::2] and r1 == single[1::2]
    mixed = _take(ShardLoader(_cfg(sources), workers=0), 20)
    assert _take(ShardLoader(_cfg(sources), rank=1, world_size=2, workers=0), 10) == mixed[1::2]
    with pytest.raises(UserError, match="outside world size"):
        ShardLoader(_cfg(sources), rank=2, world_size=2)


def test_world_size_change_continues_from_the_same_point(sources):
    r0 = ShardLoader(_cfg(sources), rank=0, world_size=2, workers=0)
    _take(r0, 10)
    single = ShardLoader(_cfg(sources), workers=0)
    single.load_state_dict(r0.state_dict())
    assert _take(single, 6) == _take(ShardLoader(_cfg(sources), workers=0), 26)[20:]


def test_mixture_rates_over_many_draws(sources):
    loader = ShardLoader(_cfg(sources))
    assert [s.rate for s in loader.sources] == pytest.approx([0.7, 0.3])
    counts = Counter(src for src, *_ in loader.schedule(6000))
    assert counts["a"] / 6000 == pytest.approx(0.7, abs=0.02)


def test_one_epoch_visits_every_sample_once_shuffled(sources):
    cfg = _cfg(sources, epochs=1, srcs=[{"name": "a", "paths": [sources["a"]]}])
    keys = _take(ShardLoader(cfg, workers=2), 1000)
    assert sorted(keys) == [f"a-{i:03d}" for i in range(30)] and keys != sorted(keys)
    loader = ShardLoader(cfg, workers=0)
    _take(loader, 1000)
    assert loader.epoch == 1.0 and loader.samples_seen == 30


@pytest.mark.parametrize("workers", [0, 2])
def test_corrupt_samples_are_skipped_counted_and_limited(sources, workers):
    srcs = [{"name": "bad", "paths": [sources["bad"]]}]
    loader = ShardLoader(_cfg(sources, epochs=1, srcs=srcs, max_corrupt=5), workers=workers)
    keys = _take(loader, 100)
    assert len(keys) == 8 and loader.corrupt == 2 and loader.state_dict()["corrupt"] == 2
    assert {c["where"].rsplit("#", 1)[0].rsplit("/", 1)[-1] for c in loader.corrupt_samples} == {
        "bad-000000.tar",
        "bad-000001.tar",
    }
    assert all("corrupt image" in c["reason"] for c in loader.corrupt_samples)
    strict = ShardLoader(_cfg(sources, epochs=1, srcs=srcs, max_corrupt=0), workers=workers)
    with pytest.raises(MolmoError, match="too many corrupt samples"):
        _take(strict, 100)


def test_transform_decode_false_and_memory_urls(sources):
    fs = fsspec.filesystem("memory")
    for name in ("b-000000.tar", "b-000001.tar", "manifest.json"):
        with open(f"{sources['b']}/{name}", "rb") as f:
            fs.pipe(f"/loader-test/b/{name}", f.read())
    srcs = [{"name": "m", "paths": ["memory://loader-test/b"]}]
    loader = ShardLoader(
        _cfg(sources, srcs=srcs), workers=0, transform=lambda s: (s.key, s.images[0].size, s.source)
    )
    out = list(islice(loader, 3))
    assert all(size == (4, 4) and src == "m" and key.startswith("b-") for key, size, src in out)
    raw = next(iter(ShardLoader(_cfg(sources, srcs=srcs), workers=0, decode=False)))
    assert set(raw) >= {"__key__", "json", "png"}


def test_strict_state_checks(sources):
    loader = ShardLoader(_cfg(sources))
    state = loader.state_dict()
    other = ShardLoader(DataConfig(sources=_cfg(sources).sources, seed=12))
    with pytest.raises(UserError, match="seed"):
        other.load_state_dict(state)
    changed = ShardLoader(_cfg(sources, srcs=[{"name": "a", "paths": [sources["a"]]}]))
    with pytest.raises(UserError, match="sources changed"):
        changed.load_state_dict(state)
    changed.load_state_dict(state, strict=False)


def test_iter_samples_in_order_and_reports_errors(sources):
    errors: list[str] = []
    keys = [s.key for s in iter_samples([sources["b"], sources["bad"]], errors=errors)]
    assert keys[:14] == [f"b-{i:03d}" for i in range(14)] and len(keys) == 22
    assert len(errors) == 2 and all("corrupt image" in e for e in errors)


def test_a_new_iterator_retires_the_old_one(sources):
    loader = ShardLoader(_cfg(sources), workers=0)
    old = iter(loader)
    first = [next(old).key for _ in range(3)]
    new = iter(loader)
    nxt = next(new).key
    assert list(old) == [] and loader.samples_seen == 4
    assert first + [nxt] == _take(ShardLoader(_cfg(sources), workers=0), 4)
