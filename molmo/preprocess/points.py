"""Molmo point / count text: parse model outputs and format training targets (molmo-facts §7).

Coordinates are percent of the image width / height (0-100), printed with one decimal and sorted
by ``x * 10000 + y``::

    <point x="12.3" y="45.6" alt="cat">cat</point>
    <points x1="10.0" y1="20.0" x2="30.5" y2="40.0" alt="cats">cats</points>
    Counting the <points ...>cats</points> shows a total of 2.
    There are none.

The parser also accepts ``(x, y)`` tuples, ``Click(x, y)``, three-digit ``p=XXX,YYY`` pairs
(tenths of a percent) and Molmo2's ``<points coords="IMG ID X Y ID X Y; IMG ...">`` with 0-1000
integers. It never raises: a malformed point tag gives an empty list with ``malformed=True``
(``valid=False``), and any coordinate above 100 (percent) is discarded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

NONE_ANSWER = "There are none."


@dataclass(frozen=True)
class Point:
    """One point: ``x``, ``y`` in percent; pixels when the image size was given."""

    x: float
    y: float
    label: str | None = None
    alt: str | None = None
    x_px: float | None = None
    y_px: float | None = None
    image: int | None = None  # Molmo2: 1-based image / frame index
    object_id: int | None = None  # Molmo2: point id

    def pixels(self, width: float, height: float) -> tuple[float, float]:
        """(x, y) in pixels of a ``width`` x ``height`` image."""
        return self.x * width / 100.0, self.y * height / 100.0


@dataclass
class ParsedPoints:
    """Result of :func:`parse_points`: ``valid`` is False if the text held no well-formed points."""

    points: list[Point] = field(default_factory=list)
    valid: bool = False
    malformed: bool = False  # a point tag was present but could not be read completely


_NUM = r"(-?\d+(?:\.\d+)?)"
_TAG = re.compile(r"<(points?)\b([^>]*?)(?:/>|>(.*?)</\1\s*>)", re.DOTALL)  # paired or self-closing
_ATTR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_XY_KEY = re.compile(r"^([xy])(\d*)$")
_TUPLE = re.compile(r"(?<![\w.])(?:Click)?\(\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*\)")
_THREE_DIGIT = re.compile(r"\b(?:p|\d+)\s*=\s*(\d{3})\s*,\s*(\d{3})\b")


def _keep(x: float, y: float) -> bool:
    return 0.0 <= x <= 100.0 and 0.0 <= y <= 100.0


def _xy_attrs(attrs: dict[str, str]) -> tuple[list[tuple[float, float]], bool]:
    """(x, y) pairs from x/y or x1/y1... attributes, and whether any were malformed."""
    xs: dict[str, str] = {}
    ys: dict[str, str] = {}
    for key, value in attrs.items():
        match = _XY_KEY.match(key)
        if match:
            (xs if match.group(1) == "x" else ys)[match.group(2)] = value
    pairs, bad = [], set(xs) != set(ys)
    for index in sorted(set(xs) & set(ys), key=lambda k: int(k) if k else 0):
        try:
            pairs.append((float(xs[index]), float(ys[index])))
        except ValueError:
            bad = True
    return pairs, bad


def _coords_attr(value: str) -> tuple[list[tuple[float, float, int, int]], bool]:
    """Molmo2 ``coords``: groups 'IMG ID X Y ID X Y ...' separated by ';' -> (x%, y%, image, id)."""
    out, bad = [], False
    for group in re.split(r"[;\t]", value):
        numbers = group.replace(":", " ").split()
        if not numbers:
            continue
        try:
            image = int(float(numbers[0]))
            rest = [int(n) for n in numbers[1:]]
        except ValueError:
            bad = True
            continue
        if len(rest) % 3:
            bad = True
        for i in range(0, len(rest) - 2, 3):
            out.append((rest[i + 1] / 10.0, rest[i + 2] / 10.0, image, rest[i]))
    return out, bad


def _with_pixels(point: Point, size: tuple[float, float] | None) -> Point:
    if size is None:
        return point
    x_px, y_px = point.pixels(*size)
    return Point(point.x, point.y, point.label, point.alt, x_px, y_px, point.image, point.object_id)


def parse_points(text: str, image_size: tuple[float, float] | None = None) -> ParsedPoints:
    """All points in ``text`` (tags first, then tuples / three-digit pairs if no tag matched).

    ``image_size`` = (width, height) fills ``x_px`` / ``y_px``. Never raises.
    """
    if not isinstance(text, str):
        return ParsedPoints(malformed=True)
    points: list[Point] = []
    malformed = False
    for match in _TAG.finditer(text):
        attrs = dict(_ATTR.findall(match.group(2)))
        label = (match.group(3) or "").strip() or None
        alt = attrs.get("alt")
        if "coords" in attrs:
            found, bad = _coords_attr(attrs["coords"])
            points += [
                Point(x, y, label, alt, image=img, object_id=oid) for x, y, img, oid in found if _keep(x, y)
            ]
        else:
            pairs, bad = _xy_attrs(attrs)
            points += [Point(x, y, label, alt) for x, y in pairs if _keep(x, y)]
            bad = bad or not pairs
        malformed = malformed or bad
    if not points and "<point" in text and not _TAG.search(text):
        malformed = True  # an opening tag without a matching close
    if not points:
        pairs = [(float(a), float(b)) for a, b in _TUPLE.findall(text)]
        pairs += [(int(a) / 10.0, int(b) / 10.0) for a, b in _THREE_DIGIT.findall(text)]
        points = [Point(x, y) for x, y in pairs if _keep(x, y)]
    if malformed:
        return ParsedPoints(points=[], valid=False, malformed=True)
    points = [_with_pixels(p, image_size) for p in points]
    return ParsedPoints(points=points, valid=bool(points), malformed=False)


def format_coordinate(value: float) -> str:
    """One coordinate of a point answer: percent with one decimal (``31.2``)."""
    return f"{value:0.1f}"


def sort_points(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points in Molmo's order: by ``x * 10000 + y`` (left to right, then top to bottom)."""
    return sorted(((float(x), float(y)) for x, y in points), key=lambda p: p[0] * 10000 + p[1])


