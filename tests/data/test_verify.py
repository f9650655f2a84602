from __future__ import annotations

import json
import shutil

from molmo.data.manifest import read_manifest, write_manifest
from molmo.data.sample import encode_fields
from molmo.data.verify import verify
from molmo.data.writer import ShardWriter


def test_clean_set_is_ok(shapes_dir):
    report = verify(str(shapes_dir))
    assert report.ok and report.samples == 120 and len(report.shards) == 4
    assert report.to_json()["ok"] is True


def test_finds_tampering_bad_samples_and_leftovers(shapes_dir, tmp_path, png):
    d = tmp_path / "copy"
    shutil.copytree(shapes_dir, d)
    m = read_manifest(d)
    # 1) flip bytes inside a shard's image data -> sha256 mismatch and a corrupt sample
    p = d / m.shards[1].name
    data = bytearray(p.read_bytes())
    i = data.find(b"IDAT")
    data[i + 10 : i + 30] = b"\x00" * 20
    p.write_bytes(bytes(data))
    # 2) an extra shard with a bad json and a bad image, added to the manifest
    good = {"messages": [{"role": "user", "content": "q"}]}
    with ShardWriter(d, "extra") as w:
        w.write(encode_fields("ok", good, [(png, "png")]))
        w.write({"__key__": "badjson", "json": b"{", "png": png})
        w.write({"__key__": "badimg", "json": json.dumps(good).encode(), "png": b"nope"})
    m.shards += w.shards
    # 3) a shard listed but missing, and a leftover temp file
    m.shards.append(type(m.shards[0])("gone.tar", 3, 10, "00"))
    write_manifest(d, m)
    (d / "x.tar.tmp").write_bytes(b"")
    report = verify(str(d), workers=2)
    assert not report.ok
    by_name = {s.name: s for s in report.shards}
    assert "sha256 does not match the manifest" in by_name[m.shards[1].name].problems
    assert by_name[m.shards[0].name].ok
    assert {b["key"] for b in report.bad_samples} >= {"badjson", "badimg"}
    reasons = {b["key"]: b["reason"] for b in report.bad_samples}
    assert "bad json" in reasons["badjson"] and "corrupt image" in reasons["badimg"]
    assert any("cannot open" in p for p in by_name["gone.tar"].problems)
    assert any("half-written" in p for p in report.problems)
