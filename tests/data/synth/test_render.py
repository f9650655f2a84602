from __future__ import annotations

import numpy as np

from molmo.data.synth.render import COLORS, number_box, render_scene, shape_mask, shape_point
from molmo.data.synth.shapes import Number, Scene, Shape


def test_masks_match_rendered_pixels():
    shapes = [
        Shape("circle", "red", 20, 20, 10),
        Shape("square", "blue", 60, 20, 8),
        Shape("triangle", "green", 20, 60, 12),
        Shape("diamond", "yellow", 60, 60, 9),
    ]
    scene = Scene(width=90, height=80, background="white", shapes=shapes)
    arr = np.asarray(render_scene(scene))
    for s in shapes:
        mask = shape_mask(s, 90, 80)
        assert mask.sum() > 0.3 * (2 * s.half) ** 2
        assert (arr[mask] == COLORS[s.color]).all()
        x, y = shape_point(s.kind, s.cx, s.cy, s.half)
        assert mask[round(y), round(x)]
    background = ~np.logical_or.reduce([shape_mask(s, 90, 80) for s in shapes])
    assert (arr[background] == 255).all()


def test_number_and_gradient():
    scene = Scene(
        width=70, height=40, background="white", gradient="beige", number=Number("407", 3, 4, 2, (0, 0, 0))
    )
    arr = np.asarray(render_scene(scene))
    w, h = number_box("407", 2)
    assert (w, h) == (34, 14)
    ink = (arr == 0).all(axis=2)
    ys, xs = np.nonzero(ink)
    assert xs.min() >= 3 and xs.max() < 3 + w and ys.min() >= 4 and ys.max() < 4 + h and ink.sum() > 40
    assert tuple(arr[0, 60]) == (255, 255, 255) and tuple(arr[-1, 60]) != (255, 255, 255)
