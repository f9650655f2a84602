"""``verify``: fixed inputs, and the logit comparison catching broken conversions."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from molmo.config.model import MolmoConfig
from molmo.convert.hf_molmo import from_hf, to_hf
from molmo.convert.verify import VerifyReport, fixed_inputs, verify_hf_molmo
from molmo.errors import UserError


def test_fixed_inputs_layout(hf_factory):
    ids = {"bos": 0, "eos": 0, "pad": 0, "image_start": 320, "image_end": 321, "image_patch": 322, "image_col": 323,
           "image_prompt": 324}  # fmt: skip
    config = MolmoConfig.model_validate({**hf_factory.tiny_config().model_dump(), "special_tokens": ids})
    inputs = fixed_inputs(config, tokens_per_crop=4, n_crops=2, n_text=8)
    ids = inputs["input_ids"]
    assert ids.shape == (1, 2 + 8 + 1 + 8) and int((ids == 322).sum()) == 8
    assert torch.equal(ids[0, inputs["image_input_idx"].flatten()], torch.full((8,), 322))
    assert inputs["images"].shape == (1, 2, 16, 588) and inputs["image_masks"][0, 1].min() == 0
    assert torch.equal(fixed_inputs(config, 4)["images"], inputs["images"])  # deterministic
    with pytest.raises(UserError, match="special token"):
        fixed_inputs(hf_factory.tiny_config(), 4)


def test_both_directions_and_dtype_rounding(hf_molmo_dir, tmp_path):
    from_hf(hf_molmo_dir, tmp_path / "native", dtype="bf16")
    report = verify_hf_molmo(hf_molmo_dir, tmp_path / "native", round_to="native", tolerance=1e-5)
    assert report.ok and report.diffs == {"logits": 0.0}
    unrounded = verify_hf_molmo(hf_molmo_dir, tmp_path / "native", round_to="hf", tolerance=1e-5)
    assert not unrounded.ok  # without rounding the source, bf16 error shows
    to_hf(tmp_path / "native", tmp_path / "hf", dtype="fp16")
    assert verify_hf_molmo(tmp_path / "hf", tmp_path / "native", round_to="hf", tolerance=1e-5).ok


def test_detects_wrong_weights_and_wrong_config(hf_molmo_dir, tmp_path):
    from_hf(hf_molmo_dir, tmp_path / "native")
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "native", broken)
    state = load_file(str(broken / "model.safetensors"))
    w = state["vision_backbone.image_pooling_2d.wk.weight"]
    state["vision_backbone.image_pooling_2d.wk.weight"] = w.flip(0)  # a wrong layout, same shape
    save_file(state, str(broken / "model.safetensors"), metadata={"format": "pt"})
    report = verify_hf_molmo(hf_molmo_dir, broken, tolerance=1e-4)
    assert not report.ok and report.diffs["logits"] > 1e-4

    wrong_cfg = tmp_path / "hf-theta"
    shutil.copytree(hf_molmo_dir, wrong_cfg)
    cfg = json.loads((wrong_cfg / "config.json").read_text())
    (wrong_cfg / "config.json").write_text(json.dumps({**cfg, "rope_theta": 10.0}))
    assert not verify_hf_molmo(wrong_cfg, tmp_path / "native", tolerance=1e-4).ok


def test_report():
    report = VerifyReport({"a": 1e-6, "b": 2e-3}, tolerance=1e-3)
    assert not report.ok and report.as_dict() == {"max_abs_diff": {"a": 1e-6, "b": 2e-3}, "tolerance": 1e-3,
                                                  "ok": False}  # fmt: skip
