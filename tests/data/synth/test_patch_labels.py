from __future__ import annotations

import numpy as np
import pytest

from molmo.config.preprocess import PreprocessConfig, StretchResize
from molmo.data.synth.patch_labels import (
    HEADS,
    answer_digits,
    dense_targets,
    patch_centres,
    patch_labels,
    patch_positions,
)
from molmo.data.synth.render import COLORS, render_scene
from molmo.data.synth.shapes import Number, Scene, Shape
from molmo.preprocess.crops import image_crops

RESIZE = PreprocessConfig(crop_mode="resize", base_image_size=(224, 224), max_crops=1)
STRETCH = RESIZE.model_copy(update={"resize": StretchResize(antialias=True)})
BLUE = np.asarray(COLORS["blue"], dtype=np.float32) / 255


def _shape_fraction(scene: Scene, config: PreprocessConfig) -> np.ndarray:
    """Fraction of each crop patch whose (un-normalised) pixels are the shape's blue: (n_crops, n_patches)."""
    crops = image_crops(np.asarray(render_scene(scene)), config).crops
    mean, std = np.asarray(config.normalize.mean), np.asarray(config.normalize.std)
    pixels = crops.reshape(*crops.shape[:2], -1, 3) * std + mean
    return (np.abs(pixels - BLUE).max(axis=-1) < 0.02).mean(axis=-1)


def test_square_covering_known_patches_in_a_square_image():
    # 224 px image = the crop: patch (r, c) covers pixels [14r, 14r+14) x [14c, 14c+14)
    scene = Scene(224, 224, "white", shapes=[Shape("square", "blue", cx=70, cy=42, half=27)])  # x 43..97, y 15..69
    labels = patch_labels(scene, RESIZE)
    assert set(labels) == set(HEADS) and labels["kind"].shape == (1, 256)
    kind = labels["kind"][0].reshape(16, 16)
    inside = kind[2:4, 4:6]  # rows 28..55, cols 56..83: fully inside
    assert (inside == HEADS["kind"].index("square")).all()
    assert (labels["color"][0].reshape(16, 16)[2:4, 4:6] == HEADS["color"].index("blue")).all()
    assert kind[8:, :].max() == 0 and kind[:, 8:].max() == 0  # far away: none
    assert labels["digit"].max() == 0


