"""Resuming and interrupting classifier runs: reopening a run, its history, what an interruption keeps."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kerascenes.classify.checkpoint import Checkpoint
from kerascenes.classify.config import FitConfig
from kerascenes.config import open_run_to_resume
from kerascenes.runs import RunFolder


def open_for_resume(config: FitConfig) -> tuple[RunFolder, dict[str, Any] | None]:
    """The unfinished run ``config.name`` and its checkpoint state (``None``: restart from epoch 1)."""
    run = open_run_to_resume(config)
    return run, Checkpoint(run).state()


def history_columns(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-epoch rows -> ``{metric: [value per epoch]}`` (like ``keras.callbacks.History``)."""
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch":
                columns.setdefault(key, []).append(float(value))
    return columns


def rewrite_history_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """``history.csv`` as Keras' ``CSVLogger`` writes it, for the epochs of the checkpoint only.

    A run killed between writing an epoch's row and its checkpoint would otherwise keep a row
    that the resumed run writes again.
    """
    keys = sorted({k for row in rows for k in row if k != "epoch"})
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        if rows:
            writer.writerow(["epoch", *keys])
            for i, row in enumerate(rows):
                writer.writerow([i, *(row.get(k, "") for k in keys)])


def interrupted_summary(run: RunFolder, rows: list[dict[str, float]], config: FitConfig) -> tuple[str, dict[str, Any]]:
    """The sentence and the metrics of a run stopped after ``len(rows)`` epochs."""
    best = min(range(len(rows)), key=lambda i: rows[i].get("val_loss", float("inf")))
    row = rows[best]
    total = config.epochs + (config.fine_tune_epochs if config.fine_tune else 0)
    metrics = {"val_accuracy": row.get("val_accuracy"), "train_accuracy": row.get("accuracy"),
               "val_loss_best": row.get("val_loss"), "best_epoch": best + 1, "epochs_run": len(rows)}
    message = (f"Interrupted after epoch {len(rows)} of up to {total}: kept the best model so far (epoch {best + 1}, "
               f"val accuracy {row.get('val_accuracy', float('nan')):.4f}) in {run.path / 'model.keras'}, and the "
               "checkpoint to continue from.")
    return message, metrics
