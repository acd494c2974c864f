"""Figures people would rather look at than read: curves, confusion matrices, grids.

All functions draw with matplotlib's non-interactive Agg backend, save a PNG and return
its path (or, for :func:`figure_to_png_bytes`, the encoded image for TensorBoard).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from kerascenes.errors import printable


def _pyplot():
    """pyplot for writing PNG files: the Agg backend, unless a notebook already chose its own."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
        matplotlib.use("Agg")  # no screen needed; a notebook keeps its inline backend
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def figure_to_png_bytes(fig) -> bytes:
    """Encode a figure as PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike,
                 title: str = "", stage_boundaries: Sequence[int] = ()) -> Path:
    """Loss and accuracy curves (train vs validation), one panel per metric.

    Args:
        history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``.
        path: PNG to write.
        title: figure title.
        stage_boundaries: epochs where a new training stage (e.g. fine-tuning) starts;
            drawn as dashed vertical lines.

    The epoch with the lowest validation loss (the weights a run keeps) is marked on every panel.
    """
    plt = _pyplot()
    metrics = [m for m in ("loss", "accuracy") if m in history]
    metrics += [m for m in history if not m.startswith("val_") and m not in metrics
                and m not in ("learning_rate", "lr", "epoch")]
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(5 * max(1, len(metrics)), 3.6))
    axes = np.atleast_1d(axes)
    best = int(np.nanargmin(history["val_loss"])) + 1 if len(history.get("val_loss", [])) else None
    for ax, metric in zip(axes, metrics):
        values = history[metric]
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, label=f"train {metric}")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], label=f"val {metric}")
            if best is not None and best <= len(history[f"val_{metric}"]):
                ax.plot([best], [history[f"val_{metric}"][best - 1]], "o", color="black", markersize=5,
                        label=f"best epoch {best}")
        for i, b in enumerate(stage_boundaries):
            ax.axvline(b + 0.5, color="grey", linestyle="--", linewidth=1, label="fine-tuning" if i == 0 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def confusion_matrix_figure(matrix: np.ndarray, class_names: Sequence[str], normalize: bool = True,
                            title: str = "Confusion matrix"):
    """A matplotlib figure of a confusion matrix (rows: true class, columns: predicted)."""
    plt = _pyplot()
    matrix = np.asarray(matrix, dtype=float)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    n = len(class_names)
    size = max(4.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(n), labels=class_names, rotation=60, ha="right")
    ax.set_yticks(range(n), labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = (shown.max() if shown.size else 1) / 2
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return fig


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike,
                          normalize: bool = True, title: str = "Confusion matrix") -> Path:
    """Save a confusion-matrix heat map (row-normalised by default)."""
    return _save(confusion_matrix_figure(matrix, class_names, normalize, title), path)


def plot_class_counts(counts: Mapping[str, int], path: str | os.PathLike, title: str = "Images per class") -> Path:
    """Bar chart of the number of images in each class."""
    plt = _pyplot()
    names = list(counts)
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(names) + 2), 3.8))
    bars = ax.bar(names, [counts[n] for n in names], color="#4878a8")
    ax.bar_label(bars, fontsize=8)
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=60)
    for label in ax.get_xticklabels():
        label.set_ha("right")
    return _save(fig, path)


def plot_image_gallery(images: Sequence[np.ndarray], captions: Sequence[str], path: str | os.PathLike,
                       columns: int = 5, title: str = "") -> Path:
    """A grid of images with a caption under each (used for the worst mistakes)."""
    plt = _pyplot()
    n = max(1, len(images))
    columns = min(columns, n)
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.8 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption in zip(axes.ravel(), images, captions):
        image = np.asarray(image)
        ax.imshow(image.squeeze(), cmap="gray" if image.ndim == 2 or image.shape[-1] == 1 else None)
        ax.set_title(printable(caption), fontsize=7)
    if not len(images):
        axes.ravel()[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def image_grid(images: np.ndarray, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile a batch ``(n, h, w[, c])`` of images in [0, 1] into one ``(H, W[, c])`` array."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape[:3]
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    shape = (rows * (h + pad) + pad, columns * (w + pad) + pad) + images.shape[3:]
    grid = np.ones(shape, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, columns)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = images[k]
    return grid


def save_image_grid(images: np.ndarray, path: str | os.PathLike, columns: int | None = None,
                    title: str = "") -> Path:
    """Save a batch of images in [0, 1] as one tiled PNG."""
    plt = _pyplot()
    grid = image_grid(images, columns)
    fig, ax = plt.subplots(figsize=(max(3, grid.shape[1] / 40), max(3, grid.shape[0] / 40)))
    ax.imshow(np.clip(grid.squeeze(), 0, 1), cmap="gray" if grid.ndim == 2 or grid.shape[-1] == 1 else None,
              vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return _save(fig, path)
