"""The PyTorch twin of :mod:`kerascenes.gan`: the same DCGAN architectures, trained with torch.

This subpackage is the only part of kerascenes that imports torch; it is installed with
``pip install kerascenes[torch]``. Its networks are built from the framework-neutral specs
of :mod:`kerascenes.gan.architectures` and compute exactly what the Keras layers compute
(same padding, BatchNorm and initialisation), and its runs use the TensorFlow runs' folder
layout (:mod:`kerascenes.gan.layout`), so ``kerascenes gan sample``, ``evaluate`` and
``compare`` treat both frameworks alike.

Modules: ``models`` (generator/discriminator), ``dcgan`` (training step), ``train``
(``train_gan``, resumable runs), ``evaluate`` (sampling a run), ``convert`` (Keras weights).
"""

from __future__ import annotations

import os

from kerascenes.errors import KerascenesError

# torch's OpenMP threads busy-wait for each other by default; on a CPU shared with other
# processes that made a training step 3-4x slower here (2 cores, load ~10), while sleeping
# waits cost nothing measurable. Only applies when set before torch first loads; a value
# the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

INSTALL_HINT = "pip install kerascenes[torch]"


class TorchNotInstalledError(KerascenesError, ImportError):
    """PyTorch is missing: a user error (one sentence, exit 2) that is also an ``ImportError``."""


def require_torch() -> None:
    """Import torch or raise :class:`TorchNotInstalledError` naming the extra to install."""
    try:
        import torch  # noqa: F401
    except ImportError:
        error = TorchNotInstalledError(
            f"PyTorch is not installed, and --framework torch needs it; install it with `{INSTALL_HINT}`.")
        error.name = "torch"
        raise error from None


require_torch()
