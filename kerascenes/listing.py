"""What is in a log folder: every run of every kind, how it ended and its headline number."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kerascenes.errors import KerascenesError
from kerascenes.runs import CONFIG_FILE, RunFolder

#: kind -> the metric that sums a run up (higher is better except FD).
HEADLINE = {"classifier": "val_accuracy", "bow": "val_accuracy", "gan": "fd", "ensemble": "val_accuracy"}
CHECKPOINT_DIR = "checkpoint"


def describe_run(run: RunFolder) -> dict[str, Any]:
    """One row: ``run``, ``kind``, ``status``, ``metric``, ``value``, ``started``, ``wall_time_s``, ``path``.

    ``status`` is the summary's (``completed``, ``interrupted``, ``failed``), ``unfinished`` for a
    run without a summary (``resumable`` when it holds a checkpoint), or ``damaged``.
    """
    row: dict[str, Any] = {"run": run.name, "kind": None, "status": None, "metric": None, "value": None,
                           "started": None, "wall_time_s": None, "path": str(run.path)}
    try:
        config = run.read_config()
    except KerascenesError:
        return row | {"status": "damaged"}
    row["kind"] = config.get("kind") or "classifier"
    row["started"] = config.get("started")
    if not run.has_summary():
        resumable = (run.path / CHECKPOINT_DIR).is_dir() and any((run.path / CHECKPOINT_DIR).iterdir())
        return row | {"status": "resumable" if resumable else "unfinished"}
    try:
        summary = run.read_summary()
        metrics = summary.get("metrics", {}) if isinstance(summary, dict) else {}
    except (OSError, ValueError):
        return row | {"status": "damaged"}
    metric = HEADLINE.get(row["kind"])
    if metric not in metrics and "train_accuracy" in metrics:
        metric = "train_accuracy"
    return row | {"status": summary.get("status", "completed"), "metric": metric, "value": metrics.get(metric),
                  "started": summary.get("started", row["started"]), "wall_time_s": summary.get("wall_time_s")}


def list_runs(logdir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run folder under ``logdir`` (oldest first), as :func:`describe_run` rows."""
    logdir = Path(logdir)
    if not logdir.is_dir():
        what = "is a file, not a folder" if logdir.exists() else "does not exist"
        raise KerascenesError(f"Log folder {logdir} {what}; pass the --logdir your runs were written to.")
    rows = [describe_run(RunFolder(p.parent)) for p in sorted(logdir.glob(f"*/{CONFIG_FILE}"))]
    return sorted(rows, key=lambda r: (str(r["started"] or ""), r["run"]))
