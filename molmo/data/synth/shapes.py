"""The tiny-shapes world: random scenes and one question per sample (DESIGN §4).

A scene has 1–6 non-overlapping shapes (circle, square, triangle, diamond) in 6 colours with
varied sizes, on a plain or gradient neutral background, in an image of 64–640 px per side
(aspect ratio up to 2.5, so multi-crop tiling is exercised), plus — in a quarter of the scenes and
always for ``read`` — a 1–3 digit number drawn with a pixel font. Object sizes have floors relative
to the image's longer side (:data:`SHAPE_MIN`, :data:`NUMBER_MIN`), so a scene stays legible when
shrunk whole into one 224-px crop.

Each sample is ONE scene with ONE question (images are cheap; every sample sees a new scene):

=======  ==============  ===================================================================
task     style           question -> answer
=======  ==============  ===================================================================
caption  short_caption   "Describe this image." -> "a red circle, a blue square and a green
                         triangle" (left to right; ", and the number 42" when one is drawn)
color    short_answer    "What color is the square?" (a kind present exactly once) -> "red"
count    point_count     "How many circles are there?" -> "Counting the <points x1=… alt=
                         \\"circles\\">circles</points> shows a total of 2." ("There are none.")
count    only_count      "How many circles are there? Answer with a number." -> "2"
point    pointing        "Point to the red circle." / "Point to all the triangles." -> Molmo
                         ``<point>``/``<points>`` (percent, one decimal, sorted by x*10000+y)
read     short_answer    "What number is written in the image?" -> "42"
locate   short_answer    "What is the x coordinate of the red circle?" -> "31.2" (training only,
                         never in the default stream: the point answer's x or y, in percent)
=======  ==============  ===================================================================

Training dialogs (``questions > 1``, train split only): one scene, every task asked once (``read``
only when a number is drawn) plus extra count/point questions, in random order — train them with
``[data] split_turns = true`` so each pair is its own conversation about the image.

``meta`` holds the scene description (``scene``) and ``(split, seed, index)``. Eval samples also
carry ``refs``: ``answers`` (the exact target), and for count/point ``count``, ``points`` (pixel
``[x, y]`` in answer order), ``masks`` (RLE, aligned with points) and ``label``.

Determinism: sample ``i`` of ``(split, seed)`` is drawn from ``random.Random("shapes/<split>/<seed>/<i>")``,
so it does not depend on how many samples are made, and train/eval can never produce the same stream.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from molmo.data.masks import encode_rle
from molmo.data.synth.render import (
    BACKGROUNDS,
    COLORS,
    KINDS,
    PLURALS,
    luminance,
    number_box,
    render_scene,
    shape_mask,
    shape_point,
)
from molmo.preprocess.points import NONE_ANSWER, format_coordinate, to_percent
from molmo.preprocess.points import format_points as molmo_points

TASK_WEIGHTS = {"caption": 0.2, "color": 0.2, "count": 0.2, "point": 0.25, "read": 0.15}
# Training-only tasks: asked only when named in ``tasks`` (never in the default or eval streams).
# ``locate`` asks for one coordinate of one object: its answer comes first, right after the question,
# where the model already finds the object a colour question names, so the object -> position readout
# that pointing needs gets a direct signal (see the README's tiny-shapes notes).
TRAIN_ONLY_TASKS = {"locate": 0.2}
ALL_TASK_WEIGHTS = {**TASK_WEIGHTS, **TRAIN_ONLY_TASKS}


def training_only(tasks: tuple[str, ...] | None) -> list[str]:
    """The training-only tasks among ``tasks`` (sorted; none for the default stream)."""
    return sorted(set(tasks or ()) & set(TRAIN_ONLY_TASKS))

SPLITS = ("train", "eval")
MAX_SHAPES = 6
# Legibility floors relative to the LONGER side, so every object stays readable when the whole image
# is shrunk to one small crop (the demo model sees 224 px): a shape's half-size is at least 5.5 % of
# it (>= 24 px wide at 224 px), a digit at least 13 % of it tall (>= 29 px at 224 px).
SHAPE_MIN = 0.055
NUMBER_MIN = 0.13
_LIGHT = ("white", "light gray", "beige")
_DARK = ("dark gray", "black")

CAPTION_PROMPTS = (
    "Describe this image.",
    "What shapes are in this image?",
    "List the shapes from left to right.",
)
COLOR_PROMPTS = ("What color is the {kind}?", "Which color does the {kind} have?")
COUNT_PROMPTS = ("How many {plural} are there?", "Count the {plural}.", "Point to and count the {plural}.")
ONLY_COUNT_PROMPT = "How many {plural} are there? Answer with a number."
POINT_ONE_PROMPTS = ("Point to the {color} {kind}.", "Where is the {color} {kind}?")
POINT_ALL_PROMPTS = ("Point to all the {plural}.", "Point to the {plural}.")
READ_PROMPTS = ("What number is written in the image?", "Read the number in the image.")
LOCATE_PROMPTS = ("What is the {axis} coordinate of the {what}?", "Give the {axis} coordinate of the {what}.")


@dataclass
class Shape:
    """One shape filling the box of half-size ``half`` around ``(cx, cy)`` (integer pixels)."""

    kind: str
    color: str
    cx: int
    cy: int
    half: int


@dataclass
class Number:
    """A number drawn with the pixel font, top-left at ``(x, y)``."""

    text: str
    x: int
    y: int
    scale: int
    ink: tuple[int, int, int]


@dataclass
class Scene:
    width: int
    height: int
    background: str
    gradient: str | None = None
    shapes: list[Shape] = field(default_factory=list)
    number: Number | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _overlaps(
    box: tuple[float, float, float, float], boxes: list[tuple[float, float, float, float]], gap: float
) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + gap and b[0] < x1 + gap and y0 < b[3] + gap and b[1] < y1 + gap for b in boxes)


def make_scene(rng: random.Random, n_shapes: int, with_number: bool) -> Scene:
    """Draw image size, background, an optional number and up to ``n_shapes`` non-overlapping shapes."""
    w = round(math.exp(rng.uniform(math.log(64), math.log(640))))
    while True:
        h = round(math.exp(rng.uniform(math.log(64), math.log(640))))
        if max(w, h) / min(w, h) <= 2.5:
            break
    m, big = min(w, h), max(w, h)
    bg = rng.choice(list(BACKGROUNDS))
    group = _LIGHT if bg in _LIGHT else _DARK if bg in _DARK else (bg,)
    gradient = rng.choice(group) if rng.random() < 0.3 and len(group) > 1 else None
    scene = Scene(width=w, height=h, background=bg, gradient=gradient if gradient != bg else None)
    boxes: list[tuple[float, float, float, float]] = []
    if with_number:
        digits = rng.randint(1, 3)
        text = str(rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1))
        scale = max(2, math.ceil(max(m * rng.uniform(0.10, 0.20), NUMBER_MIN * big) / 7))
        while scale > 1 and number_box(text, scale)[0] > w - 8:
            scale -= 1
        bw, bh = number_box(text, scale)
        x, y = rng.randint(2, w - bw - 2), rng.randint(2, h - bh - 2)
        ink = (0, 0, 0) if luminance(BACKGROUNDS[bg]) >= 100 else (255, 255, 255)
        scene.number = Number(text=text, x=x, y=y, scale=scale, ink=ink)
        boxes.append((x, y, x + bw, y + bh))
    lo = max(4.0, 0.05 * m, SHAPE_MIN * big)
    hi = max(lo + 2.0, 6.0, 0.17 * m)
    for _ in range(n_shapes):
        for _attempt in range(60):
            half = int(rng.uniform(lo, hi))
            cx, cy = rng.randint(half + 1, w - half - 2), rng.randint(half + 1, h - half - 2)
            box = (cx - half, cy - half, cx + half, cy + half)
            if not _overlaps(box, boxes, gap=2):
                boxes.append(box)
                scene.shapes.append(Shape(rng.choice(KINDS), rng.choice(list(COLORS)), cx, cy, half))
                break
    scene.shapes.sort(key=lambda s: (s.cx, s.cy))
    return scene


def format_points(
    points: list[tuple[float, float]], width: int, height: int, label: str, alt: str
) -> tuple[str, list[int]]:
    """Molmo point text for pixel ``points`` (via ``molmo.preprocess.points``) and the order used.

    The order is Molmo's (percent ``x * 10000 + y``), so refs can list points/masks in answer order.
    """
    pct = to_percent(points, width, height)
    order = sorted(range(len(pct)), key=lambda i: pct[i][0] * 10000 + pct[i][1])
    return molmo_points([pct[i] for i in order], label, alt), order


def join_phrases(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def caption(scene: Scene) -> str:
    """Shapes left to right (``a red circle, an orange square and …``), then the number if drawn."""
    text = join_phrases(
        [f"{'an' if s.color[0] in 'aeiou' else 'a'} {s.color} {s.kind}" for s in scene.shapes]
    )
    return f"{text}, and the number {scene.number.text}" if scene.number else text


def _pointing(scene: Scene, targets: list[Shape], label: str, eval_refs: bool) -> tuple[str, dict[str, Any]]:
    """Point text for ``targets`` and the matching refs (points/masks in answer order)."""
    if not targets:
        return NONE_ANSWER, {"count": 0, "points": [], "masks": [], "label": label}
    pts = [shape_point(s.kind, s.cx, s.cy, s.half) for s in targets]
    text, order = format_points(pts, scene.width, scene.height, label, label)
    refs: dict[str, Any] = {
        "count": len(targets),
        "points": [[round(pts[i][0], 2), round(pts[i][1], 2)] for i in order],
        "label": label,
    }
    if eval_refs:
        refs["masks"] = [encode_rle(shape_mask(targets[i], scene.width, scene.height)) for i in order]
    return text, refs


def ask(rng: random.Random, scene: Scene, task: str, eval_refs: bool) -> tuple[str, str, str, dict[str, Any]]:
    """Pick the question for ``task`` on ``scene``: returns ``(style, question, answer, refs)``."""
    kinds = [s.kind for s in scene.shapes]
    if task == "caption":
        return "short_caption", rng.choice(CAPTION_PROMPTS), caption(scene), {}
    if task == "color":
        unique = [k for k in KINDS if kinds.count(k) == 1]
        if not unique:  # at most 3 kinds present (each twice or more): re-kind the first shape
            scene.shapes[0].kind = next(k for k in KINDS if k not in kinds)
            unique = [scene.shapes[0].kind]
        kind = rng.choice(unique)
        color = next(s.color for s in scene.shapes if s.kind == kind)
        return "short_answer", rng.choice(COLOR_PROMPTS).format(kind=kind), color, {}
    if task == "read":
        assert scene.number is not None
        return "short_answer", rng.choice(READ_PROMPTS), scene.number.text, {}
    if task == "locate":
        return _locate(rng, scene)
    absent = [k for k in KINDS if k not in kinds]
    if task == "count":
        kind = rng.choice(absent) if absent and rng.random() < 0.15 else rng.choice(kinds)
        plural = PLURALS[kind]
        targets = [s for s in scene.shapes if s.kind == kind]
        if rng.random() < 0.4:
            _, refs = _pointing(scene, targets, plural, eval_refs)
            return "only_count", ONLY_COUNT_PROMPT.format(plural=plural), str(len(targets)), refs
        text, refs = _pointing(scene, targets, plural, eval_refs)
        answer = text if not targets else f"Counting the {text} shows a total of {len(targets)}."
        return "point_count", rng.choice(COUNT_PROMPTS).format(plural=plural), answer, refs
    if task == "point":
        pairs = [(s.color, s.kind) for s in scene.shapes]
        single = [s for s in scene.shapes if pairs.count((s.color, s.kind)) == 1]
        if single and rng.random() < 0.5:
            s = rng.choice(single)
            label = f"{s.color} {s.kind}"
            text, refs = _pointing(scene, [s], label, eval_refs)
            return "pointing", rng.choice(POINT_ONE_PROMPTS).format(color=s.color, kind=s.kind), text, refs
        kind = rng.choice(absent) if absent and rng.random() < 0.1 else rng.choice(kinds)
        plural = PLURALS[kind]
        text, refs = _pointing(scene, [s for s in scene.shapes if s.kind == kind], plural, eval_refs)
        return "pointing", rng.choice(POINT_ALL_PROMPTS).format(plural=plural), text, refs
    raise ValueError(f"unknown shapes task {task!r}")


def _locate(rng: random.Random, scene: Scene) -> tuple[str, str, str, dict[str, Any]]:
    """One coordinate of one shape, named by colour and kind ("the red circle") or, when its kind is
    there once, sometimes by kind alone ("the circle"). Every shape sharing its colour and kind with
    another: the first one is recoloured so it can be named (like ``color`` re-kinds a shape)."""
    pairs = [(s.color, s.kind) for s in scene.shapes]
    named = [s for s in scene.shapes if pairs.count((s.color, s.kind)) == 1]
    if not named:
        first = scene.shapes[0]
        first.color = next(c for c in COLORS if (c, first.kind) not in pairs)
        named = [first]
    s = rng.choice(named)
    kinds = [t.kind for t in scene.shapes]
    what = s.kind if kinds.count(s.kind) == 1 and rng.random() < 0.5 else f"{s.color} {s.kind}"
    axis = rng.choice("xy")
    (x, y), = to_percent([shape_point(s.kind, s.cx, s.cy, s.half)], scene.width, scene.height)
    answer = format_coordinate(x if axis == "x" else y)
    return "short_answer", rng.choice(LOCATE_PROMPTS).format(axis=axis, what=what), answer, {}


# colour and locate first: they may re-kind / recolour a shape, which every later answer must see
DIALOG_ORDER = ("color", "locate", "caption", "read", "count", "point")


def ask_dialog(rng: random.Random, scene: Scene, tasks: tuple[str, ...], questions: int) -> list[tuple[str, str, str]]:
    """Up to ``questions`` distinct ``(task, question, answer)`` turns about one scene, in random order.

    Every task of ``tasks`` is asked once (``read`` only when a number is drawn), then count/point
    (and locate, when asked for) questions fill the rest; questions are asked in :data:`DIALOG_ORDER` (colour may change the scene)
    and shuffled afterwards, so every task is sometimes the first turn (the single-question eval form).
    """
    plan = [t for t in DIALOG_ORDER if t in tasks and (t != "read" or scene.number is not None)]
    extra = [t for t in ("count", "point", "locate") if t in tasks]
    while extra and len(plan) < questions:
        plan.append(rng.choice(extra))
    plan = plan[:questions]
    turns: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for task in sorted(plan, key=DIALOG_ORDER.index):
        _, question, answer, _ = ask(rng, scene, task, eval_refs=False)
        if question not in seen:
            seen.add(question)
            turns.append((task, question, answer))
    rng.shuffle(turns)
    return turns


@dataclass
class SynthSample:
    """One generated sample: key, json (our schema) and PNG bytes."""

    key: str
    json: dict[str, Any]
    png: bytes


def _cap_tag(max_shapes: int, min_shapes: int = 1) -> str:
    """'' for the default 1–6 shapes, else ``min<J>`` / ``max<K>`` / ``min<J>max<K>`` (in the sample's
    RNG seed string and key)."""
    return ("" if min_shapes == 1 else f"min{min_shapes}") + ("" if max_shapes == MAX_SHAPES else f"max{max_shapes}")


def check_shape_range(min_shapes: int, max_shapes: int) -> None:
    """ValueError unless ``1 <= min_shapes <= max_shapes <= MAX_SHAPES``."""
    if not 1 <= max_shapes <= MAX_SHAPES:
        raise ValueError(f"max_shapes must be in 1..{MAX_SHAPES}, got {max_shapes}")
    if not 1 <= min_shapes <= max_shapes:
        raise ValueError(f"min_shapes must be in 1..max_shapes ({max_shapes}), got {min_shapes}")


def _meta(split: str, seed: int, index: int, scene: Scene, **extra: Any) -> dict[str, Any]:
    return {"generator": "shapes", "split": split, "seed": seed, "index": index, **extra, "scene": scene.to_json()}


def _png(scene: Scene) -> bytes:
    buf = io.BytesIO()
    render_scene(scene).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def make_sample(
    split: str,
    seed: int,
    index: int,
    tasks: tuple[str, ...] | None = None,
    questions: int = 1,
    max_shapes: int = MAX_SHAPES,
    min_shapes: int = 1,
) -> SynthSample:
    """Generate sample ``index`` of the ``(split, seed)`` stream (deterministic, order-independent).

    ``tasks`` restricts the questions to these tasks (drawn with their relative weights), e.g. a
    grounding warm-up on ``("color", "caption", "read")``; None = every task (the default stream).
    ``questions > 1`` makes a multi-turn dialog about one scene instead (train split only, see
    :func:`make_dialog`). ``max_shapes`` caps the 1–6 shapes per scene (e.g. 2 for an easy
    curriculum source) and ``min_shapes`` raises its floor (e.g. 4 for a crowded source, where one
    kind is often there 3+ times); the default stream is unchanged by either.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if split != "train" and training_only(tasks):
        raise ValueError(f"training-only task(s) {training_only(tasks)} have no eval form")
    check_shape_range(min_shapes, max_shapes)
    if questions > 1:
        return make_dialog(split, seed, index, tasks, questions, max_shapes, min_shapes)
    weights = TASK_WEIGHTS if tasks is None else {t: ALL_TASK_WEIGHTS[t] for t in tasks}
    rng = random.Random(f"shapes/{split}/{seed}/{index}" + ("" if tasks is None else "/" + ",".join(sorted(tasks))))
    task = rng.choices(list(weights), weights=list(weights.values()))[0]
    scene = make_scene(rng, rng.randint(min_shapes, max_shapes), with_number=task == "read" or rng.random() < 0.25)
    style, question, answer, refs = ask(rng, scene, task, eval_refs=split == "eval")
    obj: dict[str, Any] = {
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
        "style": style,
        "task": task,
        "meta": _meta(split, seed, index, scene),
    }
    if split == "eval":
        obj["refs"] = {"answers": [answer], **refs}
    tag = _cap_tag(max_shapes, min_shapes)
    return SynthSample(key=f"shapes-s{seed}-{split}{'-' + tag if tag else ''}-{index:07d}", json=obj, png=_png(scene))


