"""Start, resume and finish a GAN run: the framework-neutral part of ``kerascenes gan train``.

:func:`train_gan` is the one entry point of both frameworks: it opens a session (a new run
folder, or the run to resume), hands it to the framework's ``train_session`` (TensorFlow in
:mod:`kerascenes.gan.train`, PyTorch in :mod:`kerascenes.torch_gan.train`), then scores the
generator and ends the run with :meth:`kerascenes.runs.RunFolder.finish`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kerascenes.errors import KerascenesError
from kerascenes.gan import layout
from kerascenes.gan.architectures import get_architecture
from kerascenes.gan.config import GanConfig
from kerascenes.runs import RunFolder, RunInterrupted, default_run_name, stopping_signals

#: framework -> ``"module:function"`` that trains an opened session.
TRAINERS = {"tf": "kerascenes.gan.train:train_session", "torch": "kerascenes.torch_gan.train:train_session"}


@dataclass
class Session:
    """An opened run: its folder, resolved options, first epoch to train and earlier history.

    ``config`` is the flat view (options and derived facts such as ``architecture_spec``)
    that the trainers and callbacks read.
    """

    run: RunFolder
    options: GanConfig
    config: dict[str, Any]
    initial_epoch: int
    history: list[dict[str, Any]]
    wall_time_offset: float

    @property
    def architecture(self):
        return get_architecture(self.config["architecture_spec"])

    def commit(self, images: np.ndarray) -> None:
        """Write the session's options and derived facts once the run's files have loaded."""
        if "real_diversity" not in self.config:
            self.config["real_diversity"] = real_diversity(images, seed=self.options.seed)
        self.run.update_config(self.options.to_dict(), {"real_diversity": self.config["real_diversity"]})


@dataclass
class GanResult:
    """What :func:`train_gan` returns."""

    run: RunFolder
    summary: dict[str, Any]


def load_trainer(framework: str):
    """The ``train_session`` function of ``framework``."""
    module, attr = TRAINERS[framework].split(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        if framework == "torch":
            raise KerascenesError("--framework torch needs PyTorch; install it with `pip install kerascenes[torch]`.") from exc
        raise


def train_gan(config: GanConfig, resume: bool = False, verbose: int = 1, images: np.ndarray | None = None,
              **framework_options: Any) -> GanResult:
    """Train (or resume) a DCGAN as described by ``config``, score it and end the run.

    Args:
        config: the run's options (resolved here: the architecture's defaults filled in).
        resume: continue the run ``config.name`` (or the newest unfinished run of its dataset
            and framework) from its last completed epoch; its saved options win, except
            ``epochs`` (to train further) and ``max_minutes`` when they are given.
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        images: training images ``uint8 (n, 28, 28)`` instead of loading ``config.dataset``.
        **framework_options: passed to the framework's trainer (torch: ``device``).

    Returns:
        A :class:`GanResult` with the run folder and the summary.
    """
    if not resume:  # a missing framework or unusable data fail before a run folder exists
        load_trainer(config.framework)
        images = training_images(config.resolve().to_dict(), images)
    session = open_session(config, resume)
    if resume:
        images = training_images(session.config, images)
    trainer = load_trainer(session.options.framework)
    with session.run.guard(keep=resume), stopping_signals():
        try:
            wall, collapse_warnings = trainer(session, images, verbose, **framework_options)
        except KeyboardInterrupt as exc:
            if isinstance(exc, RunInterrupted):
                raise
            raise interrupted(session) from None
        return GanResult(session.run, finish_session(session, wall, collapse_warnings))


def interrupted(session: Session) -> RunInterrupted:
    """After Ctrl-C / SIGTERM: end the run as ``interrupted`` at its last checkpoint (no final scoring)."""
    state = layout.read_state(session.run)
    if not state:
        return RunInterrupted("Interrupted before the first epoch ended; nothing was kept.", session.run,
                              resumable=False)
    history = [row for row in layout.read_history(session.run) if row["epoch"] <= state["epoch"]]
    last = history[-1] if history else {}
    metrics = {k: last.get(k) for k in (*layout.LOSS_FIELDS, "fd_quick", "confident_share_quick")}
    metrics["epochs_done"] = int(state["epoch"])
    session.run.finish(session.options.hparams() | {"beta_1": session.config["beta_1"]}, metrics,
                       session.config["started"], float(state.get("wall_time_s", 0.0)), status="interrupted",
                       extra={"grid": layout.grid_file(int(state["epoch"]))})
    return RunInterrupted(f"Interrupted in epoch {state['epoch'] + 1} of {session.options.epochs}: kept the "
                          f"checkpoint of epoch {state['epoch']} in {session.run.path} (`kerascenes gan sample "
                          f"{session.run.path}` draws from it).", session.run)


def find_resumable(config: GanConfig) -> RunFolder:
    """The run to resume: ``<logdir>/<name>``, or the newest unfinished run of the dataset and framework."""
    logdir = Path(config.logdir)
    if config.name:
        run = RunFolder.open(logdir / config.name, "gan", action="train")
        if layout.read_state(run) is None:
            raise KerascenesError(f"{run.path} has no completed epoch to resume from; start it again without --resume.")
        return run
    candidates = []
    for config_file in logdir.glob("*/config.json"):
        run = RunFolder(config_file.parent)
        try:
            found = run.read_config()
        except KerascenesError:
            continue
        if (found.get("kind") == "gan" and found.get("dataset") == config.dataset
                and found.get("framework") == config.framework and run.status != "completed"
                and layout.read_state(run) is not None):
            candidates.append((config_file.stat().st_mtime, run))
    if not candidates:
        raise KerascenesError(f"No unfinished {config.framework} GAN run of {config.dataset} under {logdir} to resume; "
                              "pass --name of the run or start a new one without --resume.")
    return max(candidates, key=lambda item: item[0])[1]


#: What a resumed run may change: how long it trains, and where it is found
RESUME_MAY_CHANGE = ("epochs", "max_minutes", "eval_samples", "name", "logdir")


def _refuse_changed_options(given: GanConfig, stored: GanConfig, run: RunFolder) -> None:
    """Resuming continues a run: an option given with another value than the run's is an error
    (an option left at its default is taken from the run)."""
    import dataclasses

    from kerascenes.config import option_name

    for f in dataclasses.fields(given):
        mine, theirs = getattr(given, f.name), getattr(stored, f.name)
        if f.name in RESUME_MAY_CHANGE or mine == f.default or mine == theirs or _same_data(f.name, mine, theirs):
            continue
        raise KerascenesError(f"{option_name(f)} {mine!r} differs from the run's {theirs!r} "
                              f"({run.path / 'config.json'}); resume without it (only --epochs, --max-minutes and "
                              "--eval-samples may change), or start a new run without --resume.")


def _same_data(field: str, given: Any, stored: Any) -> bool:
    """``--data`` names the run's data: the same file by another path, or the run's data moved."""
    if field != "data" or not given or not stored:
        return False
    if not os.path.exists(stored):
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(given, stored)
    return False


def open_session(config: GanConfig, resume: bool = False) -> Session:
    """Create a new run folder, or reopen an interrupted one when ``resume`` is set.

    Nothing of an earlier run is rewritten here: a resumed run's ``config.json`` changes only
    when its checkpoint has loaded (:meth:`Session.commit`).
    """
    if resume:
        run = find_resumable(config.validate())
        raw = run.read_raw_config()
        options = GanConfig.from_dict(raw.get("options", {}), source=str(run.path / "config.json"))
        _refuse_changed_options(config, options, run)
        if config.epochs is not None:
            options = options.replace(epochs=config.epochs)
        if config.max_minutes is not None:
            options = options.replace(max_minutes=config.max_minutes)
        if config.eval_samples != GanConfig.eval_samples:
            options = options.replace(eval_samples=config.eval_samples)
        # a run from before the sample bound scores what the bound allows
        options = options.replace(eval_samples=min(options.eval_samples, layout.MAX_SAMPLES))
        if config.data and config.data != options.data:  # the same data by another path, or moved
            options = options.replace(data=config.data)
        state = layout.read_state(run)
        if state["epoch"] >= options.epochs:
            raise KerascenesError(f"{run.path} already trained {state['epoch']} of {options.epochs} epochs; "
                                  "pass a larger --epochs to continue it.")
        history = [row for row in layout.read_history(run) if row["epoch"] <= state["epoch"]]
        flat = {**raw.get("derived", {}), **options.to_dict()}
        return Session(run, options, flat, int(state["epoch"]), history, float(state.get("wall_time_s", 0.0)))
    options = config.resolve()
    arch = options.architecture()
    derived = {"started": _dt.datetime.now().isoformat(timespec="seconds"), "beta_1": arch.g_optimizer.beta_1,
               "architecture_spec": arch.to_dict()}
    name = options.name or default_run_name(f"gan-{options.dataset}-{options.arch}-{options.framework}")
    run = RunFolder.create(options.logdir, name, "gan", options, derived)
    with run.guard():  # a failed write (a full disk) leaves no half-made run folder
        np.save(run.file(layout.FIXED_NOISE_FILE), layout.fixed_noise(options.latent_dim, options.seed, codes=options.codes))
    return Session(run, options, {**derived, **options.to_dict()}, 0, [], 0.0)


def training_images(config: dict[str, Any], images: np.ndarray | None = None) -> np.ndarray:
    """The run's training images as ``uint8 (n, 28, 28)``: ``images`` if given, else the
    training split of its dataset; checked against the batch size."""
    from kerascenes.data.digits import check_digits, load_digits

    if images is None:
        images, _ = load_digits(config["dataset"], config.get("data"), "train")
    else:
        images, _ = check_digits(images, np.zeros(len(images), np.int64), "the training images")
    if len(images) < config["batch_size"]:
        raise KerascenesError(f"Only {len(images)} training images for --batch-size {config['batch_size']}; lower the batch size.")
    return images


def real_diversity(images: np.ndarray, n: int = layout.GRID_SIZE, seed: int = 0) -> float:
    """Diversity of ``n`` random real images: the yardstick of the collapse warning."""
    idx = np.random.default_rng(seed).choice(len(images), size=min(n, len(images)), replace=False)
    return layout.sample_diversity(np.asarray(images[idx], np.float32) / 255.0)


def finish_session(session: Session, wall_time_s: float, collapse_warnings: int = 0) -> dict[str, Any]:
    """Score the final generator and end the run (``summary.json``, TensorBoard, workbook).

    Returns:
        The summary.
    """
    from kerascenes.gan.evaluate import evaluate_run

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
    hparams = session.options.hparams() | {"beta_1": config["beta_1"]}
    grid = layout.grid_file(len(history)) if history else None
    return run.finish(hparams, metrics, config["started"], wall_time_s, extra={"grid": grid})
