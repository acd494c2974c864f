"""What a GAN run folder holds, shared by the TensorFlow and the PyTorch trainers (no framework import).

A run folder (``<logdir>/<run>/``) of either framework contains::

    config.json               resolved settings (framework, dataset, architecture spec, ...)
    fixed_noise.npy           the latent vectors of the per-epoch grids (same for every epoch)
    samples/epoch_001.png     sample grid after each epoch (fixed noise)
    history.csv, losses.png   per-epoch losses, discriminator accuracies, diversity, quick FD and
                              confident share (2000 samples), speed
    tensorboard/              scalars ``SCALAR_TAGS`` and images ``IMAGE_TAG`` per epoch
    checkpoint/               framework checkpoint + ``state.json`` (last completed epoch)
    generator.<ext>           final generator (``.keras`` for tf, ``.pt`` for torch)
    evaluation.json           scores on the shipped domain classifier
    summary.json              written last; one row of the workbook's "gan" sheet
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kerascenes.runs import RunFolder, read_json, write_json

log = logging.getLogger("kerascenes.gan")

FRAMEWORKS = ("tf", "torch")
GENERATOR_FILE = {"tf": "generator.keras", "torch": "generator.pt"}
DISCRIMINATOR_FILE = {"tf": "discriminator.keras", "torch": "discriminator.pt"}
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = f"{CHECKPOINT_DIR}/state.json"
FIXED_NOISE_FILE = "fixed_noise.npy"
HISTORY_CSV = "history.csv"
LOSSES_PNG = "losses.png"
EVALUATION_FILE = "evaluation.json"
GRID_SIZE = 64
#: The most images one ``gan sample`` / ``gan evaluate`` generates (28 x 28 float32: 0.3 GB)
MAX_SAMPLES = 100_000
GRID_COLUMNS = 8
IMAGE_TAG = "samples"
LOSS_FIELDS = ("g_loss", "d_loss", "d_acc_real", "d_acc_fake")
INFO_FIELD = "info_loss"  # only with a categorical code (InfoGAN)
HISTORY_FIELDS = ("epoch", *LOSS_FIELDS, INFO_FIELD, "sample_diversity", "fd_quick", "confident_share_quick",
                  "seconds", "images_per_second")
QUICK_SAMPLES = 2000  # generated images scored after every epoch (the final evaluation uses more)
SCALAR_TAGS = HISTORY_FIELDS[1:]
COLLAPSE_RATIO = 0.4


def grid_file(epoch: int) -> str:
    """Relative path of the sample grid written after ``epoch`` (1-based)."""
    return f"samples/epoch_{epoch:03d}.png"


def check_sampling(n: int, seed: int, label: str = "--n") -> None:
    """Refuse a sample count or seed no run can use, before any network is loaded."""
    from kerascenes.config import check_seed
    from kerascenes.errors import KerascenesError

    if not 1 <= n <= MAX_SAMPLES:
        raise KerascenesError(f"{label} must be between 1 and {MAX_SAMPLES:,}, got {n:,}; generate more in several "
                              "runs with different --seed values.")
    check_seed(seed)


def sample_noise(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """``n`` standard-normal latent vectors from numpy: a seed gives the same noise in both frameworks."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def to_unit(images: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1] -> float32 images in [0, 1] (values outside are clipped)."""
    return np.clip((np.asarray(images) + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)


def generate_images(generate: Callable[[np.ndarray], np.ndarray], noise: np.ndarray,
                    batch_size: int = 500) -> np.ndarray:
    """Images in [0, 1], ``(n, 28, 28)`` float32, from ``generate`` applied to ``noise`` in batches.

    ``generate`` maps a batch of latent vectors to generator output ``(b, 28, 28)`` in [-1, 1].
    """
    out = [np.asarray(generate(noise[i:i + batch_size])) for i in range(0, len(noise), batch_size)]
    return to_unit(np.concatenate(out)) if out else np.zeros((0, 28, 28), np.float32)


def fixed_noise(latent_dim: int, seed: int, n: int = GRID_SIZE, codes: int = 0) -> np.ndarray:
    """The grid's latent vectors: numpy standard normal, identical for both frameworks.

    With a categorical code of ``codes`` values the grid has one row of ``GRID_COLUMNS`` samples
    per code value (``n`` is ignored): row ``r``'s first ``codes`` noise values have their
    largest value at position ``r``.
    """
    if codes:
        n = codes * GRID_COLUMNS
    noise = sample_noise(n, latent_dim, seed + 12345)
    if codes:
        head = -np.abs(noise[:, :codes])
        rows = np.arange(n) // GRID_COLUMNS
        head[np.arange(n), rows] *= -1.0
        noise[:, :codes] = head
    return noise


def sample_diversity(images: np.ndarray) -> float:
    """Mean RMS pixel difference between all pairs of images in [0, 1] (0 = all identical)."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if len(flat) < 2:
        return 0.0
    sq = (flat ** 2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0.0) / flat.shape[1]
    n = len(flat)
    return float(np.sqrt(d2)[~np.eye(n, dtype=bool)].mean())


def collapse_message(diversity: float, real_diversity: float, epoch: int,
                     ratio: float = COLLAPSE_RATIO) -> str | None:
    """A warning sentence when the samples are much less diverse than real images, else ``None``."""
    if real_diversity > 0 and diversity < ratio * real_diversity:
        return (f"Possible mode collapse after epoch {epoch}: sample diversity {diversity:.3f} is below "
                f"{ratio:.0%} of the real images' {real_diversity:.3f}; check the grid, lower the learning rate or restart with another --seed.")
    return None


def warn_if_collapsed(diversity: float, real_diversity: float, epoch: int) -> bool:
    """Log a warning line on collapse (beside the epoch lines, not a Python warning with its
    source line); returns whether it did."""
    message = collapse_message(diversity, real_diversity, epoch)
    if message:
        log.warning(message)
    return message is not None


def quick_scores(generate: Callable[[np.ndarray], np.ndarray], dataset: str, latent_dim: int, seed: int,
                 n: int = QUICK_SAMPLES) -> dict[str, float]:
    """Frechet distance and confident share of ``n`` samples on the shipped classifier, for the epoch curves.

    Args:
        generate: latent vectors ``(n, latent_dim)`` -> images ``(n, 28, 28)`` in [0, 1].
        dataset: which shipped classifier scores them.
        latent_dim, seed: the same latent vectors every epoch, so the curve shows the generator only.
        n: samples (FD from 2000 samples reads higher than from the final 10,000).

    Returns:
        ``fd_quick`` and ``confident_share_quick`` (NaN when ``n`` is 0).
    """
    if n <= 0:
        return {"fd_quick": float("nan"), "confident_share_quick": float("nan")}
    from kerascenes.gan.metrics import score_samples

    noise = sample_noise(n, latent_dim, seed + 54321)
    scores = score_samples(generate(noise), dataset, with_kid=False)
    return {"fd_quick": scores["fd"], "confident_share_quick": scores["confident_share"]}


def loss_values(metrics: dict[str, Any]) -> dict[str, float]:
    """The epoch's mean losses and accuracies for its history row (``info_loss`` only when trained)."""
    row = {k: float(metrics.get(k, np.nan)) for k in LOSS_FIELDS}
    if INFO_FIELD in metrics:
        row[INFO_FIELD] = float(metrics[INFO_FIELD])
    return row


def scalars(row: dict[str, Any]) -> list[tuple[str, float]]:
    """``(tag, value)`` of a history row for TensorBoard (the fields with a value)."""
    return [(tag, float(row[tag])) for tag in SCALAR_TAGS if np.isfinite(row.get(tag, np.nan))]


def write_history(run: RunFolder, rows: Sequence[dict[str, Any]]) -> None:
    """Rewrite ``history.csv`` and ``losses.png`` from all epochs so far."""
    with open(run.file(HISTORY_CSV), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    if rows:
        from kerascenes.plots import plot_history

        curves = {key: [row.get(key, np.nan) for row in rows] for key in (*LOSS_FIELDS, INFO_FIELD)}
        curves = {key: values for key, values in curves.items() if np.isfinite(values).any()}
        plot_history(curves, run.file(LOSSES_PNG), title="DCGAN losses and discriminator accuracy")


def read_history(run: RunFolder) -> list[dict[str, Any]]:
    """Rows of ``history.csv`` (numbers as floats, epoch as int)."""
    path = run.path / HISTORY_CSV
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: (int(v) if k == "epoch" else float(v) if v not in ("", None) else float("nan"))
                 for k, v in row.items()} for row in csv.DictReader(fh)]


def write_state(run: RunFolder, epoch: int, wall_time_s: float, extra: dict[str, Any] | None = None) -> Path:
    """Record the last completed epoch (written after the checkpoint itself); the run is now worth keeping."""
    path = write_json(run.file(STATE_FILE), {"epoch": int(epoch), "wall_time_s": float(wall_time_s), **(extra or {})})
    run.keep = True  # a failure from here on leaves the run for --resume (RunFolder.guard)
    return path


def read_state(run: RunFolder) -> dict[str, Any] | None:
    path = run.path / STATE_FILE
    return read_json(path) if path.is_file() else None
