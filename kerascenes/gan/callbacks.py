"""Keras callbacks of a DCGAN run: per-epoch sample grids, scalars, collapse warnings, checkpoints."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

from kerascenes.gan import layout
from kerascenes.runs import RunFolder, replacing


class GanMonitor(keras.callbacks.Callback):
    """After every epoch: a fixed-noise sample grid (PNG + TensorBoard), scalars, history, collapse check.

    Args:
        run: the run folder (grids go to ``samples/epoch_NNN.png``).
        noise: the fixed latent vectors of the grid.
        real_diversity: :func:`~kerascenes.gan.layout.sample_diversity` of real images, the
            yardstick of the collapse warning.
        batch_size: images per step (for images/s).
        history: rows of earlier epochs when a run is resumed.
        dataset: shipped classifier that scores :data:`~kerascenes.gan.layout.QUICK_SAMPLES`
            samples after every epoch (``fd_quick``, ``confident_share_quick``).
        seed: seed of those samples' latent vectors.
        quick_samples: how many (0 skips the per-epoch scores).
    """

    def __init__(self, run: RunFolder, noise: np.ndarray, real_diversity: float, batch_size: int,
                 history: list[dict[str, Any]] | None = None, dataset: str = "mnist", seed: int = 0,
                 quick_samples: int = layout.QUICK_SAMPLES):
        super().__init__()
        self.dataset = dataset
        self.seed = int(seed)
        self.quick_samples = int(quick_samples)
        self.run = run
        self.noise = np.asarray(noise, dtype=np.float32)
        self.real_diversity = float(real_diversity)
        self.batch_size = int(batch_size)
        self.history = list(history or [])
        self.collapse_warnings = 0
        self._writer = None
        self._epoch_start = 0.0
        self._steps = 0

    def _summary_writer(self):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.run.tensorboard_dir))
        return self._writer

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._steps = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._steps += 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        import tensorflow as tf

        from kerascenes.plots import image_grid, save_image_grid

        seconds = time.perf_counter() - self._epoch_start
        done = epoch + 1
        images = self.model.generate(noise=self.noise)
        diversity = layout.sample_diversity(images)
        logs = dict(logs or {})
        row = {"epoch": done, **layout.loss_values(logs),
               "sample_diversity": diversity,
               **layout.quick_scores(lambda z: self.model.generate(noise=z), self.dataset, self.model.latent_dim,
                                     self.seed, self.quick_samples),
               "seconds": seconds,
               "images_per_second": self._steps * self.batch_size / max(seconds, 1e-9)}
        self.history.append(row)
        save_image_grid(images, self.run.file(layout.grid_file(done)), columns=layout.GRID_COLUMNS, title=f"epoch {done}")
        layout.write_history(self.run, self.history)
        writer = self._summary_writer()
        with writer.as_default():
            for tag, value in layout.scalars(row):
                tf.summary.scalar(tag, value, step=done)
            grid = image_grid(images, columns=layout.GRID_COLUMNS)
            tf.summary.image(layout.IMAGE_TAG, grid[None, ..., None], step=done)
        writer.flush()
        if layout.warn_if_collapsed(diversity, self.real_diversity, done):
            self.collapse_warnings += 1

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class GanCheckpoint(keras.callbacks.Callback):
    """Save the whole DCGAN (weights + both optimizers) and the last completed epoch after every epoch.

    Args:
        run: the run folder (``checkpoint/dcgan.keras`` and ``checkpoint/state.json``).
        monitor: the run's :class:`GanMonitor` (its collapse count goes into the state).
        wall_time_offset: seconds spent by earlier sessions of a resumed run.
    """

    FILE = f"{layout.CHECKPOINT_DIR}/dcgan.keras"

    def __init__(self, run: RunFolder, monitor: GanMonitor, wall_time_offset: float = 0.0):
        super().__init__()
        self.run = run
        self.monitor = monitor
        self.wall_time_offset = float(wall_time_offset)
        self._start = time.perf_counter()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def wall_time(self) -> float:
        return self.wall_time_offset + time.perf_counter() - self._start

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        path = self.run.file(self.FILE)
        with replacing(path) as tmp:  # the state below never points at a half-written checkpoint
            self.model.save(tmp)
        layout.write_state(self.run, epoch + 1, self.wall_time(),
                           {"collapse_warnings": self.monitor.collapse_warnings})


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``max_minutes`` have passed; the running epoch ends after its current step.

    Args:
        max_minutes: budget of this training session; ``None`` or 0 disables it.
    """

    def __init__(self, max_minutes: float | None):
        super().__init__()
        self.max_minutes = max_minutes
        self.stopped_early = False
        self._start = time.perf_counter()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.max_minutes and time.perf_counter() - self._start > 60.0 * self.max_minutes:
            self.model.stop_training = True
            self.stopped_early = True
