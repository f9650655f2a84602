from __future__ import annotations

import json

import pytest

from molmo.data.manifest import (
    Manifest,
    ShardInfo,
    prepare_destination,
    read_manifest,
    sha256_file,
    write_manifest,
)
from molmo.errors import UserError


def test_roundtrip_and_atomic_write(tmp_path):
    m = Manifest(shards=[ShardInfo("s-000000.tar", 3, 1024, "ab")], source={"kind": "x"}, records_done=4)
    m.add_failure(2, "k", "corrupt image")
    write_manifest(tmp_path, m)
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
    back = read_manifest(tmp_path)
    assert back.to_json() == m.to_json() and back.samples == 3 and back.failures_total == 1
    assert json.loads((tmp_path / "manifest.json").read_text())["samples"] == 3


def test_malformed_manifest_is_user_error(tmp_path):
    (tmp_path / "manifest.json").write_text('{"shards": [{"name": 1}]}')
    with pytest.raises(UserError, match="malformed manifest"):
        read_manifest(tmp_path)
    assert read_manifest(tmp_path / "nothing") is None


def test_sha256_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_prepare_destination_rules(tmp_path):
    src = {"kind": "pack", "src": "a"}
    m = prepare_destination(tmp_path / "d", src, resume=True, overwrite=False)
    assert m.source == src and not m.complete
    write_manifest(tmp_path / "d", m)
    (tmp_path / "d" / "shard-000000.tar.tmp").write_bytes(b"half")
    again = prepare_destination(tmp_path / "d", src, resume=True, overwrite=False)
    assert again.source == src and not (tmp_path / "d" / "shard-000000.tar.tmp").exists()
    with pytest.raises(UserError, match="another source"):
        prepare_destination(tmp_path / "d", {"kind": "other"}, resume=True, overwrite=False)
    with pytest.raises(UserError, match="already holds"):
        prepare_destination(tmp_path / "d", src, resume=False, overwrite=False)
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "x.tar").write_bytes(b"")
    with pytest.raises(UserError, match="no manifest"):
        prepare_destination(tmp_path / "e", src, resume=True, overwrite=False)
    assert prepare_destination(tmp_path / "e", src, resume=True, overwrite=True).shards == []
    assert not (tmp_path / "e" / "x.tar").exists()
