"""Dense SIFT computed for a whole grid at once (no per-keypoint loop).

For every patch size the image is smoothed, its gradients are split into 8 orientation
maps (each gradient shared linearly between its two nearest orientations), each map is
pooled with a separable triangular filter one cell wide (SIFT's bilinear spatial
binning), and the 4 x 4 cell grid of every descriptor is then read off the pooled maps
by strided indexing. Descriptors are Gaussian-weighted per cell, L2-normalised, clipped
at 0.2 and renormalised as in Lowe's SIFT, and stored as uint8 (x 512), like OpenCV's.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

N_ORIENTATIONS = 8
N_CELLS = 4
DESCRIPTOR_SIZE = N_CELLS * N_CELLS * N_ORIENTATIONS  # 128


def _triangle(width: int) -> np.ndarray:
    x = np.arange(-width + 1, width, dtype=np.float32)
    return (1.0 - np.abs(x) / width).astype(np.float32)


def _orientation_maps(gray: np.ndarray, sigma: float) -> np.ndarray:
    """Gradient magnitudes split linearly between the 2 nearest of 8 orientations: ``(h, w, 8)``."""
    import cv2

    img = cv2.GaussianBlur(gray, (0, 0), sigma) if sigma > 0.3 else gray
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=1)
    mag, ang = cv2.cartToPolar(gx, gy)
    t = (ang * (N_ORIENTATIONS / (2 * np.pi))).ravel()
    lower = t.astype(np.int32)  # t >= 0, so truncation is floor
    hi_w = mag.ravel() * (t - lower)
    lower %= N_ORIENTATIONS
    base = np.arange(0, t.size * N_ORIENTATIONS, N_ORIENTATIONS, dtype=np.int32)
    maps = np.zeros(t.size * N_ORIENTATIONS, np.float32)
    maps[base + lower] = mag.ravel() - hi_w
    lower += 1
    lower %= N_ORIENTATIONS
    maps[base + lower] = hi_w
    return maps.reshape(gray.shape[0], gray.shape[1], N_ORIENTATIONS)


def dense_sift(gray: np.ndarray, patch_sizes: Sequence[int] = (16,), step: int = 8,
               contrast_threshold: float = 0.005, magnification: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Dense SIFT descriptors of a grayscale image at one or more patch sizes.

    Args:
        gray: ``(h, w)`` float32 image in [0, 1].
        patch_sizes: descriptor widths in pixels (4 x 4 cells, so each should be a multiple of 4).
        step: grid spacing in pixels (the same for every patch size).
        contrast_threshold: descriptors whose gradient energy (before normalisation) is
            below this are set to zero (flat regions such as sky all map to one word).
        magnification: the image is smoothed with sigma = cell width / magnification
            before the gradients are taken (as in VLFeat's PHOW); the gradients are
            computed once, at the smallest patch size, and shared by all sizes.

    Returns:
        ``(descriptors, positions)``: ``(n, 128)`` uint8 and ``(n, 2)`` float32 (x, y) centres
        as fractions of the image width and height. Images smaller than a patch give none.
    """
    import cv2

    h, w = gray.shape
    all_desc, all_pos = [], []
    maps = None  # computed once, shared by all patch sizes
    smallest_cell = max(1, int(round(min(patch_sizes) / N_CELLS))) if len(patch_sizes) else 1
    for patch in patch_sizes:
        cell = max(1, int(round(patch / N_CELLS)))
        span = cell * (N_CELLS - 1)  # distance between the first and last cell centres
        margin = cell // 2
        # first cell centres: the whole descriptor must lie inside the image
        ys = np.arange(margin, h - span - margin, step)
        xs = np.arange(margin, w - span - margin, step)
        if len(ys) == 0 or len(xs) == 0:
            continue
        if maps is None:
            maps = _orientation_maps(gray, smallest_cell / magnification)
        pooled = cv2.sepFilter2D(maps, cv2.CV_32F, _triangle(cell), _triangle(cell),
                                 borderType=cv2.BORDER_CONSTANT)
        desc = np.empty((len(ys), len(xs), N_CELLS, N_CELLS, N_ORIENTATIONS), np.float32)
        for i in range(N_CELLS):
            rows = pooled[ys + i * cell]
            for j in range(N_CELLS):
                desc[:, :, i, j, :] = rows[:, xs + j * cell]
        # Gaussian window over the cells (sigma = half the descriptor width, as in SIFT)
        offs = np.arange(N_CELLS, dtype=np.float32) - (N_CELLS - 1) / 2
        g = np.exp(-(offs[:, None] ** 2 + offs[None, :] ** 2) / (2 * (N_CELLS / 2) ** 2)).astype(np.float32)
        desc *= g[None, None, :, :, None]
        desc = desc.reshape(-1, DESCRIPTOR_SIZE)
        norm = np.linalg.norm(desc, axis=1, keepdims=True)
        # gradient energy per pixel of the patch, so the threshold does not depend on the size
        energy = norm[:, 0] / (cell * cell)
        desc /= np.maximum(norm, 1e-12)
        np.minimum(desc, 0.2, out=desc)
        desc /= np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)
        desc[energy < contrast_threshold] = 0.0
        all_desc.append(np.minimum(desc * 512.0 + 0.5, 255).astype(np.uint8))
        cy = (ys + span / 2 + 0.5) / h
        cx = (xs + span / 2 + 0.5) / w
        pos = np.stack(np.meshgrid(cx, cy), axis=-1).reshape(-1, 2)
        all_pos.append(pos.astype(np.float32))
    if not all_desc:
        return np.zeros((0, DESCRIPTOR_SIZE), np.uint8), np.zeros((0, 2), np.float32)
    return np.concatenate(all_desc), np.concatenate(all_pos)
