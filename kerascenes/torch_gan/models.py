"""PyTorch generator and discriminator built from the same specs as the Keras models.

Each layer dict of an :class:`~kerascenes.gan.architectures.Architecture` becomes the
``torch.nn`` layer that computes what the matching Keras layer computes:

- ``padding="same"`` follows TensorFlow's rule (when the total padding is odd the extra
  row/column goes to the bottom/right), so odd totals use an explicit pad or crop;
- ``reshape`` and ``flatten`` work in channels-last order, as Keras does, so Keras
  weights load into these modules unchanged (see :mod:`kerascenes.torch_gan.convert`);
- BatchNorm momentum is converted (torch ``momentum = 1 - keras momentum``), epsilon kept;
- kernels start glorot-uniform (Keras' default) or normal(0, stddev) as the spec says,
  biases at zero; BatchNorm starts at gamma 1, beta 0.

Modules take and return channels-first tensors: images are ``(n, 1, 28, 28)`` in [-1, 1].
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from kerascenes.gan.architectures import Architecture, get_architecture, output_shapes


def same_padding(size: int, kernel_size: int, strides: int) -> tuple[int, int]:
    """TensorFlow's ``'same'`` padding (before, after) of a convolution over ``size`` pixels."""
    out = math.ceil(size / strides)
    total = max((out - 1) * strides + kernel_size - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``Conv2d`` with TensorFlow ``'same'`` padding (asymmetric when the total is odd)."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int, strides: int, input_size: int,
                 use_bias: bool = True):
        before, after = same_padding(input_size, kernel_size, strides)
        symmetric = before == after
        super().__init__(in_channels, filters, kernel_size, stride=strides, padding=before if symmetric else 0,
                         bias=use_bias)
        self.extra_pad = None if symmetric else (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.extra_pad is not None:
            x = F.pad(x, self.extra_pad)
        return super().forward(x)


class SameConvTranspose2d(nn.ConvTranspose2d):
    """``ConvTranspose2d`` whose output is ``input * strides`` pixels, cropped as TensorFlow does.

    The full transposed convolution has ``(h - 1) * s + k`` rows; TensorFlow keeps ``h * s``
    of them, dropping ``(k - s) // 2`` at the top/left and the rest at the bottom/right.
    An even total is torch's symmetric ``padding``. For an odd total (e.g. kernel 5,
    stride 2) torch's ``padding`` + ``output_padding`` would keep rows shifted by one
    against TensorFlow, so the full output is cropped explicitly instead.
    """

    def __init__(self, in_channels: int, filters: int, kernel_size: int, strides: int, use_bias: bool = True):
        total = max(kernel_size - strides, 0)
        self.crop = (total // 2, total - total // 2)
        symmetric = self.crop[0] == self.crop[1]
        super().__init__(in_channels, filters, kernel_size, stride=strides, padding=self.crop[0] if symmetric else 0,
                         output_padding=max(strides - kernel_size, 0), bias=use_bias)
        self.symmetric = symmetric

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        y = super().forward(x)
        if self.symmetric:
            return y
        top, bottom = self.crop
        return y[:, :, top:y.shape[2] - bottom, top:y.shape[3] - bottom]


class ChannelsLastReshape(nn.Module):
    """Keras ``Reshape((h, w, c))`` of a flat vector, returned channels-first ``(n, c, h, w)``."""

    def __init__(self, target_shape: tuple[int, ...]):
        super().__init__()
        self.target_shape = tuple(target_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape((x.shape[0],) + self.target_shape)
        return x.permute(0, 3, 1, 2) if x.dim() == 4 else x

    def extra_repr(self) -> str:
        return f"target_shape={self.target_shape} (channels-last)"


class ChannelsLastFlatten(nn.Module):
    """Keras ``Flatten`` of a channels-first tensor: flattens in ``(h, w, c)`` order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)


class CategoricalCode(nn.Module):
    """The first ``codes`` noise values -> the one-hot vector of their argmax (as the Keras layer)."""

    def __init__(self, codes: int):
        super().__init__()
        self.codes = int(codes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code = F.one_hot(x[:, :self.codes].argmax(dim=1), self.codes).to(x.dtype)
        return torch.cat([code, x[:, self.codes:]], dim=1)

    def extra_repr(self) -> str:
        return f"codes={self.codes}"


def build_layer(layer: dict[str, Any], input_shape: tuple[int, ...]) -> nn.Module:
    """The torch module of one layer dict.

    Args:
        layer: a layer dict of an architecture spec.
        input_shape: the layer's input shape, channels-last, without the batch axis.

    Returns:
        The module (it expects channels-first tensors).
    """
    kind = layer["type"]
    if kind == "dense":
        return nn.Linear(input_shape[-1], layer["units"], bias=layer["use_bias"])
    if kind == "reshape":
        return ChannelsLastReshape(layer["target_shape"])
    if kind == "flatten":
        return ChannelsLastFlatten()
    if kind in ("conv", "conv_transpose"):
        if layer["padding"] != "same":
            cls = nn.Conv2d if kind == "conv" else nn.ConvTranspose2d
            return cls(input_shape[-1], layer["filters"], layer["kernel_size"], stride=layer["strides"],
                       bias=layer["use_bias"])
        if kind == "conv":
            return SameConv2d(input_shape[-1], layer["filters"], layer["kernel_size"], layer["strides"],
                              input_shape[0], layer["use_bias"])
        return SameConvTranspose2d(input_shape[-1], layer["filters"], layer["kernel_size"], layer["strides"],
                                   layer["use_bias"])
    if kind == "batchnorm":
        cls = nn.BatchNorm2d if len(input_shape) == 3 else nn.BatchNorm1d
        return cls(input_shape[-1], eps=layer["epsilon"], momentum=1.0 - layer["momentum"])
    if kind == "leaky_relu":
        return nn.LeakyReLU(layer["negative_slope"])
    if kind == "relu":
        return nn.ReLU()
    if kind == "tanh":
        return nn.Tanh()
    if kind == "dropout":
        return nn.Dropout(layer["rate"])
    if kind == "categorical_code":
        return CategoricalCode(layer["codes"])
    raise ValueError(f"unknown layer type {kind!r}")


def initialize(module: nn.Module, kernel_init: dict[str, Any]) -> nn.Module:
    """Initialise kernels as Keras would (glorot-uniform or normal), biases to zero.

    Glorot's limit ``sqrt(6 / (fan_in + fan_out))`` is symmetric in the two fans, so
    torch's ``xavier_uniform_`` gives Keras' distribution for every layout (Linear,
    Conv2d, ConvTranspose2d) although the axes are ordered differently.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            if kernel_init["type"] == "normal":
                nn.init.normal_(layer.weight, 0.0, kernel_init.get("stddev", 0.02))
            elif kernel_init["type"] == "glorot_uniform":
                nn.init.xavier_uniform_(layer.weight)
            else:
                raise ValueError(f"unsupported kernel initializer {kernel_init['type']!r}")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.reset_parameters()
    return module


class ImageSequential(nn.Sequential):
    """A ``Sequential`` that remembers its input and the output of every layer (shapes channels-last)."""

    def __init__(self, layers: list[nn.Module], shapes: list[tuple[int, ...]], name: str,
                 input_shape: tuple[int, ...]):
        super().__init__(*layers)
        self.input_shape = tuple(input_shape)
        self.shapes = shapes
        self.name = name


def _sequential(layers, input_shape, kernel_init, name: str) -> ImageSequential:
    shapes = output_shapes(layers, input_shape)
    inputs = [tuple(input_shape)] + shapes[:-1]
    modules = [build_layer(layer, shape) for layer, shape in zip(layers, inputs)]
    return initialize(ImageSequential(modules, shapes, name, input_shape), kernel_init)


def build_generator(architecture: str | dict | Architecture, seed: int | None = None) -> ImageSequential:
    """The generator: ``(n, latent_dim)`` noise -> ``(n, 1, 28, 28)`` images in [-1, 1]."""
    arch = get_architecture(architecture)
    if seed is not None:
        torch.manual_seed(seed)
    return _sequential(arch.generator, (arch.latent_dim,), arch.kernel_init, "generator")


def build_discriminator(architecture: str | dict | Architecture, seed: int | None = None) -> ImageSequential:
    """The discriminator: ``(n, 1, 28, 28)`` images -> ``(n, 1 + codes)`` logits (real/fake first)."""
    arch = get_architecture(architecture)
    if seed is not None:
        torch.manual_seed(seed + 1000)
    return _sequential(arch.discriminator, arch.image_shape, arch.kernel_init, "discriminator")
