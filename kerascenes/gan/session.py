"""Start, resume and finish a GAN run: the framework-neutral part of every trainer.

Both trainers (``kerascenes.gan.train.train_gan`` for TensorFlow, the PyTorch twin's
``train_gan``) call :func:`open_session` to get a run folder, the resolved config and the
epoch to start from, and :func:`finish_session` to score the generator, write
``summary.json`` and update the workbook.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kerascenes.errors import KerascenesError
from kerascenes.gan import layout
from kerascenes.gan.architectures import DATASET_CODES, DEFAULT_ARCHITECTURE, get_architecture
from kerascenes.runs import RunFolder, default_run_name


@dataclass
class Session:
    """An opened run: its folder, resolved config, first epoch to train and earlier history."""

    run: RunFolder
    config: dict[str, Any]
    initial_epoch: int
    history: list[dict[str, Any]]
    wall_time_offset: float

    @property
    def architecture(self):
        return get_architecture(self.config["architecture_spec"])


def resolve_config(framework: str, dataset: str, data: str | os.PathLike | None, architecture: str,
                   epochs: int | None, batch_size: int | None, latent_dim: int | None,
                   learning_rate: float | None, seed: int, eval_samples: int,
                   max_minutes: float | None = None, codes: int | None = None) -> dict[str, Any]:
    """Every setting of a new run, architecture defaults filled in (``max_minutes=0``: no time limit)."""
    arch = get_architecture(architecture)
    if codes is None:
        codes = DATASET_CODES.get((arch.name, dataset))
    if codes is not None:
        arch = arch.with_codes(int(codes))
    if latent_dim is not None:
        arch = arch.replace(latent_dim=int(latent_dim))
    if learning_rate is not None:
        arch = arch.with_learning_rate(float(learning_rate))
    if batch_size is not None:
        arch = arch.replace(batch_size=int(batch_size))
    return {
        "kind": "gan", "framework": framework, "dataset": dataset,
        "data": None if data is None else str(Path(data).resolve()),
        "architecture": arch.name, "epochs": int(epochs or arch.epochs), "batch_size": arch.batch_size,
        "latent_dim": arch.latent_dim, "codes": arch.codes, "learning_rate": arch.g_optimizer.learning_rate,
        "beta_1": arch.g_optimizer.beta_1, "seed": int(seed), "eval_samples": int(eval_samples),
        "max_minutes": (arch.max_minutes if max_minutes is None else (float(max_minutes) or None)),
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "architecture_spec": arch.to_dict(),
    }


def find_resumable(logdir: str | os.PathLike, name: str | None, dataset: str, framework: str) -> RunFolder:
    """The run to resume: ``<logdir>/<name>``, or the newest unfinished run of ``dataset``/``framework``."""
    logdir = Path(logdir)
    if name:
        run = RunFolder.open(logdir / name)
        if layout.read_state(run) is None:
            raise KerascenesError(f"{run.path} has no completed epoch to resume from; start it again without --resume.")
        return run
    candidates = []
    for config_file in logdir.glob("*/config.json"):
        run = RunFolder(config_file.parent)
        try:
            config = run.read_config()
        except ValueError:
            continue
        if (config.get("kind") == "gan" and config.get("dataset") == dataset and config.get("framework") == framework
                and not run.has_summary() and layout.read_state(run) is not None):
            candidates.append((config_file.stat().st_mtime, run))
    if not candidates:
        raise KerascenesError(f"No unfinished {framework} GAN run of {dataset} under {logdir} to resume; pass --name of the run or start a new one without --resume.")
    return max(candidates, key=lambda item: item[0])[1]


def open_session(framework: str, dataset: str = "mnist", data: str | os.PathLike | None = None,
                 architecture: str = DEFAULT_ARCHITECTURE, epochs: int | None = None,
                 batch_size: int | None = None, latent_dim: int | None = None,
                 learning_rate: float | None = None, name: str | None = None, logdir: str | os.PathLike = "logs",
                 resume: bool = False, seed: int = 0, eval_samples: int = 10000,
                 max_minutes: float | None = None, codes: int | None = None) -> Session:
    """Create a new run folder, or reopen an interrupted one when ``resume`` is set.

    On resume the saved config wins (architecture, batch size, ...); only ``epochs`` may
    be raised to train further, and ``max_minutes`` changed. ``config["max_minutes"]`` is the
    training-time budget of this session (``None``: none).
    """
    if framework not in layout.FRAMEWORKS:
        raise KerascenesError(f"Unknown --framework {framework!r}; choose one of {', '.join(layout.FRAMEWORKS)}.")
    if resume:
        run = find_resumable(logdir, name, dataset, framework)
        config = run.read_config()
        if config.get("framework") != framework:
            raise KerascenesError(f"{run.path} was trained with --framework {config.get('framework')}; resume it with that framework.")
        if epochs is not None:
            config["epochs"] = int(epochs)
        if max_minutes is not None:
            config["max_minutes"] = float(max_minutes) or None
        state = layout.read_state(run)
        if state["epoch"] >= config["epochs"]:
            raise KerascenesError(f"{run.path} already trained {state['epoch']} of {config['epochs']} epochs; pass a larger --epochs to continue it.")
        run.write_config(config)
        history = [row for row in layout.read_history(run) if row["epoch"] <= state["epoch"]]
        return Session(run, config, int(state["epoch"]), history, float(state.get("wall_time_s", 0.0)))
    config = resolve_config(framework, dataset, data, architecture, epochs, batch_size, latent_dim,
                            learning_rate, seed, eval_samples, max_minutes, codes)
    run = RunFolder.create(logdir, name or default_run_name(f"gan-{dataset}-{config['architecture']}-{framework}"))
    np.save(run.file(layout.FIXED_NOISE_FILE), layout.fixed_noise(config["latent_dim"], seed, codes=config["codes"]))
    run.write_config(config)
    return Session(run, config, 0, [], 0.0)


def training_images(config: dict[str, Any], images: np.ndarray | None = None) -> np.ndarray:
    """The run's training images as ``uint8 (n, 28, 28)``: ``images`` if given, else the
    training split of its dataset; checked against the batch size."""
    if images is None:
        from kerascenes.data.digits import load_digits

        images, _ = load_digits(config["dataset"], config.get("data"), "train")
    if len(images) < config["batch_size"]:
        raise KerascenesError(f"Only {len(images)} training images for --batch-size {config['batch_size']}; lower the batch size.")
    return images


def real_diversity(images: np.ndarray, n: int = layout.GRID_SIZE, seed: int = 0) -> float:
    """Diversity of ``n`` random real images: the yardstick of the collapse warning."""
    idx = np.random.default_rng(seed).choice(len(images), size=min(n, len(images)), replace=False)
    return layout.sample_diversity(np.asarray(images[idx], np.float32) / 255.0)


def finish_session(session: Session, wall_time_s: float, collapse_warnings: int = 0) -> dict[str, Any]:
    """Score the final generator, write ``summary.json`` (last) and rebuild the workbook.

    Returns:
        The summary.
    """
    from kerascenes.gan.evaluate import evaluate_run
    from kerascenes.workbook import update_workbook

    config, run, history = session.config, session.run, session.history
    scores = evaluate_run(run.path, n=config["eval_samples"], seed=config["seed"])
    last = history[-1] if history else {}
    seconds = [row["seconds"] for row in history]
    metrics = {
        "fd": scores["fd"], "kid": scores["kid"], "confident_share": scores["confident_share"],
        "classes_covered": scores["classes_covered"], "real_fd": scores["real_fd"], "fd_ratio": scores["fd_ratio"],
        **{k: last.get(k) for k in (*layout.LOSS_FIELDS, "sample_diversity")},
        "images_per_second": float(np.mean([r["images_per_second"] for r in history])) if history else None,
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else None,
        "collapse_warnings": int(collapse_warnings),
        "epochs_done": len(history),
    }
    hparams = {k: config[k] for k in ("framework", "dataset", "architecture", "epochs", "batch_size", "latent_dim",
                                      "learning_rate", "beta_1", "seed")}
    hparams["codes"] = config.get("codes", 0)  # runs made before codes existed have none
    hparams["max_minutes"] = config.get("max_minutes")
    summary = {"kind": "gan", "run": run.name, "started": config["started"], "wall_time_s": round(wall_time_s, 1),
               "hparams": hparams, "metrics": metrics, "grid": layout.grid_file(len(history)) if history else None}
    try:
        from kerascenes.tboard import log_hparams

        log_hparams(run.tensorboard_dir / "hparams", hparams, {k: v for k, v in metrics.items() if v is not None})
    except ImportError:  # TensorBoard's hparams plugin is optional for the summary itself
        pass
    run.write_summary(summary)
    update_workbook(run.logdir)
    return summary
