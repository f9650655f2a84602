from __future__ import annotations

import io
import json
import random
import re
from collections import Counter

import pytest
from PIL import Image

from molmo.data.masks import rle_contains
from molmo.data.synth import synth_shapes
from molmo.data.synth.render import KINDS, PLURALS, number_box
from molmo.data.synth.shapes import MAX_SHAPES, NUMBER_MIN, SHAPE_MIN, format_points, make_sample
from molmo.preprocess.points import parse_count, parse_points

N = 150


@pytest.fixture(scope="module")
def eval_samples():
    return [make_sample("eval", 3, i) for i in range(N)]


def test_deterministic_and_split_disjoint():
    a, b = make_sample("train", 1, 17), make_sample("train", 1, 17)
    assert a.json == b.json and a.png == b.png
    train = {make_sample("train", 0, i).png for i in range(40)}
    ev = {make_sample("eval", 0, i).png for i in range(40)}
    assert not train & ev
    assert make_sample("train", 0, 5).json != make_sample("train", 1, 5).json
    with pytest.raises(ValueError, match="split"):
        make_sample("test", 0, 0)


def test_world_variety(eval_samples):
    tasks = Counter(s.json["task"] for s in eval_samples)
    styles = Counter(s.json["style"] for s in eval_samples)
    assert set(tasks) == {"caption", "color", "count", "point", "read"}
    assert set(styles) == {"short_caption", "short_answer", "point_count", "only_count", "pointing"}
    scenes = [s.json["meta"]["scene"] for s in eval_samples]
    assert len({len(sc["shapes"]) for sc in scenes}) >= 5
    assert all(1 <= len(sc["shapes"]) <= 6 for sc in scenes)
    assert all(64 <= sc["width"] <= 640 and 64 <= sc["height"] <= 640 for sc in scenes)
    assert (
        len({sc["background"] for sc in scenes}) >= 5
        and len({sh["color"] for sc in scenes for sh in sc["shapes"]}) == 6
    )
    assert {sh["kind"] for sc in scenes for sh in sc["shapes"]} == set(KINDS)
    assert any(sc["number"] for sc in scenes) and any(not sc["number"] for sc in scenes)
    for s in eval_samples[:20]:
        im = Image.open(io.BytesIO(s.png))
        assert im.size == (s.json["meta"]["scene"]["width"], s.json["meta"]["scene"]["height"])


def test_shapes_do_not_overlap(eval_samples):
    for s in eval_samples:
        sh = s.json["meta"]["scene"]["shapes"]
        for i in range(len(sh)):
            for j in range(i + 1, len(sh)):
                a, b = sh[i], sh[j]
                assert (
                    abs(a["cx"] - b["cx"]) > a["half"] + b["half"]
                    or abs(a["cy"] - b["cy"]) > a["half"] + b["half"]
                )


def test_objects_stay_legible_in_one_224px_crop(eval_samples):
    """Size floors relative to the longer side: shrunk whole to 224 px, shapes >= ~24 px, digits >= ~29 px."""
    numbers = 0
    for s in eval_samples:
        sc = s.json["meta"]["scene"]
        longer = max(sc["width"], sc["height"])
        for sh in sc["shapes"]:
            assert sh["half"] >= int(max(4.0, SHAPE_MIN * longer))
        if sc["number"]:
            numbers += 1
            text, scale = sc["number"]["text"], sc["number"]["scale"]
            fits_no_larger = number_box(text, scale + 1)[0] > sc["width"] - 8  # narrow image: width wins
            assert number_box(text, scale)[1] >= NUMBER_MIN * longer or fits_no_larger
    assert numbers >= 20

def test_answers_are_consistent_with_the_scene(eval_samples):
    for s in eval_samples:
        j, scene = s.json, s.json["meta"]["scene"]
        q, a = j["messages"][0]["content"], j["messages"][1]["content"]
        refs = j["refs"]
        assert refs["answers"] == [a]
        kinds = [sh["kind"] for sh in scene["shapes"]]
        if j["task"] == "read":
            assert a == scene["number"]["text"] and 1 <= len(a) <= 3
        elif j["task"] == "color":
            kind = next(k for k in KINDS if k in q)
            assert kinds.count(kind) == 1 and a == next(
                sh["color"] for sh in scene["shapes"] if sh["kind"] == kind
            )
        elif j["task"] == "caption":
            ordered = sorted(scene["shapes"], key=lambda sh: (sh["cx"], sh["cy"]))
            assert a.split(", and the number")[0].replace(" and ", ", ").split(", ") == [
                f"{'an' if sh['color'] == 'orange' else 'a'} {sh['color']} {sh['kind']}" for sh in ordered
            ]
        elif j["task"] == "count":
            kind = next(k for k in KINDS if PLURALS[k] in q)
            assert refs["count"] == kinds.count(kind) == parse_count(a)
            if j["style"] == "only_count":
                assert a == str(kinds.count(kind))


