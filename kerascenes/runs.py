"""Run folders: one folder per run under a log directory, never overwritten.

Every task (classifier, bag of words, GAN) goes through the same life cycle:

1. :meth:`RunFolder.create` makes the folder atomically and writes ``config.json``: the run's
   ``kind``, its resolved options (``"options"``, the fields of the task's config dataclass,
   enough to reproduce the run with ``--config``) and what was derived from the data
   (``"derived"``: class names, image counts, ...).
2. The task writes its artefacts into the folder.
3. :meth:`RunFolder.finish` writes ``summary.json`` last (with a ``status``), the TensorBoard
   hyperparameters and session status, and rebuilds the results workbook
   (:mod:`kerascenes.workbook`) from every run's summary.

:meth:`RunFolder.open` reopens a run and refuses a run of another kind with the command that
takes it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from kerascenes.errors import KerascenesError
from kerascenes.files import read_json, replacing, save_npy, save_npz, write_json  # noqa: F401 (re-exported)
from kerascenes.workbook import WORKBOOK_NAME, update_workbook

if TYPE_CHECKING:
    from kerascenes.config import TaskConfig

log = logging.getLogger("kerascenes")

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
STATUSES = ("completed", "interrupted", "failed")

#: kind -> action -> the command that does it.
KIND_COMMANDS: dict[str, dict[str, str]] = {
    "classifier": {"train": "kerascenes fit", "evaluate": "kerascenes evaluate", "predict": "kerascenes predict",
                   "export": "kerascenes export"},
    "bow": {"train": "kerascenes bow fit", "evaluate": "kerascenes bow evaluate", "predict": "kerascenes bow predict"},
    "gan": {"train": "kerascenes gan train", "evaluate": "kerascenes gan evaluate", "sample": "kerascenes gan sample",
            "compare": "kerascenes gan compare"},
    "bow-sweep": {"train": "kerascenes bow sweep"},
    "ensemble": {"train": "kerascenes ensemble", "evaluate": "kerascenes evaluate", "predict": "kerascenes predict"},
}


def command_for(kind: str, action: str) -> str | None:
    """The command that does ``action`` with a run of ``kind`` (e.g. ``"kerascenes gan evaluate"``), if any."""
    return KIND_COMMANDS.get(kind, {}).get(action)


def wrong_kind_message(path: Path, kind: str, allowed: Sequence[str], action: str) -> str:
    """The sentence that refuses a run of ``kind`` where ``allowed`` kinds are expected."""
    command = command_for(kind, action)
    if command:
        return f"{path} is a {kind} run; use `{command} {path}`."
    others = [f"`{c} {path}`" for a, c in KIND_COMMANDS.get(kind, {}).items() if a != "train"]
    if others:
        return f"{path} is a {kind} run, which has no {action} command; use {' or '.join(others)}."
    return f"{path} is a {kind} run; this command takes {' or '.join(allowed)} runs."


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM after it saved what it had; ``message`` says what was kept.

    A ``KeyboardInterrupt``, so notebooks and scripts stop as usual; the CLI prints the message and
    the command that resumes the run, and exits with status 130.
    """

    def __init__(self, message: str, run: "RunFolder", resumable: bool = True):
        super().__init__(message)
        self.message, self.run, self.resumable = message, run, resumable


def _check_ancestors(path: Path, candidates, option: str, fix: str) -> None:
    """The first existing path of ``candidates`` must be a writable folder."""
    for parent in candidates:
        if parent.exists():
            if not parent.is_dir():
                what = "is a file" if parent == path else f"is below {parent}, which is a file"
                raise KerascenesError(f"{option} {path} {what}; {fix}.")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise KerascenesError(f"{option} {path} cannot be written ({parent} is not writable); {fix}.")
            return


def check_output_dir(path: str | os.PathLike, option: str) -> None:
    """Refuse a folder that cannot be created or written (e.g. one below a regular file)."""
    path = Path(path)
    _check_ancestors(path, (path, *path.parents), option, "pass a folder path")


def check_output_file(path: str | os.PathLike, option: str) -> None:
    """Refuse an output file path that is a folder, lies below a regular file or cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise KerascenesError(f"{option} {path} is a folder; pass a file path.")
    _check_ancestors(path, path.parents, option, "pass a file path in a writable folder")


def default_run_name(prefix: str) -> str:
    """A readable, sortable run name such as ``MobileNet-20261128-101500``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{_SAFE_NAME.sub('_', prefix)}-{stamp}"


