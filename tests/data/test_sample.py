from __future__ import annotations

import json

import pytest
from PIL import Image

from molmo.data.sample import (
    SampleError,
    check_image,
    decode_fields,
    encode_fields,
    image_fields,
    normalize_json,
    safe_key,
    validate_json,
)

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def test_validate_ok_and_normalize():
    obj = validate_json(dict(GOOD))
    norm = normalize_json(obj)
    assert norm == {**GOOD, "style": None, "task": None, "meta": {}}


@pytest.mark.parametrize(
    "obj,reason",
    [
        ([], "not an object"),
        ({"messages": []}, "empty conversation"),
        ({"messages": [{"role": "bot", "content": "x"}]}, "message 0"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "start with a user"),
        ({"messages": [{"role": "user", "content": "  "}]}, "all messages blank"),
        ({**GOOD, "style": 3}, "'style'"),
        ({**GOOD, "refs": []}, "'refs'"),
        ({**GOOD, "extra": 1}, "unknown top-level"),
    ],
)
def test_validate_rejects(obj, reason):
    with pytest.raises(SampleError, match=reason):
        validate_json(obj)


def test_image_markers_must_match_images():
    obj = {"messages": [{"role": "user", "content": "<|image|> a <|image|> b"}]}
    validate_json(obj, n_images=2)
    with pytest.raises(SampleError, match="2 <\\|image\\|> markers but 1 images"):
        validate_json(obj, n_images=1)


def test_check_image_detects_format_by_content(png, jpg, make_image):
    assert check_image(png)[1:] == ("png", 8, 6)
    assert check_image(jpg)[1:] == ("jpg", 16, 12)
    gif = make_image("GIF")
    data, ext, w, h = check_image(gif)
    assert ext == "png" and data[:4] == b"\x89PNG" and (w, h) == (8, 6)


def test_check_image_rejects_corrupt_truncated_and_bombs(png, jpg):
    with pytest.raises(SampleError, match="corrupt image"):
        check_image(b"not an image")
    with pytest.raises(SampleError, match="corrupt image"):
        check_image(jpg[: len(jpg) // 2])
    with pytest.raises(SampleError, match="too large"):
        check_image(png, max_pixels=47)


def test_encode_decode_roundtrip_multi_image(png, jpg):
    obj = normalize_json(GOOD)
    fields = encode_fields("k1", obj, [(png, "png"), (jpg, "jpg")])
    assert set(fields) == {"__key__", "json", "0.png", "1.jpg"}
    assert image_fields(fields) == [png, jpg]
    s = decode_fields(fields)
    assert (
        s.key == "k1" and s.messages == GOOD["messages"] and [i.size for i in s.images] == [(8, 6), (16, 12)]
    )
    assert all(isinstance(i, Image.Image) and i.mode == "RGB" for i in s.images)


def test_decode_fields_errors(png):
    with pytest.raises(SampleError, match="missing json"):
        decode_fields({"__key__": "a", "png": png})
    with pytest.raises(SampleError, match="bad json"):
        decode_fields({"__key__": "a", "json": b"{nope"})
    with pytest.raises(SampleError, match="corrupt image"):
        decode_fields({"__key__": "a", "json": json.dumps(GOOD).encode(), "png": b"xx"})


def test_keys_without_dots():
    assert safe_key("a.b c/d") == "a_b_c/d"
    with pytest.raises(SampleError, match="contains a dot"):
        encode_fields("a.b", GOOD, [])
