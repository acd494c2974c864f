"""Train a DCGAN with TensorFlow into a run folder (resumable).

``train_gan`` is the entry point of ``kerascenes gan train --framework tf``; the PyTorch
twin exposes a ``train_gan`` with the same signature and the same run-folder layout.
"""

from __future__ import annotations

import os
import time

import numpy as np

from kerascenes.gan import layout
from kerascenes.gan.architectures import DEFAULT_ARCHITECTURE
from kerascenes.gan.session import finish_session, open_session, real_diversity, training_images
from kerascenes.runs import RunFolder


def make_dataset(images: np.ndarray, batch_size: int, seed: int):
    """A shuffled ``tf.data`` pipeline of ``(batch, 28, 28, 1)`` images in [-1, 1] (full batches only)."""
    import tensorflow as tf

    x = (np.asarray(images, np.float32)[..., None] - 127.5) / 127.5
    return (tf.data.Dataset.from_tensor_slices(x)
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def train_gan(dataset: str = "mnist", data: str | os.PathLike | None = None,
              architecture: str = DEFAULT_ARCHITECTURE, epochs: int | None = None, batch_size: int | None = None,
              latent_dim: int | None = None, learning_rate: float | None = None, name: str | None = None,
              logdir: str | os.PathLike = "logs", resume: bool = False, seed: int = 0, eval_samples: int = 10000,
              verbose: int = 1, images: np.ndarray | None = None,
              max_minutes: float | None = None, codes: int | None = None) -> tuple[RunFolder, dict]:
    """Train (or resume) a DCGAN and score it.

    Args:
        dataset: ``"mnist"`` or ``"fashion_mnist"``.
        data: ``.npz`` or idx folder (``None``: local copy or tensorflow-datasets).
        architecture: ``"cpu"`` (default), ``"tutorial"`` or ``"relu32"``.
        epochs, batch_size, latent_dim, learning_rate: override the architecture defaults.
        codes: values of an InfoGAN categorical code (0: none); default: the architecture's, or
            its size for ``dataset`` in ``architectures.DATASET_CODES``.
        name: run folder name (default ``gan-<dataset>-<arch>-tf-<time>``); with ``resume``,
            the run to continue.
        logdir: parent of the run folders; the workbook lives there.
        resume: continue the named (or newest unfinished) run from its last completed epoch.
        seed: seed of initialisation, noise, shuffling and the evaluation samples.
        eval_samples: generated images scored at the end.
        verbose: Keras progress output (0, 1 or 2).
        images: training images ``uint8 (n, 28, 28)`` instead of loading ``dataset``.
        max_minutes: training-time budget (default: the architecture's; 0: none); the epoch
            running when it is spent ends early and training stops.

    Returns:
        ``(run_folder, summary)``.
    """
    import keras

    from kerascenes.gan.callbacks import GanCheckpoint, GanMonitor, TimeBudget
    from kerascenes.gan.dcgan import DCGAN

    session = open_session("tf", dataset, data, architecture, epochs, batch_size, latent_dim, learning_rate, name,
                           logdir, resume, seed, eval_samples, max_minutes, codes)
    config, run = session.config, session.run
    images = training_images(config, images)
    if session.initial_epoch:
        model = keras.saving.load_model(run.path / GanCheckpoint.FILE)
    else:
        keras.utils.set_random_seed(config["seed"])
        model = DCGAN(config["architecture_spec"], seed=config["seed"])
        model.compile()
    if "real_diversity" not in config:
        config["real_diversity"] = real_diversity(images, seed=config["seed"])
        run.write_config(config)
    monitor = GanMonitor(run, np.load(run.path / layout.FIXED_NOISE_FILE), config["real_diversity"],
                         config["batch_size"], session.history, config["dataset"], config["seed"])
    checkpoint = GanCheckpoint(run, monitor, session.wall_time_offset)
    state = layout.read_state(run) or {}
    monitor.collapse_warnings = int(state.get("collapse_warnings", 0))
    start = time.perf_counter()
    model.fit(make_dataset(images, config["batch_size"], config["seed"] + session.initial_epoch),
              epochs=config["epochs"], initial_epoch=session.initial_epoch, callbacks=[TimeBudget(config.get("max_minutes")), monitor, checkpoint],
              verbose=verbose, shuffle=False)
    model.sampler.save(run.file(layout.GENERATOR_FILE["tf"]))
    model.discriminator.save(run.file(layout.DISCRIMINATOR_FILE["tf"]))
    session.history = monitor.history
    wall = session.wall_time_offset + time.perf_counter() - start
    summary = finish_session(session, wall, monitor.collapse_warnings)
    return run, summary
