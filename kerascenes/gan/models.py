"""Build the Keras generator and discriminator of an :class:`~kerascenes.gan.architectures.Architecture`."""

from __future__ import annotations

from typing import Any

import keras

from kerascenes.gan.architectures import Architecture, get_architecture


@keras.saving.register_keras_serializable(package="kerascenes")
class CategoricalCode(keras.layers.Layer):
    """InfoGAN categorical code from standard-normal noise.

    The first ``codes`` values of each noise vector are replaced by the one-hot vector of their
    argmax (uniform over the ``codes`` values, since they are i.i.d.); the rest pass through.
    The noise keeps its shape, so sampling code stays "draw ``latent_dim`` normal values".
    """

    def __init__(self, codes: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.codes = int(codes)

    def call(self, noise):
        code = keras.ops.one_hot(keras.ops.argmax(noise[:, :self.codes], axis=-1), self.codes, dtype=noise.dtype)
        return keras.ops.concatenate([code, noise[:, self.codes:]], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "codes": self.codes}


def _initializer(spec: dict[str, Any], seed: int | None):
    if spec["type"] == "normal":
        return keras.initializers.RandomNormal(0.0, spec.get("stddev", 0.02), seed=seed)
    return keras.initializers.get(spec["type"]) if seed is None else keras.initializers.get(
        {"class_name": spec["type"], "config": {"seed": seed}})


def build_layer(layer: dict[str, Any], kernel_init: dict[str, Any], seed: int | None = None) -> keras.layers.Layer:
    """One Keras layer from a layer dict of an architecture spec."""
    kind = layer["type"]
    init = lambda: _initializer(kernel_init, seed)  # noqa: E731 - a fresh initializer per layer
    if kind == "dense":
        return keras.layers.Dense(layer["units"], use_bias=layer["use_bias"], kernel_initializer=init())
    if kind == "reshape":
        return keras.layers.Reshape(tuple(layer["target_shape"]))
    if kind == "flatten":
        return keras.layers.Flatten()
    if kind in ("conv", "conv_transpose"):
        cls = keras.layers.Conv2D if kind == "conv" else keras.layers.Conv2DTranspose
        return cls(layer["filters"], layer["kernel_size"], strides=layer["strides"], padding=layer["padding"],
                   use_bias=layer["use_bias"], kernel_initializer=init())
    if kind == "batchnorm":
        return keras.layers.BatchNormalization(momentum=layer["momentum"], epsilon=layer["epsilon"])
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=layer["negative_slope"])
    if kind == "relu":
        return keras.layers.ReLU()
    if kind == "tanh":
        return keras.layers.Activation("tanh")
    if kind == "dropout":
        return keras.layers.Dropout(layer["rate"])
    if kind == "categorical_code":
        return CategoricalCode(layer["codes"])
    raise ValueError(f"unknown layer type {kind!r}")


def _sequential(layers, input_shape, kernel_init, name: str, seed: int | None) -> keras.Sequential:
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=tuple(input_shape)))
    for i, layer in enumerate(layers):
        model.add(build_layer(layer, kernel_init, None if seed is None else seed + i))
    return model


def build_generator(architecture: str | dict | Architecture, seed: int | None = None) -> keras.Sequential:
    """The generator: ``(batch, latent_dim)`` noise -> ``(batch, 28, 28, 1)`` images in [-1, 1]."""
    arch = get_architecture(architecture)
    return _sequential(arch.generator, (arch.latent_dim,), arch.kernel_init, "generator", seed)


def build_discriminator(architecture: str | dict | Architecture, seed: int | None = None) -> keras.Sequential:
    """The discriminator: ``(batch, 28, 28, 1)`` images -> ``(batch, 1 + codes)`` logits (real/fake first)."""
    arch = get_architecture(architecture)
    return _sequential(arch.discriminator, arch.image_shape, arch.kernel_init, "discriminator",
                       None if seed is None else seed + 1000)
