"""Augmentation policies by name, applied in the input pipeline (never saved in the model).

Scenes have a ground and a sky, so only horizontal flips are used and rotations stay small.
Images are RGB in [0, 255] (``uint8`` or ``float32``), in batches; augmented batches are float32.

Every random number comes from a stateless generator seeded by ``(seed, batch counter)``,
so the same ``--seed`` gives the same augmented images in every run, even with parallel
map calls; and the geometric changes (flip, rotation, zoom, translation) are folded into one
affine warp per image, which is several times faster than one resampling per change. The pixel
work runs in OpenCV (``cv2.warpAffine``, ``cv2.addWeighted``) on the decoded ``uint8`` images,
several times faster on a CPU than TensorFlow's projective-transform kernel and tensor ops.
"""

from __future__ import annotations

from dataclasses import dataclass

POLICIES = {
    "none": "no augmentation",
    "default": "horizontal flip, rotation +-0.03 turn, zoom +-10%, contrast +-20%",
    "strong": "default + translation +-10%, brightness +-20%, zoom +-20%, rotation +-0.06 turn",
}


@dataclass(frozen=True)
class Policy:
    """Ranges of one augmentation policy (rotation in turns, the others as fractions)."""

    flip: bool = False
    rotation: float = 0.0
    zoom: float = 0.0
    translation: float = 0.0
    contrast: float = 0.0
    brightness: float = 0.0


_POLICIES = {
    "none": Policy(),
    "default": Policy(flip=True, rotation=0.03, zoom=0.1, contrast=0.2),
    "strong": Policy(flip=True, rotation=0.06, zoom=0.2, translation=0.1, contrast=0.2, brightness=0.2),
}


def check_policy(name: str) -> str:
    """Validate an augmentation policy name."""
    from kerascenes.errors import KerascenesError

    if name not in POLICIES:
        raise KerascenesError(f"Unknown augmentation policy {name!r}; choose one of {', '.join(POLICIES)}.")
    return name


def flips(name: str) -> bool:
    """Whether the policy ``name`` mirrors images (cached-feature runs then also train on the mirror images)."""
    return _POLICIES[check_policy(name)].flip


def augment_batch(images, seed, policy: str | Policy, backend: str = "opencv"):
    """Augment a batch ``(n, h, w, 3)`` with stateless random draws.

    The random parameters are drawn in TensorFlow; the pixels are then changed in one pass
    per image: an affine warp (flip, rotation, zoom, translation), then
    ``(x - mean) * contrast + mean + brightness``, clipped to [0, 255].

    Args:
        images: images in [0, 255], ``uint8`` or ``float32``.
        seed: a shape-``(2,)`` int tensor; the same seed gives the same result.
        policy: a policy name or :class:`Policy`.
        backend: ``"opencv"`` (``cv2.warpAffine`` + ``cv2.addWeighted``, several times faster
            on a CPU) or ``"tensorflow"`` (``ImageProjectiveTransformV3`` and tensor ops).

    Returns:
        The augmented batch as ``float32``.
    """
    import math

    import tensorflow as tf

    p = _POLICIES[check_policy(policy)] if isinstance(policy, str) else policy
    images = tf.convert_to_tensor(images)
    n = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=7)

    def uniform(i, limit):
        return tf.random.stateless_uniform([n], seeds[i], -limit, limit)

    warp = bool(p.flip or p.rotation or p.zoom or p.translation)
    angle = uniform(1, 2 * math.pi * p.rotation) if p.rotation else tf.zeros([n])
    scale = 1.0 + uniform(2, p.zoom) if p.zoom else tf.ones([n])  # > 1 zooms in
    tx = uniform(3, p.translation) * w if p.translation else tf.zeros([n])
    ty = uniform(4, p.translation) * h if p.translation else tf.zeros([n])
    # output pixel -> input pixel: centre + R(angle) / scale @ (out - centre) + shift
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a0, a2 = cos, cx - cos * cx + sin * cy + tx
    b0, b2 = sin, cy - sin * cx - cos * cy + ty
    if p.flip:  # mirror the output first: x -> (w - 1) - x, folded into the same warp
        mirror = tf.random.stateless_uniform([n], seeds[0]) < 0.5
        a0, a2 = tf.where(mirror, -a0, a0), tf.where(mirror, a2 + a0 * (w - 1), a2)
        b0, b2 = tf.where(mirror, -b0, b0), tf.where(mirror, b2 + b0 * (w - 1), b2)
    transforms = tf.stack([a0, -sin, a2, b0, cos, b2, tf.zeros([n]), tf.zeros([n])], axis=1)
    contrast = 1.0 + uniform(5, p.contrast) if p.contrast else tf.ones([n])
    brightness = uniform(6, p.brightness) * 255.0 if p.brightness else tf.zeros([n])

    if backend == "opencv":
        out = tf.numpy_function(_augment_numpy, [images, transforms, contrast, brightness, warp], tf.float32,
                                stateful=False)
        out.set_shape(images.shape)
        return out
    images = tf.cast(images, tf.float32)
    if warp:
        images = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
            interpolation="BILINEAR", fill_mode="REFLECT")
    if p.contrast:
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * contrast[:, None, None, None] + mean
    if p.brightness:
        images = images + brightness[:, None, None, None]
    return tf.clip_by_value(images, 0.0, 255.0)


def _augment_numpy(images, transforms, contrast, brightness, warp):
    """The OpenCV pass of :func:`augment_batch` (OpenCV releases the GIL, so batches run in parallel)."""
    import cv2
    import numpy as np

    n, h, w = images.shape[:3]
    out = np.empty(images.shape, np.float32)
    for i in range(n):
        image = images[i]
        if warp:  # bilinear, borders reflected (TensorFlow's "reflect": d c b a | a b c d)
            t = transforms[i]
            matrix = np.asarray([t[0:3], t[3:6]], dtype=np.float64)  # output pixel -> input pixel
            image = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REFLECT)
        c = float(contrast[i])
        mean = float(np.mean(cv2.mean(image)[:3])) if c != 1.0 else 0.0
        cv2.addWeighted(image, c, image, 0.0, (1.0 - c) * mean + float(brightness[i]), dst=out[i], dtype=cv2.CV_32F)
    return np.clip(out, 0.0, 255.0, out=out)


def augment_dataset(ds, policy: str, seed: int = 0):
    """Apply ``policy`` to a batched ``(images, labels)`` dataset, reproducibly and in parallel.

    Images in [0, 255] (``uint8`` or ``float32``) come out as ``float32``.

    Each batch gets its own seed from a seeded stream that changes every epoch.
    """
    import tensorflow as tf

    if check_policy(policy) == "none":
        return ds
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip((ds, seeds))
    return ds.map(lambda xy, s: (augment_batch(xy[0], tf.stack([s, tf.constant(seed, tf.int64)]), policy), xy[1]),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
