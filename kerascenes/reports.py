"""Evaluation reports shared by every classifier (CNN, ViT, bag of words).

:func:`write_classification_report` turns true labels, predictions and (optionally)
class probabilities into the files a user looks at: confusion matrix (CSV + PNG),
per-class precision/recall/F1 (CSV), a predictions CSV with the top-k classes of every
image, and returns the headline numbers.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def per_class_table(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support of every class."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = list(range(len(class_names)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return [
        {"class": name, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, name in enumerate(class_names)
    ]


def top_k(proba: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and probabilities of the ``k`` most likely classes of each row."""
    k = min(k, proba.shape[1])
    idx = np.argsort(-proba, axis=1)[:, :k]
    return idx, np.take_along_axis(proba, idx, axis=1)


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """Write a small CSV file (UTF-8; a file name that is not UTF-8 keeps its own bytes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_classification_report(out_dir: str | os.PathLike | None, y_true: Sequence[int], y_pred: Sequence[int],
                                class_names: Sequence[str], proba: np.ndarray | None = None,
                                paths: Sequence[str] | None = None, k: int = 3,
                                prefix: str = "") -> dict[str, Any]:
    """Write the evaluation files of one split and return its headline metrics.

    Files (``prefix`` is prepended to each name; nothing is written when ``out_dir`` is
    ``None``): ``confusion_matrix.csv``, ``confusion_matrix.png``, ``per_class.csv`` and,
    when ``paths`` are given, ``predictions.csv`` (file, true class, predicted class,
    correct, top-k classes with their probabilities when ``proba`` is given).

    Returns:
        ``{"accuracy", "top_k_accuracy", "macro_f1", "n_images", "confusion_matrix", "per_class",
        "most_confused"}``.
    """
    from sklearn.metrics import confusion_matrix, f1_score

    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    labels = list(range(len(class_names)))
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    accuracy = float((y_true == y_pred).mean()) if len(y_true) else 0.0
    table = per_class_table(y_true, y_pred, class_names)
    confused = most_confused(matrix, class_names)
    if out_dir is not None:
        _write_report_files(Path(out_dir), prefix, matrix, accuracy, table, y_true, y_pred, class_names, proba, paths, k)
        write_csv(Path(out_dir) / f"{prefix}most_confused.csv", ["true", "predicted", "count"],
                  [[c["true"], c["predicted"], c["count"]] for c in confused])
    return {
        "accuracy": accuracy,
        "top_k_accuracy": top_k_accuracy(y_true, proba, len(class_names)) if proba is not None else {"top1": accuracy},
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "n_images": int(len(y_true)),
        "confusion_matrix": matrix.tolist(),
        "per_class": table,
        "most_confused": confused,
    }


def top_k_accuracy(y_true: Sequence[int], proba: np.ndarray, n_classes: int, ks: Sequence[int] = (1, 3, 5)) -> dict[str, float]:
    """``{"top1": ..., "top3": ..., "top5": ...}``: the share of images whose class is among the k most likely
    (for the ks smaller than the number of classes, and top-1 always)."""
    y_true = np.asarray(y_true, dtype=int)
    if not len(y_true):
        return {"top1": 0.0}
    idx, _ = top_k(np.asarray(proba), max(ks))
    return {f"top{k}": float((idx[:, :k] == y_true[:, None]).any(axis=1).mean()) for k in ks if k == 1 or k < n_classes}


def most_confused(matrix: np.ndarray, class_names: Sequence[str], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` most frequent mistakes as ``{"true", "predicted", "count"}`` (fastai's ``most_confused``)."""
    off = np.asarray(matrix, dtype=int).copy()
    np.fill_diagonal(off, 0)
    pairs = [(int(off[i, j]), i, j) for i in range(len(off)) for j in range(len(off)) if off[i, j] > 0]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [{"true": class_names[i], "predicted": class_names[j], "count": c} for c, i, j in pairs[:n]]


def _write_report_files(out_dir: Path, prefix: str, matrix: np.ndarray, accuracy: float, table: list[dict[str, Any]],
                        y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], proba: np.ndarray | None,
                        paths: Sequence[str] | None, k: int) -> None:
    from kerascenes.plots import plot_confusion_matrix

    write_csv(out_dir / f"{prefix}confusion_matrix.csv", ["true\\predicted", *class_names],
              [[name, *map(int, row)] for name, row in zip(class_names, matrix)])
    plot_confusion_matrix(matrix, class_names, out_dir / f"{prefix}confusion_matrix.png",
                          title=f"Confusion matrix (accuracy {accuracy:.3f})")
    write_csv(out_dir / f"{prefix}per_class.csv", ["class", "precision", "recall", "f1", "support"],
              [[r["class"], f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['f1']:.4f}", r["support"]] for r in table])
    if paths is None:
        return
    header = ["file", "true", "predicted", "correct"]
    rows: list[list[Any]] = []
    if proba is not None:
        idx, val = top_k(np.asarray(proba), k)
        for j in range(idx.shape[1]):
            header += [f"top{j + 1}", f"top{j + 1}_prob"]
    for i, path in enumerate(paths):
        row = [str(path), class_names[y_true[i]], class_names[y_pred[i]], int(y_true[i] == y_pred[i])]
        if proba is not None:
            for j in range(idx.shape[1]):
                row += [class_names[idx[i, j]], f"{val[i, j]:.4f}"]
        rows.append(row)
    write_csv(out_dir / f"{prefix}predictions.csv", header, rows)
