"""Shared fixtures: tiny synthetic image folders (no real data is ever used in tests)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from PIL import Image


def make_scene(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic grayscale 'scene' whose structure depends on its class.

    Class 0: horizontal stripes, 1: vertical stripes, 2: checkerboard, 3+: diagonal
    stripes of different periods. Noise and random phase keep images distinct.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = size / rng.uniform(3.0, 5.0)
    phase = rng.uniform(0, 2 * np.pi)
    if kind == 0:
        base = np.sin(2 * np.pi * yy / period + phase)
    elif kind == 1:
        base = np.sin(2 * np.pi * xx / period + phase)
    elif kind == 2:
        base = np.sign(np.sin(2 * np.pi * xx / period + phase) * np.sin(2 * np.pi * yy / period))
    else:
        base = np.sin(2 * np.pi * (xx + yy) / (period * (1 + 0.5 * (kind - 3))) + phase)
    image = 127 + 100 * base + rng.normal(0, 12, (size, size))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image_folder(root, classes=("alpha", "beta", "gamma"), per_class: int = 8, size: int = 40,
                       seed: int = 0, mode: str = "L", ext: str = ".png"):
    """Write ``root/<class>/<i>.png`` synthetic images and return ``root``."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            array = make_scene(k, size, rng)
            image = Image.fromarray(array, mode="L")
            if mode != "L":
                image = image.convert(mode)
            image.save(folder / f"{name}_{i:03d}{ext}")
    return root


def write_tiny_digits(path, n: int = 160):
    """Vertical bars whose position is the label: ``n`` 28x28 uint8 images in the Keras npz layout."""
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28), np.uint8)
    y = rng.integers(0, 10, n)
    for i, label in enumerate(y):
        x[i, 4:24, 2 + 2 * label: 6 + 2 * label] = 255
    np.savez(path, x_train=x, y_train=y, x_test=x[:32], y_test=y[:32])
    return path


@pytest.fixture
def image_folder(tmp_path):
    """A 3-class folder of 8 synthetic 40x40 grayscale PNGs per class."""
    return write_image_folder(tmp_path / "train")


@pytest.fixture
def image_folders(tmp_path):
    """Train and validation folders with the same three classes."""
    train = write_image_folder(tmp_path / "train", per_class=10, seed=0)
    val = write_image_folder(tmp_path / "val", per_class=5, seed=1)
    return train, val


@pytest.fixture
def constant_logit_loss():
    """d_loss of a GAN whose discriminator answers ``logit`` for every image: BCE(1 - s) on real + BCE(0) on fake."""
    def loss(smoothing: float, logit: float = 1.0) -> float:
        p = 1.0 / (1.0 + np.exp(-logit))
        real = -((1 - smoothing) * np.log(p) + smoothing * np.log(1 - p))
        return float(real - np.log(1 - p))
    return loss


def registered_backbone(name: str, builder):
    """Register a ``keras.applications``-family test backbone built by ``builder`` (32 px, min 16) while the
    generator runs; use as ``yield from registered_backbone(...)`` in a fixture."""
    from kerascenes.backbones import BACKBONES, BackboneSpec, register_backbone

    register_backbone(BackboneSpec(name, "keras.applications", "", "tf", 32, 16, 0, builder=builder))
    try:
        yield name
    finally:
        BACKBONES.pop(name, None)


def build_tiny_any_size(spec, weights, size, alpha, channels: int = 6):
    """A small conv net ending in global average pooling that takes any input size when ``size`` is None
    (as keras.applications with ``pooling="avg"`` do); ``channels`` features."""
    import keras

    L = keras.layers
    image = keras.Input((size, size, 3))
    x = L.Conv2D(4, 3, strides=2, activation="relu", name="conv1")(image)
    x = L.Conv2D(channels, 3, strides=2, activation="relu", name="conv2")(x)
    x = L.GlobalAveragePooling2D(name="avg")(x)
    return keras.Model(image, x, name="tiny_any_size")