def test_points_match_refs_and_fall_inside_masks(eval_samples):
    checked = 0
    for s in eval_samples:
        j = s.json
        if j["task"] not in ("point", "count") or j["style"] == "only_count":
            continue
        w, h = j["meta"]["scene"]["width"], j["meta"]["scene"]["height"]
        parsed = parse_points(j["messages"][1]["content"]).points
        refs = j["refs"]
        assert len(parsed) == len(refs["points"]) == len(refs["masks"]) == refs["count"]
        keys = [p.x * 10000 + p.y for p in parsed]
        assert keys == sorted(keys)
        for p, (x, y), m in zip(parsed, refs["points"], refs["masks"]):
            px, py = p.pixels(w, h)
            assert abs(px - x) <= w / 1000 + 1e-6 and abs(py - y) <= h / 1000 + 1e-6
            assert rle_contains(m, x, y) and m["size"] == [h, w]
            checked += 1
    assert checked > 20


def test_format_points_and_caption_helpers():
    text, order = format_points([(50, 10), (10, 90)], 100, 100, "dots", "dots")
    assert text == '<points x1="10.0" y1="90.0" x2="50.0" y2="10.0" alt="dots">dots</points>' and order == [
        1,
        0,
    ]
    assert format_points([(1, 1)], 10, 10, "a", "a")[0] == '<point x="10.0" y="10.0" alt="a">a</point>'


def test_synth_shapes_writes_resumable_deterministic_shards(tmp_path):
    m = synth_shapes(tmp_path / "a", 12, seed=2, split="train", shard_samples=5)
    assert m.complete and [s.samples for s in m.shards] == [5, 5, 2]
    assert m.shards[0].name == "shapes-train-000000.tar"
    m2 = synth_shapes(tmp_path / "b", 10, seed=2, split="train", shard_samples=5)
    assert [s.sha256 for s in m2.shards] == [s.sha256 for s in m.shards[:2]]
    again = synth_shapes(tmp_path / "a", 12, seed=2, split="train", shard_samples=5)
    assert again.to_json() == m.to_json()
    with pytest.raises(Exception, match="split"):
        synth_shapes(tmp_path / "c", 1, split="dev")


def test_train_samples_have_no_refs():
    j = make_sample("train", 0, 0).json
    assert "refs" not in j and json.dumps(j)
    scene = make_sample("train", 0, 0).json["meta"]["scene"]
    assert scene["width"] > 0


def test_task_filter_restricts_questions_and_keeps_default_stream():
    from molmo.data.synth.shapes import make_sample

    picked = [make_sample("train", 3, i, ("color", "read")).json["task"] for i in range(40)]
    assert set(picked) <= {"color", "read"} and len(set(picked)) == 2
    assert make_sample("train", 3, 7).json == make_sample("train", 3, 7, None).json  # default stream unchanged


