"""Classifier runs (CNN, ViT): the reports written at the end of training, loading, prediction.

Evaluating a run on a folder and predicting files go through :mod:`kerascenes.inference`,
which serves every classifier-like kind with one result shape; :class:`KerasPredictor` is
what it uses for classifier runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kerascenes.data.folders import ImageSet
from kerascenes.errors import KerascenesError
from kerascenes.runs import RunFolder

log = logging.getLogger("kerascenes")


def predict_proba(model, images: ImageSet | Sequence[str], image_size: int, batch_size: int = 32) -> np.ndarray:
    """Class probabilities of every image (no augmentation)."""
    from kerascenes.data.pipeline import image_dataset

    paths = images.paths if isinstance(images, ImageSet) else list(images)
    if not paths:
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    ds = image_dataset(paths, None, image_size, batch_size, cache=False)
    return np.asarray(model.predict(ds.map(lambda x, y: x), verbose=0), dtype=np.float32)


def write_mistakes_gallery(path: Path, images: ImageSet, proba: np.ndarray, image_size: int, n: int = 15) -> Path:
    """A gallery of the most confident mistakes, with true/predicted classes and probabilities."""
    from kerascenes.data.pipeline import load_images
    from kerascenes.plots import plot_image_gallery

    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != images.labels)
    order = wrong[np.argsort(-proba[wrong, pred[wrong]])][:n]
    names = images.class_names
    captions = [
        f"{Path(images.paths[i]).name}\ntrue {names[images.labels[i]]} ({proba[i, images.labels[i]]:.2f})\n"
        f"pred {names[pred[i]]} ({proba[i, pred[i]]:.2f})"
        for i in order
    ]
    pics = load_images([images.paths[i] for i in order], min(image_size, 160))
    return plot_image_gallery(list(pics), captions, path, title=f"Most confident mistakes ({len(wrong)} in total)")


def write_run_evaluation(run: RunFolder, model, data, image_size: int, batch_size: int,
                         history: dict[str, list[float]], stage_boundaries: Sequence[int] = ()) -> dict[str, Any]:
    """Everything a finished training run writes about its quality; returns the metrics."""
    from kerascenes.plots import plot_history
    from kerascenes.reports import write_classification_report
    from kerascenes.tboard import log_confusion_matrix

    train_proba = predict_proba(model, data.train, image_size, batch_size)
    train_acc = float((train_proba.argmax(1) == data.train.labels).mean())
    val_proba = predict_proba(model, data.val, image_size, batch_size)
    val_pred = val_proba.argmax(1)
    report = write_classification_report(run.path, data.val.labels, val_pred, data.class_names, proba=val_proba,
                                         paths=data.val.paths)
    write_mistakes_gallery(run.path / "mistakes.png", data.val, val_proba, image_size)
    if history:
        plot_history(history, run.path / "curves.png", title=run.name, stage_boundaries=stage_boundaries)
    log_confusion_matrix(run.tensorboard_dir / "validation", np.asarray(report["confusion_matrix"]), data.class_names,
                         step=len(history.get("loss", [])))
    best = int(np.argmin(history["val_loss"])) if history.get("val_loss") else None
    return {
        "train_accuracy": round(train_acc, 4),
        "val_accuracy": round(report["accuracy"], 4),
        "val_macro_f1": round(report["macro_f1"], 4),
        "val_loss_best": round(float(history["val_loss"][best]), 4) if best is not None else None,
        "best_epoch": best + 1 if best is not None else None,
        "n_train": len(data.train),
        "n_val": len(data.val),
    }


def load_run_model(run: RunFolder):
    """Load a run's saved ``model.keras`` (safe mode: no arbitrary code is executed)."""
    import keras

    from kerascenes.backbones import get_family

    get_family(run.read_config().get("family", "keras.applications")).prepare_loading()
    path = run.path / "model.keras"
    if not path.is_file():
        raise KerascenesError(f"{run.path} has no model.keras (the run did not finish); train it again or pick another run.")
    return keras.saving.load_model(str(path))


class KerasPredictor:
    """Class probabilities from a classifier run's ``model.keras`` (CNN or ViT)."""

    def __init__(self, model, image_size: int, class_names: Sequence[str], batch_size: int = 32):
        self.model, self.image_size, self.class_names, self.batch_size = model, image_size, list(class_names), batch_size

    @classmethod
    def load(cls, run: RunFolder, batch_size: int = 32, **_: Any) -> "KerasPredictor":
        config = run.read_config()
        return cls(load_run_model(run), int(config["image_size"]), config["class_names"], batch_size)

    def predict_proba(self, paths: Sequence[str]) -> np.ndarray:
        return predict_proba(self.model, list(paths), self.image_size, self.batch_size)
