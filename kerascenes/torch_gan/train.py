"""Train a DCGAN with PyTorch into a run folder (resumable): the ``torch`` trainer.

:func:`kerascenes.gan.train_gan` (``kerascenes gan train --framework torch``) opens the
session and calls :func:`train_session`: same options, run-folder layout, per-epoch grids,
TensorBoard tags and workbook row as the TensorFlow trainer; only the framework differs. The
framework-neutral parts (config, resume, history, scoring, summary) are shared through
:mod:`kerascenes.gan.session` and :mod:`kerascenes.gan.layout`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from kerascenes.errors import KerascenesError, reading
from kerascenes.files import replacing
from kerascenes.gan import layout
from kerascenes.gan.session import Session
from kerascenes.runs import RunFolder, raise_if_stopped, safe_points
from kerascenes.torch_gan.dcgan import TorchDCGAN

CHECKPOINT_FILE = f"{layout.CHECKPOINT_DIR}/dcgan.pt"


def default_device() -> str:
    """``"cuda"`` when a GPU is visible to torch, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """``uint8 (n, 28, 28)`` -> float ``(n, 1, 28, 28)`` in [-1, 1] (the TF pipeline's scaling)."""
    x = (np.asarray(images, np.float32)[:, None] - 127.5) / 127.5
    return torch.from_numpy(x).to(device)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> np.ndarray:
    """Shuffled indices of one epoch as ``(steps, batch_size)``, full batches only.

    The order depends only on ``seed`` and ``epoch``, so a resumed run sees the batches
    the uninterrupted run would have seen.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    steps = n // batch_size
    return order[:steps * batch_size].reshape(steps, batch_size)


def save_checkpoint(run: RunFolder, gan: TorchDCGAN, epoch: int, wall_time_s: float, collapse_warnings: int) -> None:
    """Write ``checkpoint/dcgan.pt`` atomically, then record the completed epoch in ``state.json``."""
    with replacing(run.file(CHECKPOINT_FILE)) as tmp:
        torch.save({**gan.checkpoint_state(), "epoch": epoch, "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}, tmp)
    layout.write_state(run, epoch, wall_time_s, {"collapse_warnings": collapse_warnings})


def load_checkpoint(run: RunFolder, gan: TorchDCGAN) -> dict[str, Any]:
    """Restore weights, optimizers and random state from ``checkpoint/dcgan.pt``."""
    path = run.path / CHECKPOINT_FILE
    if not path.is_file():
        raise KerascenesError(f"{run.path} has no {CHECKPOINT_FILE} to resume from; start the run again without --resume.")
    with reading(path, "a kerascenes PyTorch checkpoint", "restart the run without --resume, or restore the file"):
        state = torch.load(path, map_location=gan.device, weights_only=True)
        gan.load_checkpoint_state(state)
    torch.set_rng_state(state["torch_rng"].cpu())
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return state


def save_network(path: os.PathLike, network: torch.nn.Module, spec: dict[str, Any], role: str) -> None:
    """A standalone network file: its role, the architecture spec and the ``state_dict``."""
    with replacing(path) as tmp:
        torch.save({"role": role, "architecture": spec, "state_dict": network.state_dict()}, tmp)


class EpochLogger:
    """Per-epoch outputs shared with the TF run: grid PNG, history, TensorBoard scalars and image."""

    def __init__(self, session: Session, noise: np.ndarray, real_div: float, collapse_warnings: int = 0):
        from torch.utils.tensorboard import SummaryWriter

        self.session = session
        self.noise = torch.from_numpy(np.asarray(noise, np.float32))
        self.real_diversity = float(real_div)
        self.collapse_warnings = int(collapse_warnings)
        self.writer = SummaryWriter(str(session.run.tensorboard_dir))

    def log(self, gan: TorchDCGAN, epoch: int, means: dict[str, float], seconds: float, images_seen: int) -> None:
        from kerascenes.plots import image_grid, save_image_grid

        run = self.session.run
        images = images_to_unit(gan.generate(self.noise))
        diversity = layout.sample_diversity(images)
        config = self.session.config
        quick = layout.quick_scores(lambda z: images_to_unit(gan.generate(torch.from_numpy(z))), config["dataset"],
                                    config["latent_dim"], config["seed"])
        row = {"epoch": epoch, **layout.loss_values(means), "sample_diversity": diversity, **quick,
               "seconds": seconds, "images_per_second": images_seen / max(seconds, 1e-9)}
        self.session.history.append(row)
        save_image_grid(images, run.file(layout.grid_file(epoch)), columns=layout.GRID_COLUMNS, title=f"epoch {epoch}")
        layout.write_history(run, self.session.history)
        for tag, value in layout.scalars(row):
            self.writer.add_scalar(tag, value, global_step=epoch)
        self.writer.add_image(layout.IMAGE_TAG, image_grid(images, columns=layout.GRID_COLUMNS)[None], global_step=epoch,
                              dataformats="CHW")
        self.writer.flush()
        if layout.warn_if_collapsed(diversity, self.real_diversity, epoch):
            self.collapse_warnings += 1

    def close(self) -> None:
        self.writer.close()


def images_to_unit(images: torch.Tensor) -> np.ndarray:
    """Generator output ``(n, 1, 28, 28)`` in [-1, 1] -> numpy ``(n, 28, 28)`` in [0, 1]."""
    return layout.to_unit(images.detach().float().cpu().numpy()[:, 0])


def run_epoch(gan: TorchDCGAN, x: torch.Tensor, batches: np.ndarray, progress: bool = False,
              description: str = "", deadline: float | None = None) -> tuple[dict[str, float], int]:
    """Train one epoch over ``batches`` (rows of indices into ``x``).

    Args:
        deadline: a ``time.perf_counter()`` value; once passed, the epoch ends after the current step.

    Returns:
        The mean metrics and the number of steps taken.
    """
    totals: dict[str, torch.Tensor] = {}
    index = torch.from_numpy(batches).to(x.device)
    steps = range(len(batches))
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=description, unit="step", leave=False)
    taken = 0
    for step in steps:
        raise_if_stopped()  # a Ctrl-C noted during the last step (see kerascenes.runs.safe_points)
        metrics = gan.train_step(x[index[step]])
        for k, value in metrics.items():
            totals[k] = totals[k] + value if k in totals else value
        taken += 1
        if deadline is not None and time.perf_counter() > deadline:
            break
    return {k: (v / max(taken, 1)).item() for k, v in totals.items()}, taken


def train_session(session: Session, images: np.ndarray, verbose: int = 1, device: str | None = None) -> tuple[float, int]:
    """Train an opened session with PyTorch (the ``torch`` trainer of :func:`kerascenes.gan.train_gan`).

    Args:
        session: from :func:`kerascenes.gan.session.open_session` (new or resumed).
        images: training images ``uint8 (n, 28, 28)``.
        verbose: 0 silent, 1 progress bar per epoch, 2 one line per epoch.
        device: torch device (default: ``cuda`` when available, else ``cpu``).

    Returns:
        ``(wall time of the run so far in seconds, collapse warnings)``.
    """
    config, run = session.config, session.run
    device = device or default_device()
    torch.manual_seed(config["seed"])
    gan = TorchDCGAN(config["architecture_spec"], seed=config["seed"], device=device)
    if session.initial_epoch:
        load_checkpoint(run, gan)
    session.commit(images)
    state = layout.read_state(run) or {}
    logger = EpochLogger(session, np.load(run.path / layout.FIXED_NOISE_FILE), config["real_diversity"],
                         int(state.get("collapse_warnings", 0)))
    x = to_tensor(images, device)
    start = time.perf_counter()
    budget = config["max_minutes"]
    deadline = start + 60.0 * budget if budget else None
    try:
        with safe_points():  # Ctrl-C stops between steps or after an epoch's checkpoint
            for epoch in range(session.initial_epoch + 1, config["epochs"] + 1):
                batches = epoch_batches(len(x), config["batch_size"], config["seed"], epoch)
                began = time.perf_counter()
                means, taken = run_epoch(gan, x, batches, progress=verbose == 1,
                                         description=f"epoch {epoch}/{config['epochs']}", deadline=deadline)
                seconds = time.perf_counter() - began
                logger.log(gan, epoch, means, seconds, taken * config["batch_size"])
                wall = session.wall_time_offset + time.perf_counter() - start
                save_checkpoint(run, gan, epoch, wall, logger.collapse_warnings)
                if verbose:
                    row = session.history[-1]
                    print(f"epoch {epoch}/{config['epochs']}: g_loss {row['g_loss']:.4f} d_loss {row['d_loss']:.4f} "
                          f"d_acc_real {row['d_acc_real']:.3f} d_acc_fake {row['d_acc_fake']:.3f} "
                          f"({seconds:.1f} s, {row['images_per_second']:.0f} img/s)")
                raise_if_stopped()  # after a whole checkpoint and its line
                if deadline is not None and time.perf_counter() > deadline:
                    if verbose:
                        print(f"Stopped after epoch {epoch}: the {budget:g}-minute budget is spent.")
                    break
    finally:
        logger.close()
    spec = config["architecture_spec"]
    save_network(run.file(layout.GENERATOR_FILE["torch"]), gan.sampler, spec, "generator")
    save_network(run.file(layout.DISCRIMINATOR_FILE["torch"]), gan.discriminator, spec, "discriminator")
    return session.wall_time_offset + time.perf_counter() - start, logger.collapse_warnings