class RunFolder:
    """The folder of one run: ``<logdir>/<name>/``.

    Use :meth:`create` for a new run (the folder is made atomically; a taken name gets a
    ``-2``, ``-3``... suffix instead of overwriting), :meth:`open` for an existing one and
    :meth:`finish` once, at the end of every run.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def create(cls, logdir: str | os.PathLike, name: str, kind: str, config: "TaskConfig | dict[str, Any]",
               derived: dict[str, Any] | None = None) -> "RunFolder":
        """Make a new run folder (never reusing an existing one) and write its ``config.json``.

        Args:
            logdir: parent folder of all runs (created if missing).
            name: wanted run name; characters other than letters, digits, ``.``, ``_``
                and ``-`` become ``_``.
            kind: the run's kind (``"classifier"``, ``"bow"``, ``"gan"``, ...).
            config: the resolved options (a task config or a plain dict).
            derived: facts found while preparing the run (class names, image counts, ...).

        Returns:
            The new run folder (its ``name`` may carry a numeric suffix).
        """
        logdir = Path(logdir)
        check_output_dir(logdir, "--logdir")
        if (logdir / WORKBOOK_NAME).is_dir():
            raise KerascenesError(f"{logdir / WORKBOOK_NAME} is a folder, so the results workbook cannot be written; "
                                  "rename it or pass another --logdir.")
        logdir.mkdir(parents=True, exist_ok=True)
        base = _SAFE_NAME.sub("_", name).strip("._") or "run"
        for i in range(1, 10_000):
            candidate = logdir / (base if i == 1 else f"{base}-{i}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            run = cls(candidate)
            try:
                run.write_config(kind, config, derived or {})
            except BaseException:  # a full disk, Ctrl-C: no half-made run folder is left behind
                shutil.rmtree(candidate, ignore_errors=True)
                raise
            return run
        raise KerascenesError(f"Could not find a free run name for {base!r} in {logdir}; pick another --name.")

    @classmethod
    def open(cls, path: str | os.PathLike, kinds: str | Sequence[str] | None = None,
             action: str = "evaluate") -> "RunFolder":
        """Open an existing run folder (it must hold a readable ``config.json``).

        Args:
            path: the run folder.
            kinds: the kinds the caller can use; a run of another kind is refused with one
                sentence that names the command that takes it.
            action: what the caller does with the run (``"evaluate"``, ``"predict"``, ...),
                used to name the right command.
        """
        path = Path(path)
        if path.is_file() and (path.parent / CONFIG_FILE).is_file():
            raise KerascenesError(f"{path} is a file of run {path.parent.name}; pass the run folder {path.parent} "
                                  "itself.")
        if path.exists() and not path.is_dir():
            raise KerascenesError(f"{path} is a file, not a run folder; pass a folder under your --logdir "
                                  "(e.g. logs/<run>).")
        if not path.is_dir():
            raise KerascenesError(f"Run folder {path} does not exist; pass a folder under your --logdir (e.g. logs/<run>).")
        if not (path / CONFIG_FILE).is_file():
            raise KerascenesError(f"{path} is not a kerascenes run folder (no {CONFIG_FILE}); pass the folder a training run created.")
        run = cls(path)
        if kinds is not None:
            allowed = (kinds,) if isinstance(kinds, str) else tuple(kinds)
            if run.kind not in allowed:
                raise KerascenesError(wrong_kind_message(path, run.kind, allowed, action))
        return run

    # -- files ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def logdir(self) -> Path:
        return self.path.parent

    def file(self, name: str) -> Path:
        """Path of a file inside the run folder (sub-folders are created)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    def write_config(self, kind: str, config: "TaskConfig | dict[str, Any]", derived: dict[str, Any]) -> Path:
        """Write ``config.json``: ``{"kind", "kerascenes", "options", "derived"}``."""
        from kerascenes import __version__

        options = config if isinstance(config, dict) else config.to_dict()
        return write_json(self.path / CONFIG_FILE, {"kind": kind, "kerascenes": __version__, "options": options,
                                                    "derived": derived})

    def read_raw_config(self) -> dict[str, Any]:
        """``config.json`` as written (one clear sentence if it is damaged)."""
        path = self.path / CONFIG_FILE
        try:
            data = read_json(path)
        except (OSError, UnicodeDecodeError, ValueError):
            raise KerascenesError(f"{path} is damaged (not readable JSON); restore it or train the run again.") from None
        if not isinstance(data, dict):
            raise KerascenesError(f"{path} is damaged (not a JSON object); restore it or train the run again.")
        return data

    @property
    def kind(self) -> str:
        """The run's kind (runs written before kinds existed are classifier runs)."""
        return str(self.read_raw_config().get("kind", "classifier"))

    def read_config(self) -> dict[str, Any]:
        """The run's options and derived facts as one flat dict (plus ``kind``)."""
        data = self.read_raw_config()
        if "options" not in data:  # a flat config.json of an older run
            return data
        return {**data.get("derived", {}), **data["options"], "kind": data.get("kind")}

    def update_config(self, options: dict[str, Any] | None = None, derived: dict[str, Any] | None = None) -> Path:
        """Change some options or derived facts of ``config.json`` (e.g. a resumed run's ``epochs``)."""
        data = self.read_raw_config()
        data["options"] = {**data.get("options", {}), **(options or {})}
        data["derived"] = {**data.get("derived", {}), **(derived or {})}
        return write_json(self.path / CONFIG_FILE, data)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` (last, when the run ended)."""
        return write_json(self.path / SUMMARY_FILE, summary)

    def read_summary(self) -> dict[str, Any]:
        return read_json(self.path / SUMMARY_FILE)

    def has_summary(self) -> bool:
        return (self.path / SUMMARY_FILE).is_file()

    @property
    def status(self) -> str | None:
        """``summary.json``'s status (``None`` for a run that has not ended, or whose summary is unreadable)."""
        try:
            summary = self.read_summary()
        except (OSError, ValueError):
            return None
        return summary.get("status", "completed") if isinstance(summary, dict) else None

    # -- failures ---------------------------------------------------------------------
    @contextlib.contextmanager
    def guard(self, keep: bool = False) -> Iterator["RunFolder"]:
        """Undo a new run that fails before it holds anything worth keeping.

        Inside the block the task sets ``run.keep = True`` once something can be resumed (a
        checkpoint). A failure before that removes the whole folder, so a retry with the same
        ``--name`` gets that name; a failure after it leaves the folder (and the checkpoint) for
        ``--resume``. An existing run (``keep=True``, e.g. one being resumed) is never removed.
        """
        self.keep = keep
        try:
            yield self
        except BaseException:
            if not self.keep:
                shutil.rmtree(self.path, ignore_errors=True)
            raise


    # -- the end of every run ---------------------------------------------------------------
    def finish(self, hparams: dict[str, Any], metrics: dict[str, Any], started: str, wall_time_s: float,
               status: str = "completed", extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """End the run: ``summary.json``, TensorBoard hyperparameters and status, the workbook.

        Args:
            hparams: flat hyperparameters (workbook columns, TensorBoard HParams).
            metrics: headline results (numbers; ``None`` for what was not measured).
            started: ISO time the run started.
            wall_time_s: seconds the run took.
            status: ``"completed"``, ``"interrupted"`` or ``"failed"``.
            extra: more summary keys (e.g. the sample grid of a GAN run).

        Returns:
            The summary.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        from kerascenes.tboard import log_hparams, summary_markdown

        kind = self.kind
        summary = {"kind": kind, "run": self.name, "status": status, "started": started,
                   "finished": _dt.datetime.now().isoformat(timespec="seconds"), "wall_time_s": round(wall_time_s, 1),
                   "hparams": hparams, "metrics": metrics, **(extra or {})}
        start = _dt.datetime.fromisoformat(started).timestamp() if started else None
        log_hparams(self.tensorboard_dir / "hparams", hparams, metrics, status=status, start_time=start,
                    text=summary_markdown(summary))
        self.write_summary(summary)
        try:
            update_workbook(self.logdir)
        except (OSError, KerascenesError) as exc:  # the run itself is complete: say so, don't fail it
            log.warning("The run finished, but %s could not be rebuilt (%s); fix that and run "
                        "`kerascenes runs %s --rebuild`.", self.logdir / WORKBOOK_NAME, exc, self.logdir)
        return summary

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"



class _Stop:
    """Where a stopping signal stands: whether a loop defers it to a safe point, and which is pending."""

    deferring = False
    pending: str | None = None


@contextlib.contextmanager
def stopping_signals() -> Iterator[None]:
    """Inside the block Ctrl-C and SIGTERM stop the program with a ``KeyboardInterrupt``, so a run
    stopped by ``kill`` or a job scheduler saves what it has exactly as after Ctrl-C.

    Inside :func:`safe_points` the first signal is only noted, and raised at the loop's next safe
    point (:func:`raise_if_stopped`: between two batches, after an epoch's checkpoint), never in
    the middle of a TensorFlow call or a file write; a second one stops at once.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        name = signal.Signals(signum).name
        if _Stop.deferring and _Stop.pending is None:
            _Stop.pending = name
            return
        _Stop.pending = None  # the stop happens now
        raise KeyboardInterrupt(name)

    # a SIGINT ignored at start (a background job) stays ignored
    signals = [signal.SIGTERM] + ([signal.SIGINT] if signal.getsignal(signal.SIGINT) is signal.default_int_handler
                                  else [])
    previous = {signum: signal.signal(signum, stop) for signum in signals}
    _Stop.pending = None
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _Stop.deferring, _Stop.pending = False, None


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def raise_if_stopped() -> None:
    """Raise the ``KeyboardInterrupt`` of a stopping signal that arrived inside :func:`safe_points`."""
    if _Stop.pending is not None and _in_main_thread():
        name, _Stop.pending = _Stop.pending, None
        _Stop.deferring = False  # a further Ctrl-C while this one unwinds stops at once
        raise KeyboardInterrupt(name)


@contextlib.contextmanager
def safe_points() -> Iterator[None]:
    """Defer Ctrl-C / SIGTERM (see :func:`stopping_signals`) to the :func:`raise_if_stopped` calls of
    the block; one that came after the last of them is raised when the block ends."""
    if not _in_main_thread():  # signals reach the main thread only: a worker thread's loop is left alone
        yield
        return
    outer = _Stop.deferring
    _Stop.deferring = True
    try:
        yield
    finally:
        _Stop.deferring = outer
    if not outer:
        raise_if_stopped()
