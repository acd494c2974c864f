"""``tf.data`` input pipelines over validated image files.

Decoding (Pillow, any image mode -> RGB at the backbone's size) runs in parallel, the
decoded images are cached (in memory by default, or in a cache file), training batches are
shuffled and augmented, and everything is prefetched. ``--mixup`` / ``--cutmix`` mix the
augmented training batches (:func:`mix_batches`), which then carry soft one-hot labels.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from kerascenes.data.folders import ImageSet
from kerascenes.data.images import load_image


def _decode_fn(image_size: int):
    import tensorflow as tf

    def load(path):
        return load_image(os.fsdecode(path) if isinstance(path, bytes) else str(path), image_size)

    def decode(path, label):
        image = tf.numpy_function(load, [path], tf.uint8, stateful=False)
        image.set_shape((image_size, image_size, 3))
        return image, label

    return decode


def image_dataset(paths: Sequence[str], labels: Sequence[int] | None, image_size: int, batch_size: int,
                  training: bool = False, augment: str = "none", seed: int = 0, cache: bool | str = True):
    """A batched ``tf.data.Dataset`` of ``(float32 images in [0, 255], int labels)``.

    Args:
        paths: image files (already validated).
        labels: integer labels (``None`` gives ``-1`` labels, for prediction).
        image_size: square output size.
        batch_size: images per batch.
        training: shuffle every epoch and apply ``augment``.
        augment: augmentation policy name (see :mod:`kerascenes.data.augment`).
        seed: shuffle and augmentation seed.
        cache: ``True`` caches decoded images in memory, a string caches to that file
            prefix, ``False`` decodes every epoch.
    """
    import tensorflow as tf

    from kerascenes.data.augment import augment_dataset, check_policy

    labels = np.full(len(paths), -1, np.int64) if labels is None else np.asarray(labels, np.int64)
    # file names as bytes: any name the file system holds, UTF-8 or not
    ds = tf.data.Dataset.from_tensor_slices((np.asarray([os.fsencode(p) for p in paths], dtype=object), labels))
    ds = ds.map(_decode_fn(image_size), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if training:
        ds = ds.shuffle(min(len(paths), 10_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and check_policy(augment) != "none":
        ds = augment_dataset(ds, augment, seed=seed)  # uint8 in, float32 out
    else:
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def imageset_dataset(images: ImageSet, image_size: int, batch_size: int, **kwargs):
    """:func:`image_dataset` for an :class:`ImageSet`."""
    return image_dataset(images.paths, images.labels, image_size, batch_size, **kwargs)


def one_hot_labels(ds, num_classes: int):
    """A batched ``(images, int labels)`` dataset with one-hot float32 labels."""
    import tensorflow as tf

    return ds.map(lambda x, y: (x, tf.one_hot(y, num_classes, dtype=tf.float32)), num_parallel_calls=tf.data.AUTOTUNE)


def mix_batches(ds, num_classes: int, mixup: float = 0.0, cutmix: float = 0.0, seed: int = 0):
    """Mix the images of each training batch with ``keras.layers.MixUp`` or ``keras.layers.CutMix``.

    Labels become one-hot and are mixed in the same proportions as the images (soft labels).

    Args:
        ds: batched ``(float32 images in [0, 255], int labels)``, already augmented.
        num_classes: number of classes.
        mixup: MixUp's Beta(alpha, alpha) parameter (0: off).
        cutmix: CutMix's Beta(alpha, alpha) parameter, at most 1 (0: off); one of the two is given.
        seed: seed of the mixing draws.
    """
    import keras
    import tensorflow as tf

    if mixup:
        layer = keras.layers.MixUp(alpha=mixup, seed=seed, dtype="float32")
    else:  # Keras draws CutMix's alpha uniformly from ``factor``: a one-point range gives alpha itself
        layer = keras.layers.CutMix(factor=(cutmix, cutmix), seed=seed, dtype="float32")

    def mix(x, y):
        out = layer({"images": x, "labels": y}, training=True)
        return out["images"], out["labels"]

    # one call at a time: the layer's seed generator then gives the same draws in every run
    return one_hot_labels(ds, num_classes).map(mix, num_parallel_calls=None).prefetch(tf.data.AUTOTUNE)


def load_images(paths: Sequence[str], image_size: int) -> np.ndarray:
    """Decode a few images into one ``uint8`` array ``(n, size, size, 3)`` (for galleries, predict)."""
    return np.stack([load_image(p, image_size) for p in paths]) if len(paths) else np.zeros((0, image_size, image_size, 3), np.uint8)