@pytest.mark.parametrize("config", [RESIZE, STRETCH], ids=["letterbox", "stretch"])
@pytest.mark.parametrize("size", [(448, 224), (150, 390)])
def test_labels_follow_the_resize_geometry_of_the_pixels(size, config):
    w, h = size
    scene = Scene(w, h, "white", shapes=[Shape("diamond", "blue", cx=w // 3, cy=h // 2, half=min(w, h) // 4)])
    labels = patch_labels(scene, config, min_cover=0.15)["kind"]
    blue = _shape_fraction(scene, config)
    diamond = HEADS["kind"].index("diamond")
    assert (labels[blue > 0.5] == diamond).all()  # mostly-blue patches are labelled
    assert (labels[blue < 0.02] == 0).all()  # patches without shape pixels are not
    assert (labels == diamond).sum() >= 4


def test_digit_glyphs_are_labelled_left_to_right():
    scene = Scene(224, 224, "white", number=Number("38", x=14, y=112, scale=4, ink=(0, 0, 0)))  # glyphs 20x28 px
    digit = patch_labels(scene, RESIZE)["digit"][0].reshape(16, 16)
    three, eight = HEADS["digit"].index("3"), HEADS["digit"].index("8")
    assert digit[8, 1] == three and digit[8, 3] == eight  # glyph 1: x 14..33, glyph 2: x 38..57
    assert set(np.unique(digit)) == {0, three, eight}


def test_multi_crop_modes_and_empty_scenes():
    tiled = PreprocessConfig(max_crops=4)  # overlap-and-resize-c2: a global crop + tiles
    scene = Scene(300, 120, "gray", shapes=[Shape("circle", "red", 60, 60, 30), Shape("triangle", "green", 200, 60, 30)])
    crops = image_crops(np.asarray(render_scene(scene)), tiled).crops
    labels = patch_labels(scene, tiled)
    assert labels["kind"].shape == crops.shape[:2] and crops.shape[0] > 1
    assert {HEADS["kind"].index("circle"), HEADS["kind"].index("triangle")} <= set(np.unique(labels["kind"]))
    empty = patch_labels(Scene(300, 120, "gray"), tiled)
    assert all(v.shape == crops.shape[:2] and v.max() == 0 for v in empty.values())


def test_patch_positions_are_image_percent_through_the_letterbox():
    xy, valid = patch_positions(224, 224, RESIZE)
    assert xy.shape == (1, 256, 2) and valid.all()
    assert np.allclose(xy[0, 17], [100 * 21 / 224, 100 * 21 / 224], atol=1e-3)  # patch (1, 1): centre 21 px
    xy, valid = patch_positions(448, 224, RESIZE)  # image rows 4..11 of the 16-row crop; the rest is padding
    rows = valid[0].reshape(16, 16)
    assert not rows[:4].any() and rows[4:12].all() and not rows[12:].any()
    grid = xy[0].reshape(16, 16, 2)
    assert np.allclose(grid[4, 0], [3.125, 6.25], atol=0.01) and np.allclose(grid[11, 15], [96.875, 93.75], atol=0.01)


def test_patch_positions_of_a_stretched_image_are_the_crop_grid():
    xy, valid = patch_positions(448, 160, STRETCH)  # no padding: image percent = crop percent
    assert valid.all()
    grid = xy[0].reshape(16, 16, 2)
    assert np.allclose(grid[0, 0], [3.125, 3.125], atol=0.01) and np.allclose(grid[15, 15], [96.875, 96.875], atol=0.01)
    assert np.allclose(grid[5, 9], [100 * (9 * 14 + 7) / 224, 100 * (5 * 14 + 7) / 224], atol=0.01)


def test_patch_centres_give_every_patch_of_a_shape_its_answer_point():
    square = Shape("square", "blue", cx=70, cy=42, half=27)
    triangle = Shape("triangle", "red", cx=168, cy=150, half=30)  # answer point: the centroid, 10 px lower
    scene = Scene(448, 224, "white", shapes=[square, triangle], number=Number("7", x=300, y=20, scale=4, ink=(0, 0, 0)))
    xy, valid = patch_centres(scene, RESIZE)
    labels = patch_labels(scene, RESIZE)
    assert xy.shape == (1, 256, 2) and np.array_equal(valid, labels["kind"] > 0)  # digits are not shapes
    is_square = labels["kind"][0] == HEADS["kind"].index("square")
    is_triangle = labels["kind"][0] == HEADS["kind"].index("triangle")
    assert is_square.sum() >= 4 and is_triangle.sum() >= 4
    assert np.allclose(xy[0, is_square], [100 * 70 / 448, 100 * 42 / 224], atol=1e-4)
    assert np.allclose(xy[0, is_triangle], [100 * 168 / 448, 100 * 160 / 224], atol=1e-4)
    classes, (xy2, valid2) = dense_targets(scene, RESIZE)
    assert all(np.array_equal(classes[h], labels[h]) for h in HEADS)
    assert np.array_equal(xy2, xy) and np.array_equal(valid2, valid)


def test_patch_centres_of_scenes_without_shapes_are_all_invalid():
    for scene in (Scene(300, 120, "gray"), Scene(224, 224, "white", number=Number("38", 14, 112, 4, (0, 0, 0)))):
        xy, valid = patch_centres(scene, RESIZE)
        assert xy.shape == (1, 256, 2) and not valid.any()


def test_answer_digits_are_the_digits_a_point_answer_writes():
    import re

    from molmo.preprocess.points import format_points

    pts = np.asarray([[31.24, 42.2], [5.0, 99.96], [0.04, 100.0], [9.96, 10.0]], dtype=np.float32)
    assert answer_digits(pts).tolist() == [[3, 1, 4, 2], [0, 5, 9, 9], [0, 0, 9, 9], [1, 0, 1, 0]]
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 99.9, size=(500, 2)).astype(np.float32)
    pts[:50] = np.round(pts[:50] * 10) / 10 + 0.05  # values on the rounding boundary too
    digits = answer_digits(pts)
    for (x, y), d in zip(pts, digits):
        written = re.findall(r'[xy]="(\d+)\.', format_points([(float(x), float(y))], "s"))  # x="31.2" y="7.0"
        assert [int(c) for c in written[0].zfill(2) + written[1].zfill(2)] == d.tolist()
    assert answer_digits(np.zeros((2, 3, 2))).shape == (2, 3, 4)
