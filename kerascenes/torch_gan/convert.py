"""Move weights between the Keras models and their torch twins, layer by layer.

Both are built from one architecture spec, so layer ``i`` of the Keras ``Sequential``
corresponds to module ``i`` of the torch ``Sequential``. Only the axis order differs:

==================  ==========================  ==========================
layer               Keras                       torch
==================  ==========================  ==========================
Dense               kernel ``(in, out)``        weight ``(out, in)``
Conv2D              kernel ``(k, k, in, out)``  weight ``(out, in, k, k)``
Conv2DTranspose     kernel ``(k, k, out, in)``  weight ``(in, out, k, k)``
BatchNormalization  gamma, beta, mean, var      weight, bias, running_mean, running_var
==================  ==========================  ==========================

Used by the tests (identical outputs prove the twins compute the same function) and by
the benchmark (both frameworks start from the same weights).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

_AXES = {nn.Linear: (1, 0), nn.Conv2d: (3, 2, 0, 1), nn.ConvTranspose2d: (3, 2, 0, 1)}


def _kernel_axes(module: nn.Module) -> tuple[int, ...] | None:
    for cls, axes in _AXES.items():
        if isinstance(module, cls):
            return axes
    return None


def keras_layout(module: nn.Module) -> list[tuple[int, ...]]:
    """Shapes of ``module``'s own weights in Keras order (what ``layer.get_weights()`` lists)."""
    axes = _kernel_axes(module)
    if axes is not None:
        kernel = tuple(module.weight.shape[a] for a in np.argsort(axes))
        return [kernel] + ([tuple(module.bias.shape)] if module.bias is not None else [])
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return [tuple(module.weight.shape)] * 4
    return []


def load_keras_weights(model: nn.Sequential, layer_weights: Sequence[Sequence[np.ndarray]]) -> nn.Sequential:
    """Copy Keras weights into a torch twin.

    Args:
        model: a generator or discriminator of :mod:`kerascenes.torch_gan.models`.
        layer_weights: ``[layer.get_weights() for layer in keras_model.layers]``.

    Returns:
        ``model``, with its parameters and BatchNorm statistics replaced.
    """
    modules = list(model)
    if len(modules) != len(layer_weights):
        raise ValueError(f"the torch model has {len(modules)} layers and the Keras one {len(layer_weights)}")
    with torch.no_grad():
        for i, (module, weights) in enumerate(zip(modules, layer_weights)):
            expected = keras_layout(module)
            got = [tuple(np.shape(w)) for w in weights]
            if got != expected:
                raise ValueError(f"layer {i} ({type(module).__name__}): Keras weights {got}, expected {expected}")
            axes = _kernel_axes(module)
            if axes is not None:
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.transpose(weights[0], axes))))
                if module.bias is not None:
                    module.bias.copy_(torch.from_numpy(np.asarray(weights[1])))
            elif weights:
                for target, value in zip((module.weight, module.bias, module.running_mean, module.running_var),
                                         weights):
                    target.copy_(torch.from_numpy(np.asarray(value)))
    return model


def to_keras_weights(model: nn.Sequential) -> list[list[np.ndarray]]:
    """The inverse of :func:`load_keras_weights`: one Keras-ordered weight list per layer."""
    out = []
    for module in model:
        axes = _kernel_axes(module)
        if axes is not None:
            weights = [np.transpose(module.weight.detach().numpy(), np.argsort(axes))]
            if module.bias is not None:
                weights.append(module.bias.detach().numpy())
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            weights = [t.detach().numpy() for t in (module.weight, module.bias, module.running_mean,
                                                     module.running_var)]
        else:
            weights = []
        out.append([np.array(w, dtype=np.float32) for w in weights])
    return out
