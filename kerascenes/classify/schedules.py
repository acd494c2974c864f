"""Per-epoch learning rates of a training stage: ``--schedule`` and ``--warmup-epochs``.

Each stage (the frozen stage at ``--lr`` over ``--epochs``, the fine-tuning stage at
``--fine-tune-lr`` over ``--fine-tune-epochs``) has its own schedule:

- ``plateau`` (default): the stage's rate, halved by ``keras.callbacks.ReduceLROnPlateau``
  when ``val_loss`` stops improving for ``max(1, --patience // 2)`` epochs (floor 1e-7).
- ``cosine``: cosine decay from the stage's rate (first epoch after warm-up) to 1/100 of it
  on the stage's last epoch (``keras.optimizers.schedules.CosineDecay``, one step per epoch).
- ``constant``: the stage's rate on every epoch.

``--warmup-epochs W`` ramps the rate linearly from 1/10 of the stage's rate on the stage's
first epoch to the full rate on epoch W + 1 (no epoch trains at rate 0); with ``plateau``,
``ReduceLROnPlateau`` takes over from there.

The rate of an epoch depends only on the epoch's index within its stage, so a resumed run
(``--resume``) continues the same schedule; ``plateau``'s counters and the optimizer's rate are
restored by :mod:`kerascenes.classify.checkpoint`. Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEDULES = ("plateau", "cosine", "constant")
#: ``cosine`` ends at this fraction of the stage's rate on the stage's last epoch.
COSINE_END = 0.01
#: ``--warmup-epochs`` starts at this fraction of the stage's rate.
WARMUP_START = 0.1


@dataclass(frozen=True)
class StageSchedule:
    """The learning rate of each epoch of one training stage.

    Attributes:
        kind: ``plateau``, ``cosine`` or ``constant``.
        lr: the stage's learning rate (``--lr`` or ``--fine-tune-lr``).
        epochs: the stage's maximum number of epochs.
        warmup: warm-up epochs (``--warmup-epochs``).
        start: the run's epoch index of the stage's first epoch (Keras counts epochs over the run).
    """

    kind: str
    lr: float
    epochs: int
    warmup: int = 0
    start: int = 0

    def _keras_schedule(self):
        import keras

        warmup = self.warmup  # FitConfig.validate keeps it below the stage's epochs
        # alpha=1 makes CosineDecay a constant after its warm-up (used by constant and plateau)
        alpha = COSINE_END if self.kind == "cosine" else 1.0
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=self.lr * WARMUP_START if warmup else self.lr,
            decay_steps=max(1, self.epochs - warmup - 1), alpha=alpha,
            warmup_target=self.lr if warmup else None, warmup_steps=warmup)

    def rate(self, epoch: int, current: float | None = None) -> float:
        """The learning rate of the run's epoch ``epoch`` (0-based); ``current`` is kept where ``plateau`` rules."""
        import keras

        step = epoch - self.start
        if self.kind == "plateau" and step > self.warmup and current is not None:
            return float(current)
        return float(keras.ops.convert_to_numpy(self._keras_schedule()(step)))

    def __call__(self, epoch: int, current: float) -> float:
        """The ``keras.callbacks.LearningRateScheduler`` interface."""
        return self.rate(epoch, current)

    def callbacks(self, patience: int, verbose: int = 0) -> tuple[Any, list]:
        """``(ReduceLROnPlateau or None, the stage's learning-rate callbacks)``.

        The scheduler comes first: it logs the rate the epoch trained with before the plateau
        callback lowers it for the next epoch.
        """
        import keras

        out, plateau = [], None
        if self.kind != "plateau" or self.warmup:
            out.append(keras.callbacks.LearningRateScheduler(self, verbose=0))
        if self.kind == "plateau":
            plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, patience // 2),
                                                        min_lr=1e-7, verbose=verbose)
            out.append(plateau)
        return plateau, out
