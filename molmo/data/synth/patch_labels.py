"""Dense per-patch labels of a tiny-shapes scene, in the preprocessor's exact crop geometry.

The labels teach a from-scratch ViT what the scene is made of before it is joined to a decoder
(:mod:`molmo.train.vit_pretrain`), much as released Molmo starts from a pretrained CLIP: for every
patch of every crop, which shape kind, which colour and which digit covers it ("none" if nothing).

How the geometry is kept exact: each object's mask (a shape, or one digit glyph) is pushed, three
masks to an image, through the same :func:`molmo.preprocess.crops.image_crops` as the RGB image
(resizing is linear, so a patch's mean over a mask channel is the fraction of the patch the object
covers); the normalisation is undone afterwards. Every crop mode and tiling therefore works unchanged::

    scene (H, W)  -> objects    [(classes, bool mask (H, W))]  shapes and digit glyphs
                  -> coverage   (n_crops, n_patches, n_objects) fractions in [0, 1]
                  -> labels     {head: int (n_crops, n_patches)} class of the best object, 0 below ``min_cover``
                  -> centres    (n_crops, n_patches, 2) the best shape's point in image percent (+ valid mask)
                  -> digits     (n_crops, n_patches, 4) that point's tens/units digits as written in answers
"""

from __future__ import annotations

import numpy as np

from molmo.config.preprocess import PreprocessConfig
from molmo.data.synth.render import COLORS, KINDS, number_box, shape_mask, shape_point
from molmo.data.synth.shapes import Scene
from molmo.preprocess.crops import image_crops
from molmo.preprocess.points import format_coordinate, to_percent

#: head name -> class names; class 0 is always "none".
HEADS: dict[str, tuple[str, ...]] = {
    "kind": ("none", *KINDS),
    "color": ("none", *COLORS),
    "digit": ("none", *"0123456789"),
}


def instance_masks(scene: Scene) -> list[tuple[dict[str, int], np.ndarray]]:
    """Every labelled object of a scene with its classes and bool ``(H, W)`` mask: the shapes
    (``kind``, ``color``) and each digit glyph of the number (``digit``; its 5x7 cell)."""
    h, w = scene.height, scene.width
    out = [
        ({"kind": HEADS["kind"].index(s.kind), "color": HEADS["color"].index(s.color)}, shape_mask(s, w, h))
        for s in scene.shapes
    ]
    if scene.number is not None:
        n = scene.number
        glyph_w, glyph_h = number_box("0", n.scale)
        for i, ch in enumerate(n.text):
            mask = np.zeros((h, w), dtype=bool)
            x0 = n.x + i * 6 * n.scale
            mask[n.y : n.y + glyph_h, x0 : x0 + glyph_w] = True
            out.append(({"digit": HEADS["digit"].index(ch)}, mask))
    return out


