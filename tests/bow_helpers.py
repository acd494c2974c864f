"""Tiny synthetic scenes for the bag-of-words tests: stripes vs. blobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def stripes(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Horizontal sinusoidal stripes with random period/phase + noise (uint8)."""
    y = np.arange(size)[:, None]
    period = rng.uniform(6, 12)
    img = 0.5 + 0.4 * np.sin(2 * np.pi * y / period + rng.uniform(0, 6.28)) * np.ones((1, size))
    img += rng.normal(0, 0.05, (size, size))
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def blobs(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Bright discs on a dark noisy background (uint8)."""
    img = np.full((size, size), 0.2) + rng.normal(0, 0.05, (size, size))
    yy, xx = np.mgrid[:size, :size]
    for _ in range(6):
        cy, cx, r = rng.uniform(8, size - 8), rng.uniform(8, size - 8), rng.uniform(3, 8)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 0.9
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def dataset(n_per_class: int = 8, seed: int = 0, size: int = 64) -> tuple[list[np.ndarray], np.ndarray]:
    """Arrays and labels: class 0 = stripes, class 1 = blobs."""
    rng = np.random.default_rng(seed)
    images = [stripes(rng, size) for _ in range(n_per_class)] + [blobs(rng, size) for _ in range(n_per_class)]
    return images, np.array([0] * n_per_class + [1] * n_per_class)


def write_tree(root: Path, n_per_class: int = 8, seed: int = 0, size: int = 64) -> Path:
    """A class-per-folder tree ``root/{stripes,blobs}/*.png``."""
    import cv2

    images, labels = dataset(n_per_class, seed, size)
    for i, (img, label) in enumerate(zip(images, labels)):
        folder = root / ("stripes" if label == 0 else "blobs")
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"img{i:03d}.png"), img)
    return root
