"""Safe image loading: every image reaches the preprocessor as an upright 8-bit RGB picture.

- EXIF orientation is applied (phone photos come out upright).
- RGBA / LA / palette-with-transparency are composited onto a background (white by default);
  greyscale, palette, CMYK, 16-bit and float images become RGB.
- Images above ``max_pixels`` are rejected from the header alone, before decoding
  (decompression-bomb guard); corrupt, truncated or unsupported files raise ``UserError`` with one
  line naming the file.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from molmo.errors import UserError

DEFAULT_MAX_PIXELS = 100_000_000
ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image


def _describe(source: ImageSource, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return "<image bytes>" if isinstance(source, bytes) else "<image>"


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any PIL mode to RGB; transparent pixels are composited onto ``background``."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        image = Image.fromarray(
            (np.asarray(image, dtype=np.float32) / 257.0).round().astype(np.uint8), mode="L"
        )
    elif image.mode in ("I", "F"):
        image = Image.fromarray(
            np.clip(np.asarray(image, dtype=np.float32), 0, 255).astype(np.uint8), mode="L"
        )
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return image.convert("RGB")


def check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    """Raise UserError if a ``width`` x ``height`` image exceeds ``max_pixels``."""
    if width * height > max_pixels:
        raise UserError(
            f"{what}: image of {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels} "
            "(possible decompression bomb; raise max_image_pixels if the image is genuine)"
        )


def load_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Open ``source`` (path, bytes, binary file or PIL image) as an upright RGB ``PIL.Image``.

    Raises ``UserError`` (one line naming the file) for missing, corrupt, truncated, unsupported
    or oversized images.
    """
    what = _describe(source, name)
    if isinstance(source, Image.Image):
        check_pixels(source.width, source.height, max_pixels, what)
        return to_rgb(ImageOps.exif_transpose(source), background)
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise UserError(f"{what}: image file not found")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                check_pixels(image.width, image.height, max_pixels, what)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return to_rgb(upright, background)
    except UserError:
        raise
    except Image.DecompressionBombError as exc:
        raise UserError(f"{what}: image too large ({exc}); possible decompression bomb") from None
    except UnidentifiedImageError:
        raise UserError(f"{what}: not a readable image (unknown or unsupported format)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{what}: corrupt or truncated image ({message})") from None


def image_to_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """A uint8 (H, W, 3) RGB array from a PIL image (any mode) or an existing array."""
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image), dtype=np.uint8)
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2]) < 1:
        raise UserError(f"image array must be (H, W, 3) RGB, got shape {array.shape}")
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and float(array.max()) <= 1.0:
            array = array * 255.0
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[:, :, :3])
