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
    run without a summary (``resumable`` when it holds a checkpoint), or ``damaged`` (then
    ``problem`` says what: an unreadable config or summary, a missing or damaged model file).
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
    status = summary.get("status", "completed")
    # a finished run must hold its model (an interrupted classifier keeps its best one too)
    checked = status == "completed" or (status == "interrupted" and row["kind"] == "classifier")
    problem = model_problem(run, row["kind"], config) if checked else None
    row = row | {"status": "damaged" if problem else status, "metric": metric, "value": metrics.get(metric),
                 "started": summary.get("started", row["started"]), "wall_time_s": summary.get("wall_time_s")}
    return row | ({"problem": problem} if problem else {})


def _model_files(kind: str, config: dict[str, Any]) -> tuple[str, ...]:
    from kerascenes.kept_predictions import MODEL_FILES

    if kind == "gan":
        from kerascenes.gan.layout import GENERATOR_FILE

        return (GENERATOR_FILE.get(config.get("framework", "tf"), "generator.keras"),)
    if kind == "ensemble":
        from kerascenes.ensemble.runner import ENSEMBLE_FILE

        return (ENSEMBLE_FILE,)
    return MODEL_FILES.get(kind, ())


def model_problem(run: RunFolder, kind: str, config: dict[str, Any]) -> str | None:
    """What is wrong with a finished run's model files (missing, empty, not a zip / JSON), or ``None``.

    A cheap look (the zip directory, a JSON parse), not a load: enough to tell apart a run whose
    model was deleted, truncated or overwritten from one that ``evaluate`` and ``predict`` can use.
    """
    import json
    import zipfile

    for name in _model_files(kind, config):
        path = run.path / name
        if not path.is_file():
            return f"{name} is missing"
        try:
            if path.stat().st_size == 0:
                return f"{name} is empty"
            if path.suffix in (".keras", ".npz", ".pt") and not zipfile.is_zipfile(path):
                return f"{name} is damaged (not a zip archive)"
            if path.suffix == ".json":
                json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return f"{name} cannot be read ({type(exc).__name__})"
    return None


def list_runs(logdir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run folder under ``logdir`` (oldest first), as :func:`describe_run` rows."""
    logdir = Path(logdir)
    if not logdir.is_dir():
        what = "is a file, not a folder" if logdir.exists() else "does not exist"
        raise KerascenesError(f"Log folder {logdir} {what}; pass the --logdir your runs were written to.")
    rows = [describe_run(RunFolder(p.parent)) for p in sorted(logdir.glob(f"*/{CONFIG_FILE}"))]
    return sorted(rows, key=lambda r: (str(r["started"] or ""), r["run"]))