def make_dialog(
    split: str,
    seed: int,
    index: int,
    tasks: tuple[str, ...] | None,
    questions: int,
    max_shapes: int = MAX_SHAPES,
    min_shapes: int = 1,
) -> SynthSample:
    """A training sample with up to ``questions`` question/answer turns about one scene.

    One image then carries the supervision of several samples (the image is encoded once), which is
    what lets the demo model learn every skill within its CPU budget. Half of these scenes show a
    number (a quarter in the single-question stream) so reading gets enough examples.
    """
    if split != "train":
        raise ValueError("multi-question dialogs are for the train split (eval samples need one question and refs)")
    chosen = tuple(TASK_WEIGHTS) if tasks is None else tasks
    tag = _cap_tag(max_shapes, min_shapes)
    rng = random.Random(f"shapes/dialog/{split}/{seed}/{index}/{questions}/" + ",".join(sorted(chosen)) + (f"/{tag}" if tag else ""))
    scene = make_scene(rng, rng.randint(min_shapes, max_shapes), with_number=rng.random() < 0.5)
    turns = ask_dialog(rng, scene, chosen, questions)
    messages: list[dict[str, str]] = []
    for _, question, answer in turns:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    obj: dict[str, Any] = {
        "messages": messages,
        "style": None,
        "task": "dialog",
        "meta": _meta(split, seed, index, scene, tasks=[t for t, _, _ in turns]),
    }
    key = f"shapes-s{seed}-{split}-q{questions}{'-' + tag if tag else ''}-{index:07d}"
    return SynthSample(key=key, json=obj, png=_png(scene))
