"""Augmentation policies by name, applied in the input pipeline (never saved in the model).

Scenes have a ground and a sky, so only horizontal flips are used and rotations stay small.
Images are float32 RGB in [0, 255], in batches.

Every random number comes from a stateless generator seeded by ``(seed, batch counter)``,
so the same ``--seed`` gives the same augmented images in every run, even with parallel
map calls; and the geometric changes (flip, rotation, zoom, translation) are folded into one
affine warp per image, which is several times faster than one resampling per change. The warp
runs in OpenCV (``cv2.warpAffine``), about ten times faster on a CPU than TensorFlow's
projective-transform kernel, so the pipeline keeps ahead of even the smallest backbone.
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


def augment_batch(images, seed, policy: str | Policy):
    """Augment a batch ``(n, h, w, 3)`` with stateless random draws.

    Args:
        images: float32 images in [0, 255].
        seed: a shape-``(2,)`` int tensor; the same seed gives the same result.
        policy: a policy name or :class:`Policy`.
    """
    import math

    import tensorflow as tf

    p = _POLICIES[check_policy(policy)] if isinstance(policy, str) else policy
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
    h = tf.cast(tf.shape(images)[1], tf.float32)
    w = tf.cast(tf.shape(images)[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=7)

    def uniform(i, limit):
        return tf.random.stateless_uniform([n], seeds[i], -limit, limit)

    if p.flip or p.rotation or p.zoom or p.translation:
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
        images = warp_images(images, transforms)
    if p.contrast:
        factor = 1.0 + uniform(5, p.contrast)
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * factor[:, None, None, None] + mean
    if p.brightness:
        images = images + uniform(6, p.brightness)[:, None, None, None] * 255.0
    return tf.clip_by_value(images, 0.0, 255.0)


def _warp_numpy(images, transforms):
    """OpenCV affine warps (bilinear, reflected borders) of a float32 batch; releases the GIL."""
    import cv2
    import numpy as np

    out = np.empty_like(images)
    h, w = images.shape[1:3]
    for i, (image, t) in enumerate(zip(images, transforms)):
        matrix = np.asarray([t[0:3], t[3:6]], dtype=np.float64)  # output pixel -> input pixel
        cv2.warpAffine(image, matrix, (w, h), dst=out[i], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_REFLECT)
    return out


def warp_images(images, transforms, backend: str = "opencv"):
    """Affine-warp a float32 batch ``(n, h, w, 3)`` with per-image output->input transforms.

    Args:
        images: float32 batch.
        transforms: ``(n, 8)`` rows ``a0 a1 a2 b0 b1 b2 0 0`` mapping output ``(x, y)`` to input
            ``(a0 x + a1 y + a2, b0 x + b1 y + b2)`` (TensorFlow's projective-transform layout).
        backend: ``"opencv"`` (``cv2.warpAffine``, ~10x faster on CPU) or ``"tensorflow"``
            (``ImageProjectiveTransformV3``); both sample bilinearly and reflect at the borders.
    """
    import tensorflow as tf

    if backend == "tensorflow":
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
            interpolation="BILINEAR", fill_mode="REFLECT")
    warped = tf.numpy_function(_warp_numpy, [images, transforms], tf.float32, stateful=False)
    warped.set_shape(images.shape)
    return warped


def augment_dataset(ds, policy: str, seed: int = 0):
    """Apply ``policy`` to a batched ``(images, labels)`` dataset, reproducibly and in parallel.

    Each batch gets its own seed from a seeded stream that changes every epoch.
    """
    import tensorflow as tf

    if check_policy(policy) == "none":
        return ds
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip((ds, seeds))
    return ds.map(lambda xy, s: (augment_batch(xy[0], tf.stack([s, tf.constant(seed, tf.int64)]), policy), xy[1]),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
