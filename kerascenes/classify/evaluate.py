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

from kerascenes.classify.config import input_size_of
from kerascenes.data.folders import ImageSet
from kerascenes.errors import KerascenesError, reading
from kerascenes.runs import RunFolder

log = logging.getLogger("kerascenes")


def predict_proba(model, images: ImageSet | Sequence[str], image_size: int, batch_size: int = 32,
                  flip: bool = False, desc: str = "", progress: bool = True) -> np.ndarray:
    """Class probabilities of every image (no augmentation; ``flip``: of its mirror image).

    Args:
        desc: what is being scored; with one, the step shows progress (Keras' bar on a terminal,
            one line when it ends elsewhere).
    """
    from kerascenes.data.pipeline import image_dataset
    from kerascenes.progress import keras_verbose

    paths = images.paths if isinstance(images, ImageSet) else list(images)
    if not paths:
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    ds = image_dataset(paths, None, image_size, batch_size, cache=False).map(lambda x, y: x)
    if flip:
        import tensorflow as tf

        ds = ds.map(lambda x: tf.reverse(x, axis=[2]))
    show = progress and bool(desc) and log.isEnabledFor(logging.INFO)
    if show:
        log.info("%s (%d images)", desc[0].upper() + desc[1:], len(paths))
    # predict, not __call__: a KerasHub task applies its preprocessor (the ViT image converter) there
    return np.asarray(model.predict(ds, verbose=keras_verbose(show)), dtype=np.float32)


def tta_proba(model, images: ImageSet, image_size: int, batch_size: int, tta: str, desc: str) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities with the test-time augmentation, without it)`` from the un-wrapped classifier.

    ``flip`` averages the image's and its mirror image's probabilities, as the saved model does.
    """
    plain = predict_proba(model, images, image_size, batch_size, desc=desc)
    if tta != "flip":
        return plain, plain
    mirrored = predict_proba(model, images, image_size, batch_size, flip=True, desc=f"{desc} (mirrored)")
    return (plain + mirrored) / 2.0, plain


def write_mistakes_gallery(path: Path, images: ImageSet, proba: np.ndarray, image_size: int, n: int = 15) -> Path:
    """A gallery of the most confident mistakes: class folder and file, true and predicted class with probabilities."""
    from kerascenes.data.pipeline import load_images
    from kerascenes.plots import plot_image_gallery

    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != images.labels)
    order = wrong[np.argsort(-proba[wrong, pred[wrong]])][:n]
    names = images.class_names
    captions = [
        f"{Path(images.paths[i]).parent.name}/{Path(images.paths[i]).name}\n"
        f"true {names[images.labels[i]]}: p(true) {proba[i, images.labels[i]]:.2f}\n"
        f"predicted {names[pred[i]]}: p {proba[i, pred[i]]:.2f}"
        for i in order
    ]
    pics = load_images([images.paths[i] for i in order], min(image_size, 160))
    return plot_image_gallery(list(pics), captions, path, title=f"Most confident mistakes ({len(wrong)} in total)")


def write_run_evaluation(run: RunFolder, model, data, image_size: int, batch_size: int,
                         history: dict[str, list[float]], stage_boundaries: Sequence[int] = (),
                         tta: str = "none", scores: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                         ) -> dict[str, Any]:
    """Everything a finished training run writes about its quality; returns the metrics.

    Args:
        model: the trained classifier without its test-time augmentation (``tta`` says which is saved).
        scores: ``(train probabilities, val probabilities, val probabilities without TTA)`` when
            they are already known (from a cached run's features); else ``model`` computes them.
    """
    from kerascenes.kept_predictions import keep_val_proba
    from kerascenes.plots import plot_history
    from kerascenes.reports import write_classification_report
    from kerascenes.tboard import log_confusion_matrix, log_image

    if scores is None:
        train_proba, _ = tta_proba(model, data.train, image_size, batch_size, tta, "scoring the training images")
        val_proba, val_plain = tta_proba(model, data.val, image_size, batch_size, tta, "scoring the validation images")
    else:
        train_proba, val_proba, val_plain = scores
    train_acc = float((train_proba.argmax(1) == data.train.labels).mean())
    report = write_classification_report(run.path, data.val.labels, val_proba.argmax(1), data.class_names,
                                         proba=val_proba, paths=data.val.paths)
    keep_val_proba(run.path, "classifier", val_proba, data.val.paths)  # what ensembles report on
    mistakes = write_mistakes_gallery(run.path / "mistakes.png", data.val, val_proba, image_size)
    if history:
        plot_history(history, run.path / "curves.png", title=run.name, stage_boundaries=stage_boundaries)
    step = len(history.get("loss", []))
    log_confusion_matrix(run.tensorboard_dir / "validation", np.asarray(report["confusion_matrix"]), data.class_names,
                         step=step)
    log_image(run.tensorboard_dir / "validation", "mistakes", mistakes.read_bytes(), step=step)
    best = int(np.argmin(history["val_loss"])) if history.get("val_loss") else None
    metrics = {
        "train_accuracy": round(train_acc, 4),
        "val_accuracy": round(report["accuracy"], 4),
        **{f"val_{k}_accuracy": round(v, 4) for k, v in report["top_k_accuracy"].items() if k != "top1"},
        "val_macro_f1": round(report["macro_f1"], 4),
        "val_loss_best": round(float(history["val_loss"][best]), 4) if best is not None else None,
        "best_epoch": best + 1 if best is not None else None,
        "n_train": len(data.train),
        "n_val": len(data.val),
    }
    if tta != "none":
        metrics["val_accuracy_no_tta"] = round(float((val_plain.argmax(1) == data.val.labels).mean()), 4)
    return metrics


def load_run_model(run: RunFolder):
    """Load a run's saved ``model.keras`` (safe mode: no arbitrary code is executed).

    The model comes back compiled, ready for ``evaluate`` in a notebook; an optimizer state that
    Keras cannot restore before the first training step (KerasHub tasks) is left out quietly, as
    no prediction needs it.
    """
    import warnings

    import keras

    from kerascenes.backbones import get_family

    get_family(run.read_config().get("family", "keras.applications")).prepare_loading()
    path = run.path / "model.keras"
    if not path.is_file():
        raise KerascenesError(f"{run.path} has no model.keras (the run did not finish); train it again or pick another run.")
    with reading(path, "a Keras model file", "train the run again or restore the file"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return keras.saving.load_model(str(path))


class KerasPredictor:
    """Class probabilities from a classifier run's ``model.keras`` (CNN or ViT)."""

    def __init__(self, model, image_size: int, class_names: Sequence[str], batch_size: int = 32):
        self.model, self.image_size, self.class_names, self.batch_size = model, image_size, list(class_names), batch_size

    @classmethod
    def load(cls, run: RunFolder, batch_size: int = 32, **_: Any) -> "KerasPredictor":
        config = run.read_config()
        return cls(load_run_model(run), input_size_of(config["image_size"]), config["class_names"], batch_size)

    def predict_proba(self, paths: Sequence[str]) -> np.ndarray:
        return predict_proba(self.model, list(paths), self.image_size, self.batch_size)
