"""Keras callbacks used by classifier training."""

from __future__ import annotations

import keras
import numpy as np

from kerascenes.runs import raise_if_stopped


class HistoryCSV(keras.callbacks.CSVLogger):
    """Keras' ``CSVLogger`` that can also be closed when training stops with an exception
    (Keras closes the file only at the end of a completed ``fit``)."""

    def close(self) -> None:
        handle = getattr(self, "csv_file", None)
        if handle is not None and not handle.closed:
            handle.close()


class LearningRateLogger(keras.callbacks.Callback):
    """Put the optimizer's learning rate into the epoch logs (CSV, TensorBoard, history)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class BestWeightsEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping that always ends on the best epoch's weights.

    Keras restores the best weights only when it stops early; this also restores them when
    training ran all its epochs, and remembers the best monitored value.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("restore_best_weights", True)
        super().__init__(**kwargs)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self.stopped_epoch == 0 and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    @property
    def best_value(self) -> float:
        return float(self.best) if self.best is not None and np.isfinite(self.best) else float("inf")


class StopAtSafePoint(keras.callbacks.Callback):
    """Raise a Ctrl-C / SIGTERM noted inside :func:`kerascenes.runs.safe_points` between two batches
    or at the end of an epoch. List it last, so an epoch's checkpoint is whole before it stops."""

    def on_train_batch_begin(self, batch, logs=None):
        raise_if_stopped()

    def on_test_batch_begin(self, batch, logs=None):
        raise_if_stopped()

    def on_epoch_end(self, epoch, logs=None):
        raise_if_stopped()
