"""Streaming helpers: header scans, sizes, destination guards."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from molmo.convert.stream import (
    TensorCounter,
    check_destination,
    parse_convert_dtype,
    scan_safetensors,
    stream_safetensors,
)
from molmo.errors import UserError


def test_parse_convert_dtype():
    assert parse_convert_dtype("keep") is None and parse_convert_dtype(None) is None
    assert parse_convert_dtype("bf16") == torch.bfloat16
    with pytest.raises(UserError, match="unknown dtype"):
        parse_convert_dtype("int4")


def test_scan_and_stream(tmp_path):
    save_file({"a": torch.ones(2, 3), "b": torch.zeros(4, dtype=torch.bfloat16)}, str(tmp_path / "s1.safetensors"))
    save_file({"c": torch.arange(3)}, str(tmp_path / "s2.safetensors"))
    index = {"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    refs = scan_safetensors(tmp_path)
    assert [(r.key, r.shape, r.dtype) for r in refs] == [("a", (2, 3), "F32"), ("b", (4,), "BF16"), ("c", (3,), "I64")]
    counter = TensorCounter()
    out = dict(counter((r.key, t) for r, t in stream_safetensors(refs)))
    assert torch.equal(out["c"], torch.arange(3)) and counter.n_parameters == 13 and counter.main_dtype == "float32"
    save_file({"a": torch.ones(1)}, str(tmp_path / "s2.safetensors"))
    with pytest.raises(UserError, match="appears in both"):
        scan_safetensors(tmp_path)
    (tmp_path / "s2.safetensors").write_bytes(b"garbage")
    with pytest.raises(UserError, match="unreadable safetensors"):
        scan_safetensors(tmp_path)
    (tmp_path / "model.safetensors.index.json").write_text("[]")
    with pytest.raises(UserError, match="not a valid safetensors index"):
        scan_safetensors(tmp_path)
    with pytest.raises(UserError, match="no model.safetensors"):
        scan_safetensors(tmp_path / "s1.safetensors")  # a file, not a directory
    with pytest.raises(UserError, match="no model.safetensors"):
        scan_safetensors(tmp_path.parent)


def test_check_destination(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    check_destination(tmp_path / "new", [src], overwrite=False)
    with pytest.raises(UserError, match="overlaps"):
        check_destination(src / "inner", [src], overwrite=True)
    with pytest.raises(UserError, match="overlaps"):
        check_destination(tmp_path, [src], overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        check_destination(tmp_path / "file", [src], overwrite=True)
