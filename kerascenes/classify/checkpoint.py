"""Resumable classifier runs: what ``kerascenes fit --resume`` continues from.

After every epoch :class:`EpochCheckpoint` writes ``checkpoint/epoch-NNN/`` (the classifier's
weights, the optimizer's variables and the early-stopping best weights, as ``.npz`` arrays) and then
``checkpoint/state.json``, which points at it; the previous epoch's folder is removed only
after that, so a run killed at any moment (even with SIGKILL) resumes from its last
completed epoch. The state also records the callbacks' counters (early stopping, learning-rate
plateau) and the per-epoch history, so the resumed run continues the same schedule and
``history.csv`` stays complete.

Phases of ``state.json``: ``frozen`` (stage 1 running), ``frozen_done`` (stage 1 ended:
``stage1.npz`` holds its best weights), ``fine_tune`` (stage 2 running), ``trained``
(``final.npz``: only the reports are left).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder, read_json, save_npz, write_json

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
PHASES = ("frozen", "frozen_done", "fine_tune", "trained")
_CALLBACK_STATE = {"early": ("wait", "best", "stopped_epoch", "best_epoch"),
                   "plateau": ("wait", "best", "cooldown_counter")}


class Checkpoint:
    """The ``checkpoint/`` folder of a classifier run."""

    def __init__(self, run: RunFolder):
        self.run = run
        self.folder = run.path / CHECKPOINT_DIR

    # -- reading ------------------------------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        """The last recorded state, or ``None`` when no epoch has completed."""
        path = self.folder / STATE_FILE
        if not path.is_file():
            return None
        try:
            state = read_json(path)
            if state.get("phase") not in PHASES:
                raise ValueError(state.get("phase"))
        except (OSError, ValueError, AttributeError):
            raise KerascenesError(f"{path} is damaged; delete {self.folder} to restart the run from its first epoch, "
                                  "or train a new run.") from None
        return state

    def path(self, name: str) -> Path:
        return self.folder / name

    def load_weights(self, model, name: str) -> None:
        """Load ``name`` (a ``.npz`` of the model's weights in the checkpoint) into ``model``."""
        path = self.folder / name
        try:
            with np.load(path) as data:
                values = _from_arrays(data)
            if len(values) != len(model.weights):
                raise ValueError(f"{len(values)} arrays for {len(model.weights)} weights")
            for variable, value in zip(model.weights, values):
                variable.assign(value)
        except Exception as exc:  # a damaged file: zip, shape or count errors of many types
            raise KerascenesError(f"{path} is damaged ({type(exc).__name__}); delete {self.folder} to restart the "
                                  "run from its first epoch.") from exc

    # -- writing ------------------------------------------------------------------------
    def write_state(self, state: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.folder / STATE_FILE, state)

    def save_weights(self, model, name: str) -> None:
        """Save ``model``'s weights (every variable, optimizer excluded) as ``name`` atomically."""
        target = self.folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        save_npz(target, **_arrays(v.numpy() for v in model.weights))

    def tidy(self) -> None:
        """Remove what an interrupted epoch left half-written: epoch folders the state does not point at."""
        state = self.state() or {}
        for folder in self.folder.glob("epoch-*"):
            if folder.name != state.get("folder"):
                shutil.rmtree(folder, ignore_errors=True)

    def remove(self) -> None:
        """Delete the checkpoint (a completed run needs it no more)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _arrays(values) -> dict[str, np.ndarray]:
    return {f"a{i:05d}": np.asarray(v) for i, v in enumerate(values)}


def _from_arrays(data) -> list[np.ndarray]:
    return [data[k] for k in sorted(data.files)]


class EpochCheckpoint(keras.callbacks.Callback):
    """Checkpoint of one training stage, after every epoch; restores a resumed stage when training begins.

    Put it after the early-stopping and plateau callbacks: Keras resets their counters in
    ``on_train_begin``, and this callback sets them back afterwards.

    Args:
        checkpoint: the run's :class:`Checkpoint`.
        full_model: the complete classifier (its weights are saved; the fitted model may be its head).
        phase: ``"frozen"`` or ``"fine_tune"``.
        early, plateau: the stage's early-stopping and learning-rate callbacks.
        history: the per-epoch rows of earlier epochs (they are extended here).
        extra: more state to record (e.g. the frozen stage's best val_loss in stage 2).
        resume: the state to restore at the start of training, or ``None``.
        elapsed: returns the run's training seconds so far (recorded as ``wall_time_s``).
    """

    def __init__(self, checkpoint: Checkpoint, full_model, phase: str, early, plateau,
                 history: list[dict[str, float]], extra: dict[str, Any] | None = None,
                 resume: dict[str, Any] | None = None, elapsed: Callable[[], float] = lambda: 0.0):
        super().__init__()
        self.checkpoint, self.full_model, self.phase = checkpoint, full_model, phase
        self.early, self.plateau = early, plateau
        self.history, self.extra, self.resume, self.elapsed = history, dict(extra or {}), resume, elapsed

    def on_train_begin(self, logs=None):
        if not self.resume:
            return
        folder = self.checkpoint.path(self.resume["folder"])
        self.checkpoint.load_weights(self.full_model, f"{self.resume['folder']}/model.npz")
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        with np.load(folder / "optimizer.npz") as data:
            for variable, value in zip(optimizer.variables, _from_arrays(data), strict=True):
                variable.assign(value)
        for callback, key in ((self.early, "early"), (self.plateau, "plateau")):
            for name, value in self.resume[key].items():
                setattr(callback, name, value)
        best = folder / "best.npz"
        if best.is_file():
            with np.load(best) as data:
                self.early.best_weights = _from_arrays(data)

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})
        name = f"epoch-{epoch + 1:03d}"
        folder = self.checkpoint.path(name)
        folder.mkdir(parents=True, exist_ok=True)
        self.checkpoint.save_weights(self.full_model, f"{name}/model.npz")
        save_npz(folder / "optimizer.npz", **_arrays(v.numpy() for v in self.model.optimizer.variables))
        if self.early.best_weights is not None:
            save_npz(folder / "best.npz", **_arrays(self.early.best_weights))
        state = {"phase": self.phase, "folder": name, "epochs_done": epoch + 1, "history": self.history,
                 "wall_time_s": self.elapsed(),
                 **{key: {a: _plain(getattr(cb, a)) for a in _CALLBACK_STATE[key] if hasattr(cb, a)}
                    for key, cb in (("early", self.early), ("plateau", self.plateau))},
                 **self.extra}
        previous = self.checkpoint.state()
        self.checkpoint.write_state(state)
        self.checkpoint.run.keep = True  # a resumable run: a later failure leaves it for --resume
        if previous and previous.get("folder") and previous["folder"] != name:
            shutil.rmtree(self.checkpoint.path(previous["folder"]), ignore_errors=True)


def _plain(value: Any) -> Any:
    """A callback attribute as a JSON value (numpy scalars become Python numbers; inf is kept)."""
    return value.item() if hasattr(value, "item") else value
