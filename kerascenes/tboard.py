"""TensorBoard helpers shared by every kind of run: images, hyperparameters, scalars."""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np


def _hparam_value(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def log_hparams(logdir: str | os.PathLike, hparams: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
    """Write a run's hyperparameters and final metrics to TensorBoard's HParams dashboard."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        hp.hparams({k: _hparam_value(v) for k, v in hparams.items() if v is not None})
        for name, value in metrics.items():
            if value is not None:
                tf.summary.scalar(name, float(value), step=0)
    writer.flush()
    writer.close()


def log_image(logdir: str | os.PathLike, tag: str, png_or_array: bytes | np.ndarray, step: int = 0) -> None:
    """Write one image (PNG bytes or an ``(h, w[, c])`` array in [0, 1]) to TensorBoard."""
    import tensorflow as tf

    if isinstance(png_or_array, (bytes, bytearray)):
        image = tf.image.decode_png(png_or_array, channels=4)[None]
    else:
        image = np.asarray(png_or_array, dtype=np.float32)
        if image.ndim == 2:
            image = image[..., None]
        image = image[None]
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.image(tag, image, step=step)
    writer.flush()
    writer.close()


def log_confusion_matrix(logdir: str | os.PathLike, matrix: np.ndarray, class_names: Sequence[str],
                         step: int = 0, tag: str = "confusion_matrix") -> None:
    """Draw a confusion matrix and write it to TensorBoard as an image."""
    from kerascenes.plots import confusion_matrix_figure, figure_to_png_bytes

    log_image(logdir, tag, figure_to_png_bytes(confusion_matrix_figure(matrix, class_names)), step)


def log_scalars(logdir: str | os.PathLike, scalars: Mapping[str, float], step: int = 0) -> None:
    """Write a few scalars at one step."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        for name, value in scalars.items():
            tf.summary.scalar(name, float(value), step=step)
    writer.flush()
    writer.close()
