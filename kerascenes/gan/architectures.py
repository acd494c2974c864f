"""DCGAN architectures as plain, framework-neutral data.

An :class:`Architecture` lists the generator and discriminator layer by layer as dicts,
plus the optimizer settings, latent size, batch size and weight initialisation. Nothing
here imports TensorFlow or torch: the Keras builder (:mod:`kerascenes.gan.models`) and the
PyTorch twin read the same specs, so both frameworks train the same networks.

Layer dicts (``"type"`` and its fields; every field is always present):

- ``dense``: ``units``, ``use_bias``
- ``reshape``: ``target_shape`` (channels-last ``(h, w, c)``)
- ``conv`` / ``conv_transpose``: ``filters``, ``kernel_size``, ``strides``, ``padding``
  (``"same"``: output ``ceil(h / s)`` for conv, ``h * s`` for transposed conv), ``use_bias``
- ``batchnorm``: ``momentum`` (Keras convention: running = momentum * running + (1 - momentum)
  * batch; torch's ``momentum`` is ``1 - momentum``), ``epsilon``
- ``leaky_relu``: ``negative_slope``; ``relu``; ``tanh``
- ``dropout``: ``rate``; ``flatten``
- ``categorical_code``: ``codes`` (generator only, first layer): the first ``codes`` noise values
  become the one-hot vector of their argmax, a categorical code drawn uniformly from the same
  standard-normal noise (InfoGAN); the other values pass through unchanged

Images are ``(28, 28, 1)`` in ``[-1, 1]`` (the generator ends in ``tanh``); the
discriminator ends in one logit (loss: binary cross-entropy on logits). With a categorical code
of ``K`` values it ends in ``1 + K`` outputs instead: the real/fake logit, then the logits of the
code it reads from the image (InfoGAN's auxiliary head, trained on generated images only).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Any

from kerascenes.errors import KerascenesError

IMAGE_SHAPE = (28, 28, 1)


# -- layer constructors (plain dicts, every field explicit) -----------------------------
def dense(units: int, use_bias: bool = True) -> dict[str, Any]:
    return {"type": "dense", "units": units, "use_bias": use_bias}


def reshape(*target_shape: int) -> dict[str, Any]:
    return {"type": "reshape", "target_shape": tuple(target_shape)}


def conv(filters: int, kernel_size: int, strides: int, padding: str = "same", use_bias: bool = True) -> dict[str, Any]:
    return {"type": "conv", "filters": filters, "kernel_size": kernel_size, "strides": strides,
            "padding": padding, "use_bias": use_bias}


def conv_transpose(filters: int, kernel_size: int, strides: int, padding: str = "same",
                   use_bias: bool = True) -> dict[str, Any]:
    return {"type": "conv_transpose", "filters": filters, "kernel_size": kernel_size, "strides": strides,
            "padding": padding, "use_bias": use_bias}


def batchnorm(momentum: float = 0.99, epsilon: float = 1e-3) -> dict[str, Any]:
    """Keras defaults: momentum 0.99, epsilon 1e-3 (torch equivalent: momentum 0.01, eps 1e-3)."""
    return {"type": "batchnorm", "momentum": momentum, "epsilon": epsilon}


def leaky_relu(negative_slope: float = 0.3) -> dict[str, Any]:
    """Keras' default slope is 0.3 (torch's is 0.01, so the slope is always spelled out)."""
    return {"type": "leaky_relu", "negative_slope": negative_slope}


def relu() -> dict[str, Any]:
    return {"type": "relu"}


def tanh() -> dict[str, Any]:
    return {"type": "tanh"}


def dropout(rate: float) -> dict[str, Any]:
    return {"type": "dropout", "rate": rate}


def flatten() -> dict[str, Any]:
    return {"type": "flatten"}


def categorical_code(codes: int) -> dict[str, Any]:
    """InfoGAN categorical code of ``codes`` values, taken from the first ``codes`` noise values."""
    return {"type": "categorical_code", "codes": codes}


LAYER_TYPES = ("dense", "reshape", "conv", "conv_transpose", "batchnorm", "leaky_relu", "relu", "tanh",
               "dropout", "flatten", "categorical_code")


@dataclass(frozen=True)
class OptimizerSpec:
    """Adam settings (Keras names; torch: ``betas=(beta_1, beta_2)``, ``eps=epsilon``)."""

    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    epsilon: float = 1e-7


@dataclass(frozen=True)
class Architecture:
    """One DCGAN: layers of both networks plus the training settings that go with them.

    Attributes:
        name: registry name.
        description: one line for listings.
        latent_dim: size of the generator's noise input (standard normal).
        generator: layer dicts, from the noise vector to a ``(28, 28, 1)`` image in [-1, 1].
        discriminator: layer dicts, from an image to one logit.
        kernel_init: ``{"type": "glorot_uniform"}`` (Keras default) or
            ``{"type": "normal", "stddev": 0.02}`` (DCGAN paper); biases start at zero.
        g_optimizer, d_optimizer: Adam settings of each network.
        batch_size: default images per step.
        epochs: default number of epochs.
        max_minutes: default training-time budget; the epoch running when it is spent ends
            early and training stops (``None``: no limit). Keeps CPU runs within a known time.
        label_smoothing: one-sided smoothing ``s``: the discriminator's target for real images
            is ``1 - s`` (fake images keep 0), in both frameworks.
        info_weight: weight of the InfoGAN term (the cross-entropy between the generator's
            categorical code and the code the discriminator reads back from the generated
            image), added to both networks' losses; used only with a ``categorical_code`` layer.
        ema_decay: 0 to sample from the trained generator; else a second copy of the generator
            whose weights (BatchNorm statistics included) follow ``ema = d * ema + (1 - d) * w``
            after every generator step, ``d = min(ema_decay, (1 + t) / (10 + t))`` with ``t`` the
            generator steps taken before this one; grids, samples and scores then come from that copy.
    """

    name: str
    description: str
    latent_dim: int
    generator: tuple[dict[str, Any], ...]
    discriminator: tuple[dict[str, Any], ...]
    kernel_init: dict[str, Any] = field(default_factory=lambda: {"type": "glorot_uniform"})
    g_optimizer: OptimizerSpec = OptimizerSpec()
    d_optimizer: OptimizerSpec = OptimizerSpec()
    batch_size: int = 64
    epochs: int = 10
    max_minutes: float | None = None
    label_smoothing: float = 0.0
    info_weight: float = 1.0
    ema_decay: float = 0.0
    image_shape: tuple[int, int, int] = IMAGE_SHAPE

    def __post_init__(self) -> None:
        kinds = [layer["type"] for layer in self.generator]
        if "categorical_code" in kinds[1:]:
            raise KerascenesError(f"The categorical_code layer of GAN architecture {self.name!r} must come first in the generator; move it there.")
        if self.codes and not 2 <= self.codes <= self.latent_dim:
            raise KerascenesError(f"A categorical code of {self.codes} values does not fit GAN architecture {self.name!r}'s noise vector of {self.latent_dim}; use 2 to {self.latent_dim} codes or a larger latent_dim.")
        last = self.discriminator[-1] if self.discriminator else {}
        outputs = 1 + self.codes
        if last.get("type") != "dense" or last.get("units") != outputs:
            what = f"1 + {self.codes} codes" if self.codes else "one logit"
            raise KerascenesError(f"The discriminator of GAN architecture {self.name!r} must end in dense({outputs}) ({what}); make its last layer dense({outputs}).")

    @property
    def codes(self) -> int:
        """Values of the generator's categorical code (0: a plain DCGAN)."""
        first = self.generator[0] if self.generator else {}
        return int(first["codes"]) if first.get("type") == "categorical_code" else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain dict (inverse of :meth:`from_dict`)."""
        data = dataclasses.asdict(self)
        data["generator"] = [dict(layer) for layer in self.generator]
        data["discriminator"] = [dict(layer) for layer in self.discriminator]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Architecture":
        data = dict(data)
        data["generator"] = tuple(_freeze_layer(layer) for layer in data["generator"])
        data["discriminator"] = tuple(_freeze_layer(layer) for layer in data["discriminator"])
        data["g_optimizer"] = OptimizerSpec(**data.get("g_optimizer", {}))
        data["d_optimizer"] = OptimizerSpec(**data.get("d_optimizer", {}))
        data["image_shape"] = tuple(data.get("image_shape", IMAGE_SHAPE))
        return cls(**data)

    def replace(self, **changes: Any) -> "Architecture":
        """A copy with some fields changed (e.g. ``latent_dim``, ``batch_size``)."""
        return dataclasses.replace(self, **changes)

    def with_codes(self, codes: int) -> "Architecture":
        """A copy with an InfoGAN categorical code of ``codes`` values (0: none), both networks adapted."""
        generator = self.generator[1:] if self.codes else self.generator
        head = dict(self.discriminator[-1], units=1 + int(codes))
        return self.replace(generator=((categorical_code(int(codes)),) if codes else ()) + generator,
                            discriminator=self.discriminator[:-1] + (head,))

    def with_learning_rate(self, learning_rate: float) -> "Architecture":
        """A copy whose two optimizers use ``learning_rate``."""
        return self.replace(g_optimizer=dataclasses.replace(self.g_optimizer, learning_rate=learning_rate),
                            d_optimizer=dataclasses.replace(self.d_optimizer, learning_rate=learning_rate))


def _freeze_layer(layer: dict[str, Any]) -> dict[str, Any]:
    layer = dict(layer)
    if layer.get("type") not in LAYER_TYPES:
        raise KerascenesError(f"Unknown layer type {layer.get('type')!r} in an architecture spec; use one of {', '.join(LAYER_TYPES)}.")
    if "target_shape" in layer:
        layer["target_shape"] = tuple(layer["target_shape"])
    return layer


def output_shapes(layers: tuple[dict[str, Any], ...] | list[dict[str, Any]],
                  input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Shape (channels-last, no batch axis) after each layer; checks the spec is consistent.

    Args:
        layers: generator or discriminator layer dicts.
        input_shape: ``(latent_dim,)`` for a generator, ``(28, 28, 1)`` for a discriminator.

    Returns:
        One shape per layer.
    """
    shape = tuple(input_shape)
    shapes = []
    for layer in layers:
        kind = layer["type"]
        if kind == "dense":
            shape = shape[:-1] + (layer["units"],)
        elif kind == "reshape":
            if math.prod(layer["target_shape"]) != math.prod(shape):
                raise KerascenesError(f"Cannot reshape {shape} to {layer['target_shape']} in an architecture spec; make the sizes match.")
            shape = tuple(layer["target_shape"])
        elif kind == "flatten":
            shape = (math.prod(shape),)
        elif kind in ("conv", "conv_transpose"):
            h, w = shape[0], shape[1]
            k, s = layer["kernel_size"], layer["strides"]
            if kind == "conv":
                size = (lambda n: math.ceil(n / s)) if layer["padding"] == "same" else (lambda n: (n - k) // s + 1)
            else:
                size = (lambda n: n * s) if layer["padding"] == "same" else (lambda n: (n - 1) * s + k)
            shape = (size(h), size(w), layer["filters"])
        shapes.append(shape)
    return shapes


# -- the registry -----------------------------------------------------------------------
def _tutorial_generator(activation: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return (
        dense(7 * 7 * 256, use_bias=False), batchnorm(), activation, reshape(7, 7, 256),
        conv_transpose(128, 5, 1, use_bias=False), batchnorm(), activation,
        conv_transpose(64, 5, 2, use_bias=False), batchnorm(), activation,
        conv_transpose(1, 5, 2, use_bias=False), tanh(),
    )


_TUTORIAL_DISCRIMINATOR = (
    conv(64, 5, 2), leaky_relu(0.3), dropout(0.3),
    conv(128, 5, 2), leaky_relu(0.3), dropout(0.3),
    flatten(), dense(1),
)

_TUTORIAL_ADAM = OptimizerSpec(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-7)

ARCHITECTURES: dict[str, Architecture] = {
    "tutorial": Architecture(
        name="tutorial",
        description="TensorFlow DCGAN tutorial: Dense 7x7x256 -> ConvT 128/64/1 (LeakyReLU, BatchNorm); D conv 64/128 -> dense 1; Adam 1e-4, batch 256.",
        latent_dim=100,
        generator=_tutorial_generator(leaky_relu(0.3)),
        discriminator=_TUTORIAL_DISCRIMINATOR,
        g_optimizer=_TUTORIAL_ADAM,
        d_optimizer=_TUTORIAL_ADAM,
        batch_size=256,
        epochs=50,
    ),
    "relu32": Architecture(
        name="relu32",
        description="Tutorial variant: ReLU in the generator, an extra 32-filter convolution first in the discriminator.",
        latent_dim=100,
        generator=_tutorial_generator(relu()),
        discriminator=(conv(32, 5, 1), leaky_relu(0.3), dropout(0.3)) + _TUTORIAL_DISCRIMINATOR,
        g_optimizer=_TUTORIAL_ADAM,
        d_optimizer=_TUTORIAL_ADAM,
        batch_size=256,
        epochs=50,
    ),
    "cpu": Architecture(
        name="cpu",
        description="DCGAN for CPUs: 20-value InfoGAN code + 44 noise -> Dense 512 -> Dense 7x7x128 -> ConvT 64/1 (k4 s2); D conv 64/128 (k4 s2, dropout 0.3) -> Dense 512 -> 1 + 20; Adam 4e-4 beta_1 0.5, batch 32, weight-averaged generator, 13.5-minute budget.",
        latent_dim=64,
        generator=(
            categorical_code(20),
            dense(512, use_bias=False), batchnorm(0.9, 1e-5), leaky_relu(0.2),
            dense(7 * 7 * 128, use_bias=False), batchnorm(0.9, 1e-5), leaky_relu(0.2), reshape(7, 7, 128),
            conv_transpose(64, 4, 2, use_bias=False), batchnorm(0.9, 1e-5), leaky_relu(0.2),
            conv_transpose(1, 4, 2), tanh(),
        ),
        discriminator=(
            conv(64, 4, 2), leaky_relu(0.2), dropout(0.3),
            conv(128, 4, 2), leaky_relu(0.2), dropout(0.3),
            flatten(), dense(512), leaky_relu(0.2), dense(1 + 20),
        ),
        kernel_init={"type": "normal", "stddev": 0.02},
        g_optimizer=OptimizerSpec(learning_rate=4e-4, beta_1=0.5),
        d_optimizer=OptimizerSpec(learning_rate=4e-4, beta_1=0.5),
        # Measured on 2 CPU cores (MNIST, docs/gan.md): a hidden dense layer in both networks (the generator
        # splits the noise space into digits, the discriminator judges the whole shape) halves the FD reached
        # in a given time; either layer alone does not. The categorical code (InfoGAN, weight 1) makes each
        # code value one kind of image, so fewer samples fall between two classes: after 2 epochs, confident
        # share 0.91 instead of 0.80 and FD 4.5 instead of 10.2 (2000 samples). With 10 values the share is as
        # high but the digits come out uneven (two codes make 1s) and the FD stays ~10; 20 spread more evenly.
        batch_size=32,
        epochs=15,
        max_minutes=13.5,
        ema_decay=0.999,
    ),
}


DEFAULT_ARCHITECTURE = "cpu"

# Code sizes that differ by dataset (``kerascenes gan train`` without ``--codes``), measured with
# benchmarks/gan_acceptance.py: on Fashion-MNIST 20 values dropped a class (FD 19.8, confident share
# 0.65), 10 values kept all ten (FD 6.5, 0.77); on MNIST 10 values drew uneven digits (FD 10.3), 20 did not (3.8).
DATASET_CODES: dict[tuple[str, str], int] = {("cpu", "fashion_mnist"): 10}


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return sorted(ARCHITECTURES)


def get_architecture(name_or_spec: str | dict[str, Any] | Architecture) -> Architecture:
    """Look an architecture up by name (or rebuild one from its dict).

    Raises:
        KerascenesError: for an unknown name, with the closest registered names.
    """
    if isinstance(name_or_spec, Architecture):
        return name_or_spec
    if isinstance(name_or_spec, dict):
        return Architecture.from_dict(name_or_spec)
    if name_or_spec not in ARCHITECTURES:
        close = difflib.get_close_matches(str(name_or_spec), ARCHITECTURES, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KerascenesError(f"Unknown GAN architecture {name_or_spec!r}{hint}; choose one of {', '.join(list_architectures())}.")
    return ARCHITECTURES[name_or_spec]
