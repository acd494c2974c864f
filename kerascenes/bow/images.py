"""Reading images for the bag-of-words pipeline: a path or an array -> grayscale float32."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kerascenes.errors import KerascenesError


def describe(image: Any) -> str:
    """A short name for an image in error messages (its path, or its array shape)."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    return f"array of shape {getattr(image, 'shape', '?')}"


def to_gray(image: Any, max_side: int | None = None) -> np.ndarray:
    """Load an image as a 2-D float32 grayscale array in [0, 1].

    Args:
        image: a file path, or a ``(h, w)`` / ``(h, w, 3|4)`` array (uint8 in 0..255 or
            float in 0..1; colour arrays are taken as RGB).
        max_side: if given, images whose longer side exceeds it are shrunk to it.

    Returns:
        ``(h, w)`` float32 array.
    """
    import cv2

    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise KerascenesError(f"Image {path} does not exist; check the path.")
        from kerascenes.data.images import check_image, load_gray

        try:  # the classifiers' decoder: every file that passed validation decodes here too
            gray = load_gray(path).astype(np.float32) / 255.0
        except Exception:  # noqa: BLE001 - say why in the words validation uses
            raise KerascenesError(f"Image {path} could not be read ({check_image(path) or 'unreadable'}); "
                                  "replace or remove this file.") from None
    else:
        arr = np.asarray(image)
        if arr.ndim == 3 and arr.shape[2] in (3, 4):
            arr = arr[..., :3]
            if arr.dtype != np.uint8:
                arr = arr.astype(np.float32)
            arr = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
        elif arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        if arr.ndim != 2 or arr.size == 0:
            raise KerascenesError(
                f"Image {describe(image)} is not a 2-D grayscale or (h, w, 3) colour array; pass such arrays or file paths.")
        if arr.dtype == np.uint8:
            gray = arr.astype(np.float32) / 255.0
        else:
            gray = arr.astype(np.float32)
            if gray.size and float(np.nanmax(gray)) > 1.0:
                gray = gray / 255.0
    if max_side and max(gray.shape) > max_side:
        scale = max_side / max(gray.shape)
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray, dtype=np.float32)
