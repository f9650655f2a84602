"""Point / count text: formatting, parsing, round trips, garbage."""

from __future__ import annotations

import numpy as np
import pytest

from molmo.preprocess.points import (
    NONE_ANSWER,
    format_count_answer,
    format_points,
    parse_count,
    parse_points,
    sort_points,
    to_percent,
)


def test_format_single_and_multiple():
    assert format_points([(12.34, 45.66)], "cat") == '<point x="12.3" y="45.7" alt="cat">cat</point>'
    text = format_points([(30.5, 40.0), (10.0, 20.0)], "cats", alt="the cats")
    assert text == '<points x1="10.0" y1="20.0" x2="30.5" y2="40.0" alt="the cats">cats</points>'
    assert format_points([], "cats") == NONE_ANSWER == "There are none."


def test_sort_order_x_then_y():
    assert sort_points([(5, 9), (5, 1), (2, 50)]) == [(2.0, 50.0), (5.0, 1.0), (5.0, 9.0)]


def test_count_answer_format_and_parse():
    text = format_count_answer([(1, 2), (3, 4), (5, 6)], "boats")
    assert text.startswith("Counting the <points x1=") and text.endswith("shows a total of 3.")
    assert parse_count(text) == 3
    assert format_count_answer([], "boats") == NONE_ANSWER
    assert len(parse_points(text).points) == 3


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("3", 3),
        ("There are 12.", 12),
        ("I see five", 5),
        ("Twenty.", 20),
        ('Counting the <points x1="1.0" y1="2.0" alt="a">a</points> shows a total of 7 items', 7),
        ("There are none.", 0),
        ("none of them", 0),
        ("no idea", None),
        ("", None),
    ],
)
def test_parse_count(text, count):
    assert parse_count(text) == count


def test_round_trip_random_points():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7):
        pts = [tuple(p) for p in rng.uniform(0, 100, (n, 2)).round(1)]
        parsed = parse_points(format_points(pts, "thing"))
        assert parsed.valid and not parsed.malformed
        assert [(p.x, p.y) for p in parsed.points] == sort_points(pts)
        assert all(p.label == "thing" and p.alt == "thing" for p in parsed.points)


def test_pixels_from_image_size():
    parsed = parse_points('<point x="50.0" y="25.0" alt="a">a</point>', image_size=(640, 480))
    (p,) = parsed.points
    assert (p.x_px, p.y_px) == (320.0, 120.0) and p.pixels(200, 100) == (100.0, 25.0)
    assert to_percent([(320, 120)], 640, 480) == [(50.0, 25.0)]


def test_tuples_click_and_three_digit():
    assert [(p.x, p.y) for p in parse_points("(10.5, 20.0)\n(30.0, 40.5)").points] == [
        (10.5, 20.0),
        (30.0, 40.5),
    ]
    assert [(p.x, p.y) for p in parse_points("Click(12.0, 13.5)").points] == [(12.0, 13.5)]
    assert [(p.x, p.y) for p in parse_points("p=123,456").points] == [(12.3, 45.6)]


def test_molmo2_coords():
    text = '<points coords="1 1 073 160 2 173 600; 2 3 500 999" alt="boats">the boats</points>'
    parsed = parse_points(text, image_size=(1000, 500))
    assert parsed.valid
    assert [(p.x, p.y, p.image, p.object_id) for p in parsed.points] == [
        (7.3, 16.0, 1, 1), (17.3, 60.0, 1, 2), (50.0, 99.9, 2, 3),
    ]  # fmt: skip
    assert parsed.points[0].label == "the boats" and parsed.points[0].x_px == pytest.approx(73.0)


def test_molmo2_self_closing_video_points():
    parsed = parse_points('<points coords="0: 1 500 250; 1: 1 700 300"/>')
    assert [(p.x, p.y, p.image, p.object_id, p.label) for p in parsed.points] == [
        (50.0, 25.0, 0, 1, None),
        (70.0, 30.0, 1, 1, None),
    ]


def test_out_of_range_coordinates_discarded():
    parsed = parse_points('<points x1="10.0" y1="10.0" x2="150.0" y2="10.0" alt="a">a</points>')
    assert [(p.x, p.y) for p in parsed.points] == [(10.0, 10.0)]
    assert parse_points("(120.0, 5.0)").points == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        '<point x="abc" y="1.0" alt="a">a</point>',
        '<point x="10.0" alt="a">a</point>',
        '<points x1="1.0" y1="2.0" x2="3.0" alt="a">a</points>',
        '<point x="10.0" y="20.0"',
        '<points coords="1 1 abc">x</points>',
        "<<<>>>((,))",
        None,
        12,
    ],
)
def test_garbage_never_raises(text):
    parsed = parse_points(text)
    assert isinstance(parsed.points, list)
    if text in ("", "hello world", "<<<>>>((,))"):
        assert parsed.points == [] and not parsed.valid
    if isinstance(text, str) and "<point" in text:
        assert parsed.malformed and not parsed.valid and parsed.points == []


def test_partially_malformed_tag_gives_nothing():
    parsed = parse_points(
        '<point x="5.0" y="5.0" alt="a">a</point> <points x1="1.0" y1="2.0" x2="3.0" alt="a">a</points>'
    )
    assert parsed.points == [] and parsed.malformed and not parsed.valid
