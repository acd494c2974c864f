"""Local feature detectors/descriptors by name: ``sift``, ``kaze``, ``akaze``, ``orb``,
``fast-freak`` (OpenCV) and ``dense-sift`` (:mod:`kerascenes.bow.dense_sift`).

Every detector maps a grayscale float image to ``(descriptors, positions)``: descriptors
as a compact array (uint8 for SIFT-like and binary descriptors, whose bits are unpacked to
0/1 so that squared Euclidean distance equals Hamming distance; float32 for KAZE) and
positions as ``(x, y)`` fractions of the image size, for spatial pyramids. OpenCV objects
are built per call (they cannot be pickled), never stored on an estimator.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

import numpy as np

from kerascenes.errors import KerascenesError

DETECTORS = ("dense-sift", "sift", "kaze", "akaze", "orb", "fast-freak")
_UNAVAILABLE = {
    "surf": "SURF is patented and unavailable in this OpenCV build; use 'sift', 'kaze' or 'dense-sift' instead.",
}


def check_detector(name: str) -> str:
    """Validate a detector name (case-insensitive) and return its canonical form."""
    key = str(name).lower().replace("_", "-")
    if key in DETECTORS:
        return key
    if key in _UNAVAILABLE:
        raise KerascenesError(_UNAVAILABLE[key])
    close = difflib.get_close_matches(key, DETECTORS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise KerascenesError(f"Unknown detector {name!r}{hint}; choose one of {', '.join(DETECTORS)}.")


def _keypoint_output(kps, desc, shape, binary: bool, max_keypoints: int | None,
                     dim: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    if desc is None or len(kps) == 0:
        return np.zeros((0, dim), np.uint8 if binary or dim == 128 else np.float32), np.zeros((0, 2), np.float32)
    if max_keypoints and len(kps) > max_keypoints:
        keep = np.argsort([-k.response for k in kps], kind="stable")[:max_keypoints]
        kps = [kps[i] for i in keep]
        desc = desc[keep]
    pos = np.array([[k.pt[0] / w, k.pt[1] / h] for k in kps], np.float32)
    if binary:
        desc = np.unpackbits(desc, axis=1)
    elif desc.dtype == np.float32 and dim == 128:  # OpenCV SIFT values are integers in 0..255
        desc = np.clip(np.rint(desc), 0, 255).astype(np.uint8)
    return desc, pos


def _u8(gray: np.ndarray) -> np.ndarray:
    return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _sift(gray, max_keypoints, **_):
    import cv2

    kps, desc = cv2.SIFT_create().detectAndCompute(_u8(gray), None)
    return _keypoint_output(kps, desc, gray.shape, False, max_keypoints, 128)


def _kaze(gray, max_keypoints, **_):
    import cv2

    kps, desc = cv2.xfeatures2d.KAZE_create().detectAndCompute(gray, None)
    out = _keypoint_output(kps, desc, gray.shape, False, max_keypoints, 64)
    return out[0].astype(np.float32), out[1]


def _akaze(gray, max_keypoints, **_):
    import cv2

    kps, desc = cv2.xfeatures2d.AKAZE_create().detectAndCompute(_u8(gray), None)
    return _keypoint_output(kps, desc, gray.shape, True, max_keypoints, 61 * 8)


def _orb(gray, max_keypoints, **_):
    import cv2

    kps, desc = cv2.ORB_create(nfeatures=max_keypoints or 500).detectAndCompute(_u8(gray), None)
    return _keypoint_output(kps, desc, gray.shape, True, max_keypoints, 256)


def _fast_freak(gray, max_keypoints, **_):
    import cv2

    img = _u8(gray)
    kps = cv2.FastFeatureDetector_create().detect(img, None)
    if max_keypoints and len(kps) > max_keypoints:
        kps = sorted(kps, key=lambda k: -k.response)[:max_keypoints]
    kps, desc = cv2.xfeatures2d.FREAK_create().compute(img, kps)
    return _keypoint_output(kps, desc, gray.shape, True, None, 512)


def _dense(gray, max_keypoints, patch_sizes=(16,), step=8, **_):
    from kerascenes.bow.dense_sift import dense_sift

    return dense_sift(gray, patch_sizes=tuple(patch_sizes), step=int(step))


_FUNCS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "dense-sift": _dense, "sift": _sift, "kaze": _kaze, "akaze": _akaze, "orb": _orb, "fast-freak": _fast_freak,
}


def extract(gray: np.ndarray, detector: str, **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors and positions of one grayscale image.

    Args:
        gray: ``(h, w)`` float32 image in [0, 1].
        detector: one of :data:`DETECTORS`.
        **params: ``max_keypoints`` (keypoint detectors; strongest kept), ``patch_sizes``
            and ``step`` (dense SIFT).

    Returns:
        ``(descriptors, positions)``; zero rows when the image has no keypoints.
    """
    import cv2

    cv2.setNumThreads(1)  # parallelism is over images, not inside OpenCV
    params.setdefault("max_keypoints", None)
    return _FUNCS[check_detector(detector)](gray, **params)