def test_dialogs_ask_every_task_once_about_one_scene():
    samples = [make_sample("train", 5, i, questions=6) for i in range(60)]
    assert make_sample("train", 5, 3, questions=6).json == samples[3].json
    first_tasks = Counter()
    for s in samples:
        j = s.json
        roles = [m["role"] for m in j["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and j["task"] == "dialog"
        questions = [m["content"] for m in j["messages"][::2]]
        assert len(set(questions)) == len(questions) <= 6
        tasks = j["meta"]["tasks"]
        scene = j["meta"]["scene"]
        assert ("read" in tasks) == (scene["number"] is not None)
        assert {"caption", "color", "count", "point"} <= set(tasks)
        answers = dict(zip(tasks, [m["content"] for m in j["messages"][1::2]]))
        if scene["number"] is not None:
            assert answers["read"] == scene["number"]["text"]
        kinds = [sh["kind"] for sh in scene["shapes"]]
        color_q = questions[tasks.index("color")]
        kind = next(k for k in KINDS if f" {k}" in color_q)
        assert kinds.count(kind) == 1  # the colour question is well-posed on the rendered scene
        assert answers["color"] == next(sh["color"] for sh in scene["shapes"] if sh["kind"] == kind)
        first_tasks[tasks[0]] += 1
    assert len(first_tasks) >= 4  # shuffled: every task is sometimes the first (single-question) turn
    numbers = sum(s.json["meta"]["scene"]["number"] is not None for s in samples)
    assert 15 < numbers < 45  # half of the dialog scenes show a number


def test_dialogs_are_train_only(tmp_path):
    with pytest.raises(ValueError, match="train split"):
        make_sample("eval", 0, 0, questions=3)
    with pytest.raises(Exception, match="only for --split train"):
        synth_shapes(tmp_path / "d", 4, split="eval", questions=3)
    m = synth_shapes(tmp_path / "t", 4, seed=1, questions=3, tasks=("color", "count"))
    assert m.complete and m.source["questions"] == 3 and m.source["tasks"] == ["color", "count"]


def test_max_shapes_caps_scenes_without_changing_the_default_stream():
    for i in range(30):
        assert len(make_sample("train", 2, i, questions=4, max_shapes=2).json["meta"]["scene"]["shapes"]) <= 2
        assert len(make_sample("eval", 2, i, max_shapes=1).json["meta"]["scene"]["shapes"]) == 1
    assert make_sample("eval", 3, 7, max_shapes=6).json == make_sample("eval", 3, 7).json
    assert make_sample("train", 3, 7, max_shapes=2).key != make_sample("train", 3, 7).key
    for bad in (0, 7):
        with pytest.raises(ValueError, match="max_shapes"):
            make_sample("train", 0, 0, max_shapes=bad)


def test_min_shapes_crowds_scenes_without_changing_the_default_stream():
    def n_shapes(sample):
        return len(sample.json["meta"]["scene"]["shapes"])

    crowded = [make_sample("train", 2, i, questions=4, min_shapes=4) for i in range(40)]
    assert all(4 <= n_shapes(s) <= MAX_SHAPES for s in crowded)  # (placement can fail in a tiny image; not in these)
    assert all(n_shapes(make_sample("eval", 2, i, min_shapes=3, max_shapes=3)) == 3 for i in range(10))
    assert make_sample("eval", 3, 7, min_shapes=1).json == make_sample("eval", 3, 7).json
    keys = {make_sample("train", 3, 7, **kw).key for kw in ({}, {"min_shapes": 4}, {"max_shapes": 5}, {"min_shapes": 4, "max_shapes": 5})}
    assert len(keys) == 4
    counts = [len(s.json["messages"]) for s in crowded]
    assert min(counts) == max(counts) == 8
    for bad in ({"min_shapes": 0}, {"min_shapes": 3, "max_shapes": 2}):
        with pytest.raises(ValueError, match="min_shapes"):
            make_sample("train", 0, 0, **bad)


def test_locate_asks_one_coordinate_of_a_named_shape():
    from molmo.data.synth.render import shape_point
    from molmo.preprocess.points import format_coordinate

    seen_axes, seen_kind_only = set(), False
    for i in range(60):
        j = make_sample("train", 8, i, ("locate",)).json
        assert j["task"] == "locate" and j["style"] == "short_answer"
        question, answer = j["messages"][0]["content"], j["messages"][1]["content"]
        m = re.fullmatch(r"(?:What is|Give) the ([xy]) coordinate of the (?:(\w+) )?(\w+)[?.]", question)
        assert m, question
        axis, color, kind = m.groups()
        scene = j["meta"]["scene"]
        named = [s for s in scene["shapes"] if s["kind"] == kind and color in (None, s["color"])]
        assert len(named) == 1  # the question names exactly one shape of the rendered scene
        s = named[0]
        x, y = shape_point(s["kind"], s["cx"], s["cy"], s["half"])
        pct = 100 * x / scene["width"] if axis == "x" else 100 * y / scene["height"]
        assert answer == format_coordinate(pct)  # as the same shape's point answer writes it
        seen_axes.add(axis)
        seen_kind_only |= color is None
    assert seen_axes == {"x", "y"} and seen_kind_only


def test_locate_recolours_a_shape_when_none_can_be_named():
    from molmo.data.synth.shapes import Scene, Shape, ask

    scene = Scene(width=200, height=100, background="white",
                  shapes=[Shape("circle", "red", 30, 50, 10), Shape("circle", "red", 90, 50, 10)])
    _, question, _, _ = ask(random.Random(0), scene, "locate", eval_refs=False)
    assert scene.shapes[0].color != "red" and scene.shapes[1].color == "red"
    assert "circle" in question


def test_locate_is_training_only_and_off_by_default(tmp_path):
    assert not any("coordinate of" in make_sample("train", 4, i).json["messages"][0]["content"] for i in range(200))
    dialog = make_sample("train", 4, 0, ("color", "locate", "point"), questions=6).json
    assert "locate" in dialog["meta"]["tasks"]
    with pytest.raises(ValueError, match="training-only"):
        make_sample("eval", 0, 0, ("locate",))
    with pytest.raises(Exception, match="training-only"):
        synth_shapes(tmp_path / "e", 4, split="eval", tasks=("locate", "color"))
    m = synth_shapes(tmp_path / "t", 3, seed=1, tasks=("locate",))
    assert m.complete and m.source["tasks"] == ["locate"]
