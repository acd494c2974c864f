"""Serialisable layers that make a saved model a complete image -> class model, and the training loss.

A saved ``model.keras`` is loaded in safe mode with its compile config, so the loss of a run
with ``--label-smoothing``, ``--mixup`` or ``--cutmix`` is a registered class here as well.
"""

from __future__ import annotations

import keras
from keras import ops

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
MODES = ("tf", "caffe", "torch", "none")


@keras.saving.register_keras_serializable(package="kerascenes")
class ImagePreprocessing(keras.layers.Layer):
    """ImageNet preprocessing of RGB images with values in [0, 255].

    The same arithmetic as ``keras.applications.imagenet_utils.preprocess_input``, as a
    layer so it is saved inside the model (no Lambda, so ``safe_mode`` loading works).

    Args:
        mode: ``"tf"`` scales to [-1, 1]; ``"torch"`` scales to [0, 1] and normalises with
            the ImageNet mean/std; ``"caffe"`` flips RGB to BGR and subtracts the ImageNet
            mean; ``"none"`` passes values through.
    """

    def __init__(self, mode: str = "tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"Unknown preprocessing mode {mode!r}; expected one of {MODES}.")
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_IMAGENET_MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(_IMAGENET_STD, dtype=x.dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            x = ops.flip(x, axis=-1)
            return x - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=x.dtype)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package="kerascenes")
class HorizontalFlip(keras.layers.Layer):
    """Mirror images left to right (always; used for test-time augmentation)."""

    def call(self, inputs):
        return ops.flip(inputs, axis=-2)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="kerascenes")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Categorical cross-entropy with label smoothing, on integer labels or on soft (mixed) labels.

    Integer labels ``(batch,)`` or ``(batch, 1)`` become one-hot vectors, soft labels
    ``(batch, classes)`` (from ``--mixup`` / ``--cutmix``) are used as they are; then the
    target is smoothed as ``keras.losses.categorical_crossentropy`` does:
    ``(1 - label_smoothing) * target + label_smoothing / classes``.

    Args:
        label_smoothing: in [0, 1).
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "smoothed_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        if len(y_true.shape) < len(y_pred.shape) or y_true.shape[-1] == 1:  # integer labels (2+ classes)
            y_true = ops.one_hot(ops.reshape(ops.cast(y_true, "int32"), (-1,)), y_pred.shape[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(y_true, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing})
        return config


def classification_loss(label_smoothing: float = 0.0, soft_labels: bool = False):
    """The loss of a classifier run: Keras' sparse cross-entropy, or :class:`SmoothedCrossEntropy` when needed.

    Args:
        label_smoothing: ``--label-smoothing``.
        soft_labels: whether training labels are mixed (``--mixup``, ``--cutmix``).
    """
    if not label_smoothing and not soft_labels:
        return "sparse_categorical_crossentropy"
    return SmoothedCrossEntropy(label_smoothing)
