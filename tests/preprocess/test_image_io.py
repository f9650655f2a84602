"""Safe image loading: EXIF orientation, mode conversions, bomb limit, corrupt input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from molmo.errors import UserError
from molmo.preprocess.image_io import image_to_array, load_image, to_rgb


def _bytes(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "photo.jpg"
    image.save(path, format="JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.size == (20, 40) and loaded.mode == "RGB"
    top = np.asarray(loaded)[5, 10]
    assert top[2] > 200 and top[0] < 60  # the blue half is now on top


def test_rgba_composited_on_white():
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    image.putpixel((0, 0), (0, 255, 0, 255))
    out = np.asarray(load_image(_bytes(image)))
    assert tuple(out[0, 0]) == (0, 255, 0) and tuple(out[3, 3]) == (255, 255, 255)
    black = np.asarray(to_rgb(image, background=(0, 0, 0)))
    assert tuple(black[3, 3]) == (0, 0, 0)


def test_greyscale_palette_and_16bit():
    grey = load_image(_bytes(Image.new("L", (3, 3), 77)))
    assert grey.mode == "RGB" and tuple(np.asarray(grey)[1, 1]) == (77, 77, 77)
    palette = Image.new("P", (3, 3), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    assert tuple(np.asarray(load_image(_bytes(palette)))[0, 0]) == (10, 20, 30)
    transparent = palette.copy()
    transparent.info["transparency"] = 1
    assert tuple(np.asarray(to_rgb(transparent))[0, 0]) == (255, 255, 255)
    wide = Image.fromarray(np.full((2, 2), 65535, np.uint16))
    assert tuple(np.asarray(to_rgb(wide))[0, 0]) == (255, 255, 255)
    assert tuple(np.asarray(to_rgb(Image.new("CMYK", (2, 2), (0, 0, 0, 0))))[0, 0]) == (255, 255, 255)


def test_decompression_bomb_limit():
    data = _bytes(Image.new("RGB", (100, 100)))
    with pytest.raises(UserError, match="exceeds the limit of 5000"):
        load_image(data, max_pixels=5000, name="big.png")
    assert load_image(data, max_pixels=10_000).size == (100, 100)
    with pytest.raises(UserError):
        load_image(Image.new("RGB", (100, 100)), max_pixels=10)


def test_corrupt_and_missing_files(tmp_path):
    with pytest.raises(UserError, match="not a readable image") as info:
        load_image(b"this is not an image", name="junk.jpg")
    assert "junk.jpg" in str(info.value) and "\n" not in str(info.value)
    truncated = _bytes(Image.new("RGB", (64, 64), (1, 2, 3)), fmt="JPEG")[:200]
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_image(truncated, name="cut.jpg")
    with pytest.raises(UserError, match="not found"):
        load_image(tmp_path / "missing.png")


def test_file_object_and_path(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (5, 6), (1, 2, 3)).save(path)
    assert load_image(str(path)).size == (5, 6)
    with open(path, "rb") as f:
        assert load_image(f).size == (5, 6)


def test_image_to_array_variants():
    assert image_to_array(Image.new("L", (4, 3), 9)).shape == (3, 4, 3)
    assert image_to_array(np.zeros((3, 4), np.uint8)).shape == (3, 4, 3)
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert image_to_array(rgba).shape == (2, 2, 3)
    floats = image_to_array(np.full((2, 2, 3), 0.5, np.float32))
    assert floats.dtype == np.uint8 and floats[0, 0, 0] == 128
    with pytest.raises(UserError):
        image_to_array(np.zeros((0, 4, 3), np.uint8))