def to_percent(
    points: Sequence[tuple[float, float]], width: float, height: float
) -> list[tuple[float, float]]:
    """Pixel (x, y) -> percent of ``width`` / ``height``."""
    return [(x * 100.0 / width, y * 100.0 / height) for x, y in points]


def format_points(points: Sequence[tuple[float, float]], label: str, alt: str | None = None) -> str:
    """``<point …>label</point>`` / ``<points …>label</points>`` for percent points; 'There are none.' if empty."""
    if not points:
        return NONE_ANSWER
    alt = label if alt is None else alt
    ordered = sort_points(points)
    if len(ordered) == 1:
        x, y = ordered[0]
        return f'<point x="{format_coordinate(x)}" y="{format_coordinate(y)}" alt="{alt}">{label}</point>'
    coords = " ".join(f'x{i}="{format_coordinate(x)}" y{i}="{format_coordinate(y)}"' for i, (x, y) in enumerate(ordered, start=1))
    return f'<points {coords} alt="{alt}">{label}</points>'


def format_count_answer(points: Sequence[tuple[float, float]], label: str, alt: str | None = None) -> str:
    """'Counting the <points …>label</points> shows a total of N.' ('There are none.' for 0)."""
    if not points:
        return NONE_ANSWER
    return f"Counting the {format_points(points, label, alt)} shows a total of {len(points)}."


_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {word: value for value, word in enumerate(_WORDS.split())}
_TOTAL = re.compile(r"a total of\s+([0-9]+)")
_NONE = re.compile(r"\bnone\b")


def parse_count(text: str) -> int | None:
    """The count in an answer: last word as int / number word, 'a total of N', or 'none' -> 0; else None."""
    if not isinstance(text, str):
        return None
    cleaned = text.lower().strip().rstrip(".").strip()
    words = cleaned.split()
    if words:
        last = words[-1].strip(".,!?:;\"'")
        if re.fullmatch(r"[0-9]+", last):
            return int(last)
        if last in NUMBER_WORDS:
            return NUMBER_WORDS[last]
    match = _TOTAL.search(cleaned)
    if match:
        return int(match.group(1))
    if _NONE.search(cleaned):
        return 0
    return None
