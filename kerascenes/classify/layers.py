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
class SpatialPyramidPooling(keras.layers.Layer):
    """Average a feature map over the whole map and over each cell of finer grids, side by side.

    Spatial pyramid pooling (He et al., SPP-net, 2014) of the last feature map: level 1 is
    global average pooling, level 2 the mean of each quarter of the map (top left, top right,
    bottom left, bottom right), and so on. Scenes are laid out (sky above, floor below), and
    the grid keeps where things are that the global mean throws away. Weightless, so it
    belongs to the cached features of a frozen backbone.

    Args:
        levels: grid sides, e.g. ``(1, 2)``: 1 + 4 = 5 vectors of the map's channels.
    """

    def __init__(self, levels=(1, 2), **kwargs):
        super().__init__(**kwargs)
        self.levels = tuple(int(n) for n in levels)
        if not self.levels or min(self.levels) < 1:
            raise ValueError(f"levels must be positive grid sides, got {levels!r}")

    @staticmethod
    def _bounds(size, n: int, i: int):
        """Rows (or columns) ``[start, stop)`` of cell ``i`` of ``n`` (at least one, also on maps smaller than ``n``)."""
        # a static size (a fixed input size) gives plain integer slices, which every export target takes
        lower, upper = (min, max) if isinstance(size, int) else (ops.minimum, ops.maximum)
        start = lower((i * size) // n, size - 1)
        return start, upper(((i + 1) * size) // n, start + 1)

    def call(self, inputs):
        h = inputs.shape[1] if inputs.shape[1] is not None else ops.shape(inputs)[1]
        w = inputs.shape[2] if inputs.shape[2] is not None else ops.shape(inputs)[2]
        cells = []
        for n in self.levels:
            for i in range(n):
                r0, r1 = self._bounds(h, n, i)
                for j in range(n):
                    c0, c1 = self._bounds(w, n, j)
                    cells.append(ops.mean(inputs[:, r0:r1, c0:c1, :], axis=(1, 2)))
        return ops.concatenate(cells, axis=-1)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        cells = sum(n * n for n in self.levels)
        return (input_shape[0], None if channels is None else channels * cells)

    def get_config(self):
        config = super().get_config()
        config.update({"levels": list(self.levels)})
        return config


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
