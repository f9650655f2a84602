from __future__ import annotations

import math

import pytest

from molmo.config.train import ConstantSchedule, CosineSchedule, LinearSchedule
from molmo.train.schedule import lr_factor, set_group_lrs


def test_warmup_is_linear_from_zero():
    shape = CosineSchedule()
    assert lr_factor(shape, 0, 10, 100) == 0.0
    assert lr_factor(shape, 5, 10, 100) == pytest.approx(0.5)
    assert lr_factor(shape, 10, 10, 100) == pytest.approx(1.0)


def test_cosine_ends_at_alpha_f():
    shape = CosineSchedule(alpha_f=0.1)
    assert lr_factor(shape, 100, 10, 100) == pytest.approx(0.1)
    mid = lr_factor(shape, 55, 10, 100)
    assert mid == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_linear_and_constant():
    assert lr_factor(LinearSchedule(alpha_f=0.0), 60, 10, 110) == pytest.approx(0.5)
    assert lr_factor(ConstantSchedule(), 99, 10, 100) == 1.0


def test_per_group_peaks_and_warmups():
    groups = [
        {"component": "connector", "peak_lr": 2e-4, "warmup": 2},
        {"component": "llm", "peak_lr": 2e-5, "warmup": 4},
    ]
    lrs = set_group_lrs(groups, ConstantSchedule(), step=2, total=10)
    assert lrs == {"connector": pytest.approx(2e-4), "llm": pytest.approx(1e-5)}
    assert groups[1]["lr"] == pytest.approx(1e-5)
