"""Fixtures for the data tests: tiny images and a small tiny-shapes shard set."""

from __future__ import annotations

import io

import pytest
from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 6), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def make_image():
    """``make_image(fmt="PNG", size=(8, 6), color=...) -> bytes``."""
    return image_bytes


@pytest.fixture
def png() -> bytes:
    return image_bytes("PNG")


@pytest.fixture
def jpg() -> bytes:
    return image_bytes("JPEG", (16, 12))


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory):
    """120 eval shapes samples in 4 shards of 30 (shared, read-only)."""
    from molmo.data.synth import synth_shapes

    d = tmp_path_factory.mktemp("shapes") / "eval"
    synth_shapes(d, 120, seed=7, split="eval", shard_samples=30)
    return d
