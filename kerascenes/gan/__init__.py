"""DCGANs on MNIST / Fashion-MNIST with TensorFlow.

``kerascenes.gan.architectures`` is plain data (no TensorFlow import) shared with the
PyTorch twin; the Keras classes below are imported lazily so that reading an
architecture spec never loads TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DCGAN": "kerascenes.gan.dcgan",
    "build_generator": "kerascenes.gan.models",
    "build_discriminator": "kerascenes.gan.models",
    "GanMonitor": "kerascenes.gan.callbacks",
    "train_gan": "kerascenes.gan.session",
    "GanConfig": "kerascenes.gan.config",
    "GanResult": "kerascenes.gan.session",
}

__all__ = sorted(_LAZY) + ["get_architecture", "list_architectures"]

from kerascenes.gan.architectures import get_architecture, list_architectures  # noqa: E402


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerascenes.gan' has no attribute {name!r}")
