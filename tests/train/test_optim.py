from __future__ import annotations

import torch

from molmo.config.train import Lion, OptimConfig
from molmo.train.optim import LionOptimizer, apply_freezing, build_optimizer, component_of, param_groups

from .toy import ToyMolmo


def test_component_of_follows_molmo_split():
    assert component_of("vision_backbone.image_vit.transformer.resblocks.0.attention.wq.weight") == "vit"
    assert component_of("vision_backbone.image_pooling_2d.wq.weight") == "connector"
    assert component_of("vision_backbone.pad_embed") == "connector"
    assert component_of("transformer.wte.new_embedding") == "connector"
    assert component_of("transformer.blocks.0.att_proj.weight") == "llm"
    assert component_of("transformer.ff_out.weight") == "llm"


def test_groups_freezing_and_no_decay():
    model = ToyMolmo()
    cfg = OptimConfig.model_validate({"vit": {"frozen": True}, "llm": {"weight_decay": 0.1, "lr": 3e-5}})
    counts = apply_freezing(model, cfg)
    assert counts["vit"] == 0
    assert not model.transformer.wte.embedding.requires_grad  # freeze_embedding default
    groups = param_groups(model, cfg)
    names = {g["name"] for g in groups}
    assert "vit" not in names and "vit.no_decay" not in names
    llm_decay = next(g for g in groups if g["name"] == "llm")
    assert llm_decay["weight_decay"] == 0.1 and llm_decay["peak_lr"] == 3e-5
    assert all(p.ndim >= 2 for p in llm_decay["params"])
    no_decay = next(g for g in groups if g["name"] == "llm.no_decay")
    assert no_decay["weight_decay"] == 0.0 and all(p.ndim < 2 for p in no_decay["params"])
    connector = [g for g in groups if g["component"] == "connector"]
    assert any(p is model.transformer.wte.new_embedding for g in connector for p in g["params"])


def test_lion_moves_by_lr_times_sign():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = LionOptimizer([p], lr=0.1, betas=(0.9, 0.99))
    p.grad = torch.tensor([0.5, -0.1, 0.0])
    opt.step()
    assert torch.allclose(p.detach(), torch.tensor([0.9, -1.9, 3.0]))
    cfg = OptimConfig.model_validate({"optimizer": {"kind": "lion"}})
    assert isinstance(cfg.optimizer, Lion)
    assert isinstance(build_optimizer([{"params": [p], "lr": 0.1}], cfg), LionOptimizer)
