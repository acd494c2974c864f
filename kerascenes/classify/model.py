"""The classifier: input -> ImageNet preprocessing -> backbone -> dense head -> softmax."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from kerascenes.config import TTA_POLICIES
from kerascenes.data.folders import require_classes
from kerascenes.errors import KerascenesError

ACTIVATIONS = ("relu", "leaky_relu", "gelu", "elu", "swish")


@dataclass
class HeadConfig:
    """The classification head, as in the original study.

    Attributes:
        dense: units of each hidden dense layer (empty: a linear softmax classifier).
        dropout: dropout rate before each dense layer.
        activation: activation of the hidden layers.
    """

    dense: Sequence[int] = field(default_factory=lambda: (256,))
    dropout: float = 0.3
    activation: str = "relu"

    def __post_init__(self):
        self.dense = tuple(int(u) for u in self.dense)
        if any(u < 1 for u in self.dense):
            raise KerascenesError(f"--dense {','.join(map(str, self.dense))} has a layer with fewer than 1 unit; use positive integers such as 512,256.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise KerascenesError(f"--dropout must be in [0, 1), got {self.dropout}.")
        if self.activation not in ACTIVATIONS:
            raise KerascenesError(f"--activation {self.activation!r} is not supported; choose one of {', '.join(ACTIVATIONS)}.")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dense"] = list(self.dense)
        return d


def parse_dense(text: str | Sequence[int] | None) -> tuple[int, ...]:
    """Parse ``--dense 512,256`` (``""``, ``"0"`` or ``"none"`` mean no hidden layer)."""
    if text is None:
        return ()
    if not isinstance(text, str):
        return tuple(int(u) for u in text)
    text = text.strip().lower()
    if text in ("", "0", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise KerascenesError(f"--dense {text!r} is not a comma-separated list of integers; use e.g. --dense 512,256.") from None


FUSION_LAYER = "multiscale"
SCALE_FUSIONS = ("concat", "mean")
#: ``--pooling``: global average pooling, or a spatial pyramid of the last feature map.
POOLINGS = ("avg", "pyramid")
#: Grid sides of ``--pooling pyramid``: the whole map and its four quarters.
PYRAMID_LEVELS = (1, 2)


def build_classifier(backbone, num_classes: int, head: HeadConfig, preprocessing: str, image_size: int,
                     seed: int | None = None, train_backbone: bool = False, scales: Sequence[int] | None = None,
                     fusion: str = "concat", pooling: str = "avg"):
    """Wrap a backbone into a complete classifier.

    A pretrained backbone is frozen and called with ``training=False`` so its BatchNorm
    layers stay in inference mode even when some of its layers are unfrozen for
    fine-tuning. A backbone trained from random weights (``train_backbone=True``) is
    trainable and its BatchNorm layers learn their statistics as usual.

    Args:
        backbone: a ``keras.Model`` from :func:`kerascenes.backbones.build_backbone`
            (outputs a feature vector).
        num_classes: number of output classes.
        head: the dense head configuration.
        preprocessing: mode of :class:`ImagePreprocessing` for this backbone.
        image_size: square input size.
        seed: seed of the dropout layers.
        train_backbone: train every backbone layer (for random initial weights).
        scales: several input sizes (``--image-size 224,288,352``): the image (``image_size``, the
            largest) is resized to each, the one backbone (built for any input size) runs on every
            scale, and the pooled features are fused by the layer named :data:`FUSION_LAYER`.
        fusion: ``"concat"`` (features side by side) or ``"mean"`` (averaged) for several scales.
        pooling: ``"avg"`` (global average pooling, the backbone's own) or ``"pyramid"``
            (:class:`~kerascenes.classify.layers.SpatialPyramidPooling`, levels 1 and 2, of the
            backbone's last feature map: 5x the features).

    Returns:
        A ``keras.Model`` from ``(image_size, image_size, 3)`` RGB images in [0, 255] to
        class probabilities.
    """
    import keras

    from kerascenes.classify.layers import ImagePreprocessing

    require_classes(num_classes)
    if pooling not in POOLINGS:
        raise KerascenesError(f"--pooling {pooling!r} is not supported; choose one of {', '.join(POOLINGS)}.")
    if pooling == "pyramid":
        backbone = feature_map_backbone(backbone)
    backbone.trainable = train_backbone
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = ImagePreprocessing(preprocessing, name="preprocessing")(inputs)
    if scales and len(scales) > 1:
        x = _multiscale_features(backbone, x, image_size, scales, fusion, train_backbone, pooling)
    else:
        x = _pooled_features(backbone, x, train_backbone, "pool", pooling)
    for i, units in enumerate(head.dense):
        if head.dropout:
            x = keras.layers.Dropout(head.dropout, seed=seed, name=f"head_dropout_{i}")(x)
        x = keras.layers.Dense(units, name=f"head_dense_{i}")(x)
        x = keras.layers.Activation(head.activation, name=f"head_{head.activation}_{i}")(x)
    if head.dropout:
        x = keras.layers.Dropout(head.dropout, seed=seed, name="head_dropout_out")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"kerascenes_{backbone.name}")


def feature_map_backbone(backbone):
    """``backbone`` ending in its last feature map: a trailing global average pooling layer is dropped."""
    import keras

    if len(backbone.output.shape) == 4:
        return backbone
    last = backbone.layers[-1]
    if isinstance(last, keras.layers.GlobalAveragePooling2D):
        return keras.Model(backbone.inputs, backbone.layers[-2].output, name=backbone.name)
    raise KerascenesError(f"--pooling pyramid needs the backbone's feature map, but {backbone.name} ends in a "
                          "feature vector; use --pooling avg.")


def _pooled_features(backbone, x, train_backbone: bool, pool_name: str, pooling: str = "avg"):
    """The backbone's features of ``x`` (in inference mode unless it trains), pooled if it ends in a map."""
    import keras

    from kerascenes.classify.layers import SpatialPyramidPooling

    x = backbone(x) if train_backbone else backbone(x, training=False)
    if len(x.shape) == 4:  # backbones without built-in pooling
        if pooling == "pyramid":
            return SpatialPyramidPooling(PYRAMID_LEVELS, name=pool_name)(x)
        x = keras.layers.GlobalAveragePooling2D(name=pool_name)(x)
    return x


def _multiscale_features(backbone, x, image_size: int, scales: Sequence[int], fusion: str, train_backbone: bool,
                         pooling: str = "avg"):
    """The pooled backbone features of ``x`` at every scale, fused into one vector."""
    import keras

    if fusion not in SCALE_FUSIONS:
        raise KerascenesError(f"--scale-fusion {fusion!r} is not supported; choose one of {', '.join(SCALE_FUSIONS)}.")
    features = []
    for size in sorted(int(s) for s in scales):
        # bilinear resizing: the one resize every export target (TFLite, ONNX) runs natively
        scaled = x if size == image_size else keras.layers.Resizing(size, size, name=f"resize_{size}")(x)
        features.append(_pooled_features(backbone, scaled, train_backbone, f"pool_{size}", pooling))
    if fusion == "concat":
        return keras.layers.Concatenate(name=FUSION_LAYER)(features)
    return keras.layers.Average(name=FUSION_LAYER)(features)


def find_backbone(model):
    """The backbone sub-model inside a classifier built by :func:`build_classifier`."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError("model has no backbone sub-model")


def unfreeze_last(backbone, n_layers: int) -> int:
    """Make the last ``n_layers`` layers of a backbone trainable, BatchNorm excepted.

    BatchNormalization layers stay frozen (and the backbone is called in inference mode),
    so fine-tuning on small data does not wreck their statistics.

    Returns:
        The number of layers made trainable.
    """
    import keras

    if n_layers <= 0:
        return 0
    backbone.trainable = True
    layers = backbone.layers
    cut = max(0, len(layers) - n_layers)
    count = 0
    for i, layer in enumerate(layers):
        trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable
        count += int(trainable and bool(layer.weights))
    return count


def with_test_time_augmentation(model, policy: str = "flip"):
    """Wrap a trained classifier so it averages its predictions over augmented views.

    ``"flip"`` averages the probabilities of each image and of its mirror image: scenes
    look as plausible mirrored, and the average is steadier than either view. The
    wrapper shares the classifier's weights and is itself a complete image -> class model.

    Args:
        model: the trained classifier (images in, probabilities out).
        policy: ``"none"`` (return ``model`` unchanged) or ``"flip"``.
    """
    import keras

    from kerascenes.classify.layers import HorizontalFlip

    if policy not in TTA_POLICIES:
        raise KerascenesError(f"--tta {policy!r} is not supported; choose one of {', '.join(TTA_POLICIES)}.")
    if policy == "none":
        return model
    inputs = keras.Input(model.input_shape[1:], name="image")
    views = [model(inputs), model(HorizontalFlip(name="flip")(inputs))]
    outputs = keras.layers.Average(name="tta_average", dtype="float32")(views)
    return keras.Model(inputs, outputs, name=f"{model.name}_tta_{policy}")
