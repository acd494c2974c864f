"""Run folders: one folder per run under a log directory, never overwritten.

Every run writes everything it produces under ``<logdir>/<name>/``: the resolved
configuration (``config.json``, enough to reproduce the run), its artefacts, and a
``summary.json`` written last. The results workbook is rebuilt from those summaries
(:mod:`kerascenes.workbook`), so a run that crashed half-way never shows up as a row and
never damages the rows of earlier runs.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path
from typing import Any

from kerascenes.errors import KerascenesError

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def default_run_name(prefix: str) -> str:
    """A readable, sortable run name such as ``MobileNet-20261128-101500``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{_SAFE_NAME.sub('_', prefix)}-{stamp}"


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


class RunFolder:
    """The folder of one run: ``<logdir>/<name>/``.

    Use :meth:`create` for a new run (the folder is made atomically; a taken name gets a
    ``-2``, ``-3``... suffix instead of overwriting) and :meth:`open` for an existing one.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def create(cls, logdir: str | os.PathLike, name: str) -> "RunFolder":
        """Make a new, empty run folder; never reuses an existing one.

        Args:
            logdir: parent folder of all runs (created if missing).
            name: wanted run name; characters other than letters, digits, ``.``, ``_``
                and ``-`` become ``_``.

        Returns:
            The new run folder (its ``name`` may carry a numeric suffix).
        """
        logdir = Path(logdir)
        if logdir.exists() and not logdir.is_dir():
            raise KerascenesError(f"--logdir {logdir} is a file, not a folder; pass a folder path.")
        logdir.mkdir(parents=True, exist_ok=True)
        base = _SAFE_NAME.sub("_", name).strip("._") or "run"
        for i in range(1, 10_000):
            candidate = logdir / (base if i == 1 else f"{base}-{i}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return cls(candidate)
        raise KerascenesError(f"Could not find a free run name for {base!r} in {logdir}; pick another --name.")

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunFolder":
        """Open an existing run folder (it must hold a ``config.json``)."""
        path = Path(path)
        if not path.is_dir():
            raise KerascenesError(f"Run folder {path} does not exist; pass a folder under your --logdir (e.g. logs/<run>).")
        if not (path / CONFIG_FILE).is_file():
            raise KerascenesError(f"{path} is not a kerascenes run folder (no {CONFIG_FILE}); pass the folder a training run created.")
        return cls(path)

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

    def write_config(self, config: dict[str, Any]) -> Path:
        return write_json(self.path / CONFIG_FILE, config)

    def read_config(self) -> dict[str, Any]:
        return read_json(self.path / CONFIG_FILE)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` (last, when the run completed)."""
        return write_json(self.path / SUMMARY_FILE, summary)

    def read_summary(self) -> dict[str, Any]:
        return read_json(self.path / SUMMARY_FILE)

    def has_summary(self) -> bool:
        return (self.path / SUMMARY_FILE).is_file()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"
