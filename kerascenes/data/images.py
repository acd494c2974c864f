"""Reading any image file into an RGB ``uint8`` array at a given size.

Pillow does the decoding, so grayscale (``L``, ``I;16``), palette (``P``), ``RGBA``,
``CMYK`` and 16-bit images all end up as 8-bit RGB. Validation reads each file fully once
(:func:`check_image`) so that truncated or corrupt files are found before training, never
in the middle of an epoch.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

_ORIENTATION = 0x0112  # EXIF tag
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _to_rgb(image):
    """Convert any Pillow mode to 8-bit RGB."""
    from PIL import Image

    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        hi = 65535.0 if array.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(array / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif mode == "F":
        array = np.asarray(image, dtype=np.float64)
        lo, hi = float(array.min(initial=0)), float(array.max(initial=1))
        image = Image.fromarray(((array - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8), mode="L")
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def load_image(path: str | os.PathLike, size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Read an image as an RGB ``uint8`` array of shape ``(h, w, 3)``.

    Args:
        path: image file.
        size: output size, an int for a square image or ``(height, width)``; ``None``
            keeps the file's size. Resizing uses bilinear filtering with antialiasing.

    Returns:
        The image as ``np.uint8`` ``(h, w, 3)``.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        if image.format == "JPEG" and image.getexif().get(_ORIENTATION, 1) != 1:
            image = ImageOps.exif_transpose(image)  # a rotated camera photo (this copies the image)
        gray = image.mode == "L"  # resized as one channel, then repeated: 3x less resampling, same pixels
        image = image if gray else _to_rgb(image)
        if size is not None:
            h, w = (size, size) if isinstance(size, int) else size
            if image.size != (w, h):
                image = image.resize((w, h), Image.BILINEAR, reducing_gap=None)
        array = np.asarray(image, dtype=np.uint8)
        return np.repeat(array[..., None], 3, axis=2) if gray else array


def check_image(path: str | os.PathLike) -> str | None:
    """Return why ``path`` can't be used as an image, or ``None`` if it decodes fully.

    The whole file is decoded (not only the header), so truncated files are caught.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                if image.width < 1 or image.height < 1:
                    return "image has no pixels"
    except UnidentifiedImageError:
        return "not an image"
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        text = str(exc) or type(exc).__name__
        if "truncated" in text.lower():
            return "truncated image"
        return f"corrupt image ({text})"
    return None