def _crop_patch_means(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Push a float ``(H, W, 3)`` image in [0, 1] through the crop code, undo the normalisation, and
    average each patch: ``(n_crops, n_patches, 3)`` (letterbox padding counts as 0)."""
    crops = image_crops(image, config).crops  # (n_crops, n_patches, p*p*3), normalised
    mean = np.asarray(config.normalize.mean, dtype=np.float32)
    std = np.asarray(config.normalize.std, dtype=np.float32)
    return (crops.reshape(*crops.shape[:2], -1, 3) * std + mean).mean(axis=2)


def patch_coverage(masks: list[np.ndarray], config: PreprocessConfig) -> np.ndarray:
    """Fraction of each crop patch that each mask covers: ``(n_crops, n_patches, len(masks))``."""
    parts = []
    for start in range(0, len(masks), 3):
        group = masks[start : start + 3]
        stacked = np.zeros((*group[0].shape, 3), dtype=np.float32)
        for c, mask in enumerate(group):
            stacked[..., c] = mask
        parts.append(_crop_patch_means(stacked, config)[..., : len(group)])
    return np.clip(np.concatenate(parts, axis=-1), 0.0, 1.0)


def patch_labels(scene: Scene, config: PreprocessConfig, min_cover: float = 0.15) -> dict[str, np.ndarray]:
    """``{head: int64 (n_crops, n_patches)}``: the class of the object covering most of each patch,
    if it covers at least ``min_cover`` of it, else 0 ("none")."""
    return dense_targets(scene, config, min_cover)[0]


def patch_centres(scene: Scene, config: PreprocessConfig, min_cover: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Where the shape covering each patch points, in the units of Molmo's point answers.

    Returns ``(xy, valid)``: ``xy`` float32 ``(n_crops, n_patches, 2)``, the answer point
    (:func:`~molmo.data.synth.render.shape_point`, in percent of the image width/height) of the shape
    covering most of the patch; ``valid`` bool ``(n_crops, n_patches)``, patches a shape covers at least
    ``min_cover`` of (exactly the patches whose ``kind`` label is not "none"). Unlike
    :func:`patch_positions`, every patch of one shape gets the same target: regressing it teaches the
    ViT where the whole object is, finer than the patch grid it sits on.
    """
    return dense_targets(scene, config, min_cover)[1]


def dense_targets(
    scene: Scene, config: PreprocessConfig, min_cover: float = 0.15
) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """:func:`patch_labels` and :func:`patch_centres` of one scene from one coverage computation."""
    objects = instance_masks(scene)
    if objects:
        coverage = patch_coverage([mask for _, mask in objects], config)  # (n_crops, n_patches, n_objects)
    else:  # nothing drawn: every patch is "none" (the crop count still follows the image size)
        n_crops, n_patches = image_crops(np.zeros((scene.height, scene.width, 3), np.uint8), config).crops.shape[:2]
        coverage = np.zeros((n_crops, n_patches, 0), dtype=np.float32)
    labels = {}
    for head in HEADS:
        idx = [i for i, (classes, _) in enumerate(objects) if head in classes]
        out = np.zeros(coverage.shape[:2], dtype=np.int64)
        if idx:
            cov = coverage[..., idx]
            cls = np.asarray([objects[i][0][head] for i in idx])[cov.argmax(axis=-1)]
            out = np.where(cov.max(axis=-1) >= min_cover, cls, 0).astype(np.int64)
        labels[head] = out
    if not scene.shapes:
        return labels, (np.zeros((*coverage.shape[:2], 2), dtype=np.float32), np.zeros(coverage.shape[:2], dtype=bool))
    shapes = coverage[..., : len(scene.shapes)]  # instance_masks lists the shapes first, in scene order
    pixels = [shape_point(s.kind, s.cx, s.cy, s.half) for s in scene.shapes]
    points = np.asarray(to_percent(pixels, scene.width, scene.height), dtype=np.float32)  # as the answers
    return labels, (points[shapes.argmax(axis=-1)], shapes.max(axis=-1) >= min_cover)


def answer_digits(points: np.ndarray) -> np.ndarray:
    """The tens and units digits of point coordinates as a Molmo point answer writes them.

    ``points`` float ``(..., 2)`` in image percent -> int64 ``(..., 4)``: x tens, x units, y tens,
    y units of the value as :func:`~molmo.preprocess.points.format_coordinate` writes it (100.0,
    drawn only on the last pixel, counts as 99). What a decoder must copy out of a patch to write
    ``x="31.2"``. Each distinct value is formatted once (a scene has a few shapes, many patches).
    """
    values, inverse = np.unique(np.asarray(points), return_inverse=True)
    whole = np.asarray([min(int(format_coordinate(float(v)).split(".")[0]), 99) for v in values], dtype=np.int64)
    whole = whole[inverse.reshape(np.shape(points))]  # (..., 2), 0..99
    return np.stack([whole[..., 0] // 10, whole[..., 0] % 10, whole[..., 1] // 10, whole[..., 1] % 10], axis=-1)


def patch_positions(width: int, height: int, config: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
    """Where each crop patch lies in the image, in the units of Molmo's point answers.

    Returns ``(xy, valid)``: ``xy`` float32 ``(n_crops, n_patches, 2)``, the mean (x, y) of the patch's
    real pixels in percent of the image width/height (0-100); ``valid`` bool ``(n_crops, n_patches)``,
    patches at least half real pixels (not letterbox padding). Pushed through the same crop code as
    the pixels, like the labels.
    """
    xs = (np.arange(width, dtype=np.float32) + 0.5) / width
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height
    grid = np.stack([np.broadcast_to(xs[None, :], (height, width)), np.broadcast_to(ys[:, None], (height, width)),
                     np.ones((height, width), dtype=np.float32)], axis=-1)
    sums = _crop_patch_means(grid, config)  # padding is 0 in every channel
    real = sums[..., 2]
    xy = 100.0 * sums[..., :2] / np.maximum(real, 1e-6)[..., None]
    return xy.astype(np.float32), real >= 0.5
