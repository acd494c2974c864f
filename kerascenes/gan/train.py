"""Train a DCGAN with TensorFlow into a run folder (resumable): the ``tf`` trainer.

:func:`kerascenes.gan.train_gan` opens the session and calls :func:`train_session`; the
PyTorch twin's ``train_session`` takes the same session and writes the same run folder.
"""

from __future__ import annotations

import time

import numpy as np

from kerascenes.errors import reading
from kerascenes.files import replacing
from kerascenes.gan import layout
from kerascenes.gan.session import Session
from kerascenes.runs import safe_points


def make_dataset(images: np.ndarray, batch_size: int, seed: int):
    """A shuffled ``tf.data`` pipeline of ``(batch, 28, 28, 1)`` images in [-1, 1] (full batches only)."""
    import tensorflow as tf

    x = (np.asarray(images, np.float32)[..., None] - 127.5) / 127.5
    return (tf.data.Dataset.from_tensor_slices(x)
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def train_session(session: Session, images: np.ndarray, verbose: int = 1) -> tuple[float, int]:
    """Train an opened session with TensorFlow (the ``tf`` trainer of :func:`kerascenes.gan.train_gan`).

    Args:
        session: from :func:`kerascenes.gan.session.open_session` (new or resumed).
        images: training images ``uint8 (n, 28, 28)``.
        verbose: Keras progress output (0, 1 or 2).

    Returns:
        ``(wall time of the run so far in seconds, collapse warnings)``.
    """
    import keras

    from kerascenes.classify.callbacks import StopAtSafePoint
    from kerascenes.gan.callbacks import GanCheckpoint, GanMonitor, TimeBudget
    from kerascenes.gan.dcgan import DCGAN

    config, run = session.config, session.run
    if session.initial_epoch:
        path = run.path / GanCheckpoint.FILE
        with reading(path, "a Keras model file", "restart the run without --resume, or restore the file"):
            model = keras.saving.load_model(path)
    else:
        keras.utils.set_random_seed(config["seed"])
        model = DCGAN(config["architecture_spec"], seed=config["seed"])
        model.compile()
    session.commit(images)
    monitor = GanMonitor(run, np.load(run.path / layout.FIXED_NOISE_FILE), config["real_diversity"],
                         config["batch_size"], session.history, config["dataset"], config["seed"])
    checkpoint = GanCheckpoint(run, monitor, session.wall_time_offset)
    state = layout.read_state(run) or {}
    monitor.collapse_warnings = int(state.get("collapse_warnings", 0))
    start = time.perf_counter()
    with safe_points():  # Ctrl-C stops between batches or after an epoch's checkpoint
        model.fit(make_dataset(images, config["batch_size"], config["seed"] + session.initial_epoch),
                  epochs=config["epochs"], initial_epoch=session.initial_epoch,
                  callbacks=[TimeBudget(config["max_minutes"]), monitor, checkpoint, StopAtSafePoint()],
                  verbose=verbose, shuffle=False)
    for network, name in ((model.sampler, layout.GENERATOR_FILE["tf"]),
                          (model.discriminator, layout.DISCRIMINATOR_FILE["tf"])):
        with replacing(run.file(name)) as tmp:
            network.save(str(tmp))
    session.history = monitor.history
    return session.wall_time_offset + time.perf_counter() - start, monitor.collapse_warnings
