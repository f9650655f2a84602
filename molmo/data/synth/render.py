"""Drawing the tiny-shapes world: palette, backgrounds, shapes, masks and a built-in pixel font.

Every shape is described by ``(kind, cx, cy, half)`` in pixels: it fills the axis-aligned box
``[cx - half, cx + half] x [cy - half, cy + half]``. The same routine draws the RGB scene and
rasterises per-object masks, so masks match the pixels exactly. Numbers use a 5x7 bitmap font
scaled by an integer factor (no font files needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from molmo.data.synth.shapes import Scene, Shape

KINDS = ("circle", "square", "triangle", "diamond")
PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles", "diamond": "diamonds"}
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "orange": (245, 140, 30),
    "purple": (140, 60, 190),
}
# Neutral backgrounds so every shape colour stays distinguishable.
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "light gray": (215, 215, 215),
    "gray": (128, 128, 128),
    "dark gray": (55, 55, 55),
    "black": (0, 0, 0),
    "beige": (240, 230, 205),
}

_FONT = {
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}


def luminance(rgb: tuple[int, int, int]) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def number_box(text: str, scale: int) -> tuple[int, int]:
    """Pixel ``(width, height)`` of ``text`` in the 5x7 font at ``scale`` (1-pixel-column gaps)."""
    return len(text) * 5 * scale + (len(text) - 1) * scale, 7 * scale


def draw_number(
    draw: ImageDraw.ImageDraw, text: str, x: int, y: int, scale: int, fill: tuple[int, int, int]
) -> None:
    """Draw digits with their top-left corner at ``(x, y)``."""
    for i, ch in enumerate(text):
        ox = x + i * 6 * scale
        for row, bits in enumerate(_FONT[ch]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    x0, y0 = ox + col * scale, y + row * scale
                    draw.rectangle([x0, y0, x0 + scale - 1, y0 + scale - 1], fill=fill)


def draw_shape(
    draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, half: float, fill: int | tuple[int, ...]
) -> None:
    """Draw one shape filling the box of half-size ``half`` around ``(cx, cy)``."""
    x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
    if kind == "circle":
        draw.ellipse([x0, y0, x1, y1], fill=fill)
    elif kind == "square":
        draw.rectangle([x0, y0, x1, y1], fill=fill)
    elif kind == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill)
    elif kind == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill)
    else:
        raise ValueError(f"unknown shape kind {kind!r}")


def shape_point(kind: str, cx: float, cy: float, half: float) -> tuple[float, float]:
    """A point well inside the shape: its centre, or the centroid for the triangle."""
    return (cx, cy + half / 3.0) if kind == "triangle" else (cx, cy)


def shape_mask(shape: Shape, width: int, height: int) -> np.ndarray:
    """Boolean ``(height, width)`` mask of one shape, rasterised exactly as it is drawn."""
    im = Image.new("1", (width, height), 0)
    draw_shape(ImageDraw.Draw(im), shape.kind, shape.cx, shape.cy, shape.half, 1)
    return np.asarray(im, dtype=bool)


def render_scene(scene: Scene) -> Image.Image:
    """Render a scene to an RGB image (background, shapes, optional number)."""
    top = BACKGROUNDS[scene.background]
    if scene.gradient is not None:
        bottom = np.asarray(BACKGROUNDS[scene.gradient], dtype=np.float32)
        t = np.linspace(0.0, 1.0, scene.height, dtype=np.float32)[:, None, None]
        rows = (1 - t) * np.asarray(top, dtype=np.float32) + t * bottom
        arr = np.broadcast_to(rows, (scene.height, scene.width, 3)).astype(np.uint8)
        im = Image.fromarray(np.ascontiguousarray(arr), "RGB")
    else:
        im = Image.new("RGB", (scene.width, scene.height), top)
    draw = ImageDraw.Draw(im)
    for s in scene.shapes:
        draw_shape(draw, s.kind, s.cx, s.cy, s.half, COLORS[s.color])
    if scene.number is not None:
        n = scene.number
        draw_number(draw, n.text, n.x, n.y, n.scale, n.ink)
    return im
