"""Reading any image file into an RGB ``uint8`` array at a given size.

Pillow does the decoding (for the classifiers and the bag of words alike), so grayscale
(``L``, ``I;16``), palette (``P``), ``RGBA``, ``CMYK`` and 16-bit images all end up as 8-bit
RGB or gray; 16-bit images are scaled by their bit depth, never by their content. Validation
reads each file fully once (:func:`check_image`) so that truncated or corrupt files are found
before training, never in the middle of an epoch; the warnings Pillow gives on the way are
collected (:func:`collect_warnings`) instead of reaching the screen.

Images up to :data:`MAX_MEGAPIXELS` decode (Pillow's own guard against decompression bombs
stops at 89 megapixels, below what cameras take); larger ones are refused with one sentence.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

_ORIENTATION = 0x0112  # EXIF tag
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: The largest image kerascenes decodes (a 108-megapixel phone photo is well within it).
MAX_MEGAPIXELS = 300
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_current = threading.local()


def _pillow():
    """Pillow, whose decompression-bomb guard (89 megapixels) gives way to :func:`check_image`'s own limit."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # check_image refuses images above MAX_MEGAPIXELS from their header
    return Image


@contextlib.contextmanager
def collect_warnings() -> Iterator[dict[str, list[str]]]:
    """Collect the Python warnings of image decoding, per file, instead of printing them.

    Inside the block (which may decode in several threads) every warning raised while a file is
    decoded by :func:`check_image` is recorded under that file's path in the yielded dict;
    other warnings pass through as usual.
    """
    found: dict[str, list[str]] = {}
    previous = warnings.showwarning

    def record(message, category, filename, lineno, file=None, line=None):
        path = getattr(_current, "path", None)
        if path is None:
            return previous(message, category, filename, lineno, file, line)
        found.setdefault(path, []).append(f"{category.__name__}: {message}")

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        try:
            yield found
        finally:
            warnings.showwarning = previous


def _to_rgb(image):
    """Convert any Pillow mode to 8-bit RGB."""
    from PIL import Image

    mode = image.mode
    if mode in _SIXTEEN_BIT:  # 16-bit samples ("I" is how Pillow opens some 16-bit files): scale by the depth
        array = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(array / 65535.0 * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
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
    from PIL import ImageOps

    Image = _pillow()
    with warnings.catch_warnings(), Image.open(path) as image:
        warnings.simplefilter("ignore")  # validation reported them already
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


def load_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image as a 2-D ``uint8`` grayscale array (ITU-R 601 luma, as OpenCV's grayscale read)."""
    from PIL import ImageOps

    Image = _pillow()
    with warnings.catch_warnings(), Image.open(path) as image:
        warnings.simplefilter("ignore")  # validation reported them already
        if image.format == "JPEG" and image.getexif().get(_ORIENTATION, 1) != 1:
            image = ImageOps.exif_transpose(image)
        if image.mode != "L":
            image = _to_rgb(image).convert("L")
        return np.asarray(image, dtype=np.uint8)


def check_image(path: str | os.PathLike) -> str | None:
    """Return why ``path`` can't be used as an image, or ``None`` if it decodes fully.

    The whole file is decoded (not only the header), so truncated files are caught.
    """
    from PIL import UnidentifiedImageError

    Image = _pillow()
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    _current.path = str(path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_MEGAPIXELS * 1_000_000:
                return (f"too large ({image.width * image.height / 1e6:.0f} megapixels; kerascenes decodes up to "
                        f"{MAX_MEGAPIXELS}): shrink it")
            image.load()
            if image.width < 1 or image.height < 1:
                return "image has no pixels"
    except UnidentifiedImageError:
        return "not an image"
    except Exception as exc:  # noqa: BLE001 - decoders fail in many ways (OSError, SyntaxError, struct.error, ...)
        text = str(exc) or type(exc).__name__
        if "truncated" in text.lower():
            return "truncated image"
        return f"corrupt image ({text.splitlines()[0][:120]})"
    finally:
        _current.path = None
    return None
