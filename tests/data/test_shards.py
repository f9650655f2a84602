from __future__ import annotations

import fsspec
import pytest

from molmo.data.manifest import Manifest, write_manifest
from molmo.data.shards import (
    ShardError,
    expand_braces,
    index_tar,
    iter_tar,
    open_shard,
    read_entry,
    resolve_shards,
    split_name,
)
from molmo.data.writer import ShardWriter
from molmo.errors import UserError


def _write(d, n=5, per=2, prefix="s"):
    with ShardWriter(d, prefix, max_samples=per) as w:
        for i in range(n):
            w.write({"__key__": f"k{i}", "json": b"{}", "0.png": b"a" * i, "1.png": b"b"})
    write_manifest(d, Manifest(shards=w.shards, complete=True))
    return w.shards


def test_expand_braces():
    assert expand_braces("a-{000..002}.tar") == ["a-000.tar", "a-001.tar", "a-002.tar"]
    assert expand_braces("{x,y}-{1..2}") == ["x-1", "x-2", "y-1", "y-2"]
    assert expand_braces("plain.tar") == ["plain.tar"]


def test_split_name_follows_webdataset():
    assert split_name("dir/key.0.jpg") == ("dir/key", "0.jpg")
    assert split_name("key.JSON") == ("key", "json")
    assert split_name("noext") is None


def test_resolve_dir_manifest_pattern_and_errors(tmp_path):
    shards = _write(tmp_path / "d")
    refs = resolve_shards(str(tmp_path / "d"))
    assert [r.name for r in refs] == [s.name for s in shards] and refs[0].samples == 2 and refs[0].sha256
    by_pattern = resolve_shards(str(tmp_path / "d" / "s-{000000..000001}.tar"))
    assert [r.name for r in by_pattern] == ["s-000000.tar", "s-000001.tar"] and by_pattern[0].samples is None
    (tmp_path / "d" / "manifest.json").unlink()
    assert len(resolve_shards(str(tmp_path / "d"))) == 3
    assert len(resolve_shards(str(tmp_path / "d" / "*.tar"))) == 3
    with pytest.raises(UserError, match="no such shard"):
        resolve_shards(str(tmp_path / "missing.tar"))


def test_index_and_random_access_equal_streaming(tmp_path):
    _write(tmp_path, n=3, per=10)
    url = str(tmp_path / "s-000000.tar")
    streamed = list(iter_tar(url))
    with open_shard(url) as f:
        entries = index_tar(f, url)
        assert [e.key for e in entries] == ["k0", "k1", "k2"]
        assert read_entry(f, entries[2], url) == streamed[2]
    assert streamed[2]["0.png"] == b"aa" and streamed[2]["__url__"] == url


def test_fsspec_memory_urls(tmp_path):
    _write(tmp_path / "d", n=4, per=2)
    fs = fsspec.filesystem("memory")
    for p in (tmp_path / "d").iterdir():
        fs.pipe(f"/mem-test/d/{p.name}", p.read_bytes())
    refs = resolve_shards("memory://mem-test/d")
    assert [r.url for r in refs] == ["memory:///mem-test/d/s-000000.tar", "memory:///mem-test/d/s-000001.tar"]
    assert [s["__key__"] for s in iter_tar(refs[1].url)] == ["k2", "k3"] and refs[1].samples == 2
    fs.rm("/mem-test/d/manifest.json")
    assert len(resolve_shards("memory://mem-test/d/s-{000000..000001}.tar")) == 2
    assert len(resolve_shards("file://" + str(tmp_path / "d"))) == 2


def test_broken_tar_raises_shard_error(tmp_path):
    (tmp_path / "bad.tar").write_bytes(b"\x01" * 700)
    with pytest.raises(ShardError, match="bad.tar"):
        list(iter_tar(str(tmp_path / "bad.tar")))
    with pytest.raises(ShardError, match="cannot open"):
        open_shard(str(tmp_path / "nope.tar"))
