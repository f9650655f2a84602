"""The sample schema shared by every shard (DESIGN §2), and its encode/decode/validate helpers.

A sample on disk is a group of tar members sharing one key::

    <key>.json              {"messages": [...], "style": str|null, "task": str|null,
                             "meta": {...}, "refs": {...}}
    <key>.png | .jpg | .webp  one image, or
    <key>.0.jpg, <key>.1.png  several images (ordered by the number), or
    <key>.mp4               a video

``<|image|>`` in a user message marks where an image goes; without markers images go first.
Keys never contain dots (WebDataset splits the extension at the first dot of the file name).

In memory there are two forms:

- :class:`Record` — what format readers yield: the json plus image *paths or bytes*, not yet
  validated (pack loads and checks them; the eval runner can use them directly).
- :class:`DecodedSample` — what the loader yields: json plus decoded RGB PIL images.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

IMAGE_TOKEN = "<|image|>"
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")
VIDEO_EXTS = ("mp4",)
ROLES = ("user", "assistant")
DEFAULT_MAX_PIXELS = 178_956_970  # PIL's own default decompression-bomb limit
_PIL_TO_EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "MPO": "jpg"}
_MULTI_IMAGE = re.compile(r"^(\d+)\.(jpg|jpeg|png|webp)$")
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-/]")


class SampleError(ValueError):
    """A single sample is malformed (bad json, bad image, schema violation); the message is the reason."""


@dataclass
class Record:
    """One sample in our schema whose media are still paths (``str``) or raw ``bytes``.

    ``error`` is set by a reader that already knows the record is bad (e.g. unparsable line); such
    records are skipped by ``pack`` with that reason.
    """

    key: str
    json: dict[str, Any]
    images: list[str | bytes] = field(default_factory=list)
    video: str | bytes | None = None
    error: str | None = None


@dataclass
class DecodedSample:
    """A sample read back from shards: its json plus decoded RGB images (and raw video bytes)."""

    key: str
    json: dict[str, Any]
    images: list[Image.Image] = field(default_factory=list)
    video: bytes | None = None
    source: str = ""
    url: str = ""
    position: int = -1

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.json["messages"]

    @property
    def style(self) -> str | None:
        return self.json.get("style")

    @property
    def task(self) -> str | None:
        return self.json.get("task")

    @property
    def refs(self) -> dict[str, Any]:
        return self.json.get("refs") or {}


def safe_key(text: str) -> str:
    """Make ``text`` usable as a WebDataset key: no dots or odd characters (replaced by ``_``)."""
    key = _KEY_BAD.sub("_", str(text)).strip("/")
    return key or "_"


def validate_json(obj: Any, n_images: int | None = None) -> dict[str, Any]:
    """Check a sample's json against the schema; return it or raise :class:`SampleError`.

    ``n_images`` (when known) is checked against the number of ``<|image|>`` markers: markers are
    optional, but when present there must be exactly one per image.
    """
    if not isinstance(obj, dict):
        raise SampleError("json is not an object")
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise SampleError("empty conversation (no messages)")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise SampleError(f"message {i} must be {{'role': 'user'|'assistant', 'content': str}}")
    if msgs[0]["role"] != "user":
        raise SampleError("conversation must start with a user message")
    if not any(m["content"].strip() for m in msgs):
        raise SampleError("empty conversation (all messages blank)")
    for name in ("style", "task"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise SampleError(f"'{name}' must be a string or null")
    for name in ("meta", "refs"):
        if obj.get(name) is not None and not isinstance(obj[name], dict):
            raise SampleError(f"'{name}' must be an object")
    unknown = set(obj) - {"messages", "style", "task", "meta", "refs"}
    if unknown:
        raise SampleError(f"unknown top-level json keys: {', '.join(sorted(unknown))}")
    if n_images is not None:
        markers = sum(m["content"].count(IMAGE_TOKEN) for m in msgs if m["role"] == "user")
        if markers and markers != n_images:
            raise SampleError(f"{markers} {IMAGE_TOKEN} markers but {n_images} images")
    return obj


def normalize_json(obj: dict[str, Any]) -> dict[str, Any]:
    """Return the json with every schema key present (``style``/``task`` null, ``meta`` {})."""
    out = {
        "messages": obj["messages"],
        "style": obj.get("style"),
        "task": obj.get("task"),
        "meta": obj.get("meta") or {},
    }
    if obj.get("refs"):
        out["refs"] = obj["refs"]
    return out


def check_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, str, int, int]:
    """Fully decode an encoded image to validate it; return ``(bytes, ext, width, height)``.

    The format is detected from the content, never the file name. JPEG/PNG/WEBP bytes are kept as
    they are; other formats (GIF, BMP, TIFF…) are re-encoded as PNG. Images over ``max_pixels`` are
    rejected before decoding (decompression-bomb guard). Raises :class:`SampleError`.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise SampleError(f"image too large ({w}x{h} > {max_pixels} pixels)")
            im.load()
            ext = _PIL_TO_EXT.get(im.format or "")
            if ext is None:
                buf = io.BytesIO()
                im.convert("RGBA" if "A" in im.getbands() else "RGB").save(buf, format="PNG")
                data, ext = buf.getvalue(), "png"
    except SampleError:
        raise
    except Image.DecompressionBombError as e:
        raise SampleError(f"image too large ({e})") from None
    except UnidentifiedImageError:
        raise SampleError("corrupt image (not a recognised image format)") from None
    except Exception as e:  # noqa: BLE001 — decoders raise many types on malformed input
        raise SampleError(f"corrupt image ({type(e).__name__}: {e})") from None
    if w < 1 or h < 1:
        raise SampleError("image has zero size")
    return data, ext, w, h


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode image bytes to an RGB PIL image, raising :class:`SampleError` when impossible."""
    try:
        im = Image.open(io.BytesIO(data))
        if im.size[0] * im.size[1] > max_pixels:
            raise SampleError(f"image too large ({im.size[0]}x{im.size[1]} > {max_pixels} pixels)")
        return im.convert("RGB")
    except SampleError:
        raise
    except Image.DecompressionBombError as e:
        raise SampleError(f"image too large ({e})") from None
    except UnidentifiedImageError:
        raise SampleError("corrupt image (not a recognised image format)") from None
    except Exception as e:  # noqa: BLE001 — decoders raise many types on malformed input
        raise SampleError(f"corrupt image ({type(e).__name__}: {e})") from None


def encode_fields(
    key: str, obj: dict[str, Any], images: list[tuple[bytes, str]], video: bytes | None = None
) -> dict[str, bytes]:
    """Build the tar members of one sample: ``{"__key__": key, "json": ..., "png": ...}``.

    ``images`` are ``(bytes, ext)`` pairs already validated by :func:`check_image`.
    """
    if "." in key:
        raise SampleError(f"sample key {key!r} contains a dot")
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    fields: dict[str, Any] = {"__key__": key, "json": text.encode()}
    if len(images) == 1:
        fields[images[0][1]] = images[0][0]
    else:
        for i, (data, ext) in enumerate(images):
            fields[f"{i}.{ext}"] = data
    if video is not None:
        fields["mp4"] = video
    return fields


def image_fields(fields: dict[str, Any]) -> list[bytes]:
    """The image bytes of a raw sample, in order (single ``png`` or numbered ``0.jpg``, ``1.png``…)."""
    singles = [fields[e] for e in IMAGE_EXTS if e in fields]
    numbered = sorted((int(m.group(1)), v) for k, v in fields.items() if (m := _MULTI_IMAGE.match(k)))
    if singles and numbered:
        raise SampleError("sample mixes single and numbered image fields")
    if len(singles) > 1:
        raise SampleError("sample has several unnumbered images")
    return singles or [v for _, v in numbered]


def decode_fields(
    fields: dict[str, Any], max_pixels: int = DEFAULT_MAX_PIXELS, decode_images: bool = True
) -> DecodedSample:
    """Turn the raw members of one sample into a validated :class:`DecodedSample`.

    Raises :class:`SampleError` with a readable reason when the json or an image is bad.
    With ``decode_images=False`` images are only counted (``images`` stays empty).
    """
    key = fields.get("__key__", "?")
    if "json" not in fields:
        raise SampleError("missing json")
    try:
        obj = json.loads(fields["json"])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SampleError(f"bad json ({e})") from None
    raw_images = image_fields(fields)
    validate_json(obj, n_images=len(raw_images))
    images = [decode_image(b, max_pixels) for b in raw_images] if decode_images else []
    return DecodedSample(
        key=key, json=obj, images=images, video=fields.get("mp4"), url=fields.get("__url__", "")
    )
